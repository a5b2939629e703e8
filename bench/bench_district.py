"""A district at a city's volume (issue 15): the leaders' dashboard and the month's topics for the
district's leader at about 100,000 and about 1,000,000 cases in the same run, beside a COUNT(*)
of the cases, and the time to build the million. PostgreSQL only: run with
DATABASE_URL=postgres://… (on SQLite it says so and stops).

The district: `gridgov demo --streets N`'s streets (GRIDGOV_BENCH_DISTRICT_STREETS, default 10)
with a small registry. The first 100,000 cases are the demo's year of cases and 12345 tickets
(gridgov.cases.demo, gridgov.hotline.demo: each case with its events, clocks and rating) spread
over every street. The million is that year copied nine more times into the same streets and
days, in SQL (cases with their clocks and ratings, not their events): ten times the volume of the
same district, which is what a dashboard must not slow down with. The rollups are rebuilt after
each step and their rebuild counts in the build time."""

import os
import time

from bench.common import report, timed

STREETS = int(os.environ.get("GRIDGOV_BENCH_DISTRICT_STREETS", "10"))
TARGET = int(os.environ.get("GRIDGOV_BENCH_DISTRICT_CASES", "100000"))
COPIES = int(os.environ.get("GRIDGOV_BENCH_DISTRICT_COPIES", "9"))
REPEAT = 3


def _rebuild_rollups():
    from django.core.management import call_command, get_commands

    if "rollup" in get_commands():
        call_command("rollup", "rebuild", verbosity=0)


def _copy(model, id_offset: int, fk_offsets: dict, upto: int, k: int):
    """INSERT … SELECT the rows of `model` with id <= upto, ids shifted by k × id_offset and the
    foreign keys in `fk_offsets` by k × their offset; unique columns other than id left NULL."""
    from django.db import connection

    cols, exprs = [], []
    for f in model._meta.concrete_fields:
        col = connection.ops.quote_name(f.column)
        cols.append(col)
        if f.primary_key:
            exprs.append(f"{col} + {k * id_offset}")
        elif f.column in fk_offsets:
            exprs.append(f"{col} + {k * fk_offsets[f.column]}")
        elif f.unique:
            exprs.append("NULL")
        else:
            exprs.append(col)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cur:
        cur.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(exprs)} FROM {table} WHERE id <= %s", [upto])
        return cur.rowcount


def _reset_sequences(models):
    from django.core.management.color import no_style
    from django.db import connection

    with connection.cursor() as cur:
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cur.execute(sql)


def _measure(label, leader):
    from django.test import Client

    from gridgov.cases.models import Case

    client = Client()
    client.force_login(leader)

    def get(url):
        r = client.get(url, HTTP_HOST="127.0.0.1")
        assert r.status_code == 200, (url, r.status_code)
        return r

    n = Case.objects.count()
    count_t, _ = timed(lambda: Case.objects.count(), repeat=REPEAT)
    get("/api/insight/stats")  # warm the process (imports, the first query plans)
    stats_t, r = timed(get, "/api/insight/stats", repeat=REPEAT)
    assert r.json()["summary"]["total"] == n, (r.json()["summary"]["total"], n)
    topics_t, _ = timed(get, "/api/insight/topics", repeat=REPEAT)
    print(f"    ({label}: {n:,} cases in {STREETS} streets)")
    report(f"district dashboard, {n:,} cases (ms)", stats_t * 1000, "ms", "SELECT COUNT(*) over cases (ms)", count_t * 1000,
           higher_is_better=False)
    report(f"district topics, {n:,} cases (ms)", topics_t * 1000, "ms", "SELECT COUNT(*) over cases (ms)", count_t * 1000,
           higher_is_better=False)
    return n, stats_t, topics_t


def run():
    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        print("    (skipped: the district benchmark runs on PostgreSQL; set DATABASE_URL=postgres://…)")
        return
    from gridgov.accounts.models import User
    from gridgov.cases.models import Case, Clock, Rating
    from gridgov.cases.taxonomy import seed_taxonomy
    from gridgov.demo import builder
    from gridgov.demo.district import build_district
    from gridgov.hotline.demo import build_demo_cases_with_tickets, build_demo_tickets

    t0 = time.perf_counter()
    builder.build(seed=2024, scale=0.02, reset=True)
    build_district(STREETS, 2024)
    seed_taxonomy()
    per_scale = 16_000 * 1.6  # the demo's cases per scale unit and year, with the tickets' cases
    scale = TARGET / per_scale
    build_demo_tickets(2024, years=1, scale=scale)
    build_demo_cases_with_tickets(2024, months=12, scale=scale)
    _rebuild_rollups()
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    first_t = time.perf_counter() - t0
    leader = User.objects.get(username="district_leader")
    n1, s1, p1 = _measure("first year", leader)

    t1 = time.perf_counter()
    top = Case.objects.order_by("-id").values_list("id", flat=True).first()
    off = 10 ** len(str(top))
    clock_top = Clock.objects.order_by("-id").values_list("id", flat=True).first() or 0
    rating_top = Rating.objects.order_by("-id").values_list("id", flat=True).first() or 0
    coff, roff = 10 ** len(str(clock_top)), 10 ** len(str(rating_top))
    for k in range(1, COPIES + 1):
        with transaction.atomic():
            _copy(Case, off, {"merged_into_id": off}, top, k)
            _copy(Clock, coff, {"case_id": off}, clock_top, k)
            _copy(Rating, roff, {"case_id": off}, rating_top, k)
        print(f"    copy {k}/{COPIES}: {Case.objects.count():,} cases", flush=True)
    _reset_sequences([Case, Clock, Rating])
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    _rebuild_rollups()
    million_t = first_t + time.perf_counter() - t1
    n2, s2, p2 = _measure(f"{COPIES + 1} × the year", leader)
    report(f"build the district's {n2:,} cases (s)", million_t, "s", f"build its first {n1:,} (s)", first_t, higher_is_better=False)
    report(f"dashboard growth for {n2 / n1:.0f}× the cases", s2 / s1, "× time", "cases growth", n2 / n1, higher_is_better=False)
    report(f"topics growth for {n2 / n1:.0f}× the cases", p2 / p1, "× time", "cases growth", n2 / n1, higher_is_better=False)
