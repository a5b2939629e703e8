"""A year of the property alliance for the demo street (`build_demo_property`), booked through the
app's services with backdated `now=` (so every rule holds: the set frozen by the first
submitted inspection, one problem per deduction, the ledger's deadlines in working days, the
escalation sweeps, the re-check loop) and then the finished quarters' scores published.

The year: the four quarters ending with the quarter of `now` (the current one still running).
Anchor: like the rest of the demo's year (the 12345 tickets, the cases, deliberation, points),
`now` defaults to the clock, so the alliance's quarters are those of the tickets the data score
counts and the board's default quarter (the last finished one) is announced; everything else
comes from the seed, so the same seed on the same day gives the same year (tests pass `now`).

* Each project has a latent quality (0 good .. 1 poor) that drifts from quarter to quarter, so
  the rankings move. Each quarter: one scheduled inspection per project (some by an outside
  expert of 第三方评估机构, entered by the inspector), unannounced visits to some; 0..8 deductions
  each on the indicators residents complain of most, with a note, a place near the compound's
  buildings and one small photo. Scheduled visits of the current quarter still ahead are left
  planned.
* The inspector: a section worker assigned the whole street (else an administrator); the
  answers: a property-staff user of the project's company (the companies without one get a
  Department and a user `propertyN`, as gridgov.demo.departments does for the first two).
* The ledger, played in time order with an escalation sweep every working morning: answered in
  time, answered late (escalated to level 1, or to level 2 and the street), failed re-checks
  reopened and then passed, a few cancelled, some never answered (open and late now) and some
  answered and waiting for the re-check now (whatever would happen after `now` does not).
* Residents' reports of the 物业 items (gridgov.demo.departments.PROPERTY_ITEMS, seeded by
  `gridgov demo` before its cases; none without them) in the projects' compounds, more for a poorer project, filed through cases.services.submit_case at
  their time, most accepted and resolved by the handler the routing chose, verified, closed and
  rated by the reporter.
* Each finished quarter's scores published (scores.publish): the board shows the announced
  rankings.

A rebuild first drops what an earlier build made (the app's rows and history, the demo's
cases, found by their idempotency keys)."""

import heapq
import io
import random
import uuid
from datetime import datetime, time, timedelta

from django.utils import timezone

from . import scores, services
from .models import Deduction, IndicatorSet, Indicator, Inspection, Problem, ProblemEvent, ProblemPhoto, ScoreSnapshot
from gridgov.geo import levels as gl

EXPERT_ORG = "第三方评估机构"
PROPERTY_SECTION = "社区建设"
EXPERTS = ["周立新", "孙雅琴", "韩建国", "冯晓燕"]
#: the cases this demo files carry idempotency keys in [KEY << 96, (KEY + 1) << 96)
CASE_KEY = 0x0BE1A9E0
#: the indicators a deduction lands on, by weight (what inspectors find most)
WEIGHTS = {"A": 1, "B": 1, "C": 4, "D": 3, "E": 3}
RARE = {"A4": 0.3, "B4": 0.3}  # pass/fail: the whole full marks, seldom
NOTES = {
    "A1": ["业主档案未及时更新，{b}新入住业主信息缺失", "设施设备档案不全，缺少水泵房维保记录", "物业服务合同未按要求归档备查"],
    "A2": ["{b}单元口公示栏未公示收费标准", "公示的报修电话已停用，未及时更新", "项目负责人信息未公示"],
    "A3": ["现场电工未能出示有效操作证", "保安人员数量少于合同约定", "电梯安全管理员证书过期"],
    "A4": ["公共收益本季度未公开", "专项维修资金使用情况未按季度公开", "停车收益去向未向业主公示"],
    "A5": ["12345 工单回访记录缺失", "业主诉求台账登记不全，无办理结果", "诉求台账与工单系统数据不一致"],
    "B1": ["服务中心工作时间无人值守", "拨测 24 小时报修电话无人接听", "客服接待记录缺失"],
    "B2": ["{b}漏水报修超过 24 小时未处理", "急修到场时间超过 30 分钟", "报修单无完成时间和业主签字"],
    "B3": ["保洁人员未统一着装", "门岗人员未佩戴工牌", "客服人员对业主态度生硬，被当场反映"],
    "B4": ["本年度未开展业主满意度调查", "满意度调查结果未公示", "满意度调查样本不足 10%"],
    "B5": ["未参加本月物业联席会议", "网格巡查发现问题后未及时配合处置", "社区议事协商会议未派员参加"],
    "C1": ["{b}楼道堆放杂物，影响通行", "{b}楼梯扶手积灰，多日未擦拭", "{b}楼道墙面小广告未清理"],
    "C2": ["{b}旁垃圾桶站满溢，周边有散落垃圾", "垃圾分类桶站无人值守指导，混投严重", "大件垃圾堆放点长期未清运"],
    "C3": ["{b}南侧道路有积水和落叶未清扫", "小区广场烟头、纸屑较多", "{b}地下车库入口垃圾杂物未清理"],
    "C4": ["{b}东侧绿地黄土裸露", "绿篱多处枯死未补植", "{b}旁树木枝杈遮挡窗户，未修剪"],
    "C5": ["{b}地下室发现鼠迹，无消杀记录", "化粪池周边蚊蝇孳生", "本月消杀记录缺失"],
    "D1": ["{b}电梯年检标志过期", "{b}电梯维保记录不全", "{b}电梯运行有异响，未及时检修"],
    "D2": ["二次供水水箱清洗记录超期", "配电室门未上锁，警示标识缺失", "停水通知未提前张贴"],
    "D3": ["{b}楼道灯多层不亮", "{b}前路灯损坏未修", "地下车库照明不足"],
    "D4": ["{b}单元门禁损坏，门常开", "{b}顶层楼道渗水", "{b}楼道窗户玻璃破损"],
    "D5": ["健身器材螺丝松动，存在安全隐患", "儿童滑梯破损未设警示", "{b}旁休闲座椅损坏"],
    "E1": ["门岗无人值守，外来车辆随意进出", "外来人员未登记", "{b}侧门未按规定关闭"],
    "E2": ["{b}楼道有电动车飞线充电", "{b}消防通道被车辆占用", "{b}消火栓箱内水带缺失"],
    "E3": ["{b}门前机动车乱停，占用消防通道", "非机动车未进车棚，楼前乱停", "{b}旁僵尸车长期未清理"],
    "E4": ["夜间巡查记录缺失", "{b}监控探头故障", "监控室无人值守"],
    "E5": ["{b}顶层有私搭乱建，未及时劝阻上报", "装修登记台账不全", "{b}有装修垃圾堆放在楼道"],
}
ANSWERS = ["已安排人员整改完毕，附整改后照片", "已清理完毕，并加强日常巡查", "已维修更换，经测试正常使用",
           "已补齐记录并整改，今后按要求执行", "已整改，并在业主群内告知"]
FAILS = ["复查发现问题依旧存在，整改不到位", "仅做表面处理，未从根本上解决", "整改照片与现场不符，重新整改"]
CANCELS = ["经核实为施工单位临时占用，非物业责任，撤销", "检查时误判，撤销该问题"]
#: residents' reports: (item code of gridgov.demo.departments.PROPERTY_ITEMS, text)
REPORTS = [
    ("PM01", "{b}电梯停了，老人上下楼很困难"), ("PM01", "{b}电梯运行时有异响，大家不敢坐"),
    ("PM02", "{b}楼道里垃圾好几天没人清"), ("PM02", "{b}门口垃圾桶满了没人清运，味道很大"),
    ("PM03", "{b}单元门门禁坏了，外人随便进出"), ("PM03", "{b}楼道灯坏了好久，晚上看不见"),
    ("PM03", "{b}车棚充电桩坏了，物业一直没修"),
]
RESOLUTIONS = ["物业已派维修人员处理完毕，恢复正常使用", "已安排保洁清理完毕，并增加清运频次",
               "已更换损坏部件，经测试运行正常"]
#: a problem's fate, dealt from a deck of these (fate, cards): see Year.fate
FATES = [("in_time", 16), ("reopen", 4), ("late", 3), ("very_late", 2), ("never", 2), ("waiting", 2), ("cancel", 1)]
#: a problem opened less than this many days before now may still be unanswered, or answered
#: and not yet re-checked (older ones: answered very late, re-checked)
RECENT_DAYS = 40


def _photo(rng) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 12), (rng.randrange(40, 220), rng.randrange(40, 220), rng.randrange(40, 220))).save(
        buf, "JPEG", quality=70)
    return buf.getvalue()


def _case_keys():
    return uuid.UUID(int=CASE_KEY << 96), uuid.UUID(int=(CASE_KEY + 1) << 96)


def drop() -> None:
    """Remove what an earlier build made (and whatever else the app holds: the demo owns it)."""
    from gridgov.cases.models import Case
    from gridgov.core.models import ChangeRecord

    for p in ProblemPhoto.objects.all():
        p.file.delete(save=False)
    ScoreSnapshot.objects.all().delete()
    ProblemPhoto.objects.all().delete()
    ProblemEvent.objects.all().delete()
    Problem.objects.all().delete()
    Deduction.objects.all().delete()
    Inspection.objects.all().delete()
    IndicatorSet.objects.all().delete()
    ChangeRecord.objects.filter(kind__in=services.HISTORY_KINDS).delete()
    lo, hi = _case_keys()
    Case.objects.filter(idempotency_key__gte=lo, idempotency_key__lt=hi).delete()


def _inspector(projects):
    """A section worker assigned the street who may inspect and re-check every project (of the
    section in charge of property management when there is one), else an administrator."""
    from gridgov.accounts.models import GridAssignment, Role, User

    policy = services.policy
    paths = [services.project_path(p) for p in projects]
    duties = (GridAssignment.objects.in_force().filter(user__is_active=True, user__role=Role.SECTION_STAFF, node__level=gl.street_level())
              .select_related("user").order_by("user__username"))
    # the section in charge of property management first (社区建设办公室 in the demo)
    for u in sorted((ga.user for ga in duties), key=lambda u: PROPERTY_SECTION not in (u.department or "")):
        if all(policy.allows(u, services.KIND, a, path) for a in ("create", "update") for path in paths):
            return u
    return User.objects.filter(is_active=True, role=Role.ADMIN).order_by("id").first()


def _company_users(projects, seed) -> dict:
    """project id -> a property-staff user of its company; a company without a department or a
    user gets them (Department kind property, user `propertyN`, as departments.py)."""
    from gridgov.accounts.models import Department, Role, User
    from gridgov.core import crypto
    from gridgov.core.checks import DEMO_EMAIL_DOMAIN
    from gridgov.registry.models import Organization

    password = (User.objects.filter(email__endswith=f"@{DEMO_EMAIL_DOMAIN}", is_active=True)
                .exclude(password__startswith="!").order_by("id").values_list("password", flat=True).first() or "!")
    out = {}
    companies = {}
    for p in projects:
        companies.setdefault(p.company_id, []).append(p)
    taken = set(User.objects.filter(username__startswith="property").values_list("username", flat=True))
    k = 1
    for cid in sorted(companies):
        org = Organization.objects.select_related("department").get(pk=cid)
        dep = org.department
        if dep is None or not dep.active:
            dep, _ = Department.objects.update_or_create(name=org.name, defaults={
                "kind": Department.Kind.PROPERTY, "active": True, "contact_name": org.contact_name, "note": "物业公司"})
            Organization.objects.filter(pk=org.pk).update(department=dep)
        user = (User.objects.filter(department=dep.name, role__in=services.policy.RELATIONS["property"], is_active=True)
                .order_by("id").first())
        if user is None:
            while f"property{k}" in taken:
                k += 1
            name = f"property{k}"
            taken.add(name)
            user = User(username=name, role=Role.PROPERTY_STAFF, department=dep.name, password=password,
                        display_name=org.contact_name or f"{org.name}客服", email=f"{name}@{DEMO_EMAIL_DOMAIN}")
            phone = f"139{random.Random(seed * 7 + cid).randrange(10**7, 10**8)}"  # (not the year's rng: made once)
            user.phone_enc, user.phone_hash, user.phone_masked = (crypto.encrypt(phone), crypto.blind_index(phone),
                                                                  crypto.mask_phone(phone))
            user.save()
        for p in companies[cid]:
            p.company.department = dep
            out[p.pk] = user
    return out


class Year:
    """The simulation: a queue of acts in time order (heap of (at, seq, act, args))."""

    def __init__(self, rng, now, inspector, answerer):
        self.rng, self.now, self.inspector, self.answerer = rng, now, inspector, answerer
        self.queue, self.seq = [], 0
        self.counts = {"property_reopened": 0, "property_escalated": 0}
        self.places = {}
        self.inds = {}
        self.deck = []
        #: the fates of the first recent problems (so that even a small street has them at the end)
        self.firsts = ["waiting", "never"]
        #: the escalation sweeps' recipients, looked up once for the year (nobody joins or leaves in it)
        self.recipients = services.Recipients()

    def at(self, when, act, *args):
        if when < self.now:
            self.seq += 1
            heapq.heappush(self.queue, (when, self.seq, act, args))

    def run(self, progress=None):
        n = 0
        while self.queue:
            when, _, act, args = heapq.heappop(self.queue)
            act(when, *args)
            n += 1
            if progress and n % 500 == 0:
                progress(f"property alliance: {n} acts, at {timezone.localtime(when):%Y-%m-%d}")

    # -- places ------------------------------------------------------------------------------

    def buildings(self, project):
        from gridgov.registry.models import Building

        if project.pk not in self.places:
            self.places[project.pk] = list(
                Building.objects.filter(compound__property_projects=project, lat__isnull=False, lon__isnull=False)
                .select_related("compound").order_by("id")[:60])
        return self.places[project.pk]

    def spot(self, project):
        """(building name, place text, lon, lat) near one of the project's buildings."""
        bs = self.buildings(project)
        if not bs:
            return "", "", None, None
        b = self.rng.choice(bs)
        j = self.rng.uniform
        return b.name, f"{b.compound.name}{b.name}", b.lon + j(-0.0002, 0.0002), b.lat + j(-0.00015, 0.00015)

    # -- inspections ------------------------------------------------------------------------

    def indicators(self, s):
        if s.pk not in self.inds:
            self.inds[s.pk] = list(Indicator.objects.filter(category__indicator_set=s).select_related("category"))
        return self.inds[s.pk]

    def pick(self, s, n):
        pool = [(i, WEIGHTS.get(i.category.code, 1) * RARE.get(i.code, 1.0)) for i in self.indicators(s)]
        out = []
        for _ in range(min(n, len(pool))):
            total = sum(w for _, w in pool)
            r = self.rng.uniform(0, total)
            for k, (ind, w) in enumerate(pool):
                r -= w
                if r <= 0 or k == len(pool) - 1:
                    out.append(ind)
                    pool.pop(k)
                    break
        return out

    def inspect(self, when, project, kind, by, n_deductions, expert):
        rng, actor = self.rng, self.inspector
        kw = {"expert_name": expert, "expert_org": EXPERT_ORG} if by == Inspection.By.EXPERT else {}
        planned = when - timedelta(days=rng.randint(7, 20)) if kind == Inspection.Kind.SCHEDULED else when
        insp = services.plan_inspection(actor, project, planned_on=timezone.localtime(when).date(), kind=kind, by=by,
                                        now=planned, note="季度例行检查" if kind == Inspection.Kind.SCHEDULED else "暗访抽查",
                                        **kw)
        _, _, lon, lat = self.spot(project)
        services.start_inspection(actor, insp, lon=lon, lat=lat, now=when)
        t = when
        for ind in self.pick(insp.indicator_set, n_deductions):
            t += timedelta(minutes=rng.randint(4, 15))
            bname, place, lon, lat = self.spot(project)
            note = rng.choice(NOTES.get(ind.code) or ["现场检查发现问题"]).format(b=bname or "小区")
            points = ind.step * rng.choice([1, 1, 1, 2]) if ind.method == Indicator.Method.DEDUCT else None
            if points is not None:
                points = min(points, ind.full_marks)
            services.add_deduction(actor, insp, indicator=ind, points=points, note=note, place=place, lon=lon, lat=lat,
                                   photos=[_photo(rng)], now=t)
        insp = services.submit_inspection(actor, insp, now=t + timedelta(minutes=rng.randint(10, 40)))
        for p in insp.problems.order_by("id"):
            self.fate(p)

    # -- the ledger ---------------------------------------------------------------------------

    def fate(self, p):
        """What the company and the street do with a new problem (the acts after `now` never
        happen). Fates are dealt from a shuffled deck (FATES), so even a small street gets
        every kind; a problem left unanswered or waiting for its re-check is one of the last
        weeks (the first two such get these fates)."""
        rng = self.rng
        if not self.deck:
            self.deck = [f for f, n in FATES for _ in range(n)]
            rng.shuffle(self.deck)
        recent = self.now - p.opened_at <= timedelta(days=RECENT_DAYS)
        fate = self.firsts.pop(0) if recent and self.firsts else self.deck.pop()
        if not recent:
            fate = {"never": "very_late", "waiting": "in_time"}.get(fate, fate)
        span = p.due_at - p.opened_at
        if fate == "cancel":
            self.at(p.opened_at + span * rng.uniform(0.1, 0.6), self.cancel, p.pk)
        elif fate == "late":  # answered after the deadline: level 1
            self.at(p.due_at + timedelta(hours=rng.randint(20, 40)), self.answer, p.pk, False)
        elif fate == "very_late":  # much later: level 2, the street
            self.at(p.due_at + timedelta(days=rng.randint(6, 12), hours=rng.randint(0, 6)), self.answer, p.pk, False)
        elif fate == "reopen":  # answered in time, the re-check fails, answered again, passed
            self.at(p.opened_at + span * rng.uniform(0.2, 0.8), self.answer, p.pk, True)
        elif fate == "in_time":
            self.at(p.opened_at + span * rng.uniform(0.1, 0.9), self.answer, p.pk, False)
        elif fate == "waiting":  # answered, the re-check not yet done
            self.at(p.opened_at + span * rng.uniform(0.1, 0.5), self.answer, p.pk, False, False)

    def answer(self, when, pk, fail_first, recheck=True):
        p = Problem.objects.get(pk=pk)
        if p.state != Problem.State.OPEN:
            return
        user = self.answerer.get(p.project_id)
        if user is None:
            return
        p = services.answer_problem(user, p, note=self.rng.choice(ANSWERS), photos=[_photo(self.rng)],
                                    lon=p.lon, lat=p.lat, now=when)
        if recheck:
            self.at(when + timedelta(days=self.rng.randint(1, 6), hours=self.rng.randint(0, 5)), self.recheck, pk,
                    fail_first and p.reopen_count == 0)

    def recheck(self, when, pk, fail):
        p = Problem.objects.get(pk=pk)
        if p.state != Problem.State.ANSWERED:
            return
        p = services.recheck_problem(self.inspector, p, passed=not fail, note=self.rng.choice(FAILS) if fail else "复查合格",
                                     photos=[_photo(self.rng)], now=when)
        if fail:
            self.counts["property_reopened"] += 1
            span = p.due_at - when
            self.at(when + span * self.rng.uniform(0.2, 0.8), self.answer, pk, False)

    def cancel(self, when, pk):
        p = Problem.objects.get(pk=pk)
        if p.state in Problem.OPEN_STATES:
            services.cancel_problem(self.inspector, p, reason=self.rng.choice(CANCELS), now=when)

    def sweep(self, when):
        self.counts["property_escalated"] += services.escalate_late(now=when, recipients=self.recipients)

    # -- residents' reports ---------------------------------------------------------------------

    def report(self, when, project, ctx, quality):
        from gridgov.cases import services as cs

        rng = self.rng
        bname, place, lon, lat = self.spot(project)
        if not place or not ctx["residents"]:
            return
        code, text = rng.choice(REPORTS)
        reporter = rng.choice(ctx["residents"])
        ctx["n"] += 1
        key = uuid.UUID(int=(CASE_KEY << 96) | ctx["n"])
        try:
            case, _ = cs.submit_case(reporter=reporter, channel="resident", text=text.format(b=place), lon=lon, lat=lat,
                                     address=place, item=code, idempotency_key=key, now=when)
        except cs.InvalidInput:  # the spot is outside every grid
            return
        ctx["cases"] += 1
        handler = case.handler_user
        if handler is None and case.handler_department:
            handler = cs.department_members(case.handler_department).order_by("id").first()
        if handler is None or case.state != "dispatched" or rng.random() < 0.08:
            return
        t = when + timedelta(minutes=rng.randint(10, 90))
        if t >= self.now:
            return
        cs.accept(case, handler, "物业已接单", now=t)
        t += timedelta(hours=rng.uniform(2, 30) * (0.5 + quality))
        if t >= self.now:
            return
        cs.resolve(case, handler, rng.choice(RESOLUTIONS), now=t)
        verifier = next((u for u in ctx["verifiers"] if u.pk != handler.pk and cs.may_verify(u, case)), None)
        t += timedelta(hours=rng.uniform(3, 48))
        if verifier is None or t >= self.now:
            return
        cs.verify(case, verifier, True, "已现场核实", now=t)
        t += timedelta(hours=rng.uniform(1, 24))
        if t >= self.now:
            return
        if rng.random() < 0.7:
            r = rng.random() + (quality - 0.5) * 0.4
            score = "satisfied" if r < 0.6 else "basic" if r < 0.85 else "unsatisfied"
            cs.rate(case, reporter, score, "", now=t)
            case.refresh_from_db()
            if case.state != "verified":
                return
        cs.close(case, verifier, "办结", now=t + timedelta(minutes=30))
        ctx["resolved"] += 1


def _quarters(now) -> list[str]:
    return scores.quarters_around(services.quarter_of(now), 4)


def _local(d, h, m=0):
    return timezone.make_aware(datetime.combine(d, time(h, m)), timezone.get_current_timezone())


def build_demo_property(seed: int = 2024, progress=None, now=None) -> dict:
    """The year (see the module's text); `now` (default the clock) is the demo's today. One
    transaction around the whole year (each service's own is a savepoint in it): a few
    thousand service calls commit once, and a failed build leaves the last one in place."""
    from django.db import transaction

    with transaction.atomic():
        return _build(seed, progress, now)


def _build(seed, progress, now) -> dict:
    from gridgov.accounts.models import Role, User
    from gridgov.cases.workcal import WorkCalendar
    from gridgov.registry.models import PropertyProject

    import time as _time

    t0 = _time.perf_counter()
    now = now or timezone.now()
    rng = random.Random(seed * 43 + 13)
    drop()
    projects = list(PropertyProject.objects.filter(ended_on__isnull=True).select_related("company", "grid")
                    .order_by("id"))
    inspector = _inspector(projects)
    counts = {"property_inspections": 0, "property_deductions": 0, "property_problems": 0,
              **{f"property_problems_{s}": 0 for s in Problem.State.values}, "property_problems_late_open": 0,
              "property_reopened": 0, "property_escalated": 0, "property_alliance_cases": 0, "property_scores_published": 0}
    if not projects or inspector is None:
        return counts
    answerer = _company_users(projects, seed)
    year = Year(rng, now, inspector, answerer)
    quarters = _quarters(now)
    cal = WorkCalendar()
    ctx = {"n": 0, "cases": 0, "resolved": 0,
           "residents": list(User.objects.filter(role=Role.RESIDENT, is_active=True).order_by("id")[:200]),
           "verifiers": list(User.objects.filter(is_active=True, role__in=[Role.COMMUNITY_STAFF, Role.COMMUNITY_SECRETARY])
                             .order_by("id"))}
    quality = {p.pk: rng.uniform(0.1, 0.9) for p in projects}
    for qi, q in enumerate(quarters):
        start, end = services.quarter_bounds(q)
        for p in projects:
            # the drift: a poor quarter is often followed by a better one (the ranking moves)
            quality[p.pk] = min(0.97, max(0.03, quality[p.pk] + rng.gauss(0, 0.2) - 0.25 * (quality[p.pk] - 0.5)))
        days = (end - start).days
        for p in projects:
            qv = quality[p.pk]
            day = (start + timedelta(days=rng.randint(8, days - 12))).date()
            while not cal.is_workday(day):
                day += timedelta(days=1)
            when = _local(day, rng.randint(9, 14), rng.choice([0, 15, 30, 45]))
            expert = rng.choice(EXPERTS) if rng.random() < 0.3 else ""
            by = Inspection.By.EXPERT if expert else Inspection.By.STAFF
            n = max(0, min(8, round(qv * 8 + rng.gauss(0, 1.2))))
            if when < now:
                year.at(when, year.inspect, p, Inspection.Kind.SCHEDULED, by, n, expert)
            else:  # still ahead: planned
                year.at(min(start + timedelta(days=2, hours=10), now - timedelta(hours=1)), _plan_ahead, year, p,
                        day, by, expert)
            if rng.random() < 0.25 + 0.4 * qv:  # an unannounced visit, more often to a poor project
                day = (start + timedelta(days=rng.randint(3, days - 3))).date()
                n = max(0, min(8, round(qv * 7 + rng.gauss(0, 1.5))))
                year.at(_local(day, rng.randint(7, 20), rng.randint(0, 59)), year.inspect, p,
                        Inspection.Kind.UNANNOUNCED, Inspection.By.STAFF, n, "")
            # residents' reports: 3..15 a quarter, more for a poorer project
            for _ in range(max(3, min(15, round(3 + qv * 12 + rng.gauss(0, 1.5))))):
                at = start + timedelta(days=rng.uniform(0, days), hours=0)
                at = at.replace(hour=rng.randint(7, 21), minute=rng.randint(0, 59))
                year.at(at, year.report, p, ctx, qv)
        # the escalation sweep: every working morning of the quarter
        day = start.date()
        while day < end.date():
            if cal.is_workday(day):
                year.at(_local(day, 8, 30), year.sweep)
            day += timedelta(days=1)
    if progress:
        progress(f"property alliance: {len(projects)} projects, {len(year.queue)} acts planned over {quarters[0]}..{quarters[-1]}")
    year.run(progress)
    counts.update(year.counts)
    published = 0
    for q in quarters:
        if scores.is_finished(q, now):
            published += len(scores.publish(None, q, now=min(services.quarter_bounds(q)[1] + timedelta(days=5), now)))
    counts.update(_counts(now), property_alliance_cases=ctx["cases"], property_alliance_cases_closed=ctx["resolved"],
                  property_scores_published=published)
    if progress:
        progress(f"property alliance: {counts['property_inspections']} inspections, {counts['property_problems']} problems, "
                 f"{ctx['cases']} resident reports, {published} scores published "
                 f"({_time.perf_counter() - t0:.1f}s)")
    return counts


def _plan_ahead(when, year, project, day, by, expert):
    kw = {"expert_name": expert, "expert_org": EXPERT_ORG} if expert else {}
    services.plan_inspection(year.inspector, project, planned_on=day, by=by, now=when, note="季度例行检查", **kw)


def _counts(now) -> dict:
    from django.db.models import Count

    by_state = dict(Problem.objects.values_list("state").annotate(n=Count("id")).order_by("state"))
    return {
        "property_inspections": Inspection.objects.filter(state=Inspection.State.SUBMITTED).count(),
        "property_inspections_planned": Inspection.objects.filter(state=Inspection.State.PLANNED).count(),
        "property_deductions": Deduction.objects.count(),
        "property_problems": Problem.objects.count(),
        **{f"property_problems_{s}": by_state.get(s, 0) for s in Problem.State.values},
        "property_problems_late_open": Problem.objects.late(now).count(),
        "property_reopened": Problem.objects.filter(reopen_count__gt=0).count(),
        "property_escalated": Problem.objects.filter(events__action="escalate").distinct().count(),
        "property_escalated_to_street": Problem.objects.filter(events__action="escalate", events__data__level=2)
        .distinct().count(),
    }


__all__ = ["build_demo_property", "drop"]
