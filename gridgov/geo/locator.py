"""Which grids contain a point: an in-process index of the grid polygons.

`get_locator()` returns a process-wide `Locator` holding one shapely STRtree per level. It is
rebuilt when `GeoVersion.current()` differs from the version it was built at (another process
edited grids); the version is read at most once per `CHECK_INTERVAL` seconds, so hot loops do
not query the database on each call. A change made through `services.save_node` in this
process marks the index stale at once (and again when the transaction commits).

Tie-break on shared boundaries: a point's *finest* grid is, among the grids of the deepest
level that *cover* it (boundary included), the one with the lowest code; its chain
(`locate`) is that grid and its ancestors. So a point on a shared edge or corner belongs to
exactly one grid per level, deterministically (codes grow west→east, north→south, so it
goes to the western/northern grid), and the chain is always consistent (each grid is the
parent of the next) even where children's edges differ from their parent's by float noise.
Where a grid has no children, the chain stops at it. On a broken tiling (a child sticking out
of its parent, see `check-grids`) an ancestor in the chain may not cover the point."""

import threading
import time
from typing import NamedTuple

import numpy as np
import shapely
from shapely import STRtree

from .coords import to_wgs84

CHECK_INTERVAL = 1.0  # seconds between reads of GeoVersion


class NodeRef(NamedTuple):
    id: int
    code: str
    name: str
    level: int
    path: str


class _Level:
    __slots__ = ("level", "refs", "geoms", "tree")

    def __init__(self, level, refs, geoms):
        order = sorted(range(len(refs)), key=lambda i: refs[i].code)  # index order = code order
        self.level = level
        self.refs = [refs[i] for i in order]
        self.geoms = np.asarray([geoms[i] for i in order], dtype=object)
        shapely.prepare(self.geoms)  # prepared polygons answer point tests in O(log n) after the first
        if len(self.geoms):
            # GEOS builds a prepared polygon's point index lazily, at its first test, and that is
            # not thread-safe (libgeos/geos#825): build every index now, in this one thread
            shapely.covers(self.geoms, shapely.point_on_surface(self.geoms))
        self.tree = STRtree(self.geoms)

    def pick(self, point):
        cand = self.tree.query(point)  # bounding boxes only
        if len(cand):
            hits = cand[shapely.covers(self.geoms[cand], point)]
            if len(hits):
                return self.refs[int(hits.min())]
        return None

    def pick_many(self, points):
        """For each point, the index of the lowest-code covering grid, or -1."""
        out = np.full(len(points), -1, dtype=np.int64)
        if not len(points):
            return out
        inp, tree_idx = self.tree.query(points)  # bounding boxes, then exact tests on prepared polygons
        keep = shapely.covers(self.geoms[tree_idx], points[inp])
        inp, tree_idx = inp[keep], tree_idx[keep]
        if len(inp):
            order = np.lexsort((tree_idx, inp))
            inp, tree_idx = inp[order], tree_idx[order]
            first_inputs, first = np.unique(inp, return_index=True)
            out[first_inputs] = tree_idx[first]
        return out


class Locator:
    """An immutable index of grid polygons by level (build one with `Locator.from_nodes`)."""

    def __init__(self, items, version=None):
        """`items`: iterable of (NodeRef, shapely geometry in WGS-84)."""
        by_level: dict[int, tuple[list, list]] = {}
        for ref, geom in items:
            if geom is None or geom.is_empty:
                continue
            refs, geoms = by_level.setdefault(ref.level, ([], []))
            refs.append(ref)
            geoms.append(geom)
        self.version = version
        # point tests run one at a time: GEOS prepared geometries are not safe to query from
        # several threads at once (gunicorn's threads share this locator); one test is microseconds
        self._query_lock = threading.Lock()
        self._levels = [_Level(lv, *by_level[lv]) for lv in sorted(by_level)]
        by_code = {ref.code: ref for lv in self._levels for ref in lv.refs}
        # chain of each indexed grid: its indexed ancestors (from the path) and itself
        self._chains = {
            code: [by_code[c] for c in ref.path.strip("/").split("/") if c in by_code] or [ref]
            for code, ref in by_code.items()
        }

    @classmethod
    def from_db(cls, version=None):
        from .models import GridNode

        rows = list(
            GridNode.objects.exclude(geom_wkt="").values_list("id", "code", "name", "level", "path", "geom_wkt")
        )
        geoms = shapely.from_wkt([r[5] for r in rows]) if rows else []
        return cls(((NodeRef(*r[:5]), g) for r, g in zip(rows, geoms)), version=version)

    @property
    def levels(self) -> list[int]:
        return [lv.level for lv in self._levels]

    def __len__(self):
        return sum(len(lv.refs) for lv in self._levels)

    def chain(self, ref: NodeRef) -> list[NodeRef]:
        """`ref` and its indexed ancestors, street first."""
        return list(self._chains.get(ref.code, [ref]))

    def locate(self, lon: float, lat: float) -> list[NodeRef]:
        """One grid per level that contains the point, street first (the finest and its ancestors)."""
        ref = self.finest(lon, lat)
        return self.chain(ref) if ref is not None else []

    def finest(self, lon: float, lat: float) -> NodeRef | None:
        """The grid of the deepest level containing the point, or None outside all grids."""
        point = shapely.Point(lon, lat)
        with self._query_lock:
            for lv in reversed(self._levels):
                ref = lv.pick(point)
                if ref is not None:
                    return ref
        return None

    def finest_many(self, lons, lats) -> list[NodeRef | None]:
        """`finest` for arrays of points, with one STRtree query per level."""
        lons = np.asarray(lons, dtype=float)
        lats = np.asarray(lats, dtype=float)
        if lons.shape != lats.shape or lons.ndim != 1:
            raise ValueError("lons and lats must be 1-d arrays of the same length")
        points = shapely.points(lons, lats)
        result: list[NodeRef | None] = [None] * len(points)
        remaining = np.flatnonzero(np.isfinite(lons) & np.isfinite(lats))
        for lv in reversed(self._levels):
            if not len(remaining):
                break
            with self._query_lock:
                picked = lv.pick_many(points[remaining])
            found = picked >= 0
            refs = lv.refs
            for i, j in zip(remaining[found].tolist(), picked[found].tolist()):
                result[i] = refs[j]
            remaining = remaining[~found]
        return result


_lock = threading.Lock()
_locator: Locator | None = None
_checked_at = float("-inf")
_stale = True


def invalidate_locator():
    """Make the next `get_locator()` read the version (called by services after grid changes)."""
    global _stale
    _stale = True


def get_locator() -> Locator:
    """The process-wide locator, rebuilt when the grids changed (version read at most once a second)."""
    global _locator, _checked_at, _stale
    now = time.monotonic()
    loc = _locator
    if loc is not None and not _stale and now - _checked_at < CHECK_INTERVAL:
        return loc
    with _lock:
        from .models import GeoVersion

        # while this thread reads the version and rebuilds, no other thread may take the fast
        # path above with the old index (it waits on the lock, then reads the version itself):
        # the check counts as done only once the index is current. A grid change in this process
        # during the rebuild marks it stale again (invalidate_locator).
        _checked_at = float("-inf")
        _stale = False
        version = GeoVersion.current()  # read before the polygons: a race then only costs a reload
        if _locator is None or _locator.version != version:
            _locator = Locator.from_db(version)
        _checked_at = now
        return _locator


def locate_point(lon: float, lat: float, crs: str = "wgs84") -> list[NodeRef]:
    """The chain of grids (street first) containing a point given in `crs` (wgs84, gcj02, bd09)."""
    x, y = to_wgs84(lon, lat, crs)
    return get_locator().locate(x, y)
