"""The demo's year of the week and the month: highlights (周亮点) of the grid workers, most
marked by the workers themselves, some by their grid leader or the community, one to three a
community a week; the community's secretary picks most past weeks' best (on the Monday after);
notes on the last three months' summaries of every community and a few workers. Booked through
gridwork.week with backdated `now=`; deterministic for a seed and a `now`; drops an earlier
build's first. Works whether or not the day's and the disputes' demos ran."""

import random
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from . import periods
from . import week as svc
from .models import Highlight, SummaryNote

TITLES = [
    "入户走访发现独居老人身体不适，及时联系家属送医", "巡查发现楼道电动车充电隐患，当场劝导整改",
    "协助调解邻里漏水纠纷，双方握手言和", "组织楼门长清理楼道堆物", "发现井盖破损及时上报，当天修复",
    "帮助困难家庭申请临时救助", "雨天排查低洼积水点，协助转移车辆", "上门为残疾人办理补贴认证",
    "走访孕产妇，对接社区卫生服务站随访", "劝导占道经营，恢复道路通行", "配合开展燃气安全入户检查",
    "收集居民加装电梯意见，整理上报", "夜间巡查发现路灯不亮，协调维修", "为高龄老人代办医保业务",
]
NOTES = ["本月走访覆盖到位，需求转办及时", "巡查频次较上月提高，事件上报质量好", "个别超时事件需加强跟进",
         "矛盾纠纷化解率高，群众评价好", "下月重点：独居老人走访和楼道安全"]


def drop():
    from gridgov.core.models import ChangeRecord

    Highlight.objects.all().delete()
    SummaryNote.objects.all().delete()
    ChangeRecord.objects.filter(kind="gridwork", action__in=["highlight", "pick", "unpick", "withdraw", "note"]).delete()


def build(seed: int = 2024, progress=None, now=None, scale: float = 1.0) -> dict:
    with transaction.atomic():
        return _build(seed, progress, now, scale)


def _build(seed, progress, now, scale=1.0) -> dict:
    from gridgov.accounts.models import GridAssignment, Role, User, community_prefix

    say = progress or (lambda msg: None)
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    rng = random.Random(seed * 9173 + 11)
    drop()
    first = today.replace(year=today.year - 1) + timedelta(days=1)
    year = periods.Period("demo", "year", first, today)
    spans = [s for s in periods.spans(year, duties=["worker"])]
    users = {u.pk: u for u in User.objects.filter(pk__in={s.user_id for s in spans}, role=Role.GRID_WORKER)}
    spans = [s for s in spans if s.user_id in users]
    secretaries = {}
    for a in (GridAssignment.objects.in_force().filter(duty="secretary", user__role=Role.COMMUNITY_SECRETARY,
                                                      user__is_active=True)
              .select_related("user", "node").order_by("node__path", "user_id")):
        secretaries.setdefault(a.node.path, a.user)
    leaders = {}
    for a in (GridAssignment.objects.in_force().filter(duty="leader", user__is_active=True).select_related("user", "node")
              .order_by("node__path", "user__username")):
        leaders.setdefault(a.node.path, a.user)
    by_community = {}
    for s in spans:
        by_community.setdefault(community_prefix(s.path), []).append(s)
    counts = {"gridwork_highlights": 0, "gridwork_highlights_picked": 0, "gridwork_summary_notes": 0}
    monday = periods.week_of(first) + timedelta(days=7)
    while monday + timedelta(days=4) <= today:
        for community, cspans in sorted(by_community.items()):
            live = [s for s in cspans if s.covers(monday) and users[s.user_id].is_active]
            if not live or (scale < 1 and rng.random() > scale):  # a smaller street: fewer weeks
                continue
            made = []
            for _ in range(rng.choice((1, 1, 2, 2, 3))):
                s = rng.choice(live)
                worker = users[s.user_id]
                at = timezone.make_aware(datetime.combine(monday + timedelta(days=rng.randint(0, 4)), time(17)))
                if at > now:
                    continue
                author = worker
                if rng.random() < 0.25:
                    author = leaders.get(s.path) or secretaries.get(community) or worker
                try:
                    made.append(svc.mark_highlight(author, worker, monday, rng.choice(TITLES),
                                                   "详见当日日纪实。", now=at))
                except Exception:  # a leader's scope changed since: the worker marks it
                    made.append(svc.mark_highlight(worker, worker, monday, rng.choice(TITLES), "", now=at))
            counts["gridwork_highlights"] += len(made)
            sec = secretaries.get(community)
            pick_at = timezone.make_aware(datetime.combine(monday + timedelta(days=7), time(9)))
            if made and sec and pick_at <= now and rng.random() < 0.85:
                svc.pick_best(sec, rng.choice(made), now=pick_at)
                counts["gridwork_highlights_picked"] += 1
        monday += timedelta(days=7)
    say(f"gridwork week: {counts['gridwork_highlights']} highlights")
    # notes on the last three finished months
    m = periods.period_of(today, "month")
    for _ in range(3):
        m = m.previous()
        at = timezone.make_aware(datetime.combine(m.last + timedelta(days=3), time(10)))
        for community, sec in sorted(secretaries.items()):
            if at > now:
                continue
            svc.annotate(sec, "community", community, m, rng.choice(NOTES), now=at)
            counts["gridwork_summary_notes"] += 1
            live = [s for s in by_community.get(community, ()) if s.covers(m.last)]
            for s in rng.sample(live, min(2, len(live))):
                svc.annotate(sec, "worker", s.user_id, m, rng.choice(NOTES), now=at)
                counts["gridwork_summary_notes"] += 1
    return counts
