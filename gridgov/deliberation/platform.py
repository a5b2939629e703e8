"""平台议: the community's desk. The month's data beside the proposals (the recurring problems,
hot spots and near-duplicate topics of cases and 12345 tickets, as gridgov.hotline.clusters
computes them, narrowed to one community), offering one of them as a proposal with its evidence,
staff entering topics (letterbox slips, home visits), stating which problem a topic is about,
choosing the month's topics (每月一题) and opening discussion for a set time, moving topics
through their process, declining them; and the processes themselves, as data (phases with
flags), with the board of topics by phase.

Who may: deliberation × create on the place (entering a topic, offering the data), deliberation ×
update on the topic's grid (choose, move, decline, set the problem; a community's own processes),
settings × update (the street-wide processes: administrators). Every change is one transaction,
one history row (services.HISTORY_KINDS), the participants told on commit.

The rules of a process (`validate_phases`):

* 1 to MAX_PHASES phases, positions 1..n in the order given, each with a name (unique in the
  process, at most 40 characters) and `days` empty or 1..365;
* a phase with `execution` needs a phase with `meeting` at or before it (the work carries out a
  decision, and a decision is made at a meeting: without one the topic could never leave);
* a phase with `published` needs a phase with `execution` at or before it (the result reports
  the work done);
* any other combination is allowed: a process without a meeting phase never needs a decision,
  one without a published phase closes without a result.

Editing a process in use (`update_process`): the phases up to the furthest one an open topic sits
in keep their place (they cannot be removed or reordered; their names, flags and days may change),
and no phase any topic sits in can be removed."""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.geo import levels as gl
from gridgov.accounts import policy
from gridgov.core import history

from . import conf, services
from .models import FLAGS, Phase, Process, Topic
from .models import POLICY_KIND as KIND
from .services import Conflict, DeliberationError, Forbidden, NotFound

MAX_PHASES = 20
#: the channels staff enter topics through (enter)
ENTER_CHANNELS = (Topic.Channel.STAFF, Topic.Channel.LETTERBOX, Topic.Channel.VISIT)
#: how many rows of each kind month_data keeps
MONTH_ROWS = 20
#: the history's actions, as the pages name them
ACTIONS = {"create": _("创建"), "advance": _("推进"), "close": _("完结"), "choose": _("选为每月一题"),
           "decline": _("未采纳"), "problem": _("标明问题"), "update": _("修改"), "default": _("设为默认"),
           "deactivate": _("停用")}


def _now(now):
    return now or timezone.now()


def month_of(at) -> str:
    return timezone.localtime(at).strftime("%Y-%m")


def check_month(month) -> str:
    """'YYYY-MM' (hotline.rates.check_month), else DeliberationError."""
    from gridgov.hotline.rates import MonthError
    from gridgov.hotline.rates import check_month as _check

    try:
        return _check(month)
    except MonthError:
        raise DeliberationError(_("月份格式应为 YYYY-MM，收到“%(value)s”"), code="month", value=str(month)[:20]) from None


# --- places and communities ------------------------------------------------------------------


def communities_for(user):
    """The communities (level-1 grid nodes) whose topics `user` sees as staff: those inside their
    scope or holding a grid of it (a grid worker sees their community's board)."""
    from gridgov.accounts.scope import scope_of
    from gridgov.geo.models import GridNode

    qs = GridNode.objects.filter(level=gl.community_level()).order_by("code")
    reach = policy.reach(user, KIND, "list")
    if reach == policy.NEVER:
        return []
    if reach == policy.ALL:
        return list(qs)
    paths = scope_of(user).paths
    return [c for c in qs if any(p.startswith(c.path) or c.path.startswith(p) for p in paths)]


def community_node(value):
    """A community (level-1 node) by node, id or code; NotFound otherwise."""
    from gridgov.geo.models import GridNode

    if value is None or value == "":
        raise NotFound(_("没有这个社区"))
    if isinstance(value, GridNode):
        node = value
    else:
        text = str(value).strip()
        node = GridNode.objects.filter(code=text).first()
        if node is None and text.isdigit() and len(text) <= 12:
            node = GridNode.objects.filter(pk=int(text)).first()
    if node is None or node.level != gl.community_level():
        raise NotFound(_("没有这个社区"))
    return node


def grid_node(value):
    """A grid node by node, code or id; NotFound otherwise."""
    from gridgov.geo.models import GridNode

    if isinstance(value, GridNode):
        return value
    text = str(value or "").strip()
    node = GridNode.objects.filter(code=text).first() if text else None
    if node is None and text.isdigit() and len(text) <= 12:
        node = GridNode.objects.filter(pk=int(text)).first()
    if node is None:
        raise NotFound(_("没有这个网格"))
    return node


def parse_place(place: str):
    """("compound", Compound) or ("grid", GridNode) for a clusters place key; DeliberationError."""
    from gridgov.geo.models import GridNode
    from gridgov.registry.models import Compound

    kind, _sep, ident = (place or "").partition(":")
    obj = None
    if ident.isdigit() and len(ident) <= 12:
        if kind == "compound":
            obj = Compound.objects.select_related("grid", "community").filter(pk=int(ident)).first()
        elif kind == "grid":
            obj = GridNode.objects.filter(pk=int(ident)).first()
    if obj is None:
        raise DeliberationError(_("问题地点应为“compound:编号”或“grid:编号”，收到“%(place)s”"), code="place",
                                place=(place or "")[:40])
    return kind, obj


def place_in(place: str, community) -> bool:
    """Whether a clusters place key lies in `community`."""
    try:
        kind, obj = parse_place(place)
    except DeliberationError:
        return False
    if kind == "compound":
        return obj.community_id == community.pk
    return obj.path.startswith(community.path)


def place_name(place: str) -> str:
    try:
        return parse_place(place)[1].name
    except DeliberationError:
        return ""


def _category_name(category: str) -> str:
    """What a person calls a clusters category: its last part (房屋修缮 of 城乡建设/房屋修缮)."""
    return (category or "").rstrip("/").rpartition("/")[2] or category or ""


def _split_category(category: str, source: str) -> tuple[str, str]:
    if source != "hotline" or not category or category == "未分类":
        return "", ""
    l1, _sep, l2 = category.partition("/")
    return l1, l2


# --- the month's data ------------------------------------------------------------------------


def _may_see_community(user, community) -> bool:
    return any(c.pk == community.pk for c in communities_for(user))


def _existing(community) -> dict:
    """(place, category) -> the community's topics about it, open ones first, then the newest."""
    out = {}
    qs = (Topic.objects.filter(community=community).exclude(problem_place="")
          .order_by("problem_place", "problem_category", "-created_at", "-id")
          .values("id", "title", "state", "month", "problem_place", "problem_category"))
    for t in qs:
        out.setdefault((t["problem_place"], t["problem_category"]), []).append(t)
    for v in out.values():
        v.sort(key=lambda t: t["state"] != Topic.State.OPEN)
    return out


def month_data(user, community, month, now=None) -> dict:
    """What the community sees beside the proposals in `month`: the recurring problems, hot spots
    and near-duplicate topics of cases and 12345 tickets that `user` may see
    (hotline.clusters.month_topics with `user=`), narrowed to those lying in `community`, each
    with its evidence and the topics already about it (`topic`: the open one, else the latest,
    or None; `offered`: whether an open one exists), and the community's open proposals of the
    month (created in it, or chosen for it)."""
    from gridgov.cases.models import Case
    from gridgov.hotline import clusters
    from gridgov.hotline.models import Ticket

    community = community_node(community)
    month = check_month(month)
    if not policy.allows(user, KIND, "list") or not _may_see_community(user, community):
        raise Forbidden(_("您不能查看这个社区的议事数据"))
    data = clusters.month_topics(month, qs=Ticket.objects.filter(community=community),
                                 cases=Case.objects.filter(grid_path__startswith=community.path),
                                 user=user, limit=100, examples=3)
    existing = _existing(community)

    def mark(row, place, category):
        found = existing.get((place, category), [])
        row["topic"] = found[0] if found else None
        row["offered"] = bool(found and found[0]["state"] == Topic.State.OPEN)
        row["problem_place"], row["problem_category"] = place, category
        return row

    recurring = [mark(r, r["place"], r["category"]) for r in data["recurring"] if place_in(r["place"], community)]
    hot = [mark(r, r["place"], r["category"]) for r in data["hot_spots"] if place_in(r["place"], community)]
    topics = []
    for c in data["topics"]:
        places = [p for p in c["places"] if place_in(p["key"], community)]
        if not places:
            continue
        c["name"] = places[0]["name"]
        topics.append(mark(c, places[0]["key"], c["category"]))
    start, end = clusters.month_bounds(month)
    proposals = list(Topic.objects.filter(community=community, state=Topic.State.OPEN)
                     .filter(Q(month=month) | Q(created_at__gte=start, created_at__lt=end))
                     .select_related("phase", "process", "compound", "building")
                     .order_by("-support_count", "-created_at", "-id")[:200])
    for t in proposals:
        t.is_month_topic = t.month == month
    return {"month": month, "community": community, "tickets": data["tickets"], "cases": data["cases"],
            "recurring": recurring[:MONTH_ROWS], "hot_spots": hot[:MONTH_ROWS], "topics": topics[:MONTH_ROWS],
            "proposals": proposals}


def _evidence(row: dict, source: str, month: str, place: str) -> dict:
    """What a topic offered from the data keeps of its row: the counts, the months, the place,
    the category, the examples (texts as the hotline pages show them)."""
    keep = ("name", "category", "category_source", "category_l1", "category_l2", "item", "tickets", "cases", "total",
            "months", "months_with_tickets", "months_with_cases", "by_month", "examples", "samples", "places",
            "ticket_ids", "case_ids")
    out = {k: row[k] for k in keep if k in row}
    out.update({"source": source, "month": month, "place": place})
    return out


def find_problem(data: dict, place: str, category: str):
    """(source, row) of the month's data about (place, category): a recurring problem, else a hot
    spot, else a near-duplicate topic whose main place it is; (None, None) if none."""
    for source, key in (("recurring", "recurring"), ("hot_spot", "hot_spots"), ("topic", "topics")):
        for row in data[key]:
            if row["problem_place"] == place and row["problem_category"] == category:
                return source, row
    return None, None


def _check_process(process, community):
    if process is None:
        return None
    if not isinstance(process, Process):
        process = Process.objects.filter(pk=process).first() if str(process).isdigit() else None
    if process is None or not process.active or (process.node_id is not None and process.node_id != community.pk):
        raise DeliberationError(_("这个社区不能使用该流程"), code="process")
    return process


def from_data(user, *, community, place, category, month, title=None, process=None, now=None) -> Topic:
    """Offer a problem of the month's data (a recurring problem, a hot spot or a near-duplicate
    topic of `community`, by place and category) as a proposal: channel data, its evidence kept,
    the problem set (the effect measure), on the compound's grid or the grid; the title defaults
    to "<place><category>问题". Refused when an open topic already exists for the problem."""
    from gridgov.geo.models import GridNode

    now = _now(now)
    community = community_node(community)
    if not policy.allows(user, KIND, "create", community.path):
        raise Forbidden(_("您不能在这个社区提出议题"))
    if not place_in(place, community):
        raise DeliberationError(_("问题地点不在%(community)s"), code="place", community=community.name)
    data = month_data(user, community, month)
    source, row = find_problem(data, place, category)
    if row is None:
        raise NotFound(_("%(month)s 的数据中没有这个问题"), month=data["month"])
    process = _check_process(process, community)
    kind, obj = parse_place(place)
    compound = obj if kind == "compound" else None
    node = (obj.grid or obj.community) if compound else obj
    l1, l2 = row.get("category_l1") or "", row.get("category_l2") or ""
    if not (l1 or l2):
        l1, l2 = _split_category(category, row.get("category_source", ""))
    name = row.get("name") or obj.name
    title = (title or "").strip() or f"{name}{_category_name(category)}问题"[:80]
    with transaction.atomic():
        # one offer at a time per community: the check below cannot race
        GridNode.objects.select_for_update().filter(pk=community.pk).first()
        if Topic.objects.filter(community=community, problem_place=place, problem_category=category,
                                state=Topic.State.OPEN).exists():
            raise Conflict(_("这个问题已有进行中的议题"), code="duplicate")
        topic = services.create_topic(
            user, title=title, body=_evidence_text(row), node=node, channel=Topic.Channel.DATA, compound=compound,
            process=process, problem={"place": place, "category": category, "category_l1": l1, "category_l2": l2},
            evidence=_evidence(row, source, data["month"], place), now=now)
    return topic


def _evidence_text(row: dict) -> str:
    parts = [f"数据发现：{row.get('name', '')} · {row.get('category', '')}，工单 {row.get('tickets', 0)} 件、"
             f"其他渠道事件 {row.get('cases', 0)} 件"]
    if row.get("months"):
        parts.append(f"近 {len(row.get('by_month') or [])} 个月中有 {row['months']} 个月出现")
    return "；".join(parts) + "。"


# --- entering and stating the problem --------------------------------------------------------


def _clean_problem(topic_community, problem: dict | None) -> dict | None:
    if not problem:
        return None
    place = (problem.get("place") or "").strip()
    category = (problem.get("category") or "").strip()
    if not place and not category:
        return None
    if not category:
        raise DeliberationError(_("请填写问题分类"), code="category")
    if len(category) > 120:
        raise DeliberationError(_("问题分类最多 120 字"), code="category")
    parse_place(place)
    if not place_in(place, topic_community):
        raise DeliberationError(_("问题地点不在%(community)s"), code="place", community=topic_community.name)
    return {"place": place, "category": category, "category_l1": (problem.get("category_l1") or "").strip()[:60],
            "category_l2": (problem.get("category_l2") or "").strip()[:60]}


def enter(user, *, title, body="", node, compound=None, building=None, channel=Topic.Channel.STAFF, person_name="",
          problem=None, process=None, now=None) -> Topic:
    """Staff enter a topic (a letterbox slip, what a home visit heard, the community's own), on
    `node` (a grid of its place; deliberation × create there), optionally in a compound and
    building of it, for a person without a login (`person_name`), with the problem it is about."""
    from gridgov.registry.models import Building, Compound

    node = grid_node(node)
    if not policy.allows(user, KIND, "create", node.path):
        raise Forbidden(_("您不能在这个网格录入议题"))
    if channel not in ENTER_CHANNELS:
        raise DeliberationError(_("录入渠道应为社区录入、意见箱或入户走访"), code="channel")
    community = services.community_of(node)
    if community is None:
        raise DeliberationError(_("议题须落在某个社区内"), code="place")
    if building is not None and not isinstance(building, Building):
        building = Building.objects.filter(pk=building).first() if str(building).isdigit() else None
        if building is None:
            raise NotFound(_("没有这栋楼"))
    if compound is not None and not isinstance(compound, Compound):
        compound = Compound.objects.filter(pk=compound).first() if str(compound).isdigit() else None
        if compound is None:
            raise NotFound(_("没有这个小区"))
    if building is not None:
        if compound is not None and building.compound_id != compound.pk:
            raise DeliberationError(_("楼栋不在所选小区"), code="place")
        compound = compound or building.compound
    if compound is not None and compound.community_id != community.pk:
        raise DeliberationError(_("小区不在%(community)s"), code="place", community=community.name)
    problem = _clean_problem(community, problem)
    process = _check_process(process, community)
    with transaction.atomic():
        return services.create_topic(user, title=title, body=body, node=node, channel=channel, compound=compound,
                                     building=building, proposer_name=(person_name or "").strip(),
                                     process=process, problem=problem, now=now)


def _managed(user, topic, for_update=True) -> Topic:
    """The topic locked, if `user` manages it (deliberation × update on its grid)."""
    qs = Topic.objects.select_related("process", "phase", "node", "community")
    t = (qs.select_for_update(of=("self",)) if for_update else qs).get(pk=topic.pk if isinstance(topic, Topic) else topic)
    if not services.may_manage(user, t):
        raise Forbidden(_("您不能管理这个议题"))
    return t


@transaction.atomic
def set_problem(user, topic, *, place, category, category_l1="", category_l2="", now=None) -> Topic:
    """State which problem a topic is about: a place of its community ("compound:<id>" /
    "grid:<id>") and a category as hotline.clusters names them (the effect measure counts those)."""
    now = _now(now)
    t = _managed(user, topic)
    problem = _clean_problem(t.community, {"place": place, "category": category, "category_l1": category_l1,
                                           "category_l2": category_l2})
    if problem is None:
        raise DeliberationError(_("请填写问题地点和分类"), code="category")
    before = [t.problem_place, t.problem_category]
    Topic.objects.filter(pk=t.pk).update(
        problem_place=problem["place"], problem_category=problem["category"],
        problem_category_l1=problem["category_l1"], problem_category_l2=problem["category_l2"],
        version=F("version") + 1, updated_at=now)
    history.record(user, "deliberation_topics", t, "problem",
                   {"problem": [before, [problem["place"], problem["category"]]]}, grid_path=t.node.path, at=now)
    t.refresh_from_db()
    return t


# --- the month's topics, moving, declining ---------------------------------------------------


def _discussion_phase(t: Topic) -> Phase | None:
    if t.phase.discussion_open:
        return t.phase
    return t.process.phases.filter(position__gt=t.phase.position, discussion_open=True).order_by("position").first()


def _days(days) -> int:
    if days in (None, ""):
        return conf.get_int("DELIBERATION_DISCUSSION_DAYS")
    try:
        days = int(days)
    except (TypeError, ValueError):
        raise DeliberationError(_("讨论天数应为 1 到 365 的整数"), code="days") from None
    if not 1 <= days <= 365:
        raise DeliberationError(_("讨论天数应为 1 到 365 的整数"), code="days")
    return days


@transaction.atomic
def choose(user, topic, *, month, days=None, now=None) -> Topic:
    """Choose a topic as a month's topic (每月一题): it moves (services.advance) to the first
    later phase with discussion open, or stays if it is already in one, and discussion is open
    for `days` from now (default DELIBERATION_DISCUSSION_DAYS). Participants are told once
    (topic_chosen, which names the phase's end; not also advance's phase message)."""
    now = _now(now)
    month = check_month(month)
    days = _days(days)
    t = _managed(user, topic)
    if t.state != Topic.State.OPEN:
        raise Conflict(_("议题已%(state)s，不能选为每月一题"), code="bad_state", state=t.get_state_display())
    if t.month == month and t.phase.discussion_open:
        raise Conflict(_("议题已是 %(month)s 的每月一题"), code="already_chosen", month=month)
    target = _discussion_phase(t)
    if target is None:
        raise Conflict(_("流程“%(name)s”在当前阶段之后没有公开讨论的阶段"), code="no_phase", name=t.process.name)
    moved = target.pk != t.phase_id
    if moved:
        t = services.advance(user, t, to=target, days=days, now=now, note=f"每月一题 {month}", notify=False)
    ends = now + timedelta(days=days)
    Topic.objects.filter(pk=t.pk).update(month=month, phase_ends_at=ends, version=F("version") + 1, updated_at=now)
    t.refresh_from_db()
    history.record(user, "deliberation_topics", t, "choose", {"month": month, "phase": t.phase.name, "days": days},
                   grid_path=t.node.path, at=now)
    title = f"议题“{t.title}”被选为 {month} 的每月一题，公开讨论至 {timezone.localtime(ends):%Y-%m-%d}"
    transaction.on_commit(lambda: services.notify_participants(t, "topic_chosen", title))
    return t


@transaction.atomic
def mark_month(user, topic, month, now=None) -> Topic:
    """Note that a topic already in a discussion phase is a month's topic, without moving it or
    changing its time (the demo's walk: the topic entered the phase on its own)."""
    now = _now(now)
    month = check_month(month)
    t = _managed(user, topic)
    if t.state != Topic.State.OPEN or not t.phase.discussion_open:
        raise Conflict(_("只有公开讨论中的议题可以标为每月一题"), code="bad_state")
    Topic.objects.filter(pk=t.pk).update(month=month, version=F("version") + 1, updated_at=now)
    history.record(user, "deliberation_topics", t, "choose", {"month": month, "phase": t.phase.name},
                   grid_path=t.node.path, at=now)
    t.refresh_from_db()
    return t


@transaction.atomic
def decline(user, topic, reason, now=None) -> Topic:
    """Decline an open topic (未采纳) with a reason (required); participants are told."""
    now = _now(now)
    reason = (reason or "").strip()
    if not reason:
        raise DeliberationError(_("请填写不予采纳的理由"), code="reason")
    if len(reason) > 200:
        raise DeliberationError(_("理由最多 200 字"), code="reason")
    t = _managed(user, topic)
    n = Topic.objects.filter(pk=t.pk, state=Topic.State.OPEN).update(
        state=Topic.State.DECLINED, decline_reason=reason, phase_ends_at=None, version=F("version") + 1, updated_at=now)
    if not n:
        raise Conflict(_("议题已%(state)s，不能再处理"), code="bad_state", state=t.get_state_display())
    t.refresh_from_db()
    history.record(user, "deliberation_topics", t, "decline", {"state": ["open", "declined"]}, grid_path=t.node.path,
                   note=reason, at=now)
    transaction.on_commit(lambda: services.notify_participants(t, "topic_declined", f"议题“{t.title}”未被采纳", reason))
    return t


def move(user, topic, *, to=None, days=None, version=None, note="", now=None) -> Topic:
    """The board's buttons: services.advance by staff who manage the topic, to the next phase or
    forward to `to` (a later phase, or its position), `days` for the new phase, `version` the
    topic's version as the page saw it (compare-and-set)."""
    t = topic if isinstance(topic, Topic) else Topic.objects.select_related("process", "phase", "node").get(pk=topic)
    if not services.may_manage(user, t):
        raise Forbidden(_("您不能推进这个议题"))
    target = None
    if to not in (None, ""):
        if isinstance(to, Phase):
            target = to
        else:
            try:
                pos = int(to)
            except (TypeError, ValueError):
                raise DeliberationError(_("阶段应为序号"), code="phase") from None
            target = t.process.phases.filter(position=pos).first()
            if target is None:
                raise DeliberationError(_("流程“%(name)s”没有第 %(n)s 阶段"), code="phase", name=t.process.name, n=pos)
    if days not in (None, ""):
        days = _days(days)
    if version not in (None, ""):
        try:
            version = int(version)
        except (TypeError, ValueError):
            raise DeliberationError(_("版本号应为整数"), code="version") from None
    else:
        version = None
    return services.advance(user, t, to=target, days=days or None, note=(note or "")[:255], now=now,
                            expected_version=version)


# --- processes as data -----------------------------------------------------------------------


def may_edit_process(user, process_or_community) -> bool:
    """Street-wide processes: settings × update (administrators); a community's own: deliberation
    × update on the community."""
    node = process_or_community.node if isinstance(process_or_community, Process) else process_or_community
    if node is None:
        return policy.allows(user, "settings", "update")
    return policy.allows(user, KIND, "update", node.path)


def _flag(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "on", "yes")
    return bool(value)


def validate_phases(phases) -> list[dict]:
    """The phases as given (a list of dicts: id, name, description, the flags, days), cleaned and
    checked against the rules of the module's docstring; positions are 1..n in the order given."""
    if not isinstance(phases, (list, tuple)) or not phases:
        raise DeliberationError(_("流程至少要有一个阶段"), code="phases")
    if len(phases) > MAX_PHASES:
        raise DeliberationError(_("流程最多 %(n)s 个阶段"), code="phases", n=MAX_PHASES)
    out, names = [], set()
    for i, p in enumerate(phases, start=1):
        name = str(p.get("name") or "").strip()
        if not name:
            raise DeliberationError(_("第 %(n)s 个阶段没有名称"), code="phase_name", n=i)
        if len(name) > 40:
            raise DeliberationError(_("阶段名称最多 40 字：%(name)s"), code="phase_name", name=name[:40])
        if name in names:
            raise DeliberationError(_("阶段名称重复：%(name)s"), code="phase_name", name=name)
        names.add(name)
        days = p.get("days")
        if days in ("", None):
            days = None
        else:
            try:
                days = int(days)
            except (TypeError, ValueError):
                raise DeliberationError(_("阶段“%(name)s”的天数应为 1 到 365 的整数"), code="phase_days", name=name) from None
            if not 1 <= days <= 365:
                raise DeliberationError(_("阶段“%(name)s”的天数应为 1 到 365 的整数"), code="phase_days", name=name)
        ident = p.get("id")
        ident = int(ident) if ident not in (None, "") and str(ident).isdigit() else None
        out.append({"id": ident, "position": i, "name": name,
                    "description": str(p.get("description") or "").strip()[:200],
                    "days": days, **{f: _flag(p.get(f)) for f in FLAGS}})
    seen_meeting = seen_execution = False
    for p in out:
        seen_meeting = seen_meeting or p["meeting"]
        if p["execution"] and not seen_meeting:
            raise DeliberationError(_("阶段“%(name)s”是专人办理阶段，但它之前（或同一阶段）没有协商决定的阶段"),
                                    code="phase_order", name=p["name"])
        seen_execution = seen_execution or p["execution"]
        if p["published"] and not seen_execution:
            raise DeliberationError(_("阶段“%(name)s”是结果公开阶段，但它之前（或同一阶段）没有专人办理的阶段"),
                                    code="phase_order", name=p["name"])
    return out


def _clean_name(name) -> str:
    name = (name or "").strip()
    if not name:
        raise DeliberationError(_("请填写流程名称"), code="name")
    if len(name) > 100:
        raise DeliberationError(_("流程名称最多 100 字"), code="name")
    return name


@transaction.atomic
def create_process(user, *, name, community=None, phases, description="", now=None) -> Process:
    """A new process: street-wide (community None; administrators) or a community's own."""
    now = _now(now)
    if community is not None:
        community = community_node(community)
    if not may_edit_process(user, community):
        raise Forbidden(_("您不能为这里设置议事流程"))
    name = _clean_name(name)
    cleaned = validate_phases(phases)
    if Process.objects.filter(name=name, node=community, active=True).exists():
        raise Conflict(_("已有同名的流程“%(name)s”"), code="duplicate", name=name)
    process = Process.objects.create(name=name, description=(description or "").strip(), node=community,
                                     created_by=user if services.signed_in(user) else None)
    for p in cleaned:
        p.pop("id")
        Phase.objects.create(process=process, **p)
    history.record(user, "deliberation_processes", process, "create",
                   {"phases": [p["name"] for p in cleaned]}, grid_path=community.path if community else "", at=now)
    return process


def _in_use(process: Process) -> tuple[int, set]:
    """The position of the furthest phase an open topic sits in (0: none), and the ids of the
    phases any topic sits in."""
    top = Topic.objects.filter(process=process, state=Topic.State.OPEN).aggregate(m=Max("phase__position"))["m"] or 0
    used = set(Topic.objects.filter(process=process).values_list("phase_id", flat=True).distinct())
    return top, used


@transaction.atomic
def update_process(user, process, *, name=None, description=None, phases=None, now=None) -> Process:
    """Rename a process, edit its description and its phases (a list as `validate_phases` takes
    it, in the new order, existing phases named by `id`). The phases up to the furthest one an
    open topic sits in keep their place; no phase a topic sits in is removed."""
    now = _now(now)
    p = Process.objects.select_for_update().get(pk=process.pk if isinstance(process, Process) else process)
    if not may_edit_process(user, p):
        raise Forbidden(_("您不能修改这个议事流程"))
    changes = {}
    if name is not None:
        name = _clean_name(name)
        if name != p.name and Process.objects.filter(name=name, node=p.node, active=True).exclude(pk=p.pk).exists():
            raise Conflict(_("已有同名的流程“%(name)s”"), code="duplicate", name=name)
        changes["name"] = [p.name, name]
        p.name = name
    if description is not None:
        p.description = (description or "").strip()
    p.save()
    if phases is not None:
        cleaned = validate_phases(phases)
        current = {ph.pk: ph for ph in p.phases.all()}
        for c in cleaned:
            if c["id"] is not None and c["id"] not in current:
                raise DeliberationError(_("阶段不属于这个流程"), code="phase")
        top, used = _in_use(p)
        kept = {c["id"] for c in cleaned if c["id"] is not None}
        for ph in current.values():
            if ph.pk not in kept and ph.pk in used:
                raise Conflict(_("阶段“%(name)s”中还有议题，不能删除"), code="phase_in_use", name=ph.name)
            if ph.position <= top:
                at = next((c["position"] for c in cleaned if c["id"] == ph.pk), None)
                if at != ph.position:
                    raise Conflict(_("阶段“%(name)s”已有进行中的议题到达或经过，不能删除或调整顺序"),
                                   code="phase_in_use", name=ph.name)
        for ph in current.values():
            if ph.pk not in kept:
                ph.delete()
        # out of the way of the unique (process, position) first, then in place
        Phase.objects.filter(process=p).update(position=F("position") + 1000)
        for c in cleaned:
            fields = {k: c[k] for k in ("position", "name", "description", "days", *FLAGS)}
            if c["id"] is not None:
                Phase.objects.filter(pk=c["id"]).update(**fields)
            else:
                Phase.objects.create(process=p, **fields)
        changes["phases"] = [[ph.name for ph in sorted(current.values(), key=lambda x: x.position)],
                             [c["name"] for c in cleaned]]
    history.record(user, "deliberation_processes", p, "update", changes, grid_path=p.node.path if p.node_id else "",
                   at=now)
    return p


@transaction.atomic
def set_default(user, process, community=None, now=None) -> Process:
    """Make `process` the default of its place: a street-wide process the street's default
    (administrators), a community's own process that community's default. One default per
    community and one for the street (the model's unique constraints are the last line)."""
    now = _now(now)
    p = (Process.objects.select_for_update(of=("self",)).select_related("node")
         .get(pk=process.pk if isinstance(process, Process) else process))
    if community is not None:
        community = community_node(community)
        if p.node_id != community.pk:
            raise DeliberationError(_("社区的默认流程须是本社区自己的流程"), code="process")
    if not may_edit_process(user, p):
        raise Forbidden(_("您不能修改这个议事流程"))
    if not p.active:
        raise Conflict(_("流程已停用"), code="inactive")
    if not p.phases.exists():
        raise DeliberationError(_("流程“%(name)s”没有阶段"), code="no_phase", name=p.name)
    if p.is_default:
        return p
    others = Process.objects.filter(is_default=True).exclude(pk=p.pk)
    others = others.filter(node=p.node) if p.node_id else others.filter(node__isnull=True)
    list(others.select_for_update())
    try:
        with transaction.atomic():
            others.update(is_default=False)
            Process.objects.filter(pk=p.pk).update(is_default=True)
    except IntegrityError:
        raise Conflict(_("默认流程刚被他人修改，请刷新后再试"), code="stale") from None
    history.record(user, "deliberation_processes", p, "default", {"is_default": [False, True]},
                   grid_path=p.node.path if p.node_id else "", at=now)
    p.refresh_from_db()
    return p


@transaction.atomic
def deactivate(user, process, now=None) -> Process:
    """Stop offering a process to new topics (the topics in it run on). The street's default
    cannot be stopped (set another first); a community's default falls back to the street's."""
    now = _now(now)
    p = (Process.objects.select_for_update(of=("self",)).select_related("node")
         .get(pk=process.pk if isinstance(process, Process) else process))
    if not may_edit_process(user, p):
        raise Forbidden(_("您不能修改这个议事流程"))
    if p.is_default and p.node_id is None:
        raise Conflict(_("这是全街道的默认流程，请先把另一个流程设为默认"), code="default")
    if not p.active:
        return p
    Process.objects.filter(pk=p.pk).update(active=False, is_default=False)
    history.record(user, "deliberation_processes", p, "deactivate", {"active": [True, False]},
                   grid_path=p.node.path if p.node_id else "", at=now)
    p.refresh_from_db()
    return p


def processes_visible(user, community=None):
    """The processes a staff user sees: the street's and those of the communities they see."""
    ids = [c.pk for c in communities_for(user)]
    if community is not None:
        ids = [i for i in ids if i == community.pk]
    return (Process.objects.filter(Q(node__isnull=True) | Q(node_id__in=ids))
            .select_related("node").prefetch_related("phases").order_by("-active", "node_id", "id"))


# --- the board -------------------------------------------------------------------------------


def staff_topics(user):
    from gridgov.accounts.querysets import within_reach

    return within_reach(Topic.objects.all(), user, KIND, "list", "node__path")


def board(user, *, community=None, month=None, state="open", now=None) -> list:
    """The staff board: [(process, [(phase, [topics])])] of the topics `user` lists (deliberation ×
    list), of `community` if given, of `month` if given (chosen for it or created in it), in
    `state` ("open", another state, or "all"). In each column the month's topics come first
    (`is_month_topic`), then the most supported and newest; `overdue` marks a phase whose set
    time has passed. The processes shown: those the topics follow, and the community's default."""
    now = _now(now)
    qs = staff_topics(user).select_related("process", "phase", "node", "community", "compound", "building")
    default = None
    if community is not None:
        community = community_node(community)
        qs = qs.filter(community=community)
        try:
            default = services.default_process(community)
        except DeliberationError:
            default = None
    this_month = month or month_of(now)
    if month:
        month = check_month(month)
        from gridgov.hotline.clusters import month_bounds

        start, end = month_bounds(month)
        qs = qs.filter(Q(month=month) | Q(created_at__gte=start, created_at__lt=end))
    if state and state != "all":
        if state not in Topic.State.values:
            raise DeliberationError(_("没有这个状态：%(state)s"), code="state", state=str(state)[:20])
        qs = qs.filter(state=state)
    topics = list(qs.order_by("-created_at", "-id")[:2000])
    processes = {}
    if default is not None:
        processes[default.pk] = default
    for t in topics:
        processes.setdefault(t.process_id, t.process)
        t.is_month_topic = t.month == this_month
        t.overdue = bool(t.state == Topic.State.OPEN and t.phase_ends_at and t.phase_ends_at < now)
    out = []
    for pid in sorted(processes, key=lambda i: (default is None or i != default.pk, i)):
        proc = processes[pid]
        columns = []
        for phase in services.phases_of(proc):
            col = [t for t in topics if t.phase_id == phase.pk]
            col.sort(key=lambda t: (not t.is_month_topic, -t.support_count, -t.created_at.timestamp(), -t.pk))
            columns.append((phase, col))
        out.append((proc, columns))
    return out


# --- the topic pages -------------------------------------------------------------------------


def problem_places(community) -> list[tuple[str, str]]:
    """The places a community's problem may name: its compounds, then its grids."""
    from gridgov.geo.models import GridNode
    from gridgov.registry.models import Compound

    out = [(f"compound:{c.pk}", c.name) for c in Compound.objects.filter(community=community).order_by("name")[:500]]
    out += [(f"grid:{g.pk}", g.name) for g in
            GridNode.objects.filter(path__startswith=community.path).order_by("path")[:500]]
    return out


def staff_context(user, topic) -> dict:
    """What the staff topic page (/deliberation/topics/<id>/) shows of this slice: the context of
    templates/deliberation/_staff_topic_platform.html: the phase controls (advance, choose as
    the month's topic, decline, set the problem) for staff who manage it, and the evidence."""
    manage = services.may_manage(user, topic)
    now = timezone.now()
    later = list(topic.process.phases.filter(position__gt=topic.phase.position).order_by("position"))
    ctx = {
        "manage": manage and topic.state == Topic.State.OPEN,
        "may_set_problem": manage,
        "later_phases": later,
        "next_phase": later[0] if later else None,
        "discussion_phase": _discussion_phase(topic) if topic.state == Topic.State.OPEN else None,
        "overdue": bool(topic.state == Topic.State.OPEN and topic.phase_ends_at and topic.phase_ends_at < now),
        "evidence": topic.evidence or None,
        "problem_name": place_name(topic.problem_place) if topic.problem_place else "",
        "month_now": month_of(now),
        "discussion_days": conf.get_int("DELIBERATION_DISCUSSION_DAYS"),
        "history": [(c, ACTIONS.get(c.action, c.action)) for c in
                    history.for_object("deliberation_topics", topic.pk).order_by("at", "id")[:100]],
    }
    if manage:
        ctx["places"] = problem_places(topic.community)
    return {"platform": ctx}


def m_context(user, topic) -> dict:
    """What the phone topic page shows of this slice: the month it was chosen for, and for a
    topic found in the data the counts behind it (never the tickets' texts)."""
    ev = topic.evidence or {}
    summary = None
    if ev:
        summary = {"name": ev.get("name", ""), "category": ev.get("category", ""), "tickets": ev.get("tickets", 0),
                   "cases": ev.get("cases", 0), "months": ev.get("months"), "by_month": ev.get("by_month") or []}
    return {"platform": {"month": topic.month, "evidence": summary}}
