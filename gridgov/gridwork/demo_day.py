"""A year of the grid workers' days on the demo street, booked through gridwork.day's services
with backdated `now=` (the batch paths `record_patrols` / `record_visits` for the bulk, the
one-by-one services for the needs and the daily logs).

* Patrols: every grid worker on duty (the duty history: a worker who left stops, a successor
  starts) patrols on most working days (a diligence of 60–95 % per worker), one patrol a day of
  4–9 check-ins walking through their grid (points inside the grid's polygon, a few minutes
  apart), between 8:30 and 16:00.
* Visits: each worker covers 60–95 % of the special-care residents of their grid each quarter
  (one visit to the house checks everyone of it), the living-alone ones monthly over the last
  three months (more diligent workers nearly weekly); a few of the residents most overdue today.
  Some visits find nobody at home or are by phone; one visit in twenty hears a need.
* Needs: of the heard ones, about a third become cases (need_to_case, channel patrol), a third
  service items (most of them done), some closed with a reply, the latest left heard.
* Daily logs: submitted for most working days of the last two weeks (LOG_DAYS) on which the worker
  patrolled (the figures frozen), a few left as drafts.

`build` first drops what an earlier build made (the day's rows, their history and the cases filed
from needs). Deterministic for a seed and a `now`."""

import random
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from . import day as svc
from .models import DailyLog, LogPhoto, Need, Patrol, PatrolPoint, Visit, VisitResident

#: the share of visits (somebody met) that hear a need
NEED_RATE = 0.05
#: daily logs are written for the working days of this many last days (each gathers the day)
LOG_DAYS = 10
HISTORY_ACTIONS = ("start", "end", "cancel", "upload", "visit", "to_case", "to_service", "done", "close", "save",
                   "submit")
MET = ["本人", "老伴", "女儿", "儿子", "保姆", "邻居", "本人及家属"]
CONCERNS = ["血压偏高，已提醒按时服药", "腿脚不便，行动需搀扶", "近期情绪低落", "独自在家，联系方式已更新", "", "", "", ""]
NEEDS = [
    ("living", "希望有人帮忙定期买菜送上门"), ("living", "想申请社区助餐服务"), ("health", "需要家庭医生上门量血压"),
    ("health", "想预约上门体检"), ("assistance", "家庭困难，咨询临时救助"), ("assistance", "需要轮椅等辅具"),
    ("environment", "楼道灯坏了，晚上看不清"), ("environment", "单元门口有积水，老人容易滑倒"),
    ("safety", "家中燃气软管老化，担心漏气"), ("safety", "电动车在楼道充电，存在隐患"),
    ("policy", "咨询高龄津贴如何申领"), ("policy", "咨询残疾人两项补贴"), ("other", "希望社区组织老年人活动"),
]
PROVIDERS = ["社区养老驿站", "社区卫生服务站", "志愿服务队", "社区居委会", "物业服务中心"]
RESULTS = ["已安排每周送餐上门", "家庭医生已上门服务", "志愿者已上门帮助", "已协调办理完毕"]
REPLIES = ["已当面解答政策，告知申领流程", "已转告相关部门，居民表示满意", "经核实暂不符合条件，已解释说明"]
LOG_NOTES = ["巡查网格内主次干道和小区，未发现重大隐患。", "走访独居老人，了解生活情况。", "配合社区开展安全检查。",
             "巡查中发现问题已上报，跟进处置进度。", "入户走访重点人群，收集需求并反馈社区。"]


def drop() -> None:
    """Remove what an earlier build made (the day's records belong to the demo)."""
    from gridgov.cases.models import Case
    from gridgov.core.models import ChangeRecord

    case_ids = list(Need.objects.filter(case__isnull=False).values_list("case_id", flat=True))
    for ph in LogPhoto.objects.all():
        ph.file.delete(save=False)
    LogPhoto.objects.all().delete()
    DailyLog.objects.all().delete()
    Need.objects.all().delete()
    VisitResident.objects.all().delete()
    Visit.objects.all().delete()
    PatrolPoint.objects.all().delete()
    Patrol.objects.all().delete()
    ChangeRecord.objects.filter(kind=svc.HISTORY_KIND, action__in=HISTORY_ACTIONS).delete()
    Case.objects.filter(pk__in=case_ids).delete()


def _aware(d, hh, mm=0):
    return timezone.make_aware(datetime.combine(d, time(hh, mm)))


class _Walker:
    """Points inside a grid's polygon: a walk of n check-ins a few minutes apart."""

    def __init__(self):
        self.geoms = {}

    def geom(self, node_id):
        if node_id not in self.geoms:
            from gridgov.geo.models import GridNode

            self.geoms[node_id] = GridNode.objects.get(pk=node_id).geometry()
        return self.geoms[node_id]

    def walk(self, rng, node_id, start, n):
        from shapely.geometry import Point

        g = self.geom(node_id)
        if g is None:
            return []
        x0, y0, x1, y1 = g.bounds
        pts = []
        tries = 0
        while len(pts) < n and tries < n * 30:
            tries += 1
            x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
            if g.contains(Point(x, y)):
                pts.append((x, y))
        # a walk: each next point the nearest of the rest
        route, rest = [], pts
        cur = rest.pop(0) if rest else None
        while cur is not None:
            route.append(cur)
            if not rest:
                break
            rest.sort(key=lambda p: (p[0] - cur[0]) ** 2 + (p[1] - cur[1]) ** 2)
            cur = rest.pop(0)
        out, at = [], start
        for x, y in route:
            out.append((x, y, "wgs84", at, rng.choice([5, 8, 10, 15, 20])))
            at += timedelta(minutes=rng.randint(3, 8), seconds=rng.randint(0, 59))
        return out


def _stable(*parts) -> int:
    """A number from names that a rebuild keeps (ids change when the demo is rebuilt)."""
    import zlib

    return zlib.crc32("|".join(parts).encode())


def build(seed: int = 2024, progress=None, now=None, scale: float = 1.0) -> dict:
    """The year (see the module's text) up to `now` (default the clock), in one transaction."""
    with transaction.atomic():
        return _build(seed, progress, now, scale)


def _build(seed, progress, now, scale=1.0) -> dict:
    from gridgov.accounts.models import User
    from gridgov.cases.workcal import WorkCalendar

    from . import periods

    say = progress or (lambda msg: None)
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    drop()
    cal = WorkCalendar()
    first = today.replace(year=today.year - 1) + timedelta(days=1)
    year = periods.Period("demo", "year", first, today)
    from gridgov.geo.levels import level_index
    from gridgov.geo.models import GridNode

    grids = set(GridNode.objects.filter(level=level_index("grid")).values_list("pk", flat=True))
    spans = [s for s in periods.spans(year, duties=["worker"]) if s.node_id in grids]  # workers of the grids
    workers = {u.pk: u for u in User.objects.filter(pk__in={s.user_id for s in spans}, is_active=True)}
    spans = [s for s in spans if s.user_id in workers]
    if scale < 1:  # a smaller demo street (`gridgov demo --scale`): the year of a share of the grids
        keep = sorted({s.path for s in spans})
        keep = set(keep[:: max(1, round(1 / scale))])
        spans = [s for s in spans if s.path in keep]
    workdays = [first + timedelta(days=i) for i in range((today - first).days + 1)]
    workdays = [d for d in workdays if cal.is_workday(d)]
    walker = _Walker()
    counts = {"gridwork_patrols": 0, "gridwork_patrol_points": 0, "gridwork_visits": 0, "gridwork_visit_residents": 0,
              "gridwork_needs": 0, "gridwork_need_cases": 0, "gridwork_service_items": 0, "gridwork_daily_logs": 0}
    diligence = {}
    patrol_days = {}

    # -- patrols -------------------------------------------------------------------------------
    for k, s in enumerate(spans):
        rng = random.Random(seed * 7919 + _stable(workers[s.user_id].username, s.path) * 31 + k)
        dil = diligence.setdefault(s.user_id, rng.uniform(0.6, 0.95))
        items = []
        for d in workdays:
            if not s.covers(d) or rng.random() > dil:
                continue
            start = _aware(d, 8, 30) + timedelta(minutes=rng.randint(0, 420))
            if start > now - timedelta(hours=2):
                continue
            pts = walker.walk(rng, s.node_id, start, rng.randint(4, 9))
            if not pts:
                continue
            end = pts[-1][3] + timedelta(minutes=rng.randint(2, 10))
            items.append({"started_at": start, "ended_at": end, "points": pts})
            patrol_days.setdefault(s.user_id, set()).add(d)
        booked = svc.record_patrols(workers[s.user_id], items, now=now)
        counts["gridwork_patrols"] += len(booked)
        counts["gridwork_patrol_points"] += sum(p.point_count for p in booked)
        if k % 20 == 0:
            say(f"gridwork day: patrols of {k + 1}/{len(spans)} duties")

    # -- visits --------------------------------------------------------------------------------
    by_node = {}
    for s in spans:
        by_node.setdefault(s.path, []).append(s)
    quarters = []
    q = periods.period_of(first, "quarter")
    while q.first <= today:
        quarters.append(q)
        q = periods.period_of(q.last + timedelta(days=1), "quarter")
    for gi, (path, grid_spans) in enumerate(sorted(by_node.items())):
        residents = list(svc.special_care_residents(path).select_related("house__grid", "house__address")
                         .filter(house__isnull=False).order_by("id"))
        if not residents:
            continue
        houses = {}
        for r in residents:
            houses.setdefault(r.house_id, (r.house, []))[1].append(r)
        rng = random.Random(seed * 104729 + gi)
        plans = []  # (day, house, residents)
        for hid, (house, rs) in sorted(houses.items()):
            alone = any("living_alone" in r.tags for r in rs)
            for q in quarters:
                lo, hi = max(q.first, first), min(q.last, today)
                if lo > hi:
                    continue
                d = lo + timedelta(days=rng.randint(0, (hi - lo).days))
                plans.append((d, house, rs, rng.random()))
            if alone:  # monthly (and more) over the last three months
                d = today - timedelta(days=90)
                while d < today:
                    d += timedelta(days=rng.randint(6, 30))
                    if d <= today:
                        plans.append((d, house, rs, rng.random()))
        per_worker = {}
        for d, house, rs, luck in sorted(plans, key=lambda p: (p[0], p[1].pk)):
            covering = [x for x in grid_spans if x.covers(d)]  # the grid's workers share its houses
            s = covering[_stable(house.address.code) % len(covering)] if covering else None
            if s is None or luck > diligence[s.user_id]:
                continue
            at = _aware(d, 9) + timedelta(minutes=rng.randint(0, 480))
            if at >= now:
                continue
            outcome = rng.choices(["met", "nobody", "phone"], [85, 8, 7])[0]
            checked = [(r, rng.choice(CONCERNS)) for r in rs] if outcome != "nobody" else []
            needs = []
            if outcome != "nobody" and rng.random() < NEED_RATE:
                kind, text = rng.choice(NEEDS)
                needs.append((kind, text, rng.choice(rs)))
            per_worker.setdefault(s.user_id, []).append({
                "house": house, "at": at, "outcome": outcome, "met": rng.choice(MET) if outcome == "met" else "",
                "residents": checked, "needs": needs})
        for uid, items in sorted(per_worker.items()):
            vs = svc.record_visits(workers[uid], items, now=now)
            counts["gridwork_visits"] += len(vs)
            counts["gridwork_visit_residents"] += sum(len(i["residents"]) for i in items)
        if gi % 20 == 0:
            say(f"gridwork day: visits of {gi + 1}/{len(by_node)} grids")

    # -- needs ---------------------------------------------------------------------------------
    rng = random.Random(seed * 15485863 + 1)
    staff_for = {}
    for n in Need.objects.select_related("worker", "visit__house__address", "visit__house__grid").order_by("heard_at", "id"):
        counts["gridwork_needs"] += 1
        age = (now - n.heard_at).days
        if age < 3 and rng.random() < 0.7:
            continue  # just heard
        later = n.heard_at + timedelta(hours=rng.randint(1, 30))
        if later >= now:
            continue
        fate = rng.choices(["case", "service", "close"], [35, 45, 20])[0]
        if fate == "case":
            try:
                svc.need_to_case(n, n.worker, now=later)
                counts["gridwork_need_cases"] += 1
            except Exception:  # noqa: BLE001 (a need the cases' intake refuses stays heard)
                pass
            continue
        manager = staff_for.get(n.grid_path)
        if manager is None:
            manager = staff_for[n.grid_path] = _manager(n.grid_path)
        if manager is None:
            continue
        if fate == "service":
            svc.need_to_service(n, manager, rng.choice(PROVIDERS), now=later)
            counts["gridwork_service_items"] += 1
            done = later + timedelta(days=rng.randint(1, 12))
            if done < now and rng.random() < 0.85:
                svc.complete_service(n, manager, rng.choice(RESULTS), now=done)
        else:
            svc.close_need(n, manager, rng.choice(REPLIES), now=later)

    say(f"gridwork day: needs {counts['gridwork_needs']}")

    # -- daily logs (the last LOG_DAYS) --------------------------------------------------------
    since = today - timedelta(days=LOG_DAYS)
    for uid in sorted(patrol_days):
        rng = random.Random(seed * 3571 + _stable(workers[uid].username))
        for d in sorted(x for x in patrol_days[uid] if since <= x < today):
            if rng.random() > 0.85:
                continue
            at = _aware(d, 17, 30) + timedelta(minutes=rng.randint(0, 120))
            if at >= now:
                continue
            notes = rng.choice(LOG_NOTES)
            if rng.random() < 0.08:
                svc.save_log(workers[uid], d, notes, now=at)
            else:
                svc.submit_log(workers[uid], d, notes=notes, now=at)
            counts["gridwork_daily_logs"] += 1
    rows = svc.due_visits("", today)
    counts["gridwork_overdue_visits"] = sum(1 for r in rows if r["late"] and not r["never"])
    counts["gridwork_never_visited"] = sum(1 for r in rows if r["never"])
    say(f"gridwork day: {counts}")
    return counts


def _manager(path):
    """Who turns a grid's needs into service items: its grid leader, else the community staff."""
    from gridgov.accounts import policy
    from gridgov.accounts.models import GridAssignment

    parts = path.split("/")
    above = ["/".join(parts[:k]) + "/" for k in range(2, len(parts))]
    for ga in (GridAssignment.objects.in_force().filter(node__path__in=above + [path], duty__in=("leader", "staff", "secretary"))
               .select_related("user").order_by("-node__level", "duty", "user_id")):
        if ga.user.is_active and policy.allows(ga.user, svc.KIND, "update", path):
            return ga.user
    return None
