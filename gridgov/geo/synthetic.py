"""Irregular grid tilings built from Voronoi cells, for tests and benchmarks.

Each level splits every parent into Voronoi cells of random seeds clipped to the parent, so
the children tile their parent up to floating-point slivers (far below 1 m²) and have the
irregular shapes of real grids. Codes follow docs/architecture.md (`services.child_code`)."""

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Polygon

from .models import GridNode


def _random_points_in(geom, n, rng):
    x0, y0, x1, y1 = geom.bounds
    pts = []
    while len(pts) < n:
        xs = rng.uniform(x0, x1, 4 * n)
        ys = rng.uniform(y0, y1, 4 * n)
        inside = shapely.contains_xy(geom, xs, ys)
        pts.extend(zip(xs[inside].tolist(), ys[inside].tolist()))
    return pts[:n]


def voronoi_split(geom, n: int, rng) -> list:
    """`geom` cut into `n` irregular pieces (Voronoi cells of random seeds, clipped)."""
    if n <= 1:
        return [geom]
    cells = shapely.voronoi_polygons(MultiPoint(_random_points_in(geom, n, rng)), extend_to=geom)
    parts = []
    for cell in cells.geoms:
        piece = cell.intersection(geom)
        if piece.geom_type == "GeometryCollection":
            piece = shapely.union_all([g for g in piece.geoms if g.geom_type in ("Polygon", "MultiPolygon")])
        if not piece.is_empty and piece.area > 0:
            parts.append(piece)
    return parts


def street_outline(lon0, lat0, dlon, dlat, rng, jitter=0.08) -> Polygon:
    """A roughly rectangular street with jagged edges (5 vertices per side)."""
    k = 5
    t = np.linspace(0, 1, k, endpoint=False)
    sides = [
        [(lon0 + dlon * s, lat0) for s in t],
        [(lon0 + dlon, lat0 + dlat * s) for s in t],
        [(lon0 + dlon * (1 - s), lat0 + dlat) for s in t],
        [(lon0, lat0 + dlat * (1 - s)) for s in t],
    ]
    pts = []
    for side in sides:
        for x, y in side:
            pts.append((x + rng.uniform(-jitter, jitter) * dlon / k, y + rng.uniform(-jitter, jitter) * dlat / k))
    return Polygon(pts).buffer(0)


def build_voronoi_street(
    lon0=116.36,
    lat0=39.775,
    dlon=0.0609,
    dlat=0.0328,
    per_level=(10, 15, 7),
    seed=1,
    street_code="110106099000000",
    street_name="沃罗诺伊街道",
) -> dict[int, list[GridNode]]:
    """Save a street with `per_level[i]` children per node at level i+1; return nodes by level.

    The defaults make ~19 km² near 116.39E 39.79N with 10 communities, ~150 grids and ~1000
    micro-grids."""
    from .services import child_code, reading_order, save_node

    rng = np.random.default_rng(seed)
    street = save_node(
        GridNode(code=street_code, name=street_name, level=0, kind="street"),
        street_outline(lon0, lat0, dlon, dlat, rng),
    )
    kinds = {1: "community", 2: "grid", 3: "microgrid"}
    levels = {0: [street]}
    for depth, n in enumerate(per_level, start=1):
        levels[depth] = []
        for parent in levels[depth - 1]:
            pieces = voronoi_split(parent.geometry(), n, rng)
            pts = [p.representative_point().coords[0] for p in pieces]
            heights = [p.bounds[3] - p.bounds[1] for p in pieces]
            for seq, i in enumerate(reading_order(pts, heights), start=1):
                node = GridNode(
                    code=child_code(parent, depth, seq),
                    name=f"{parent.name}-{seq}",
                    level=depth,
                    parent=parent,
                    kind=kinds.get(depth, ""),
                )
                levels[depth].append(save_node(node, pieces[i]))
    return levels
