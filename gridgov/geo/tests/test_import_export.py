import json
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
import shapely
from django.core.management import call_command
from django.core.management.base import CommandError
from shapely.geometry import box, mapping

from gridgov.geo import services
from gridgov.geo.locator import get_locator
from gridgov.geo.models import GridNode
from gridgov.geo.services import GridImportError, import_grids
from gridgov.testing import DLAT, LAT0, LON0

# ../shared/data from the project root (the main checkout), or /work/shared/data from a worktree
_ROOT = Path(__file__).resolve().parents[3]
LA_COUNCILS = next(
    (p for p in (_ROOT.parent / "shared" / "data", Path("/work/shared/data")) if (p / "la311").is_dir()),
    _ROOT.parent / "shared" / "data",
) / "la311" / "neighborhood_councils.geojson"


def fc(*features):
    return {"type": "FeatureCollection", "features": list(features)}


def feat(geom, **props):
    return {"type": "Feature", "geometry": mapping(geom) if geom is not None else None, "properties": props}


def write(tmp_path, data, name="in.geojson"):
    p = tmp_path / name
    p.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(p)


def test_export_import_round_trip(street, tmp_path):
    out = tmp_path / "micro.geojson"
    call_command("export-grids", "--level", "microgrid", "--out", str(out), stderr=StringIO())
    data = json.loads(out.read_text(encoding="utf-8"))
    assert len(data["features"]) == 8
    props = data["features"][0]["properties"]
    assert set(props) >= {"code", "name", "level", "parent_code", "area_m2"}
    assert props["level"] == 3 and props["parent_code"] == street["c1g1"].code
    before = {n.code: (n.name, n.parent_id, n.geom_wkt) for n in GridNode.objects.filter(level=3)}
    GridNode.objects.filter(level=3).delete()

    # without --parent: parents found by containment in the grids
    call_command("import-grids", str(out), "--level", "3", "--name-field", "name", "--code-field", "code", stdout=StringIO())
    after = {n.code: (n.name, n.parent_id, n.geom_wkt) for n in GridNode.objects.filter(level=3)}
    assert after.keys() == before.keys()
    for code, (name, parent_id, wkt) in before.items():
        assert after[code][:2] == (name, parent_id)
        assert shapely.from_wkt(after[code][2]).equals_exact(shapely.from_wkt(wkt), 1e-12)
    assert get_locator().finest(LON0 + 0.001, LAT0 + DLAT - 0.001).code == street["c1g1m1"].code


def test_reimport_updates_same_code(street, tmp_path):
    g = street["c1g1"]
    path = write(tmp_path, fc(feat(g.geometry(), code=g.code, nm="新名字")))
    r = import_grids(services.read_geojson(path), "grid", "nm", code_field="code")
    assert r.updated == [g.code] and r.created == []
    assert any("renamed" in w for w in r.warnings)
    g.refresh_from_db()
    assert g.name == "新名字" and g.parent_id == street["c1"].pk
    assert GridNode.objects.filter(level=2).count() == 4


def test_generated_codes_west_east_north_south(street, tmp_path):
    # Six micro-micro…: split grid c1g1 into a 3 × 2 block of new sub-polygons at level 3,
    # after removing its micro-grids, and let the importer number them.
    g = street["c1g1"]
    GridNode.objects.filter(parent=g).delete()
    x0, y0, x1, y1 = g.geometry().bounds
    w, h = (x1 - x0) / 3, (y1 - y0) / 2
    cells = {(r, c): box(x0 + c * w, y1 - (r + 1) * h, x0 + (c + 1) * w, y1 - r * h) for r in range(2) for c in range(3)}
    # shuffled order in the file, names saying where they are
    order = [(1, 2), (0, 0), (1, 0), (0, 2), (0, 1), (1, 1)]
    path = write(tmp_path, fc(*(feat(cells[rc], name=f"r{rc[0]}c{rc[1]}") for rc in order)))
    out, err = StringIO(), StringIO()
    call_command("import-grids", path, "--level", "microgrid", "--name-field", "name", "--parent", g.code, stdout=out, stderr=err)
    assert "imported 6 new" in out.getvalue()
    got = dict(GridNode.objects.filter(parent=g).values_list("name", "code"))
    assert got == {
        "r0c0": g.code + "001", "r0c1": g.code + "002", "r0c2": g.code + "003",
        "r1c0": g.code + "004", "r1c1": g.code + "005", "r1c2": g.code + "006",
    }
    assert all(n.kind == "microgrid" and n.path.startswith(g.path) for n in GridNode.objects.filter(parent=g))
    # re-importing the same file gives the same codes: it updates
    call_command("import-grids", path, "--level", "microgrid", "--name-field", "name", "--parent", g.code, stdout=out)
    assert "imported 0 new and updated 6" in out.getvalue()


def test_generated_community_codes_by_containment(street, tmp_path):
    # A second street with two communities found by containment, codes from the street's.
    s2 = services.save_node(GridNode(code="110106002000000", name="第二街道", level=0, kind="street"), box(116.5, 39.7, 116.52, 39.71))
    path = write(tmp_path, fc(feat(box(116.51, 39.7, 116.52, 39.71), name="东"), feat(box(116.5, 39.7, 116.51, 39.71), name="西")))
    import_grids(services.read_geojson(path), "community", "name")
    assert dict(GridNode.objects.filter(parent=s2).values_list("name", "code")) == {"西": "110106002001000", "东": "110106002002000"}


def test_errors_name_feature_and_field_and_nothing_saved(street, tmp_path):
    g = street["c1g1"]
    x0, y0, x1, y1 = g.geometry().bounds
    good = box(x0, y0, (x0 + x1) / 2, y1)
    data = fc(
        feat(good, name="好的", code="110106001001001009"),
        feat(good, code="110106001001001010"),  # no name
        feat(good, name="无编码"),  # no code
        feat(shapely.Point(x0, y0), name="点", code="110106001001001011"),
        feat(None, name="无几何", code="110106001001001012"),
        feat(box(117.5, 40.5, 117.6, 40.6), name="在外面", code="110106001001001013"),
        feat(good, name="重复", code="110106001001001009"),
        feat(box(500000, 4400000, 500100, 4400100), name="投影坐标", code="110106001001001014"),
        feat(good, name="错级", code=street["c1"].code),
    )
    with pytest.raises(GridImportError) as exc:
        import_grids(data, "microgrid", "name", code_field="code")
    msg = str(exc.value)
    errors = exc.value.errors
    assert any(e.startswith("features[1]: field 'name' missing") for e in errors)
    assert any(e.startswith("features[2] (无编码): field 'code' missing") for e in errors)
    assert any(e.startswith("features[3] (点): geometry is a Point") for e in errors)
    assert any(e.startswith("features[4] (无几何): no geometry") for e in errors)
    assert any(e.startswith("features[5] (在外面): no grid contains its point") for e in errors)
    assert any(e.startswith("features[6] (重复): code 110106001001001009 repeats features[0]") for e in errors)
    assert any(e.startswith("features[7] (投影坐标): coordinates are not longitude/latitude") for e in errors)
    assert any(e.startswith("features[8] (错级): code 110106001001000 already belongs to a grid of level 1") for e in errors)
    assert "nothing imported" in msg
    assert not GridNode.objects.filter(code="110106001001001009").exists()
    # through the command: a CommandError with the same text
    with pytest.raises(CommandError, match=r"features\[1\]: field 'name' missing"):
        call_command("import-grids", write(tmp_path, data), "--level", "3", "--name-field", "name", "--code-field", "code")


def test_bad_level_parent_and_file(street, tmp_path):
    path = write(tmp_path, fc(feat(box(0, 0, 1, 1), name="x")))
    with pytest.raises(CommandError, match="unknown grid level 'block'.*street, community, grid, microgrid"):
        call_command("import-grids", path, "--level", "block", "--name-field", "name")
    with pytest.raises(CommandError, match="--parent 999: no such grid"):
        call_command("import-grids", path, "--level", "grid", "--name-field", "name", "--parent", "999")
    with pytest.raises(CommandError, match="is a community, but microgrid grids need a parent of level 2"):
        call_command("import-grids", path, "--level", "microgrid", "--name-field", "name", "--parent", street["c1"].code)
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("import-grids", str(bad), "--level", "grid", "--name-field", "name")
    with pytest.raises(CommandError, match="no such file"):
        call_command("import-grids", str(tmp_path / "nope.geojson"), "--level", "grid", "--name-field", "name")


def test_invalid_geometry_fixed_with_warning(street, tmp_path):
    g = street["c1g1"]
    x0, y0, x1, y1 = g.geometry().bounds
    # a bow-tie (self-intersecting) polygon inside the grid
    bowtie = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    assert not bowtie.is_valid
    err = StringIO()
    call_command(
        "import-grids", write(tmp_path, fc(feat(bowtie, name="蝴蝶", code=g.code + "009"))),
        "--level", "microgrid", "--name-field", "name", "--code-field", "code", stdout=StringIO(), stderr=err,
    )
    assert "features[0] (蝴蝶): invalid geometry (Self-intersection" in err.getvalue()
    assert "fixed with make_valid" in err.getvalue()
    node = GridNode.objects.get(code=g.code + "009")
    assert node.geometry().is_valid and node.geometry().geom_type == "MultiPolygon"


def test_import_gcj02_file(street, tmp_path):
    from gridgov.geo.coords import wgs84_to_gcj02

    g = street["c1g1"]
    x0, y0, x1, y1 = g.geometry().bounds
    inner = box(x0 + 0.001, y0 + 0.001, x0 + 0.003, y0 + 0.002)
    gcj = shapely.transform(inner, lambda xy: np.array([wgs84_to_gcj02(x, y) for x, y in xy]))
    import_grids(fc(feat(gcj, name="高德", code=g.code + "009")), "microgrid", "name", code_field="code", crs="gcj02")
    node = GridNode.objects.get(code=g.code + "009")
    assert node.parent_id == g.pk
    assert node.geometry().equals_exact(inner, 1e-9)


def test_real_la_neighbourhood_councils(db):
    """The 99 Los Angeles neighbourhood councils (real MultiPolygons) load as communities."""
    data = services.read_geojson(LA_COUNCILS)
    assert len(data["features"]) == 99
    bounds = shapely.total_bounds([shapely.geometry.shape(f["geometry"]) for f in data["features"]])
    hull = box(*bounds).buffer(0.01)
    services.save_node(GridNode(code="110106900000000", name="Los Angeles", level=0, kind="street"), hull)
    err = StringIO()
    call_command("import-grids", str(LA_COUNCILS), "--level", "community", "--name-field", "name", stdout=StringIO(), stderr=err)
    nodes = GridNode.objects.filter(level=1)
    assert nodes.count() == 99
    assert "99/99 grids saved" in err.getvalue()  # progress on stderr
    assert set(nodes.values_list("code", flat=True)) == {f"110106900{i:03d}000" for i in range(1, 100)}
    lincoln = nodes.get(name="LINCOLN HEIGHTS NC")
    assert 1e6 < lincoln.area_m2 < 1e8  # a few km²
    # a point in Lincoln Heights (Lincoln Park) is located there
    assert get_locator().finest(-118.2028, 34.0675).name == "LINCOLN HEIGHTS NC"
    # and the export carries all 99 with their areas
    exported = services.export_grids(level="community")
    assert len(exported["features"]) == 99
    assert all(f["properties"]["area_m2"] > 0 for f in exported["features"])
