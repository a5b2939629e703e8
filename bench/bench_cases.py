"""Cases: intake (locate, recognise, route, store, clocks, outbox), the same with deferred intake
(acknowledged once stored; the worker's routing measured apart), and the SLA sweep.

Baselines measured in the same run: a bare `Case.objects.create` (what intake costs on top of one
insert), and a sweep that only warns (claim + event + notification) against one that breaches
and escalates (claim + routing + new clocks + notifications)."""

import datetime as dt
import random

from bench.common import report, timed

N = 300


def _street():
    from gridgov.accounts.models import Duty, GridAssignment, Role, User
    from gridgov.cases.taxonomy import seed_taxonomy
    from gridgov.geo.models import GridNode
    from gridgov.testing import make_small_street

    if not GridNode.objects.exists():
        make_small_street()
    seed_taxonomy()
    nodes = {n.code: n for n in GridNode.objects.all()}
    for i, n in enumerate(x for x in nodes.values() if x.level == 2):
        u, _ = User.objects.get_or_create(username=f"bench_gl{i}", defaults={"role": Role.GRID_LEADER})
        GridAssignment.objects.get_or_create(user=u, node=n, duty=Duty.LEADER)
    for i, n in enumerate(x for x in nodes.values() if x.level == 1):
        u, _ = User.objects.get_or_create(username=f"bench_sec{i}", defaults={"role": Role.COMMUNITY_SECRETARY})
        GridAssignment.objects.get_or_create(user=u, node=n, duty=Duty.SECRETARY)
    reporter, _ = User.objects.get_or_create(username="bench_resident")
    return reporter


TEXTS = ["小区门口的路灯坏了", "路边井盖丢了", "楼道里堆满杂物", "早市小贩摆摊占道", "垃圾堆在路边没人清", "下雨后路口积水很深"]


def run():
    from django.utils import timezone

    from gridgov.cases import services
    from gridgov.cases.models import Case
    from gridgov.testing import DLAT, DLON, LAT0, LON0

    reporter = _street()
    rnd = random.Random(7)
    points = [(LON0 + rnd.random() * DLON, LAT0 + rnd.random() * DLAT) for _ in range(N)]

    def intake():
        for i, (x, y) in enumerate(points):
            services.submit_case(reporter=reporter, channel="resident", text=TEXTS[i % len(TEXTS)], lon=x, lat=y)

    def bare():
        now = timezone.now()
        for i, (x, y) in enumerate(points):
            Case.objects.create(channel="resident", reporter=reporter, text=TEXTS[i % len(TEXTS)], lon=x, lat=y, created_at=now, updated_at=now)

    def deferred():  # GRIDGOV_INTAKE=deferred: acknowledged once stored, routed by the worker
        for i, (x, y) in enumerate(points):
            services.submit_case(reporter=reporter, channel="resident", text=TEXTS[i % len(TEXTS)], lon=x, lat=y, defer=True)

    def worker():  # what the worker then does for each (huey's queue is not drained here)
        from gridgov.cases.models import Case

        for pk in Case.objects.filter(intake_pending=True).values_list("pk", flat=True):
            services.finish_intake(pk)

    secs, _ = timed(intake)
    base, _ = timed(bare)
    report("cases: submit_case (full intake)", N / secs, "cases/s", "bare Case insert", N / base)

    start = timezone.now()
    warn, warned = timed(services.sweep, start + dt.timedelta(seconds=50))  # 80 % of the 1-minute accept limits
    busy, counts = timed(services.sweep, start + dt.timedelta(minutes=16))  # accept and arrive due
    report(f"cases: sweep breach+escalate ({counts['escalated']}/{counts['breached']})", counts["breached"] / busy, "clocks/s",
           f"sweep warn only ({warned['warned']})", warned["warned"] / warn)

    # after the sweep (whose figures count the first N cases' clocks only)
    acked, _ = timed(deferred)
    base2, _ = timed(bare)
    report("cases: submit_case, deferred intake (acknowledged)", N / acked, "cases/s", "bare Case insert", N / base2)
    routed, _ = timed(worker)
    report("cases: the worker routing deferred reports", N / routed, "cases/s", "bare Case insert", N / base2)
