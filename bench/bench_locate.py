"""Point → grid lookups: the STRtree locator against a naive loop over every polygon.

Builds a realistic street in the bench itself (gridgov.geo.synthetic): ~19 km² near
116.39E 39.79N, 10 communities, ~150 grids and ~1000 irregular Voronoi micro-grids. Then:

- `Locator.finest_many` on 100,000 random points (one vectorised STRtree query per level),
  beside the naive loop (shapely `contains` on every micro-grid for each point) on a sample;
- `Locator.finest` called once per point, beside the same naive loop.
Both are checked to agree with the naive answer on the sample."""

import numpy as np
import shapely

from bench.common import report, timed

N_POINTS = 100_000
N_NAIVE = 1_000


def run():
    from gridgov.geo.locator import Locator
    from gridgov.geo.models import GridNode
    from gridgov.geo.spatial import area_m2
    from gridgov.geo.synthetic import build_voronoi_street

    GridNode.objects.filter(code__startswith="110106099").order_by("-level").delete()
    build_s, levels = timed(build_voronoi_street)
    street = levels[0][0].geometry()
    micro = levels[3]
    print(
        f"  street {area_m2(street) / 1e6:.1f} km², {len(levels[1])} communities, {len(levels[2])} grids, "
        f"{len(micro)} micro-grids (built and saved in {build_s:.1f} s)"
    )
    load_s, loc = timed(Locator.from_db)
    print(f"  locator built from the database in {load_s * 1000:.0f} ms")

    rng = np.random.default_rng(42)
    x0, y0, x1, y1 = street.bounds
    lons = rng.uniform(x0, x1, N_POINTS)
    lats = rng.uniform(y0, y1, N_POINTS)

    batch_s, found = timed(loc.finest_many, lons, lats, repeat=3)

    polys = [(n.code, n.geometry()) for n in micro]

    def naive(xs, ys):
        out = []
        for x, y in zip(xs, ys):
            p = shapely.Point(x, y)
            out.append(next((code for code, g in polys if g.contains(p)), None))
        return out

    naive_s, naive_codes = timed(naive, lons[:N_NAIVE], lats[:N_NAIVE])
    got = [r.code if r is not None and r.level == 3 else None for r in found[:N_NAIVE]]
    agree = sum(a == b for a, b in zip(got, naive_codes))
    assert agree >= N_NAIVE - 2, f"finest_many disagrees with the naive loop on {N_NAIVE - agree} points"
    inside = sum(r is not None for r in found)
    print(f"  {inside:,} of {N_POINTS:,} points inside the street; agreement with the naive loop {agree}/{N_NAIVE}")

    naive_rate = N_NAIVE / naive_s
    report("locate: finest_many, 100k points", N_POINTS / batch_s, "points/s", "naive contains loop (1k sample)", naive_rate)
    single_s, _ = timed(lambda: [loc.finest(x, y) for x, y in zip(lons[:10_000], lats[:10_000])])
    report("locate: finest() per point, 10k points", 10_000 / single_s, "points/s", "naive contains loop (1k sample)", naive_rate)
