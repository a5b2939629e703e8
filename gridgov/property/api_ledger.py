"""API of the property alliance (the problem ledger, 立行改、回头看), at /api/property/problems.
Views validate and call gridgov.property.services; errors answer {"detail": the Chinese message,
"code": a stable code} (core.errors.api_error) with 400 / 403 / 404 / 409. A problem another user
cannot see answers 404, as if it did not exist.

* GET ""?project=&state=&late=1&reopened=1&escalation=&quarter=2026Q3&category=C
                              the problems the user sees (street staff per property × list; a
                              company's users their company's), open first, each with its clock;
                              `counts` by state of the filtered rows (whatever the state filter)
* GET /{id}                   one problem: photos by stage (found / answer / recheck) with URLs,
                              events, clock, what the user may do
* POST /{id}/answer           multipart: note, photos, lon, lat, crs, version (the company's users)
* POST /{id}/recheck          multipart: passed, note, photos, days, version (staff, property × update)
* POST /{id}/cancel           {reason, version} (staff)
* GET /photos/{pk}            a photo, for whoever sees its problem

`version` (optional) is compare-and-set: a stale one answers 409 code "stale"."""

from django.http import FileResponse
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile

from gridgov.core.errors import api_call

from . import services
from .models import Problem

router = Router(tags=["property"])
API_PHOTO = "/api/property/problems/photos/{pk}"
ERRORS = {400: dict, 403: dict, 404: dict, 409: dict}
MAX_ROWS = 1000


def max_upload() -> int:
    from gridgov.cases import conf

    return conf.get_int("CASES_MAX_PHOTO_BYTES")


def _iso(v):
    return v.isoformat() if v is not None else None


def clock_out(problem, now=None) -> dict:
    c = services.clock_of(problem, now)
    return {**c, "due_at": _iso(c["due_at"])}


def row_out(p: Problem, now=None) -> dict:
    ind = p.indicator
    return {"id": p.pk, "number": p.number, "description": p.description, "place": p.place,
            "project": {"id": p.project_id, "name": p.project.name, "company": p.project.company.name},
            "indicator": ind.code if ind else None, "category": ind.category.code if ind else None,
            "state": p.state, "state_label": str(p.get_state_display()), "days": p.days,
            "opened_at": _iso(p.opened_at), "due_at": _iso(p.due_at), "answered_at": _iso(p.answered_at),
            "closed_at": _iso(p.closed_at), "escalation": p.escalation, "was_late": p.was_late,
            "reopen_count": p.reopen_count, "version": p.version, "clock": clock_out(p, now)}


def photo_out(ph, url=API_PHOTO) -> dict:
    return {"id": ph.pk, "stage": ph.stage, "url": url.format(pk=ph.pk), "content_type": ph.content_type,
            "taken_at": _iso(ph.taken_at), "lon": ph.lon, "lat": ph.lat}


def detail_out(user, p: Problem) -> dict:
    photos = services.photos_by_stage(p)
    events = [{"at": _iso(e.at), "actor": e.actor_name, "action": e.action, "from_state": e.from_state,
               "to_state": e.to_state, "note": e.note, "data": e.data} for e in p.events.order_by("at", "id")]
    staff = services.may_recheck(user, p)
    return {**row_out(p), "lon": p.lon, "lat": p.lat, "inspection": p.inspection_id,
            "photos": {k: [photo_out(ph) for ph in v] for k, v in photos.items()}, "events": events,
            "may_answer": p.state == Problem.State.OPEN and services.is_company_user(user, p.project),
            "may_recheck": p.state == Problem.State.ANSWERED and staff,
            "may_cancel": p.state in Problem.OPEN_STATES and staff}


@router.get("", response={200: dict, **ERRORS})
@router.get("/", response={200: dict, **ERRORS}, include_in_schema=False)
def problems(request, project: int | None = None, state: str = "", late: bool = False, reopened: bool = False,
             escalation: int | None = None, quarter: str = "", category: str = ""):
    """The ledger of the problems the user sees, open first."""
    filters = dict(project=project, late=late, reopened=reopened, escalation=escalation, quarter=quarter,
                   category=category)
    everything, err = api_call(services.ledger, request.user, **filters)
    if err:
        return err
    rows, err = api_call(services.ledger, request.user, state=state, **filters)
    if err:
        return err
    total = rows.count()
    return {"count": total, "counts": services.ledger_counts(everything),
            "items": [row_out(p) for p in rows[:MAX_ROWS]], "truncated": total > MAX_ROWS}


@router.get("/photos/{photo_id}", response={200: None, **ERRORS})
def photo(request, photo_id: int):
    """A problem's photo: whoever sees the problem."""
    ph, err = api_call(services.photo_for, request.user, photo_id)
    if err:
        return err
    return FileResponse(ph.file.open("rb"), content_type=ph.content_type or "image/jpeg")


@router.get("/{problem_id}", response={200: dict, **ERRORS})
def detail(request, problem_id: int):
    p, err = api_call(services.get_problem, request.user, problem_id)
    return err or detail_out(request.user, p)


class AnswerIn(Schema):
    note: str = ""
    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    version: int | None = None


@router.post("/{problem_id}/answer", response={200: dict, **ERRORS})
def answer(request, problem_id: int, data: Form[AnswerIn], photos: File[list[UploadedFile]] = None):
    """The company's answer (multipart): what was done, photos after, where."""
    p, err = api_call(services.get_problem, request.user, problem_id)
    if err:
        return err
    pos, err = api_call(services.position, data.lon, data.lat, data.crs)
    if err:
        return err
    lon, lat = pos
    files = [f.read(max_upload() + 1) for f in (photos or [])]
    p, err = api_call(services.answer_problem, request.user, p, note=data.note, photos=files, lon=lon, lat=lat,
                      expected_version=data.version)
    return err or detail_out(request.user, p)


class RecheckIn(Schema):
    passed: bool
    note: str = ""
    days: int | None = None
    version: int | None = None


@router.post("/{problem_id}/recheck", response={200: dict, **ERRORS})
def recheck(request, problem_id: int, data: Form[RecheckIn], photos: File[list[UploadedFile]] = None):
    """The street's re-check (multipart): passed closes; failed reopens with `days` working days."""
    p, err = api_call(services.get_problem, request.user, problem_id)
    if err:
        return err
    days, err = api_call(services.parse_days, data.days)
    if err:
        return err
    files = [f.read(max_upload() + 1) for f in (photos or [])]
    p, err = api_call(services.recheck_problem, request.user, p, passed=data.passed, note=data.note, photos=files,
                      days=days, expected_version=data.version)
    return err or detail_out(request.user, p)


class CancelIn(Schema):
    reason: str = ""
    version: int | None = None


@router.post("/{problem_id}/cancel", response={200: dict, **ERRORS})
def cancel(request, problem_id: int, data: CancelIn):
    p, err = api_call(services.get_problem, request.user, problem_id)
    if err:
        return err
    p, err = api_call(services.cancel_problem, request.user, p, reason=data.reason, expected_version=data.version)
    return err or detail_out(request.user, p)
