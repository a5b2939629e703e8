"""The demo's year of assessment (after the day, disputes and the week): the default scheme, a few
grid workers paid by points (兼职网格员: PointsTerm), the leaders' marks of the grid workers for
each quarter of the year that has ended (given by their community's secretary a few days after),
and those quarters published (assess.publish, backdated to the 5th of the next month), which pays
the points. Deterministic for a seed and a `now`; drops an earlier build's marks, terms and
snapshots first."""

import random
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from . import assess, periods
from .models import AssessmentSnapshot, LeaderMark, PointsTerm
from .scheme import ensure_default

#: the share of grid workers paid by points (non-salaried)
POINTS_SHARE = 0.06
NOTES = ["走访扎实，群众认可", "巡查到位，问题发现及时", "台账规范", "工作积极主动", "需加强入户走访", "上报质量有待提高", ""]


def drop():
    from django.db.models import F

    from gridgov.core.models import ChangeRecord
    from gridgov.volunteers.models import Account, Transfer

    LeaderMark.objects.all().delete()
    AssessmentSnapshot.objects.all().delete()
    PointsTerm.objects.all().delete()
    ChangeRecord.objects.filter(kind="gridwork", action__in=["leader_mark", "publish", "republish", "points_term"]).delete()
    for t in Transfer.objects.filter(key__startswith="award:gridwork:"):
        # undo the payment: the ledger keeps balances; an earlier build's awards are reversed by
        # deleting them with their movements and restoring the balances
        for account_id, amount in t.movements.values_list("account_id", "amount"):
            Account.objects.filter(pk=account_id).update(balance=F("balance") - amount)
        t.movements.all().delete()
        t.delete()


def build(seed: int = 2024, progress=None, now=None) -> dict:
    with transaction.atomic():
        return _build(seed, progress, now)


def _build(seed, progress, now) -> dict:
    from gridgov.accounts.models import GridAssignment, Role, User, community_prefix

    say = progress or (lambda msg: None)
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    rng = random.Random(seed * 7411 + 5)
    drop()
    ensure_default()
    admin = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first()
    first = today.replace(year=today.year - 1) + timedelta(days=1)
    quarters = []
    q = periods.period_of(first, "quarter")
    while q.last < today:
        quarters.append(q)
        q = periods.period_of(q.last + timedelta(days=1), "quarter")
    # the secretaries who mark, by community path
    secretaries = {}
    for a in (GridAssignment.objects.in_force().filter(duty="secretary", user__role=Role.COMMUNITY_SECRETARY,
                                                      user__is_active=True)
              .select_related("user", "node").order_by("node__path", "user_id")):
        secretaries.setdefault(a.node.path, a.user)
    from gridgov.geo.levels import level_index
    from gridgov.geo.models import GridNode

    grids = set(GridNode.objects.filter(level__gte=level_index("grid")).values_list("pk", flat=True))
    workers = list(User.objects.filter(role=Role.GRID_WORKER, is_active=True).order_by("username"))
    paid = rng.sample(workers, max(1, int(len(workers) * POINTS_SHARE))) if workers else []
    for u in paid:
        assess.set_points_term(admin, u, first, note="兼职网格员，岗位津贴按考核积分发放", now=now)
    counts = {"gridwork_points_terms": len(paid), "gridwork_leader_marks": 0, "gridwork_periods_published": 0}
    for q in quarters + [periods.period_of(today, "quarter")]:
        marked_on = min(q.last + timedelta(days=3), today)
        at = timezone.make_aware(datetime.combine(marked_on, time(10)))
        if at > now:
            continue
        for s in periods.spans(q, duties=["worker"]):
            if s.node_id not in grids or rng.random() < 0.1:
                continue
            sec = secretaries.get(community_prefix(s.path))
            u = next((x for x in workers if x.pk == s.user_id), None)
            if sec is None or u is None or LeaderMark.objects.filter(worker=u, period=q.key).exists():
                continue
            mark = max(55, min(100, round(rng.gauss(85, 7))))
            assess.set_leader_mark(sec, u, q, mark, rng.choice(NOTES), now=at)
            counts["gridwork_leader_marks"] += 1
        say(f"gridwork assess: {q.key} marked")
    for q in quarters:
        at = timezone.make_aware(datetime.combine(q.last + timedelta(days=5), time(9)))
        if admin is None or at > now:
            continue
        assess.publish(admin, q, now=at)
        counts["gridwork_periods_published"] += 1
        say(f"gridwork assess: {q.key} published")
    return counts
