"""API of deliberation (execution: 专人办、结果亮), at /api/deliberation/execution. Views validate
and call gridgov.deliberation.execution; errors answer {"detail": the Chinese message, "code": a
stable code} (core.errors.api_error) with 400 / 403 / 404 / 409.

* GET /decisions                  the ledger of the grids in scope (deliberation × list; ?state=
                                  open|overdue|due_soon|done|unassigned), overdue first
* GET /mine                       the decisions I own
* POST /topics/{id}/assign        {owner (user id) | owner_name, deadline, work}
* POST /topics/{id}/carry-out     {carrier: case|project|activity|other, item, urgency, title,
                                  starts_at, ends_at, places, place_name, kind, milestone}
* POST /topics/{id}/done          {note}: the owner (or staff) reports "other" work done
* GET /topics/{id}/status         the clock and the linked item's state
* POST /topics/{id}/result        multipart: summary, photos (≤ 6)
* GET /topics/{id}/result         the published result (anyone who sees the topic)
* GET /photos/{pk}                a result's photo (anyone who sees the topic)
* POST /topics/{id}/ratings       {score, comment}: once per person (409 the second time)"""

from datetime import date, datetime

from django.http import FileResponse
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from gridgov.accounts import policy
from gridgov.core.errors import api_call

from . import execution, services

router = Router(tags=["deliberation"])
API_PHOTO = "/api/deliberation/execution/photos/{pk}"
ERRORS = {400: dict, 403: dict, 404: dict, 409: dict}


def _row(r) -> dict:
    t = r["topic"]
    return {**r["status"], "topic": {"id": t.pk, "title": t.title, "community": t.community.name,
                                     "grid": t.node.name, "state": t.state}}


@router.get("/decisions", response={200: dict, 403: dict})
def decisions(request, state: str = ""):
    """The 专人办 ledger of the grids in scope, overdue first."""
    if not policy.allows(request.user, services.KIND, "list"):
        return Status(403, {"detail": "not allowed: list deliberation", "code": "not_allowed"})
    rows = execution.ledger(request.user, state=state if state in execution.LEDGER_STATES else None)
    return {"items": [_row(r) for r in rows]}


@router.get("/mine", response=dict)
def mine(request):
    """The decisions I own (to carry out)."""
    return {"items": [{**_row(r), "may_report_done": r["may_report_done"]} for r in execution.mine(request.user)]}


class AssignIn(Schema):
    owner: int | None = None
    owner_name: str = ""
    deadline: date
    work: str


def _owner(pk):
    from gridgov.accounts.models import User

    if pk is None:
        return None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None:
        raise services.NotFound("没有这个用户", code="owner")
    return user


@router.post("/topics/{topic_id}/assign", response={200: dict, **ERRORS})
def assign(request, topic_id: int, data: AssignIn):
    topic, err = api_call(services.get_topic, request.user, topic_id)
    if err:
        return err
    owner, err = api_call(_owner, data.owner)
    if err:
        return err
    d, err = api_call(execution.assign, request.user, topic, owner=owner, owner_name=data.owner_name,
                   deadline=data.deadline, work=data.work)
    return err or execution.status(d)


class CarryIn(Schema):
    carrier: str
    item: str = ""
    urgency: str = ""
    title: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    places: int | None = None
    place_name: str = ""
    kind: str = ""
    milestone: str = ""


@router.post("/topics/{topic_id}/carry-out", response={200: dict, **ERRORS})
def carry_out(request, topic_id: int, data: CarryIn):
    topic, err = api_call(services.get_topic, request.user, topic_id)
    if err:
        return err
    details = {k: v for k, v in data.dict().items() if k != "carrier" and v not in ("", None)}
    d, err = api_call(execution.carry_out, request.user, topic, carrier=data.carrier, **details)
    return err or execution.status(d)


class NoteIn(Schema):
    note: str = ""


@router.post("/topics/{topic_id}/done", response={200: dict, **ERRORS})
def done(request, topic_id: int, data: NoteIn):
    """The owner (or staff) reports work of carrier "other" done."""
    topic, err = api_call(services.get_topic, request.user, topic_id)
    if err:
        return err
    d, err = api_call(execution.report_done, request.user, topic, note=data.note)
    return err or execution.status(d)


@router.get("/topics/{topic_id}/status", response={200: dict, **ERRORS})
def status(request, topic_id: int):
    topic, err = api_call(services.get_topic, request.user, topic_id)
    if err:
        return err
    d, err = api_call(execution.decision_of, topic)
    if err:
        return err
    execution.sync(d)
    return execution.status(d)


class ResultIn(Schema):
    summary: str = ""


@router.post("/topics/{topic_id}/result", response={200: dict, **ERRORS})
def publish_result(request, topic_id: int, data: Form[ResultIn], photos: File[list[UploadedFile]] = None):
    """Multipart: summary and up to 6 photos. Again: an edit (staff)."""
    topic, err = api_call(services.get_topic, request.user, topic_id)
    if err:
        return err
    files = [f.read(execution_max_upload() + 1) for f in (photos or [])]
    r, err = api_call(execution.publish_result, request.user, topic, summary=data.summary, photos=files)
    return err or execution.result_out(r, API_PHOTO)


def execution_max_upload() -> int:
    from gridgov.cases import conf

    return conf.get_int("CASES_MAX_PHOTO_BYTES")


@router.get("/topics/{topic_id}/result", response={200: dict, **ERRORS})
def result(request, topic_id: int):
    topic, err = api_call(services.get_topic, request.user, topic_id)
    if err:
        return err
    r = execution.result_of(topic)
    if r is None:
        return Status(404, {"detail": "结果尚未公开", "code": "not_published"})
    out = execution.result_out(r, API_PHOTO)
    out["ratings"] = execution.rating_summary(topic)
    mine_ = execution.my_rating(request.user, topic)
    out["my_rating"] = {"score": mine_.score, "comment": mine_.comment} if mine_ else None
    out["may_rate"] = mine_ is None and execution.may_rate(request.user, topic)
    return out


@router.get("/photos/{photo_id}", response={200: None, **ERRORS})
def photo(request, photo_id: int):
    """A result's photo: anyone who sees its topic."""
    p, err = api_call(execution.photo_for, request.user, photo_id)
    if err:
        return err
    return FileResponse(p.file.open("rb"), content_type=p.content_type or "image/jpeg")


class RateIn(Schema):
    score: str
    comment: str = ""


@router.post("/topics/{topic_id}/ratings", response={201: dict, **ERRORS})
def rate(request, topic_id: int, data: RateIn):
    topic, err = api_call(services.get_topic, request.user, topic_id)
    if err:
        return err
    r, err = api_call(execution.rate, request.user, topic, score=data.score, comment=data.comment)
    if err:
        return err
    return Status(201, {"score": r.score, "comment": r.comment, "at": r.at.isoformat(),
                        "summary": execution.rating_summary(topic)})
