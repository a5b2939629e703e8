import csv
from pathlib import Path

import pytest

from gridgov.core.validators import id_check_char


def make_id(birth: str = "19900307", seq: int = 1, region: str = "110106") -> str:
    """A valid 18-character ID number (GB 11643) with the given birth date and sequence."""
    first17 = f"{region}{birth}{seq:03d}"
    return first17 + id_check_char(first17)


def write_xlsx(path: Path, rows: list[list]) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def write_csv(path: Path, rows: list[list], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


@pytest.fixture
def base(street):
    """Standard addresses in two grids of community 1 and one of community 2, with houses."""
    from gridgov.registry import services

    out = dict(street)
    for key, grid in (("a1", "c1g1m1"), ("a2", "c1g2m1"), ("a3", "c2g1m2")):
        node = street[grid]
        community = street[grid[:2]]
        compound = services.create_compound(name=f"{key}小区", community=community, grid=community)
        building = services.create_building(compound=compound, name="1号楼", grid=node)
        addr = services.create_address(
            code=f"A{key.upper()}0001",
            level="house",
            community=community,
            compound=compound,
            building=building,
            unit="1单元",
            room="101",
            text=f"{community.name}{key}小区1号楼1单元101",
            grid=node,
        )
        out[key] = addr
        out[f"{key}b"] = services.create_address(
            code=f"A{key.upper()}0002", level="house", community=community, compound=compound,
            building=building, unit="1单元", room="102", text=f"{community.name}{key}小区1号楼1单元102", grid=node,
        )
        out[f"house_{key}"] = services.create_house(address=addr)
    return out
