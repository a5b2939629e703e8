import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridgov.geo import coords, locator
from gridgov.geo.locator import Locator, NodeRef, get_locator, locate_point
from gridgov.geo.models import GeoVersion, GridNode
from gridgov.geo.synthetic import build_voronoi_street
from gridgov.testing import DLAT, DLON, LAT0, LON0

FIXTURE_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def naive_chain(lon, lat):
    """Per level, every grid whose polygon covers the point (the slow way)."""
    p = shapely.Point(lon, lat)
    out = {}
    for n in GridNode.objects.exclude(geom_wkt="").order_by("code"):
        if n.geometry().covers(p):
            out.setdefault(n.level, []).append(n.code)
    return out


def test_locate_interior_point(street):
    # a point in the north-west micro-grid of community 1
    chain = get_locator().locate(LON0 + DLON * 0.1, LAT0 + DLAT * 0.9)
    assert [r.code for r in chain] == ["110106001000000", "110106001001000", "110106001001001", "110106001001001001"]
    assert [r.level for r in chain] == [0, 1, 2, 3]
    assert isinstance(chain[0], NodeRef) and chain[0].name == "测试街道"
    assert chain[-1].path == street["c1g1m1"].path
    assert get_locator().finest(LON0 + DLON * 0.1, LAT0 + DLAT * 0.9).code == "110106001001001001"


def test_outside_is_empty(street):
    loc = get_locator()
    assert loc.locate(LON0 - 0.01, LAT0) == []
    assert loc.finest(LON0 - 0.01, LAT0) is None
    assert loc.finest_many([LON0 - 0.01, float("nan")], [LAT0, LAT0]) == [None, None]


def _exact_2x2():
    """A street split into two grids, each into two micro-grids, on exact binary fractions."""
    b = shapely.box
    return Locator(
        [
            (NodeRef(1, "S", "s", 0, "/S/"), b(0, 0, 2, 1)),
            (NodeRef(2, "S01", "west", 1, "/S/S01/"), b(0, 0, 1, 1)),
            (NodeRef(3, "S02", "east", 1, "/S/S02/"), b(1, 0, 2, 1)),
            (NodeRef(4, "S01001", "wn", 2, "/S/S01/S01001/"), b(0, 0.5, 1, 1)),
            (NodeRef(5, "S01002", "ws", 2, "/S/S01/S01002/"), b(0, 0, 1, 0.5)),
            (NodeRef(6, "S02001", "en", 2, "/S/S02/S02001/"), b(1, 0.5, 2, 1)),
            (NodeRef(7, "S02002", "es", 2, "/S/S02/S02002/"), b(1, 0, 2, 0.5)),
        ]
    )


def test_shared_boundary_goes_to_lowest_code():
    loc = _exact_2x2()
    codes = lambda x, y: [r.code for r in loc.locate(x, y)]  # noqa: E731
    assert codes(1.0, 0.75) == ["S", "S01", "S01001"]  # west/east edge: the west (lower code)
    assert codes(0.5, 0.5) == ["S", "S01", "S01001"]  # north/south edge: the north
    assert codes(1.0, 0.5) == ["S", "S01", "S01001"]  # the corner of four
    assert codes(2.0, 0.0) == ["S", "S02", "S02002"]  # the outer edge is inside (covers)
    assert codes(2.0, 0.25) == ["S", "S02", "S02002"]
    assert codes(2.0001, 0.25) == []
    xs, ys = [1.0, 0.5, 1.0, 2.0, 3.0], [0.75, 0.5, 0.5, 0.0, 0.0]
    assert loc.finest_many(xs, ys) == [loc.finest(x, y) for x, y in zip(xs, ys)]


def test_street_fixture_boundaries_give_consistent_chains(street):
    loc = get_locator()
    c2_west = street["c2"].geometry().bounds[0]  # the communities' shared edge
    for x, y in [(c2_west, LAT0 + DLAT * 0.9), (c2_west, LAT0 + DLAT / 2), (LON0, LAT0), (LON0 + DLON, LAT0 + DLAT)]:
        chain = loc.locate(x, y)
        assert [r.level for r in chain] == [0, 1, 2, 3]
        for parent, child in zip(chain, chain[1:]):
            assert child.path.startswith(parent.path)
    assert loc.finest(LON0, LAT0).code == "110106001001002001"  # the south-west corner


def test_locate_point_converts_crs(street):
    x, y = LON0 + DLON * 0.8, LAT0 + DLAT * 0.2
    gx, gy = coords.wgs84_to_gcj02(x, y)
    bx, by = coords.wgs84_to_bd09(x, y)
    expected = get_locator().locate(x, y)
    assert expected and locate_point(gx, gy, "gcj02") == expected
    assert locate_point(bx, by, crs="bd09") == expected
    # the raw GCJ point is hundreds of metres off: here it falls elsewhere or outside
    assert locate_point(gx, gy) != expected
    with pytest.raises(ValueError, match="unknown coordinate system"):
        locate_point(x, y, "utm")


def test_locator_reloads_when_version_changes(street, monkeypatch):
    loc = get_locator()
    assert get_locator() is loc  # cached
    # Another process moves micro-grid c1g1m1 out of the way: it writes the row and bumps the
    # version, without touching this process's cache.
    GridNode.objects.filter(code="110106001001001001").update(geom_wkt="POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))")
    GeoVersion.bump()
    x, y = LON0 + DLON * 0.1, LAT0 + DLAT * 0.9
    assert get_locator().finest(x, y).code == "110106001001001001"  # within the second: not re-read
    reads = []
    real = GeoVersion.current.__func__
    monkeypatch.setattr(GeoVersion, "current", classmethod(lambda cls: reads.append(1) or real(cls)))
    monkeypatch.setattr(locator, "_checked_at", locator._checked_at - 2)
    fresh = get_locator()
    assert fresh is not loc and fresh.finest(x, y).code == "110106001001001"  # now the grid is finest
    for _ in range(50):
        get_locator()
    assert len(reads) == 1  # the version is read at most once per interval


def _assert_one_per_level(lon, lat, loc, nlevels):
    chain = loc.locate(lon, lat)
    naive = naive_chain(lon, lat)
    assert len(chain) == nlevels, (lon, lat, naive)
    assert [r.level for r in chain] == list(range(nlevels))
    assert chain[-1].code == naive[nlevels - 1][0]  # the lowest-code covering grid of the finest level
    p = shapely.Point(lon, lat)
    for parent, child in zip(chain, chain[1:]):
        assert child.path.startswith(parent.path)
    for r in chain:  # each grid of the chain contains the point (up to float noise on edges)
        assert r.code in naive.get(r.level, []) or GridNode.objects.get(code=r.code).geometry().distance(p) < 1e-12
        if len(naive.get(r.level, [])) == 1:
            assert naive[r.level] == [r.code]
    assert loc.finest(lon, lat) == chain[-1]


@FIXTURE_SETTINGS
@given(st.floats(0, 1), st.floats(0, 1))
def test_every_point_of_the_street_in_one_grid_per_level(street, fx, fy):
    lon, lat = LON0 + fx * DLON, LAT0 + fy * DLAT
    _assert_one_per_level(lon, lat, get_locator(), 4)


@pytest.fixture
def voronoi(db):
    return build_voronoi_street(lon0=116.38, lat0=39.78, dlon=0.02, dlat=0.01, per_level=(3, 3, 2), seed=5)


@FIXTURE_SETTINGS
@given(st.floats(0, 1), st.floats(0, 1))
def test_every_point_of_a_voronoi_street_in_one_grid_per_level(voronoi, fx, fy):
    street_geom = voronoi[0][0].geometry()
    x0, y0, x1, y1 = street_geom.bounds
    lon, lat = x0 + fx * (x1 - x0), y0 + fy * (y1 - y0)
    loc = get_locator()
    if street_geom.covers(shapely.Point(lon, lat)):
        _assert_one_per_level(lon, lat, loc, 4)
    else:
        assert loc.locate(lon, lat) == []


def test_voronoi_tiling_is_irregular(voronoi):
    assert len(voronoi[1]) == 3 and len(voronoi[2]) == 9 and len(voronoi[3]) == 18
    vertex_counts = {len(shapely.get_coordinates(n.geometry())) for n in voronoi[3]}
    assert len(vertex_counts) > 1  # not all rectangles


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 2**32 - 1))
def test_finest_many_agrees_with_a_loop(voronoi, seed):
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = voronoi[0][0].geometry().bounds
    lons = rng.uniform(x0 - 0.002, x1 + 0.002, 300)
    lats = rng.uniform(y0 - 0.002, y1 + 0.002, 300)
    # a few points exactly on vertices of micro-grids (shared boundaries)
    verts = shapely.get_coordinates(voronoi[3][seed % 18].geometry())
    k = min(5, len(verts))
    lons[:k], lats[:k] = verts[:k, 0], verts[:k, 1]
    loc = get_locator()
    assert loc.finest_many(lons, lats) == [loc.finest(x, y) for x, y in zip(lons, lats)]


def test_finest_falls_back_to_coarser_level():
    # a grid without micro-grids: its points' finest grid is the grid itself
    a = shapely.box(0, 0, 2, 1)
    items = [
        (NodeRef(1, "S", "s", 0, "/S/"), a),
        (NodeRef(2, "G1", "g1", 1, "/S/G1/"), shapely.box(0, 0, 1, 1)),
        (NodeRef(3, "G2", "g2", 1, "/S/G2/"), shapely.box(1, 0, 2, 1)),
        (NodeRef(4, "M1", "m1", 2, "/S/G1/M1/"), shapely.box(0, 0, 1, 1)),
    ]
    loc = Locator(items)
    assert loc.levels == [0, 1, 2] and len(loc) == 4
    assert loc.finest(0.5, 0.5).code == "M1"
    assert loc.finest(1.5, 0.5).code == "G2"
    assert loc.finest(1.0, 0.5).code == "M1"  # edge: M1 covers it at the deepest level
    assert [r.code for r in loc.locate(1.5, 0.5)] == ["S", "G2"]  # the chain stops at a leaf
    assert [r.code for r in loc.finest_many([0.5, 1.5, 3], [0.5, 0.5, 0.5])[:2]] == ["M1", "G2"]
    with pytest.raises(ValueError):
        loc.finest_many([1, 2], [1])


def test_version_never_repeats_after_a_rolled_back_edit(street):
    from django.db import transaction

    from gridgov.geo import services

    before = GeoVersion.current()
    with transaction.atomic():
        GeoVersion.bump()
        rolled_back = GeoVersion.current()
        transaction.set_rollback(True)
    assert GeoVersion.current() == before
    services.save_node(GridNode.objects.get(code=street["c1g1"].code))
    after = GeoVersion.current()
    # same counter as the rolled-back edit, different version: caches built then are not reused
    assert after.split(":")[0] == rolled_back.split(":")[0] and after != rolled_back


RACE = """
import math, sys, threading
import numpy as np, shapely
from gridgov.geo.locator import Locator, NodeRef

def ring(cx, r=1.0, n=2000):
    a = np.linspace(0, 2 * math.pi, n, endpoint=False)
    return shapely.Polygon(np.c_[cx + r * np.cos(a), r * np.sin(a) * (1 + 0.05 * np.sin(7 * a))])

misses = 0
for trial in range(20):
    loc = Locator([(NodeRef(i, f"{i:03d}", str(i), 1, f"/{i:03d}/"), ring(i * 3.0)) for i in range(20)])
    start, found = threading.Barrier(8), []
    def work():
        start.wait()
        for i in range(20):
            found.append(loc.finest(i * 3.0 + 0.3, 0.2) is not None)
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()
    misses += found.count(False)
print("misses", misses)
sys.exit(1 if misses else 0)
"""


def test_a_fresh_locator_answers_many_threads_at_once():
    """gunicorn's threads share one locator, and a fresh one is queried by several at once (the
    first reports after a grid edit). GEOS builds a prepared polygon's point index lazily and
    not thread-safely: before the fix, concurrent first tests missed the grid (a report refused as
    outside every grid) or crashed the process ('double free or corruption'). In a subprocess,
    so that a crash fails this test and not the run."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "misses 0" in done.stdout, (done.returncode, done.stdout, done.stderr[-500:])


@pytest.mark.django_db(transaction=True)
def test_no_thread_gets_the_old_index_while_another_rebuilds(monkeypatch):
    """After a grid change, the first thread rebuilds the index under the lock; before the fix it
    marked the check done *before* rebuilding, so every other thread took the fast path with the
    old index meanwhile (on PostgreSQL a concurrent report was refused as outside every grid)."""
    import threading

    from django.db import connection

    from gridgov.testing import make_small_street

    make_small_street()
    old = get_locator()
    GeoVersion.bump()
    locator.invalidate_locator()
    building, release = threading.Event(), threading.Event()
    real = Locator.from_db.__func__

    def slow_from_db(cls, version=None):
        building.set()
        release.wait(30)
        return real(cls, version)

    monkeypatch.setattr(Locator, "from_db", classmethod(slow_from_db))
    got = {}

    def ask(name):
        try:
            got[name] = get_locator()
        finally:
            connection.close()

    a = threading.Thread(target=ask, args=("a",))
    a.start()
    assert building.wait(30)
    b = threading.Thread(target=ask, args=("b",))
    b.start()
    b.join(0.5)  # before the fix b returned the old index at once; now it waits for a's rebuild
    release.set()
    a.join(30)
    b.join(30)
    assert got["a"] is not old and got["b"] is got["a"]
