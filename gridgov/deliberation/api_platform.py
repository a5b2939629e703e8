"""API of deliberation (platform, 平台议), at /api/deliberation/platform. Staff only: each door
first asks whether the user holds its action somewhere (else 403), then the service checks the
place. Views validate and call gridgov.deliberation.platform; errors answer {"detail": the Chinese
message, "code": a stable code} (core.errors.api_error) with 400 / 403 / 404 / 409.

* GET  /board?community=&month=&state=   the topics by process and phase (deliberation × list)
* GET  /month?community=&month=          the month's data beside the proposals
* POST /topics                           enter a topic (deliberation × create on its grid)
* POST /from-data                        offer a problem of the month's data as a proposal
* POST /topics/{id}/problem              {place, category, category_l1, category_l2}
* POST /topics/{id}/choose               {month, days}: the month's topic (每月一题)
* POST /topics/{id}/advance              {to (a position), days, version, note}
* POST /topics/{id}/decline              {reason}
* GET  /processes?community=             the processes (street-wide and the communities')
* POST /processes                        {name, community, description, phases: [...]}
* PUT  /processes/{id}                   {name, description, phases}
* POST /processes/{id}/default           {community}
* POST /processes/{id}/deactivate"""

from django.utils import timezone
from ninja import Router, Schema
from ninja.responses import Status

from gridgov.accounts import policy
from gridgov.core.errors import api_call

from . import platform, services
from .models import POLICY_KIND as KIND
from .models import Process, Topic

router = Router(tags=["deliberation"])
ERRORS = {400: dict, 403: dict, 404: dict, 409: dict}


def _forbidden(action):
    return Status(403, {"detail": f"not allowed: {action} deliberation", "code": "not_allowed"})


def _iso(dt):
    return dt.isoformat() if dt else None


def topic_out(t: Topic, now=None) -> dict:
    now = now or timezone.now()
    return {
        "id": t.pk, "title": t.title, "state": t.state, "channel": t.channel,
        "process": {"id": t.process_id, "name": t.process.name},
        "phase": {"id": t.phase_id, "position": t.phase.position, "name": t.phase.name, **t.phase.flags()},
        "phase_started_at": _iso(t.phase_started_at), "phase_ends_at": _iso(t.phase_ends_at),
        "overdue": bool(t.state == Topic.State.OPEN and t.phase_ends_at and t.phase_ends_at < now),
        "month": t.month, "community": t.community.code, "community_name": t.community.name, "node": t.node.code,
        "compound": t.compound_id, "building": t.building_id, "proposer_name": t.proposer_name,
        "problem": {"place": t.problem_place, "category": t.problem_category, "category_l1": t.problem_category_l1,
                    "category_l2": t.problem_category_l2},
        "evidence": t.evidence or None, "support_count": t.support_count, "comment_count": t.comment_count,
        "decline_reason": t.decline_reason, "version": t.version, "created_at": _iso(t.created_at),
    }


def process_out(p: Process) -> dict:
    return {"id": p.pk, "name": p.name, "description": p.description, "community": p.node.code if p.node_id else None,
            "is_default": p.is_default, "active": p.active,
            "phases": [{"id": ph.pk, "position": ph.position, "name": ph.name, "description": ph.description,
                        "days": ph.days, **ph.flags()} for ph in p.phases.all()]}


def _topic(request, topic_id):
    return api_call(services.get_topic, request.user, topic_id)


@router.get("/board", response={200: dict, **ERRORS})
def board(request, community: str = "", month: str = "", state: str = "open"):
    if not policy.allows(request.user, KIND, "list"):
        return _forbidden("list")
    now = timezone.now()
    out, err = api_call(platform.board, request.user, community=community or None, month=month or None, state=state,
                     now=now)
    if err:
        return err
    return {"processes": [{**process_out(proc), "columns": [
        {"phase": {"id": ph.pk, "position": ph.position, "name": ph.name}, "topics": [topic_out(t, now) | {
            "is_month_topic": t.is_month_topic} for t in topics]} for ph, topics in cols]} for proc, cols in out]}


def _row(r: dict) -> dict:
    keep = ("name", "category", "category_source", "category_l1", "category_l2", "tickets", "cases", "total", "months",
            "by_month", "examples", "places", "problem_place", "problem_category", "topic", "offered")
    return {k: r[k] for k in keep if k in r}


@router.get("/month", response={200: dict, **ERRORS})
def month(request, community: str = "", month: str = ""):
    if not policy.allows(request.user, KIND, "list"):
        return _forbidden("list")
    data, err = api_call(platform.month_data, request.user, community,
                      month or platform.month_of(timezone.now()))
    if err:
        return err
    return {"month": data["month"], "community": data["community"].code, "tickets": data["tickets"],
            "cases": data["cases"], "recurring": [_row(r) for r in data["recurring"]],
            "hot_spots": [_row(r) for r in data["hot_spots"]], "topics": [_row(r) for r in data["topics"]],
            "proposals": [topic_out(t) | {"is_month_topic": t.is_month_topic} for t in data["proposals"]]}


class ProblemIn(Schema):
    place: str = ""
    category: str = ""
    category_l1: str = ""
    category_l2: str = ""


class EnterIn(Schema):
    title: str
    body: str = ""
    node: str
    compound: int | None = None
    building: int | None = None
    channel: str = Topic.Channel.STAFF
    person_name: str = ""
    process: int | None = None
    problem: ProblemIn | None = None


@router.post("/topics", response={201: dict, **ERRORS})
def enter(request, data: EnterIn):
    """Staff enter a topic (a letterbox slip, a home visit): deliberation × create on `node`."""
    if not policy.allows(request.user, KIND, "create"):
        return _forbidden("create")
    t, err = api_call(platform.enter, request.user, title=data.title, body=data.body, node=data.node,
                   compound=data.compound, building=data.building, channel=data.channel,
                   person_name=data.person_name, problem=data.problem.dict() if data.problem else None,
                   process=data.process)
    return err or Status(201, topic_out(t))


class FromDataIn(Schema):
    community: str
    place: str
    category: str
    month: str
    title: str = ""
    process: int | None = None


@router.post("/from-data", response={201: dict, **ERRORS})
def from_data(request, data: FromDataIn):
    if not policy.allows(request.user, KIND, "create"):
        return _forbidden("create")
    t, err = api_call(platform.from_data, request.user, community=data.community, place=data.place,
                   category=data.category, month=data.month, title=data.title or None, process=data.process)
    return err or Status(201, topic_out(t))


def _staff_act(request, topic_id, fn, *args, **kwargs):
    if not policy.allows(request.user, KIND, "update"):
        return _forbidden("update")
    t, err = _topic(request, topic_id)
    if err:
        return err
    t, err = api_call(fn, request.user, t, *args, **kwargs)
    return err or topic_out(t)


@router.post("/topics/{topic_id}/problem", response={200: dict, **ERRORS})
def problem(request, topic_id: int, data: ProblemIn):
    return _staff_act(request, topic_id, platform.set_problem, place=data.place, category=data.category,
                      category_l1=data.category_l1, category_l2=data.category_l2)


class ChooseIn(Schema):
    month: str
    days: int | None = None


@router.post("/topics/{topic_id}/choose", response={200: dict, **ERRORS})
def choose(request, topic_id: int, data: ChooseIn):
    return _staff_act(request, topic_id, platform.choose, month=data.month, days=data.days)


class AdvanceIn(Schema):
    to: int | None = None
    days: int | None = None
    version: int | None = None
    note: str = ""


@router.post("/topics/{topic_id}/advance", response={200: dict, **ERRORS})
def advance(request, topic_id: int, data: AdvanceIn = None):
    data = data or AdvanceIn()
    return _staff_act(request, topic_id, platform.move, to=data.to, days=data.days, version=data.version,
                      note=data.note)


class DeclineIn(Schema):
    reason: str = ""


@router.post("/topics/{topic_id}/decline", response={200: dict, **ERRORS})
def decline(request, topic_id: int, data: DeclineIn):
    return _staff_act(request, topic_id, platform.decline, data.reason)


@router.get("/processes", response={200: list, **ERRORS})
def processes(request, community: str = ""):
    if not policy.allows(request.user, KIND, "list"):
        return _forbidden("list")
    node = None
    if community:
        node, err = api_call(platform.community_node, community)
        if err:
            return err
    return [process_out(p) for p in platform.processes_visible(request.user, node)]


class PhaseIn(Schema):
    id: int | None = None
    name: str = ""
    description: str = ""
    days: int | None = None
    proposals_open: bool = False
    support_open: bool = False
    discussion_open: bool = False
    meeting: bool = False
    execution: bool = False
    published: bool = False


class ProcessIn(Schema):
    name: str
    community: str = ""
    description: str = ""
    phases: list[PhaseIn]


def _phases(phases):
    return [p.dict() for p in phases]


@router.post("/processes", response={201: dict, **ERRORS})
def create_process(request, data: ProcessIn):
    if not (policy.allows(request.user, KIND, "update") or policy.allows(request.user, "settings", "update")):
        return _forbidden("update")
    p, err = api_call(platform.create_process, request.user, name=data.name, community=data.community or None,
                   phases=_phases(data.phases), description=data.description)
    return err or Status(201, process_out(p))


class ProcessUpdateIn(Schema):
    name: str | None = None
    description: str | None = None
    phases: list[PhaseIn] | None = None


def _process(request, process_id):
    p = platform.processes_visible(request.user).filter(pk=process_id).first()
    if p is None:
        return None, Status(404, {"detail": "没有这个议事流程", "code": "not_found"})
    return p, None


@router.put("/processes/{process_id}", response={200: dict, **ERRORS})
def update_process(request, process_id: int, data: ProcessUpdateIn):
    p, err = _process(request, process_id)
    if err:
        return err
    p, err = api_call(platform.update_process, request.user, p, name=data.name, description=data.description,
                   phases=_phases(data.phases) if data.phases is not None else None)
    return err or process_out(Process.objects.prefetch_related("phases").select_related("node").get(pk=p.pk))


class DefaultIn(Schema):
    community: str = ""


@router.post("/processes/{process_id}/default", response={200: dict, **ERRORS})
def set_default(request, process_id: int, data: DefaultIn = None):
    p, err = _process(request, process_id)
    if err:
        return err
    p, err = api_call(platform.set_default, request.user, p, (data.community if data else "") or None)
    return err or process_out(p)


@router.post("/processes/{process_id}/deactivate", response={200: dict, **ERRORS})
def deactivate(request, process_id: int):
    p, err = _process(request, process_id)
    if err:
        return err
    p, err = api_call(platform.deactivate, request.user, p)
    return err or process_out(p)

