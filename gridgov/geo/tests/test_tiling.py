import json

import pytest
import shapely
from django.core.management import call_command
from django.core.management.base import CommandError
from shapely.geometry import box

from gridgov.geo import services
from gridgov.geo.models import GridNode
from gridgov.geo.spatial import area_m2
from gridgov.geo.synthetic import build_voronoi_street
from gridgov.geo.tiling import check_tiling


def _run(*args):
    from io import StringIO

    out = StringIO()
    try:
        call_command("check-grids", *args, stdout=out)
        return 0, out.getvalue()
    except CommandError as e:
        return e.returncode, out.getvalue() + str(e)


def test_clean_fixture_passes(street):
    assert check_tiling() == []
    code, out = _run()
    assert code == 0 and out.startswith("ok")


def test_clean_voronoi_tiling_passes(db):
    build_voronoi_street(lon0=116.38, lat0=39.78, dlon=0.02, dlat=0.01, per_level=(3, 4, 3), seed=11)
    assert check_tiling(tolerance_m2=0.01) == []


def test_planted_gap_and_overlap(street):
    # Micro-grid c1g1m1 loses a 10 % strip on its east side: a gap inside grid c1g1.
    m1 = street["c1g1m1"]
    x0, y0, x1, y1 = m1.geometry().bounds
    cut = x1 - (x1 - x0) * 0.1
    services.save_node(m1, box(x0, y0, cut, y1))
    gap_geom = box(cut, y0, x1, y1)
    # Micro-grid c2g2m2 grows 20 % westwards into c2g2m1: an overlap.
    m2 = street["c2g2m2"]
    a0, b0, a1, b1 = m2.geometry().bounds
    grow = a0 - (a1 - a0) * 0.2
    services.save_node(m2, box(grow, b0, a1, b1))
    overlap_geom = box(grow, b0, a0, b1)

    problems = check_tiling()
    kinds = sorted(p.kind for p in problems)
    assert kinds == ["gap", "overlap"]
    gap = next(p for p in problems if p.kind == "gap")
    assert gap.parent == street["c1g1"].code
    assert gap.area_m2 == pytest.approx(area_m2(gap_geom), rel=1e-6)
    assert 1000 < gap.area_m2 < 30000  # a tenth of a ~585 m × 500 m micro-grid
    assert gap_geom.covers(shapely.Point(gap.lon, gap.lat))
    assert set(gap.grids) == {street["c1g1"].code, m1.code, street["c1g1m2"].code}
    ov = next(p for p in problems if p.kind == "overlap")
    assert ov.parent == street["c2g2"].code
    assert ov.area_m2 == pytest.approx(area_m2(overlap_geom), rel=1e-6)
    assert ov.grids == [street["c2g2m1"].code, m2.code]
    assert overlap_geom.covers(shapely.Point(ov.lon, ov.lat))

    # the tolerance hides them when set above their areas
    assert check_tiling(tolerance_m2=max(gap.area_m2, ov.area_m2) + 1) == []

    code, out = _run("--json")
    assert code == 1
    data = json.loads(out[: out.rindex("}") + 1])
    assert data["ok"] is False and len(data["problems"]) == 2
    assert {p["kind"] for p in data["problems"]} == {"gap", "overlap"}
    code, out = _run()
    assert code == 1 and "gap" in out and "overlap" in out and m1.code in out and "2 tiling problem(s)" in out


def test_child_outside_parent(street):
    m = street["c1g1m1"]
    x0, y0, x1, y1 = m.geometry().bounds
    services.save_node(m, box(x0 - 0.001, y0, x1, y1))  # ~85 m west of the street
    problems = check_tiling()
    outside = [p for p in problems if p.kind == "outside"]
    # it sticks out of its grid, its grid's community is untouched, so one per level it leaves
    assert [p.parent for p in outside] == [street["c1g1"].code]
    assert outside[0].area_m2 == pytest.approx(area_m2(box(x0 - 0.001, y0, x0, y1)), rel=1e-6)
    assert outside[0].grids == [m.code, street["c1g1"].code]


def test_negative_tolerance_rejected(db):
    with pytest.raises(CommandError, match="tolerance"):
        call_command("check-grids", "--tolerance", "-1")


def test_missing_geometry_reported(street):
    GridNode.objects.filter(pk=street["c1g1m1"].pk).update(geom_wkt="")
    problems = check_tiling()
    assert any(p.kind == "no_geometry" and p.grids == [street["c1g1m1"].code] for p in problems)
    # its absence also leaves a gap the size of the micro-grid
    gap = next(p for p in problems if p.kind == "gap")
    assert gap.area_m2 == pytest.approx(street["c1g1m1"].area_m2, rel=1e-6)
