"""Importing a street's residents: 170,000 rows from a CSV; then moving its 2,000 addresses.

The import (read, validate every cell, ID checksums, blind index, Fernet encryption of ID
numbers and phones, duplicate checks, bulk_create in batches in one transaction) is measured
beside a baseline in the same run: a plain bulk_create of the same rows, read from the same
file, with no validation and no encryption. The ratio is the cost of validation + encryption."""

import csv
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench.common import report, timed

ROWS = 170_000
ADDRESSES = 2_000
HEAD = ["姓名", "身份证号", "联系电话", "出生日期", "户号", "与户主关系", "户籍地址", "现住址(标准地址编码)", "标签", "是否党员"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"


def _id_number(i: int) -> tuple[str, date]:
    from gridgov.core.validators import id_check_char

    born = date(1940, 1, 1) + timedelta(days=i % 25_000)  # 1940..2008, then the next sequence number
    first17 = f"110106{born:%Y%m%d}{i // 25_000 + 100:03d}"
    return first17 + id_check_char(first17), born


def _setup_street():
    from gridgov.geo.models import GridNode
    from gridgov.registry.models import Address, Building, Compound, House
    from gridgov.testing import make_small_street

    if not GridNode.objects.exists():
        make_small_street()
    micro = list(GridNode.objects.filter(level=3).order_by("code"))
    communities = {n.code: n for n in GridNode.objects.filter(level=1)}
    addresses = []
    for i in range(ADDRESSES):
        g = micro[i % len(micro)]
        c = communities[g.path.strip("/").split("/")[1]]
        compound, _ = Compound.objects.get_or_create(community=c, name=f"小区{i % len(micro)}", defaults={"grid": c})
        building, _ = Building.objects.get_or_create(compound=compound, name=f"{i // 100 + 1}号楼", defaults={"grid": g})
        addresses.append(Address(code=f"B{i:06d}", level="house", community=c, compound=compound, building=building,
                                 room=str(i), text=f"{c.name}{compound.name}{building.name}{i}室", grid=g))
    Address.objects.bulk_create(addresses, batch_size=2000)
    House.objects.bulk_create([House(address=a, grid=a.grid, building=a.building) for a in addresses], batch_size=2000)
    return addresses


def _write_csv(path: Path):
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEAD)
        for i in range(ROWS):
            idn, born = _id_number(i)
            name = SURNAMES[i % 20] + GIVEN[(i // 20) % 20] + GIVEN[(i // 400) % 20]
            tags = "老年人" if born.year < 1960 else ""
            w.writerow([name, idn, f"13{i:09d}", born.isoformat(), f"H{i // 3:06d}", "户主" if i % 3 == 0 else "子女",
                        "北京市丰台区", f"B{(i // 3) % ADDRESSES:06d}", tags, "是" if i % 25 == 0 else "否"])


def _baseline(path: Path):
    """The same rows, read from the same file, bulk_create'd as they are."""
    from django.db import transaction

    from gridgov.registry.models import House, Resident

    house = {code: (hid, gid) for hid, gid, code in House.objects.values_list("id", "grid_id", "address__code")}
    with open(path, encoding="utf-8-sig", newline="") as fh, transaction.atomic():
        reader = csv.reader(fh)
        next(reader)
        batch = []
        for name, idn, phone, born, hh, rel, reg, addr, tags, party in reader:
            hid, gid = house[addr]
            batch.append(Resident(name=name, id_number_enc=idn, phone_enc=phone, birth_date=born, household_no=hh,
                                  relation=rel, registered_address=reg, house_id=hid, grid_id=gid,
                                  tags=[tags] if tags else [], party_member=party == "是"))
            if len(batch) == 2000:
                Resident.objects.bulk_create(batch)
                batch = []
        Resident.objects.bulk_create(batch)


def _moves(tmp: Path):
    """`gridgov import addresses --update`: every address to the next micro-grid, so its house
    and its residents (85 each) follow; beside the least SQL that makes the same moves (one
    UPDATE per kind and new grid), in the same run."""
    from django.db import transaction

    from gridgov.geo.models import GridNode
    from gridgov.registry.importers import run_import
    from gridgov.registry.models import Address, House, Resident

    micro = list(GridNode.objects.filter(level=3).order_by("code"))
    addresses = list(Address.objects.order_by("code").values_list("code", "text", "grid_id"))
    index = {g.id: i for i, g in enumerate(micro)}

    def target(grid_id, step):
        return micro[(index[grid_id] + step) % len(micro)]

    def plain():
        by_grid = {}
        for code, _text, gid in addresses:
            by_grid.setdefault(target(gid, 1).id, []).append(code)
        with transaction.atomic():
            for gid, codes in by_grid.items():
                for i in range(0, len(codes), 900):
                    chunk = codes[i : i + 900]
                    Address.objects.filter(code__in=chunk).update(grid_id=gid)
                    House.objects.filter(address__code__in=chunk).update(grid_id=gid)
                    Resident.objects.filter(house__address__code__in=chunk).update(grid_id=gid)

    base_s, _ = timed(plain)
    path = tmp / "addresses.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["标准地址编码", "地址全称", "所属网格"])
        for code, text, gid in addresses:
            w.writerow([code, text, target(gid, 2).code])  # one step further than where plain() put it
    imp_s, result = timed(run_import, "addresses", path, update=True)
    assert result.ok and result.updated == len(addresses), [str(e) for e in result.errors[:5]]
    moved = Resident.objects.filter(grid_id__in=[target(gid, 2).id for _, _, gid in addresses[:1]],
                                    house__address__code=addresses[0][0]).count()
    assert moved == Resident.objects.filter(house__address__code=addresses[0][0]).count() > 0
    report(f"import --update moving {len(addresses):,} addresses", imp_s, "s",
           "plain UPDATEs of the same moves", base_s, higher_is_better=False)


def run():
    from django.test import override_settings

    from gridgov.registry.importers import run_import
    from gridgov.registry.models import Resident

    tmp = Path(tempfile.mkdtemp(prefix="gridgov-bench-import-"))
    try:
        _setup_street()
        path = tmp / "residents.csv"
        _write_csv(path)

        base_s, _ = timed(_baseline, path)
        assert Resident.objects.count() == ROWS
        Resident.objects.all().delete()

        marks = {}

        def progress(stage, done, total):
            if done == total:
                marks[stage] = time.perf_counter()

        t0 = time.perf_counter()
        # one file of 170,000 rows: above the upload limit of 100,000 (GRIDGOV_IMPORT_MAX_ROWS)
        with override_settings(IMPORT_MAX_ROWS=ROWS):
            imp_s, result = timed(run_import, "residents", path, progress=progress)
        assert result.ok and result.created == ROWS, [str(e) for e in result.errors[:5]]
        report(f"import {ROWS:,} residents (validate+encrypt)", ROWS / imp_s, "rows/s",
               "plain bulk_create, same rows", ROWS / base_s)
        if "validate" in marks:
            report("  of which validation phase", ROWS / (marks["validate"] - t0), "rows/s",
                   "plain bulk_create, same rows", ROWS / base_s)
        report("import wall time", imp_s, "s", "plain bulk_create wall time", base_s, higher_is_better=False)
        _moves(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
