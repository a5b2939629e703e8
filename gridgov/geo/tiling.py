"""The tiling proof: children of every grid cover their parent exactly, without overlap.

`check_tiling()` returns every problem larger than a tolerance (m²):

- ``gap``: a part of a parent covered by none of its children;
- ``overlap``: the area two children of one parent share (also between top-level nodes);
- ``outside``: the part of a child lying outside its parent;
- ``no_geometry``: a node without polygon under a parent whose children are checked.

Each problem carries its area in m² (`spatial.area_m2`), a point inside it
(`representative_point`) and the codes of the grids involved. Leaves (nodes without children)
need no check. Floating-point slivers from clipping are far below the default 1 m²."""

from dataclasses import asdict, dataclass, field

import shapely
from shapely import STRtree

from .spatial import area_m2

DEFAULT_TOLERANCE_M2 = 1.0
_TOUCH = 1e-7  # degrees (~1 cm): how near a gap a child must be to count as involved


@dataclass
class Problem:
    kind: str
    parent: str | None
    area_m2: float
    lon: float | None
    lat: float | None
    grids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["area_m2"] = round(self.area_m2, 3)
        return d


def _polygon_parts(geom):
    if geom is None or geom.is_empty:
        return []
    if geom.geom_type == "Polygon":
        return [geom]
    if hasattr(geom, "geoms"):
        return [p for g in geom.geoms for p in _polygon_parts(g)]
    return []


def _point(geom):
    p = geom.representative_point()
    return p.x, p.y


def _check_group(parent_code, parent_geom, children, tolerance_m2):
    """children: list of (code, geom or None), sorted by code."""
    problems = []
    present = [(c, g) for c, g in children if g is not None and not g.is_empty]
    for code, g in children:
        if g is None or g.is_empty:
            problems.append(Problem("no_geometry", parent_code, 0.0, None, None, [code]))
    if not present:
        return problems
    codes = [c for c, _ in present]
    geoms = [g for _, g in present]
    tree = STRtree(geoms)

    if parent_geom is not None:
        covered = shapely.union_all(geoms)
        for part in _polygon_parts(parent_geom.difference(covered)):
            a = area_m2(part)
            if a > tolerance_m2:
                near = sorted(tree.query(part.buffer(_TOUCH), predicate="intersects").tolist())
                problems.append(Problem("gap", parent_code, a, *_point(part), [parent_code, *(codes[i] for i in near)]))
        for code, g in present:
            out = g.difference(parent_geom)
            a = area_m2(out) if not out.is_empty else 0.0
            if a > tolerance_m2:
                problems.append(Problem("outside", parent_code, a, *_point(out), [code, parent_code]))

    left, right = tree.query(geoms, predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist()):
        if i >= j:
            continue
        inter = geoms[i].intersection(geoms[j])
        parts = _polygon_parts(inter)
        if not parts:
            continue
        a = sum(area_m2(p) for p in parts)
        if a > tolerance_m2:
            biggest = max(parts, key=lambda p: p.area)
            problems.append(Problem("overlap", parent_code, a, *_point(biggest), [codes[i], codes[j]]))
    return problems


def check_tiling(tolerance_m2: float = DEFAULT_TOLERANCE_M2) -> list[Problem]:
    """Every gap, overlap and child outside its parent larger than `tolerance_m2`, over all grids."""
    from .models import GridNode

    rows = list(GridNode.objects.values_list("id", "code", "parent_id", "geom_wkt").order_by("code"))
    wkts = [r[3] or None for r in rows]
    geoms = shapely.from_wkt(wkts) if rows else []
    by_id = {r[0]: (r[1], g) for r, g in zip(rows, geoms)}
    groups: dict[int | None, list] = {}
    for r, g in zip(rows, geoms):
        groups.setdefault(r[2], []).append((r[1], g))
    problems = []
    for parent_id in sorted(groups, key=lambda pid: "" if pid is None else by_id[pid][0]):
        if parent_id is None:
            parent_code, parent_geom = None, None
        else:
            parent_code, parent_geom = by_id[parent_id]
            if parent_geom is None:
                problems.append(Problem("no_geometry", None, 0.0, None, None, [parent_code]))
                continue
        problems.extend(_check_group(parent_code, parent_geom, groups[parent_id], tolerance_m2))
    return problems


def format_table(problems: list[Problem]) -> str:
    head = f"{'kind':<12} {'parent':<20} {'area m²':>14}  {'point (lon, lat)':<26} grids"
    lines = [head, "-" * len(head)]
    for p in problems:
        point = f"{p.lon:.6f}, {p.lat:.6f}" if p.lon is not None else "-"
        lines.append(f"{p.kind:<12} {p.parent or '-':<20} {p.area_m2:>14,.2f}  {point:<26} {', '.join(p.grids)}")
    return "\n".join(lines)
