"""A year of grid work for the demo street (`build_demo_gridwork`): the day (patrols, visits of the
special-care groups, needs, daily logs), disputes, the week and the month (highlights, notes on
the summaries), then the quarter (the scheme, leaders' marks, the finished quarters published).
Each slice's module books its part through the app's services with backdated `now=`; this one
calls them in that order (the assessment reads what the others made). A smaller demo street
(`gridgov demo --scale` below 1) gets the day of a share of its grids and fewer weeks of
highlights. `now` defaults to the clock, like the rest of the demo's year; the same seed on the
same day gives the same year."""

import time


def build_demo_gridwork(seed: int = 2024, progress=None, now=None, scale: float = 1.0) -> dict:
    from . import demo_assess, demo_day, demo_disputes, demo_week

    counts = {}
    for name, module in (("day", demo_day), ("disputes", demo_disputes), ("week", demo_week),
                         ("assess", demo_assess)):
        t0 = time.perf_counter()
        kw = {"scale": scale} if module in (demo_day, demo_week) else {}
        counts.update(module.build(seed, progress=progress, now=now, **kw))
        if progress:
            progress(f"grid work ({name}): {time.perf_counter() - t0:.1f}s")
    return counts
