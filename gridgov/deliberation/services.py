"""The core of deliberation: who a user is to a topic, the process a topic follows, creating a
topic and moving it from phase to phase. The steps' own acts live beside it, one module per
slice: proposals.py (居民提、楼长集: propose, support, comment, merge, forward), platform.py
(平台议: the month's data offered as proposals, choosing the month's topics, opening discussion,
processes), meetings.py (多方商), execution.py (专人办、结果亮: the decision's work, the result,
ratings) and effect.py (whether it worked).

Every state change: one transaction, one history row (core.history, the kinds in HISTORY_KINDS),
the notifications of the people who should know, queued on commit (cases.notify)."""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.accounts import policy
from gridgov.core import history
from gridgov.core.errors import CodedError

from .models import POLICY_KIND, Decision, Phase, Process, Topic

KIND = POLICY_KIND
#: history kinds, one per model that changes (the demo drops them on a rebuild)
HISTORY_KINDS = ("deliberation_topics", "deliberation_processes", "deliberation_comments", "deliberation_meetings",
                 "deliberation_decisions")


class DeliberationError(CodedError):
    status = 400


class NotFound(DeliberationError):
    status = 404
    code = "not_found"


class Forbidden(DeliberationError):
    status = 403
    code = "not_allowed"


class Conflict(DeliberationError):
    status = 409
    code = "conflict"


# --- who is who ------------------------------------------------------------------------------


def signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


def person_name(user) -> str:
    return (getattr(user, "display_name", "") or getattr(user, "username", "")) if user else ""


@dataclass(frozen=True)
class Home:
    """Where a user lives, as far as the registry knows: their resident record (found by their
    phone's blind index, or through their volunteer record), its house's building and compound,
    its grid and community. Ids are None when unknown."""

    resident_id: int | None = None
    building_id: int | None = None
    compound_id: int | None = None
    grid_id: int | None = None
    community_id: int | None = None


def home_of(user) -> Home:
    """Where `user` lives (Home()), from the registry: the resident whose phone is the account's
    (exactly one, still living here), else the resident linked to their volunteer record; for a
    steward without a resident record, their volunteer record's building."""
    if not signed_in(user):
        return Home()
    cache = getattr(user, "_deliberation_home", None)
    if cache is not None:
        return cache
    from gridgov.registry.models import Resident, Volunteer

    resident = None
    if getattr(user, "phone_hash", ""):
        found = list(Resident.objects.filter(phone_hash=user.phone_hash, ended_on__isnull=True)
                     .select_related("house__building", "house__address", "grid")[:2])
        resident = found[0] if len(found) == 1 else None
    vol = Volunteer.objects.filter(user=user, ended_on__isnull=True).select_related(
        "resident__house__building", "resident__house__address", "resident__grid", "building", "grid").first()
    if resident is None and vol is not None and vol.resident_id and vol.resident.ended_on is None:
        resident = vol.resident
    building = compound = grid = None
    if resident is not None:
        grid = resident.grid
        if resident.house_id:
            building = resident.house.building
            compound = (building.compound_id if building else None) or resident.house.address.compound_id
    if building is None and vol is not None and vol.building_id:
        building = vol.building
        compound = compound or building.compound_id
        grid = grid or building.grid
    if grid is None and vol is not None:
        grid = vol.grid
    community = community_of(grid)
    home = Home(resident.pk if resident else None, building.pk if building else None, compound,
                grid.pk if grid else None, community.pk if community else None)
    try:
        user._deliberation_home = home
    except AttributeError:
        pass
    return home


def community_of(node):
    from gridgov.cases.routing import community_of as _community_of

    return _community_of(node) if node is not None else None


def steward_building_ids(user) -> list[int]:
    """The buildings `user` serves as a steward (楼门长: registry.Volunteer of kind steward with a
    building, linked to the user)."""
    if not signed_in(user):
        return []
    from gridgov.registry.models import Volunteer

    return list(Volunteer.objects.filter(user=user, kind="steward", building__isnull=False, ended_on__isnull=True)
                .values_list("building_id", flat=True))


def is_steward_of(user, topic: Topic) -> bool:
    return bool(topic.building_id) and topic.building_id in steward_building_ids(user)


def may_manage(user, topic: Topic) -> bool:
    """Community staff with deliberation × update on the topic's grid: choose, advance, decline,
    convene, decide, publish."""
    return policy.allows(user, KIND, "update", topic.node.path)


def may_moderate(user, topic: Topic) -> bool:
    return policy.allows(user, KIND, "moderate", topic.node.path)


def get_topic(user, topic_id, *, for_update: bool = False) -> Topic:
    """The topic, if `user` may read it (Topic.objects.visible_to); NotFound otherwise."""
    qs = Topic.objects.visible_to(user).filter(pk=topic_id)
    if not qs.exists():
        raise NotFound(_("没有这个议题"))
    qs = Topic.objects.filter(pk=topic_id)
    if for_update:  # the topic's row only (PostgreSQL refuses to lock the nullable side of a join)
        qs = qs.select_for_update(of=("self",))
    return qs.select_related("process", "phase", "node", "community", "compound", "building").get()


# --- processes -------------------------------------------------------------------------------


def default_process(community) -> Process:
    """The process a new topic of `community` follows: the community's own default, else the
    street-wide default, else the first active process."""
    qs = Process.objects.filter(active=True)
    found = None
    if community is not None:
        found = qs.filter(node=community, is_default=True).first()
    found = found or qs.filter(node__isnull=True, is_default=True).first() or qs.order_by("id").first()
    if found is None:
        raise DeliberationError(_("还没有议事流程，请管理员先设置"), code="no_process")
    return found


def processes_for(community):
    """The processes a community may use: the street's and its own, active ones."""
    from django.db.models import Q

    q = Q(node__isnull=True)
    if community is not None:
        q |= Q(node=community)
    return Process.objects.filter(q, active=True).prefetch_related("phases")


def phases_of(process: Process) -> list[Phase]:
    return list(process.phases.order_by("position"))


def first_phase(process: Process, flag: str | None = None) -> Phase:
    """The first phase (with `flag` set, when given)."""
    phases = phases_of(process)
    if not phases:
        raise DeliberationError(_("流程“%(name)s”没有阶段"), code="no_phase", name=process.name)
    if flag:
        found = [p for p in phases if getattr(p, flag)]
        if not found:
            raise DeliberationError(_("流程“%(name)s”没有可以这样做的阶段"), code="no_phase", name=process.name)
        return found[0]
    return phases[0]


def next_phase(topic: Topic) -> Phase | None:
    return topic.process.phases.filter(position__gt=topic.phase.position).order_by("position").first()


def phase_open(topic: Topic, flag: str, now=None) -> bool:
    """Whether the topic is open and its phase has `flag` (and its set time has not run out at
    `now`, for proposals, support and discussion)."""
    if topic.state != Topic.State.OPEN or not getattr(topic.phase, flag):
        return False
    if flag in ("support_open", "discussion_open", "proposals_open") and topic.phase_ends_at:
        return (now or timezone.now()) < topic.phase_ends_at
    return True


# --- creating and moving ---------------------------------------------------------------------


def _ends(phase: Phase, now, days=None):
    days = days if days is not None else phase.days
    return now + timedelta(days=int(days)) if days else None


def create_topic(actor, *, title: str, body: str = "", node, channel: str, compound=None, building=None,
                 proposer=None, proposer_name: str = "", proposer_resident=None, process: Process | None = None,
                 phase: Phase | None = None, problem: dict | None = None, evidence: dict | None = None,
                 now=None) -> Topic:
    """Create a topic on `node` (the grid of its place), in `phase` (default: the process's
    first). Callers check who may (proposals.propose, platform.from_data, ...); this keeps the
    rules every topic obeys: a title, a community, a process whose phase it is. One history row.
    `problem`: {"place", "category", "category_l1", "category_l2"} as hotline.clusters names them."""
    title = (title or "").strip()
    if not title:
        raise DeliberationError(_("请填写议题标题"), code="title")
    if len(title) > 80:
        raise DeliberationError(_("议题标题最多 80 字，收到 %(n)s 字"), code="title", n=len(title))
    community = community_of(node)
    if community is None:
        raise DeliberationError(_("议题须落在某个社区内"), code="place")
    process = process or default_process(community)
    phase = phase or first_phase(process)
    if phase.process_id != process.pk:
        raise DeliberationError(_("阶段不属于这个流程"), code="phase")
    now = now or timezone.now()
    problem = problem or {}
    topic = Topic.objects.create(
        title=title, body=(body or "").strip(), channel=channel, process=process, phase=phase, phase_started_at=now,
        phase_ends_at=_ends(phase, now), node=node, community=community, compound=compound, building=building,
        proposer=proposer, proposer_name=(proposer_name or "")[:50], proposer_resident=proposer_resident,
        entered_by=actor if signed_in(actor) else None, created_at=now,
        problem_place=problem.get("place", "")[:40], problem_category=problem.get("category", "")[:120],
        problem_category_l1=problem.get("category_l1", "")[:60], problem_category_l2=problem.get("category_l2", "")[:60],
        evidence=evidence or {},
    )
    history.record(actor, "deliberation_topics", topic, "create",
                   {"channel": channel, "phase": phase.name, "process": process.name}, grid_path=node.path, at=now)
    return topic


def _guard_leaving(topic: Topic):
    """What a phase needs before a topic leaves it."""
    phase = topic.phase
    decision = Decision.objects.filter(topic=topic).first()
    if phase.meeting and decision is None:
        raise Conflict(_("议事会尚未形成决定，不能进入下一阶段"), code="no_decision")
    if phase.execution and (decision is None or decision.done_at is None):
        raise Conflict(_("决定事项尚未办结，不能进入下一阶段"), code="not_done")
    if phase.published and not hasattr(topic, "result"):
        raise Conflict(_("结果尚未公开，不能结束"), code="no_result")


def may_advance(user, topic: Topic) -> bool:
    """Staff with deliberation × update on its grid; a steward of its building while the topic is
    being collected (proposals open): forwarding it to the community (楼长集)."""
    if topic.state != Topic.State.OPEN:
        return False
    if may_manage(user, topic):
        return True
    return topic.phase.proposals_open and is_steward_of(user, topic)


@transaction.atomic
def advance(actor, topic: Topic, *, to: Phase | None = None, days=None, note: str = "", now=None,
            expected_version: int | None = None, notify: bool = True) -> Topic:
    """Move an open topic to its next phase (or forward to `to`, a later phase of its process:
    the phases between are skipped, their guards still checked for the phase being left). From
    the last phase the topic is closed. `days` sets the new phase's time (default its `days`).
    A compare-and-set on the topic's version: two staff moving it at once move it once.
    Participants are told of the new phase after commit, unless `notify` is False (a caller
    that tells them itself, in its own words: platform.choose)."""
    now = now or timezone.now()
    t = Topic.objects.select_for_update(of=("self",)).select_related("phase", "process", "node").get(pk=topic.pk)
    if expected_version is not None and t.version != expected_version:
        raise Conflict(_("议题已被他人更新，请刷新后再试"), code="stale")
    if not may_advance(actor, t):
        if t.state != Topic.State.OPEN:
            raise Conflict(_("议题已%(state)s，不能再推进"), code="bad_state", state=t.get_state_display())
        raise Forbidden(_("您不能推进这个议题"))
    _guard_leaving(t)
    target = to or next_phase(t)
    before = t.phase
    changes = {"phase": [before.name, target.name if target else None]}
    if target is None:
        t.state, t.closed_at, t.phase_ends_at = Topic.State.CLOSED, now, None
        action = "close"
    else:
        if target.process_id != t.process_id or target.position <= before.position:
            raise DeliberationError(_("只能进入本流程后面的阶段"), code="phase")
        if not may_manage(actor, t) and target.position != before.position + 1:
            raise Forbidden(_("楼长只能把议题转交到下一阶段"))
        t.phase, t.phase_started_at, t.phase_ends_at = target, now, _ends(target, now, days)
        action = "advance"
    t.version = F("version") + 1
    t.save()
    t.refresh_from_db()
    history.record(actor, "deliberation_topics", t, action, changes, grid_path=t.node.path, note=note, at=now)
    if notify:
        transaction.on_commit(lambda: notify_participants(t, "topic_phase", _phase_title(t)))
    return t


def _phase_title(t: Topic) -> str:
    if t.state == Topic.State.CLOSED:
        return f"议题“{t.title}”已完结"
    return f"议题“{t.title}”进入“{t.phase.name}”阶段"


def participants(topic: Topic) -> list:
    """Who is told of a topic's progress: its proposer, who entered it, its supporters."""
    from gridgov.accounts.models import User

    ids = {topic.proposer_id, topic.entered_by_id} | set(topic.supports.values_list("user_id", flat=True))
    return list(User.objects.filter(pk__in=[i for i in ids if i], is_active=True).order_by("id"))


def notify_participants(topic: Topic, kind: str, title: str, body: str = "", exclude=()) -> int:
    """Queue a notification to each participant (cases.notify; delivered after commit)."""
    from gridgov.cases import notify

    n = 0
    skip = {getattr(u, "pk", u) for u in exclude}
    for user in participants(topic):
        if user.pk in skip:
            continue
        notify.queue(user, kind, title, body or topic.title, payload={"topic": topic.pk})
        n += 1
    return n
