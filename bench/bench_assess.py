"""The quarter's assessment of every grid worker and grid leader on the demo street
(gridgov.gridwork.assess.assess: the eight formulas over every duty span, workload, grades and
ranks, grids and communities), beside a plain COUNT(*) of the quarter's cases in the same run.

The street: the demo street at GRIDGOV_BENCH_SCALE (default 1.0: ~83,000 residents, 144 grids,
~380 assessed people, ~45,000 cases a year with the 12345 tickets' cases) and a year of grid work
(gridgov.gridwork.demo_day: patrols, visits, needs, daily logs), built unless the database
(GRIDGOV_DATA_DIR / DATABASE_URL) already holds them. The quarter: the last finished one."""

import os

from bench.common import report, timed

SCALE = float(os.environ.get("GRIDGOV_BENCH_SCALE", "1.0"))
REPEAT = 3


def _street():
    from gridgov.accounts.models import User
    from gridgov.cases.models import Case
    from gridgov.cases.taxonomy import seed_taxonomy
    from gridgov.demo import builder
    from gridgov.gridwork import demo_day
    from gridgov.gridwork.models import Patrol
    from gridgov.hotline.demo import build_demo_cases_with_tickets, build_demo_tickets

    if not User.objects.filter(username="leader1", email__endswith=builder.DEMO_EMAIL_DOMAIN).exists():
        builder.build(seed=2024, scale=SCALE, reset=True)
    if Case.objects.count() < 1000 * SCALE:
        seed_taxonomy()
        build_demo_tickets(2024, years=2, scale=SCALE)
        build_demo_cases_with_tickets(2024, months=12, scale=SCALE)
    if not Patrol.objects.exists():
        t, counts = timed(demo_day.build, 2024)
        report("grid work demo: a year of the day", counts["gridwork_patrols"] / t, "patrols/s",
               "visits booked /s", counts["gridwork_visits"] / t)


def run():
    from django.utils import timezone

    from gridgov.cases.models import Case
    from gridgov.gridwork import assess, periods

    _street()
    quarter = periods.period_of(timezone.localdate(), "quarter").previous()
    count_t, n_cases = timed(lambda: Case.objects.filter(created_at__gte=quarter.start,
                                                         created_at__lt=quarter.end).count(), repeat=REPEAT)
    t, data = timed(assess.assess, quarter, repeat=REPEAT)
    people = len(data["workers"])
    print(f"    {quarter.key}: {people} people assessed, {len(data['grids'])} grids, {n_cases:,} cases in the quarter")
    report(f"assess {quarter.key}: all workers", t * 1000, "ms", "COUNT(*) of the quarter's cases", count_t * 1000,
           higher_is_better=False)
    report("assess: per person assessed", t * 1000 / max(1, people), "ms", "COUNT(*) of the quarter's cases",
           count_t * 1000, higher_is_better=False)
    w0 = data["workers"][0]["user_id"] if data["workers"] else None
    if w0:
        et, rows = timed(assess.evidence, quarter, w0, "visit_coverage", repeat=REPEAT)
        report("evidence of one figure (visit coverage)", et * 1000, "ms", "COUNT(*) of the quarter's cases",
               count_t * 1000, higher_is_better=False)
