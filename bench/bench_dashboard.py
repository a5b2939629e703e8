"""The dashboard's server time on the demo street with a year of cases.

One dashboard load = GET /api/insight/stats (every figure of the page: summary, by month, hour,
item, channel, community, grid, time-limit compliance, overdue cases, satisfaction, hot spots,
the 12345 trend),
through the Django test client as a street leader, so scope, query-string parsing and JSON are
included. Baselines in the same run: a single COUNT(*) over the cases (the floor of any
database round trip over the table) and the naive computation of the same figures in a Python
loop over the visible cases (what the aggregates replace). The month's topics and recurring
problems (GET /api/insight/topics: 12345 tickets and the other channels' cases compared by text,
gridgov.hotline.clusters), which the page asks for after its figures, are timed apart, on two
years of demo tickets (gridgov.hotline.demo, about 17,000 a year at scale 1).

GRIDGOV_BENCH_SCALE (default 1.0) is the demo street's scale (1.0 = the full street, ~20,000
cases in a year)."""

import os
from collections import Counter

from bench.common import report, timed

SCALE = float(os.environ.get("GRIDGOV_BENCH_SCALE", "1.0"))
REPEAT = 5


def _demo():
    from gridgov.accounts.models import User
    from gridgov.cases.models import Case
    from gridgov.demo import builder
    from gridgov.hotline.demo import build_demo_cases_with_tickets, build_demo_tickets

    if not User.objects.filter(username="leader1", email__endswith=builder.DEMO_EMAIL_DOMAIN).exists():
        builder.build(seed=2024, scale=SCALE, reset=True)
    if Case.objects.count() < 1000 * SCALE:
        # what `gridgov demo` builds: two years of tickets, then a year of cases and the tickets' cases
        Case.objects.all().delete()
        build_demo_tickets(2024, years=2, scale=SCALE)
        t, counts = timed(build_demo_cases_with_tickets, 2024, months=12, scale=SCALE)
        report("demo cases: build (a year + the tickets')", counts["cases"] / t, "cases/s", "case events written /s", counts["events"] / t)
    return Case.objects.count()


def _naive(user):
    """The same figures in Python over the visible cases: what the SQL aggregates replace."""
    from django.utils import timezone

    from gridgov.cases.models import OPEN_STATES, Case, Clock, Rating

    cases = list(Case.objects.visible_to(user).select_related("item", "grid"))
    ids = {c.pk for c in cases}
    out = {"month": Counter(), "hour": Counter(), "item": Counter(), "channel": Counter(), "community": Counter(),
           "grid": Counter(), "hot": Counter()}
    open_n = 0
    for c in cases:
        local = timezone.localtime(c.created_at)
        out["month"][local.strftime("%Y-%m")] += 1
        out["hour"][local.hour] += 1
        out["item"][c.item.name if c.item_id else ""] += 1
        out["channel"][c.channel] += 1
        parts = c.grid_path.strip("/").split("/")
        out["community"][parts[1] if len(parts) > 1 else ""] += 1
        out["grid"][parts[2] if len(parts) > 2 else ""] += 1
        out["hot"][c.grid.code if c.grid_id else ""] += 1
        open_n += c.state in OPEN_STATES
    comp = Counter()
    for k in Clock.objects.filter(state__in=["stopped", "breached"]).only("case_id", "kind", "state"):
        if k.case_id in ids:
            comp[(k.kind, k.state)] += 1
    sat = Counter(r.score for r in Rating.objects.only("case_id", "score") if r.case_id in ids)
    return out, open_n, comp, sat


def run():
    from django.test import Client

    from gridgov.accounts.models import User
    from gridgov.cases.models import Case

    n = _demo()
    leader = User.objects.get(username="leader1")
    worker = User.objects.filter(username__startswith="gw").order_by("username").first()
    client = Client()
    client.force_login(leader)

    def get(url):
        r = client.get(url, HTTP_HOST="127.0.0.1")
        assert r.status_code == 200, (url, r.status_code)
        return r

    count_t, _ = timed(lambda: Case.objects.count(), repeat=REPEAT)
    naive_t, _ = timed(_naive, leader, repeat=2)
    load_t, r = timed(get, "/api/insight/stats", repeat=REPEAT)
    assert r.json()["summary"]["total"] == n
    print(f"    ({n:,} cases, scale {SCALE})")
    report("dashboard load, leader (ms)", load_t * 1000, "ms", "SELECT COUNT(*) over cases (ms)", count_t * 1000, higher_is_better=False)
    report("dashboard load, leader (ms) ", load_t * 1000, "ms", "same figures in a Python loop (ms)", naive_t * 1000, higher_is_better=False)
    month = r.json()["by_month"][len(r.json()["by_month"]) // 2]["key"]
    t, _ = timed(get, f"/api/insight/stats?channel=patrol&month={month}", repeat=REPEAT)
    report("dashboard load, 2 cross-filters (ms)", t * 1000, "ms", "unfiltered dashboard load (ms)", load_t * 1000, higher_is_better=False)
    t, _ = timed(get, "/api/insight/stats?screen=1", repeat=REPEAT)
    report("big screen load (+12345 trend) (ms)", t * 1000, "ms", "dashboard load (ms)", load_t * 1000, higher_is_better=False)
    t, r = timed(get, "/api/insight/topics", repeat=REPEAT)
    d = r.json()
    print(f"    (topics of {d['month']}: {d['tickets']:,} tickets, {d['cases']:,} cases; {len(d['recurring'])} recurring problems shown)")
    report("month's topics + recurring (ms)", t * 1000, "ms", "dashboard load (ms)", load_t * 1000, higher_is_better=False)
    from gridgov.hotline import clusters

    t2, _ = timed(clusters.month_clusters, d["month"], repeat=2)
    report("  of which clusters of tickets+cases (ms)", t2 * 1000, "ms", "month's topics + recurring (ms)", t * 1000, higher_is_better=False)
    t2, _ = timed(clusters.month_clusters, d["month"], cases=Case.objects.none(), repeat=2)
    report("  clusters of tickets only (ms)", t2 * 1000, "ms", "month's topics + recurring (ms)", t * 1000, higher_is_better=False)
    t, _ = timed(get, "/api/insight/stats.xlsx", repeat=2)
    report("xlsx export (+ topics) (ms)", t * 1000, "ms", "dashboard load (ms)", load_t * 1000, higher_is_better=False)
    client.force_login(worker)
    t, r = timed(get, "/api/insight/stats", repeat=REPEAT)
    report(f"dashboard load, grid worker ({r.json()['summary']['total']} cases) (ms)", t * 1000, "ms", "leader's load (ms)", load_t * 1000, higher_is_better=False)
    client.force_login(leader)
    t, r = timed(lambda: [get(u) for u in ("/api/insight/layers/grids?zoom=14", "/api/insight/layers/cases", "/api/insight/layers/workers")], repeat=REPEAT)
    report("map default layers: grids+cases+workers (ms)", t * 1000, "ms", "dashboard load (ms)", load_t * 1000, higher_is_better=False)
    t, _ = timed(get, "/api/insight/layers/tickets", repeat=REPEAT)
    report("map 12345 hot-spot layer (+ cases) (ms)", t * 1000, "ms", "dashboard load (ms)", load_t * 1000, higher_is_better=False)
