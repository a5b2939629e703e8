"""A year of deliberation on the demo street, booked through the app's services (so every rule
holds: one support per person, the quorum, the guards between phases).

`build_demo_deliberation` plans the topics (`plan_topics`: which communities, which problems,
how far each goes), creates each one backdated and walks it through its process phase by phase.
On entering each phase every part (demo_proposals, demo_platform, demo_meetings,
demo_execution, demo_effect) acts through its slice's services (`on_phase(ctx, topic, phase,
at)`: supports and comments, the month's choice, the meeting and its decision, the work and the
result, ...); then, if the topic's plan goes further, it advances. A topic whose phase cannot be
left (a guard refuses) stays where it is: the parts decide how far the story gets.

The year (`plan_topics`): in COMMUNITIES communities (those whose recurring problems are the
most frequent come first), topics

* from the data (channel data): the community's recurring problems (hotline.clusters.
  recurring_problems) of the month DATA_MONTHS_AGO months back, offered in the platform phase
  (平台议) with their evidence, place and category: the month's topic (每月一题) of the month
  after;
* from residents (phone, QR code, a steward entering it for an elderly neighbour, the letterbox,
  a home visit): the usual subjects (楼道堆物, 电动车充电, 停车难, ...), proposed by a demo
  resident with a login when the community has one, else named by who entered it;
* stopping in every phase of the six steps (some open in each, several closed), a few
  duplicates to merge (`Plan.outcome == "merged"`, into `Plan.merge_into`), a few to decline
  (`"declined"`), two run with the three-phase process (三步议事);
* the showcase (`Plan.showcase`), like 御槐园's 大槐树下唠家常: the street's most frequent
  recurring problem, the month's topic about eight months ago, decided at a meeting, carried
  out and published; demo_effect makes its after-months quiet (most of that problem's tickets
  there after the decision month are removed, with their cases), so its effect reads "fell".

A part finds a topic's plan with `ctx.plan_of(topic)` (outcome, merge_into, month, showcase)."""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from . import demo_effect, demo_execution, demo_meetings, demo_platform, demo_proposals, processes, services
from .models import Process, Topic
from gridgov.geo import levels as gl

PARTS = (demo_proposals, demo_platform, demo_meetings, demo_execution, demo_effect)
COMMUNITIES = 5
#: the data topics come from the recurring problems of this month back
DATA_MONTHS_AGO = 9


@dataclass
class Context:
    """What the parts share: the random source, the clock, the staff who act per community."""

    rng: random.Random
    now: datetime
    start: datetime
    progress: object = None
    #: community id -> a user who manages its topics (its secretary or staff)
    staff: dict = field(default_factory=dict)
    #: community id -> the users who live there and may support, comment and rate (by id)
    residents: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)
    #: anything a part keeps between calls, under its own name; "plans": topic id -> Plan,
    #: "topics": plan key -> topic id
    state: dict = field(default_factory=dict)

    def staff_of(self, topic):
        return self.staff.get(topic.community_id)

    def bump(self, key: str, n: int = 1):
        self.counts[key] = self.counts.get(key, 0) + n

    def plan_of(self, topic):
        """The plan the topic was created from (None for a topic the demo did not plan)."""
        return self.state.get("plans", {}).get(getattr(topic, "pk", topic))

    def topic_of(self, key: str):
        """The topic created from the plan with this key (None before it is created)."""
        pk = self.state.get("topics", {}).get(key)
        return Topic.objects.filter(pk=pk).first() if pk else None


@dataclass
class Plan:
    """One demo topic: what `services.create_topic` gets (`actor` enters it), when it is
    created, how far it goes (the position of the last phase it reaches; past the last phase:
    closed), and the gap between phases. `outcome`: "merged" (into the topic of plan
    `merge_into`, by the steward while it is collected) or "declined" (by the community at the
    platform phase), else "". `month`: the month it is the topic of (每月一题). `showcase`: the
    one whose effect the demo shows."""

    kwargs: dict
    created_at: datetime
    target: int
    step_days: int = 12
    actor: object = None
    key: str = ""
    outcome: str = ""
    merge_into: str = ""
    month: str = ""
    showcase: bool = False


def _people(ctx: Context):
    from gridgov.accounts.models import GridAssignment, Role, User
    from gridgov.geo.models import GridNode

    communities = list(GridNode.objects.filter(level=gl.community_level()).order_by("path"))
    for ga in (GridAssignment.objects.in_force()
               .filter(user__is_active=True, user__role__in=[Role.COMMUNITY_SECRETARY, Role.COMMUNITY_STAFF])
               .select_related("node", "user").order_by("user__role", "id")):
        for c in communities:
            if ga.node.path.startswith(c.path):
                ctx.staff.setdefault(c.pk, ga.user)
    admin = User.objects.filter(is_active=True, role=Role.ADMIN).order_by("id").first()
    for c in communities:
        ctx.staff.setdefault(c.pk, admin)
    _residents(ctx, communities)
    return communities


def _residents(ctx: Context, communities):
    """ctx.residents: the users with a login whose registry record (found by their phone, as
    services.home_of finds it: exactly one resident still living here, in a house) lies in the
    community, by id."""
    from gridgov.accounts.models import Role, User
    from gridgov.registry.models import Resident

    users = list(User.objects.filter(is_active=True, role__in=[Role.RESIDENT, Role.VOLUNTEER, Role.STEWARD])
                 .exclude(phone_hash="").order_by("id"))
    hashes = sorted({u.phone_hash for u in users})
    paths = {}
    for i in range(0, len(hashes), 500):
        for h, path in (Resident.objects.filter(phone_hash__in=hashes[i : i + 500], ended_on__isnull=True, house__isnull=False)
                        .values_list("phone_hash", "grid__path")):
            paths.setdefault(h, []).append(path or "")
    for u in users:
        found = paths.get(u.phone_hash, [])
        if len(found) != 1:
            continue
        c = next((c for c in communities if found[0].startswith(c.path)), None)
        if c is not None:
            ctx.residents.setdefault(c.pk, []).append(u)


# --- the year's plan -------------------------------------------------------------------------------

#: what residents bring up (title, body)
SUBJECTS = [
    ("楼道堆物影响通行", "楼道里堆了纸箱、旧家具和自行车，晚上看不清容易绊倒，也有消防隐患，希望统一清理并定期检查。"),
    ("电动车飞线充电有隐患", "不少邻居从楼上拉电线给电动车充电，还有人把电瓶拿回家充，建议在小区里建集中充电棚。"),
    ("停车难，消防通道常被占", "晚上车位不够，车停在消防通道和路口，救护车进不来，希望重新规划车位，和周边单位错时共享车位。"),
    ("垃圾分类桶站太少", "每个楼门口只有一组桶，厨余垃圾经常满溢，夏天味道很大，希望增设桶站并安排定时定点督导。"),
    ("广场舞音响太吵", "每晚七点到九点广场音响声音很大，楼上老人和学生休息学习受影响，希望商量个时间和音量。"),
    ("楼前绿地被占种菜", "楼前绿地被个别住户开垦种菜，还堆了肥料，气味难闻，希望恢复绿化、补种树木。"),
    ("下水道经常堵塞返味", "一楼下水道每个月都要堵一两次，污水返到卫生间，希望彻底疏通、更换老化管道。"),
    ("顶楼屋顶漏水", "顶层每逢下雨就渗水，墙皮脱落，找过物业几次都没修好，希望做屋面防水。"),
    ("老楼加装电梯", "楼里老人多，上下楼困难，想申请加装电梯，但低层住户有顾虑，希望社区帮助协调、讲清补贴政策。"),
    ("健身器材损坏", "小区健身区的漫步机和单杠坏了好几个月，有安全隐患，希望维修或更换，并定期检查。"),
    ("楼道声控灯不亮", "单元楼道声控灯坏了，老人晚上上下楼很危险，希望尽快更换，改成感应灯。"),
    ("遛狗不拴绳、粪便不清理", "遛狗不拴绳、粪便不清理的情况较多，孩子们害怕，希望设置宠物便袋箱并加强宣传。"),
]
#: duplicates of SUBJECTS[0] and [1] (merged by the steward into the first)
DUPLICATES = [("楼道里杂物太多", "我们单元楼道堆满杂物，消防通道不畅，请社区管一管。"),
              ("电瓶车在楼道充电太危险", "有人把电瓶车推进楼道充电，晚上也不拔，担心起火。")]
#: proposals the community declines (with a reason the platform part gives)
DECLINED = [("小区内开设棋牌室", "希望在小区空置的自行车棚里开个棋牌室，给老人们一个活动的地方。"),
            ("取消小区门禁", "门禁经常坏，进出不方便，干脆取消门禁算了。")]
#: the three-phase process (广场夜话)
NIGHT_TALK = [("夏夜纳凉点增设座椅", "广场夜话时大家提出，晚上纳凉的老人多，座椅不够，希望增设一些带靠背的长椅。"),
              ("快递柜占用消防通道", "新装的快递柜挡住了一半消防通道，希望挪到门口空地。")]
ELDERS = ["王奶奶", "李大爷", "张阿姨", "刘大爷", "赵奶奶", "陈大爷", "杨阿姨", "孙奶奶"]
#: per community, the last phase each resident topic reaches (7: closed), shifted per community
TARGETS = [1, 2, 3, 4, 5, 6, 7, 7]


def _add_months(month: str, n: int) -> str:
    from gridgov.hotline.rates import add_months

    return add_months(month, n)


def _month_start(month: str):
    from gridgov.hotline.clusters import month_bounds

    return month_bounds(month)[0]


def _recurring_by_community(month: str, communities) -> dict:
    """The hotline-category recurring problems of `month`, by community id, most frequent first."""
    from gridgov.hotline.clusters import recurring_problems

    from gridgov.geo.models import GridNode
    from gridgov.registry.models import Compound

    rows = [r for r in recurring_problems(month) if r["category_source"] == "hotline"]
    ids = {"grid": set(), "compound": set()}
    for r in rows:
        kind, _sep, pk = r["place"].partition(":")
        if kind in ids and pk.isdigit():
            ids[kind].add(int(pk))
    objs = {f"grid:{g.pk}": g for g in GridNode.objects.filter(pk__in=ids["grid"])}
    objs.update({f"compound:{c.pk}": c for c in Compound.objects.filter(pk__in=ids["compound"]).select_related("grid")})
    by_path = sorted(communities, key=lambda c: -len(c.path))
    out = {}
    for r in rows:
        obj = objs.get(r["place"])
        if obj is None:
            continue
        kind = r["place"].split(":")[0]
        if kind == "compound":
            community = next((c for c in communities if c.pk == obj.community_id), None)
        else:
            community = next((c for c in by_path if obj.path.startswith(c.path)), None)
        if community is not None and len(out.get(community.pk, ())) < 2:  # its two most frequent
            out.setdefault(community.pk, []).append({**r, "_kind": kind, "_obj": obj})
    return out


def _examples(r: dict, k: int = 3) -> list[str]:
    """The latest texts of a recurring problem's tickets (clusters' own example picker)."""
    from gridgov.hotline.clusters import _ticket_examples
    from gridgov.hotline.models import Ticket

    window = [b["month"] for b in r["by_month"]]
    row = {"category_l1": r["category_l1"], "category_l2": r["category_l2"], "place": r["place"],
           "compound": r["_obj"].pk if r["_kind"] == "compound" else None}
    return [e["text"] for e in _ticket_examples(Ticket.objects.all(), window, row, k)]


def _data_plan(ctx, c, r, month, process, phase, created_at, target, key, showcase=False) -> Plan:
    from gridgov.geo.models import GridNode

    compound = r["_obj"] if r["_kind"] == "compound" else None
    node = r["_obj"] if r["_kind"] == "grid" else (compound.grid or c)
    if not isinstance(node, GridNode):
        node = c
    first = r["by_month"][0]["month"]
    label = r["category_l2"] or r["category_l1"]
    evidence = {"source": "recurring_problems", "month": month, "first_month": first, "place_name": r["name"],
                "category": r["category"], "months": r["months"], "tickets": r["tickets"], "cases": r["cases"],
                "total": r["total"], "by_month": r["by_month"], "examples": _examples(r)}
    body = (f"{first} 至 {month} 的 {len(r['by_month'])} 个月里，{r['name']}的{label}问题有 {r['months']} 个月出现，"
            f"共 {r['tickets']} 件热线工单、{r['cases']} 件事件。")
    return Plan(kwargs={"title": f"{r['name']}{label}问题反复出现"[:80], "body": body, "node": node, "compound": compound,
                        "channel": Topic.Channel.DATA, "process": process, "phase": phase, "evidence": evidence,
                        "problem": {"place": r["place"], "category": r["category"], "category_l1": r["category_l1"],
                                    "category_l2": r["category_l2"]}},
                created_at=created_at, target=target, actor=ctx.staff.get(c.pk), key=key,
                month=_add_months(month, 1), showcase=showcase)


def _where(ctx, c, k: int):
    """A place in community `c` for a resident's topic: (proposer user or None, node, compound,
    building); the k-th resident with a login when there is one, else the k-th building."""
    from gridgov.geo.models import GridNode
    from gridgov.registry.models import Building

    people = ctx.residents.get(c.pk) or []
    if people:
        user = people[k % len(people)]
        home = services.home_of(user)
        if home.grid_id:
            from gridgov.registry.models import Compound

            node = GridNode.objects.get(pk=home.grid_id)
            building = Building.objects.filter(pk=home.building_id).first() if home.building_id else None
            compound = Compound.objects.filter(pk=home.compound_id).first() if home.compound_id else None
            return user, node, compound, building
    cache = ctx.state.setdefault("demo_buildings", {})
    if c.pk not in cache:
        cache[c.pk] = list(Building.objects.filter(compound__community=c, grid__isnull=False)
                           .select_related("compound", "grid").order_by("id")[:40])
    buildings = cache[c.pk]
    if buildings:
        b = buildings[k % len(buildings)]
        return None, b.grid, b.compound, b
    leaf = GridNode.objects.filter(path__startswith=c.path).exclude(pk=c.pk).order_by("-level", "path").first()
    return None, leaf or c, None, None


def _steward_in(c):
    """A steward with a login whose building lies in community `c` (the first by id), or None."""
    from gridgov.registry.models import Volunteer

    return (Volunteer.objects.filter(kind="steward", user__isnull=False, user__is_active=True, ended_on__isnull=True,
                                     building__compound__community=c, building__grid__isnull=False)
            .select_related("user", "building__compound", "building__grid").order_by("id").first())


def _resident_plan(ctx, c, k, title, body, target, created_at, key, process=None, channel=None) -> Plan:
    """A resident's topic: proposed by a resident with a login (phone or QR code), or entered by
    the building's steward for an elderly neighbour, or by staff from the letterbox or a visit."""
    user, node, compound, building = _where(ctx, c, k)
    kw = {"title": title, "body": body, "node": node, "compound": compound, "building": building}
    if process is not None:
        kw["process"] = process
    channel = channel or (Topic.Channel.QR if k % 3 == 1 else Topic.Channel.PHONE)
    if channel in (Topic.Channel.PHONE, Topic.Channel.QR) and user is not None:
        kw.update(channel=channel, proposer=user)
        actor = user
    else:
        steward = _steward_in(c) if channel == Topic.Channel.STEWARD else None
        if steward is not None:
            kw.update(channel=Topic.Channel.STEWARD, building=steward.building, compound=steward.building.compound,
                      node=steward.building.grid)
            actor = steward.user
        else:
            kw["channel"] = channel if channel in (Topic.Channel.LETTERBOX, Topic.Channel.VISIT) else (
                Topic.Channel.LETTERBOX if k % 2 else Topic.Channel.VISIT)
            actor = ctx.staff.get(c.pk)
        kw["proposer_name"] = ELDERS[(k + c.pk) % len(ELDERS)]
    return Plan(kwargs=kw, created_at=created_at, target=target, actor=actor, key=key)


def plan_topics(ctx: Context, communities) -> list[Plan]:
    """Which topics the year holds (see the module's docstring), in creation order."""
    six = Process.objects.filter(node__isnull=True, is_default=True).first()
    if six is None or not communities:
        return []
    three = Process.objects.filter(node__isnull=True, name="三步议事").first()
    last = six.phases.count()
    platform_phase = six.phases.filter(discussion_open=True, meeting=False).order_by("position").first()
    rng = ctx.rng
    now_month = timezone.localtime(ctx.now).strftime("%Y-%m")
    data_month = _add_months(now_month, -DATA_MONTHS_AGO)
    recurring = _recurring_by_community(data_month, communities) if platform_phase else {}
    # the communities whose most frequent recurring problem is largest first, then the others
    ranked = sorted(communities, key=lambda c: (-(recurring[c.pk][0]["total"] if c.pk in recurring else 0), c.path))
    chosen = ranked[:COMMUNITIES]
    # the showcase: the chosen communities' most frequent problems, the steadiest (every month high) first
    tops = [(c, recurring[c.pk][0]) for c in chosen if c.pk in recurring]
    show = max(tops, key=lambda cr: (min(b["tickets"] + b["cases"] for b in cr[1]["by_month"]), cr[1]["total"],
                                     -chosen.index(cr[0])), default=None)
    topic_month_start = _month_start(_add_months(data_month, 1))
    step = 12
    plans = []

    def when_open(target):
        """Created so that its walk (a phase every `step` days) has just reached `target`."""
        return ctx.now - timedelta(days=(target - 1) * step + rng.randint(2, 9), hours=rng.randint(0, 8))

    def when(target):
        if target > last:  # closed: some time in the year, done by now
            return ctx.now - timedelta(days=rng.randint(last * step + 20, 330), hours=rng.randint(0, 8))
        return when_open(target)

    for ci, c in enumerate(chosen):
        tag = f"c{c.pk}"
        # from the data: the community's recurring problems, the month's topics
        for ri, r in enumerate((recurring.get(c.pk) or [])[:2]):
            is_show = show is not None and r is show[1]
            # decided months ago: closed, or still being carried out or published
            target = last + 1 if is_show else [5, last + 1, 6, 5, last + 1][(ci + ri) % 5]
            created = topic_month_start + timedelta(days=1 + ci + 3 * ri, hours=9)
            plans.append(_data_plan(ctx, c, r, data_month, six, platform_phase, created, target, f"{tag}-data{ri}", is_show))
        # from residents: one stopping in each phase (shifted per community), some closed
        subjects = SUBJECTS[(ci * 3) % len(SUBJECTS):] + SUBJECTS[: (ci * 3) % len(SUBJECTS)]
        for k in range(len(TARGETS) - ci % 2):
            target = TARGETS[(k + ci) % len(TARGETS)]
            title, body = subjects[k]
            channel = Topic.Channel.STEWARD if k == 2 else Topic.Channel.LETTERBOX if k == 4 else Topic.Channel.VISIT if k == 5 else None
            plans.append(_resident_plan(ctx, c, k, title, body, target, when(target), f"{tag}-res{k}", channel=channel))
        if ci < 2:  # a duplicate, merged by the steward into the first resident topic of its subject
            title, body = DUPLICATES[ci]
            original = next(p for p in plans if p.key == f"{tag}-res0")
            dup = _resident_plan(ctx, c, 7, title, body, 2, max(original.created_at + timedelta(days=3), when_open(2)),
                                 f"{tag}-dup", channel=Topic.Channel.PHONE)
            dup.outcome, dup.merge_into = "merged", original.key
            if original.target >= 2:
                plans.append(dup)
        if 1 <= ci <= 2:  # declined at the platform
            title, body = DECLINED[ci - 1]
            p = _resident_plan(ctx, c, 8, title, body, 3, when_open(3), f"{tag}-declined", channel=Topic.Channel.LETTERBOX)
            p.outcome = "declined"
            plans.append(p)
        if three is not None and ci >= len(chosen) - 2:  # 广场夜话: the three-phase process
            title, body = NIGHT_TALK[len(chosen) - 1 - ci]
            target = 2 if ci == len(chosen) - 1 else 4
            created = when_open(target) if target <= 3 else ctx.now - timedelta(days=rng.randint(60, 200))
            plans.append(_resident_plan(ctx, c, 9, title, body, target, created, f"{tag}-three", process=three,
                                        channel=Topic.Channel.VISIT))
    plans.sort(key=lambda p: (p.created_at, p.key))
    return plans


DECLINE_REASON = "经核实不属于社区议事范围，已转相关部门答复提议人"


def _outcome(ctx: Context, topic: Topic, plan: Plan, phase, at) -> None:
    """The plan's end other than closing: a duplicate merged by staff into its original while it
    is collected (proposals.merge), a topic declined at the platform (platform.decline)."""
    from . import platform, proposals

    staff = ctx.staff_of(topic)
    try:
        if plan.outcome == "merged" and phase.proposals_open:
            original = ctx.topic_of(plan.merge_into)
            if original is not None and original.state == Topic.State.OPEN:
                proposals.merge(staff, topic, original, now=at)
        elif plan.outcome == "declined" and phase.position >= plan.target:
            platform.decline(staff, topic, DECLINE_REASON, now=at)
    except services.DeliberationError:
        return


def walk(ctx: Context, topic: Topic, plan: Plan) -> Topic:
    at = plan.created_at
    while topic.state == Topic.State.OPEN:
        phase = topic.phase
        for part in PARTS:
            part.on_phase(ctx, topic, phase, at)
            topic.refresh_from_db()
        if topic.state == Topic.State.OPEN and plan.outcome:
            _outcome(ctx, topic, plan, phase, at)
            topic.refresh_from_db()
        if topic.state != Topic.State.OPEN or phase.position >= plan.target:
            break
        at = min(at + timedelta(days=plan.step_days), ctx.now - timedelta(hours=1))
        try:
            topic = services.advance(ctx.staff_of(topic), topic, now=at)
        except services.DeliberationError:
            break
    return topic


def build_demo_deliberation(seed: int = 2024, progress=None, now=None) -> dict:
    from gridgov.core.models import ChangeRecord

    ChangeRecord.objects.filter(kind__in=services.HISTORY_KINDS).delete()
    Topic.objects.all().delete()
    demo_proposals.drop_logins()
    processes.seed()  # (a reset of the demo wipes them with the rest)
    now = now or timezone.now()
    ctx = Context(rng=random.Random(seed * 37 + 12), now=now, start=now - timedelta(days=365), progress=progress)
    communities = _people(ctx)
    plans = plan_topics(ctx, communities)
    ctx.state.setdefault("plans", {})
    ctx.state.setdefault("topics", {})
    for i, plan in enumerate(plans):
        actor = plan.actor or ctx.staff.get(services.community_of(plan.kwargs["node"]).pk)
        topic = services.create_topic(actor, now=plan.created_at, **plan.kwargs)
        ctx.state["plans"][topic.pk] = plan
        ctx.state["topics"][plan.key] = topic.pk
        walk(ctx, topic, plan)
        if progress and i % 10 == 0:
            progress(f"deliberation topics {i + 1}/{len(plans)}")
    for part in PARTS:
        ctx.counts.update(part.counts(ctx))
    return {"deliberation_topics": Topic.objects.count(), **ctx.counts}


__all__ = ["Context", "Plan", "build_demo_deliberation", "plan_topics", "walk"]
