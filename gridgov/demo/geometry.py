"""Polygons of the demo street: a street outline cut level by level into cells that tile exactly.

Each level is built from seeded points inside each parent: their Voronoi cells, clipped to the
parent, give the children. All boundaries of a level (the parents' and the new cut lines) are
noded together once, on a fixed precision grid (1e-7°, about 1 cm), and polygonized into faces;
every node's polygon is the union of its faces at the finest level. So siblings share identical
edges, children union exactly to their parent, and nothing is left over or covered twice."""

import math
import random
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Point, Polygon

from gridgov.geo.spatial import EARTH_RADIUS_M

LON0, LAT0 = 116.39, 39.79
GRID_SIZE = 1e-7  # degrees: the precision every vertex is snapped to
KX = math.radians(1) * EARTH_RADIUS_M * math.cos(math.radians(LAT0))  # metres per degree of longitude
KY = math.radians(1) * EARTH_RADIUS_M


def to_lonlat(xy):
    xy = np.asarray(xy, dtype=float)
    return np.column_stack([LON0 + xy[:, 0] / KX, LAT0 + xy[:, 1] / KY])


def to_metres(lonlat):
    ll = np.asarray(lonlat, dtype=float)
    return np.column_stack([(ll[:, 0] - LON0) * KX, (ll[:, 1] - LAT0) * KY])


@dataclass
class Cell:
    """One node of the generated hierarchy (before it is saved as a GridNode)."""

    level: int
    index: int  # position among its siblings in reading order (0-based), set by `order_children`
    parent: "Cell | None"
    seed_xy: tuple[float, float]
    faces: list = field(default_factory=list)
    children: list = field(default_factory=list)
    geom: object = None

    @property
    def area_m2(self) -> float:
        return shapely.area(shapely.transform(self.geom, to_metres))


def street_outline(rng: random.Random, area_km2: float = 19.0, vertices: int = 14) -> Polygon:
    """An irregular polygon of `area_km2` centred near (LON0, LAT0), in WGS-84."""
    pts = []
    for i in range(vertices):
        a = 2 * math.pi * i / vertices + rng.uniform(-0.12, 0.12)
        r = rng.uniform(0.82, 1.12)
        pts.append((r * 1.15 * math.cos(a), r * 0.87 * math.sin(a)))
    poly = Polygon(pts)
    k = math.sqrt(area_km2 * 1e6 / poly.area)
    metres = np.array(poly.exterior.coords[:-1]) * k
    poly = Polygon(to_lonlat(metres))
    return shapely.set_precision(poly, GRID_SIZE)


def random_points_in(geom, n: int, rng: random.Random, lloyd: int = 2) -> np.ndarray:
    """n seeded points (metres) spread inside `geom` (WGS-84): random, then a few Lloyd steps."""
    gm = shapely.transform(geom, to_metres)
    shapely.prepare(gm)
    minx, miny, maxx, maxy = gm.bounds
    pts = []
    while len(pts) < n:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if shapely.contains_xy(gm, x, y):
            pts.append((x, y))
    pts = np.array(pts)
    if n < 2:
        return pts
    for _ in range(lloyd):
        cells = _voronoi_cells(pts, gm)
        new = []
        for p, c in zip(pts, cells):
            piece = shapely.intersection(c, gm)
            q = piece.centroid if not piece.is_empty else Point(p)
            if not gm.contains(q):
                q = piece.representative_point() if not piece.is_empty else Point(p)
            new.append((q.x, q.y))
        pts = np.array(new)
    return pts


def _voronoi_cells(pts_m: np.ndarray, extent_m) -> list:
    """Voronoi cells of pts (metres), in the order of pts."""
    vor = shapely.voronoi_polygons(MultiPoint([tuple(p) for p in pts_m]), extend_to=extent_m.buffer(500))
    cells = list(vor.geoms)
    out = [None] * len(pts_m)
    tree = shapely.STRtree(cells)
    for i, p in enumerate(pts_m):
        hits = tree.query(Point(p), predicate="intersects")
        out[i] = cells[int(hits[0])] if len(hits) else Point(p).buffer(1)
    return out


def _cut_lines(parent_geom, pts_m: np.ndarray) -> list:
    """The Voronoi cell boundaries of pts, clipped to the parent polygon (WGS-84 lines)."""
    if len(pts_m) < 2:
        return []
    gm = shapely.transform(parent_geom, to_metres)
    lines = []
    for cell in _voronoi_cells(pts_m, gm):
        ll = shapely.transform(cell.boundary, to_lonlat)
        piece = shapely.intersection(ll, parent_geom)
        if not piece.is_empty:
            lines.append(piece)
    return lines


def _faces(lines) -> list:
    noded = shapely.union_all(lines, grid_size=GRID_SIZE)
    polys = shapely.polygonize(shapely.get_parts(noded))
    return [f for f in shapely.get_parts(polys) if f.area > 0]


def split(parents: list[Cell], counts: list[int], rng: random.Random, level: int) -> list[Cell]:
    """Cut each parent into counts[i] children; returns all children (by parent, unordered)."""
    lines = [shapely.get_exterior_ring(p.geom) if p.geom.geom_type == "Polygon" else p.geom.boundary for p in parents]
    children_by_parent = []
    for p, n in zip(parents, counts):
        pts = random_points_in(p.geom, n, rng)
        kids = [Cell(level=level, index=-1, parent=p, seed_xy=tuple(xy)) for xy in pts]
        p.children = kids
        children_by_parent.append((pts, kids))
        lines.extend(_cut_lines(p.geom, pts))
    faces = _faces(lines)
    parent_geoms = [p.geom for p in parents]
    tree = shapely.STRtree(parent_geoms)
    for f in faces:
        rp = f.representative_point()
        hits = tree.query(rp, predicate="intersects")
        if not len(hits):
            continue  # a sliver outside every parent cannot arise from the noded outline; skip defensively
        pi = int(hits[0])
        pts, kids = children_by_parent[pi]
        m = to_metres([[rp.x, rp.y]])[0]
        k = int(np.argmin(((pts - m) ** 2).sum(axis=1)))
        kids[k].faces.append(f)
    out = []
    for p, (pts, kids) in zip(parents, children_by_parent):
        kids = [k for k in kids if k.faces]
        p.children = kids
        for k in kids:
            k.geom = shapely.union_all(k.faces, grid_size=GRID_SIZE)
        out.extend(kids)
    return out


def order_children(parent: Cell):
    """Number children in reading order: rows north→south, west→east inside a row."""
    kids = parent.children
    if not kids:
        return
    cents = [k.geom.centroid for k in kids]
    miny, maxy = parent.geom.bounds[1], parent.geom.bounds[3]
    rows = max(1, round(math.sqrt(len(kids))))
    band = (maxy - miny) / rows or 1.0
    keyed = sorted(zip(kids, cents), key=lambda kc: (min(rows - 1, int((maxy - kc[1].y) / band)), kc[1].x))
    parent.children = [k for k, _ in keyed]
    for i, k in enumerate(parent.children):
        k.index = i


def refresh_from_leaves(cell: Cell):
    """Recompute every polygon as the union of its finest faces (so all levels share vertices)."""
    if not cell.children:
        cell.geom = shapely.union_all(cell.faces, grid_size=GRID_SIZE)
        return cell.faces
    faces = []
    for k in cell.children:
        faces.extend(refresh_from_leaves(k))
    cell.faces = faces
    cell.geom = shapely.union_all(faces, grid_size=GRID_SIZE)
    return faces


def allocate(total: int, weights: list[float], minimum: int = 1) -> list[int]:
    """Split `total` into integers proportional to weights (largest remainder), each >= minimum."""
    n = len(weights)
    base = [minimum] * n
    rest = total - minimum * n
    s = sum(weights)
    raw = [rest * w / s for w in weights]
    fl = [int(r) for r in raw]
    left = rest - sum(fl)
    order = sorted(range(n), key=lambda i: -(raw[i] - fl[i]))
    for i in order[:left]:
        fl[i] += 1
    return [b + f for b, f in zip(base, fl)]


def build_tree(seed: int, n_level1: int = 19, n_grids: int = 144, micro_range=(3, 6)) -> Cell:
    """The street and its three levels of cells, polygons final."""
    rng = random.Random(seed)
    street = Cell(level=0, index=0, parent=None, seed_xy=(0.0, 0.0), geom=street_outline(rng))
    level1 = split([street], [n_level1], rng, 1)
    areas = [c.area_m2 * rng.uniform(0.8, 1.25) for c in street.children]
    counts = allocate(n_grids, areas, minimum=4)
    grids = split(street.children, counts, rng, 2)
    micro_counts = [rng.randint(*micro_range) for _ in grids]
    split(grids, micro_counts, rng, 3)
    refresh_from_leaves(street)
    for c in [street, *level1, *grids]:
        order_children(c)
    return street
