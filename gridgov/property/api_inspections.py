"""API of the property alliance's inspections (专家点、现场查), at /api/property/inspections. Views
validate, call gridgov.property.inspections / services and serialize; errors answer {"detail": the Chinese
message, "code": a stable code} (core.errors.api_error) with 400 / 403 / 404 / 409.

* GET  ""                         the inspections of the grids in scope (property × list; 403
                                  otherwise); ?scope=company: a property company's users their
                                  company's; filters ?project= &quarter=2026Q3 &state=
* POST ""                         plan {project, planned_on, kind, by, expert_name, expert_org, note};
                                  start=true opens it at once (an unannounced visit, with lon/lat)
* GET  /indicators?year=YYYY      the year's indicator set (categories, indicators, frozen or not)
* PUT  /indicators?year=YYYY      {indicators: [{id, name?, full_marks?, method?, step?, criteria?,
                                  evidence?, rectify_days?}]}: all or none (settings × update)
* GET  /{id}                      the inspection: score, breakdown by category, deductions with
                                  photos and their problems, version
* POST /{id}/start                {lon, lat}
* POST /{id}/deductions           multipart: indicator (id or code), note, points (optional: the
                                  indicator's step), place, lon, lat, photos (at least one)
* DELETE /{id}/deductions/{did}   remove a deduction (while in progress)
* POST /{id}/submit               {version, note}: compare-and-set (409 when stale)
* POST /{id}/cancel               {reason}
* GET  /photos/{pk}               a deduction's photo (whoever sees the inspection)"""

from datetime import date

from django.http import FileResponse
from django.utils import timezone
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from gridgov.accounts import policy
from gridgov.core.errors import api_call

from . import inspections, services
from .models import Deduction, IndicatorSet, Inspection

router = Router(tags=["property"])
ERRORS = {400: dict, 403: dict, 404: dict, 409: dict}
API = "/api/property/inspections"
PHOTO_URL = API + "/photos/{pk}"


def _num(d):
    return None if d is None else float(d)


# --- reading ---------------------------------------------------------------------------------


def brief(i: Inspection) -> dict:
    return {"id": i.pk, "project": {"id": i.project_id, "name": i.project.name}, "kind": i.kind,
            "kind_label": i.get_kind_display(), "by": i.by, "state": i.state, "state_label": i.get_state_display(),
            "planned_on": i.planned_on.isoformat(), "quarter": i.quarter, "score": _num(i.score),
            "inspector": str(i.inspector) if i.inspector_id else "", "expert_name": i.expert_name,
            "started_at": i.started_at.isoformat() if i.started_at else None,
            "submitted_at": i.submitted_at.isoformat() if i.submitted_at else None, "version": i.version}


def detail(user, insp: Inspection) -> dict:
    ds = list(inspections.deductions_of(insp))
    breakdown = services.inspection_breakdown(insp)
    out = brief(insp)
    out.update({
        "expert_org": insp.expert_org, "note": insp.note, "lon": insp.lon, "lat": insp.lat,
        "indicator_set": {"id": insp.indicator_set_id, "year": insp.indicator_set.year},
        "score": _num(insp.score if insp.score is not None else services.inspection_score(insp)),
        "score_final": insp.score is not None,
        "breakdown": [{"code": c["code"], "name": c["category"].name, "weight": _num(c["weight"]),
                       "lost": _num(c["lost"]), "kept": _num(c["kept"]),
                       "indicators": [{"id": r["indicator"].pk, "code": r["indicator"].code,
                                       "name": r["indicator"].name, "full_marks": _num(r["full"]),
                                       "lost": _num(r["lost"]), "kept": _num(r["kept"])} for r in c["indicators"]]}
                      for c in breakdown],
        "deductions": [deduction_out(d) for d in ds],
        "may_conduct": insp.state in (Inspection.State.PLANNED, Inspection.State.IN_PROGRESS)
        and policy.allows(user, services.KIND, "create", insp.grid_path),
        "may_cancel": insp.state in (Inspection.State.PLANNED, Inspection.State.IN_PROGRESS)
        and policy.allows(user, services.KIND, "update", insp.grid_path),
    })
    return out


def deduction_out(d: Deduction) -> dict:
    problem = getattr(d, "problem", None)
    return {"id": d.pk, "indicator": {"id": d.indicator_id, "code": d.indicator.code, "name": d.indicator.name,
                                      "category": d.indicator.category.code},
            "points": _num(d.points), "note": d.note, "place": d.place, "lon": d.lon, "lat": d.lat,
            "created_at": d.created_at.isoformat(), "by": str(d.created_by) if d.created_by_id else "",
            "photos": [PHOTO_URL.format(pk=p.pk) for p in d.photos.all()],
            "problem": {"id": problem.pk, "number": problem.number, "state": problem.state,
                        "url": f"/property/problems/{problem.pk}/"} if problem else None}


def set_out(s: IndicatorSet) -> dict:
    return {"id": s.pk, "year": s.year, "name": s.name, "note": s.note, "frozen": s.frozen_at is not None,
            "frozen_at": s.frozen_at.isoformat() if s.frozen_at else None,
            "total": _num(sum((c.weight for c in s.categories.all()), 0)),
            "categories": [{"id": c.pk, "code": c.code, "name": c.name, "weight": _num(c.weight),
                            "indicators": [{"id": i.pk, "code": i.code, "name": i.name,
                                            "full_marks": _num(i.full_marks), "method": i.method,
                                            "method_label": i.get_method_display(), "step": _num(i.step),
                                            "criteria": i.criteria, "evidence": i.evidence,
                                            "rectify_days": i.rectify_days} for i in c.indicators.all()]}
                           for c in s.categories.prefetch_related("indicators")]}


# --- the doors -------------------------------------------------------------------------------


@router.get("", response={200: dict, **ERRORS})
def list_(request, scope: str = "staff", project: int | None = None, quarter: str = "", state: str = "",
          page: int = 1, size: int = 50):
    qs, err = api_call(inspections.filtered, request.user, scope=scope, project=project, quarter=quarter,
                       state=state)
    if err:
        return err
    size = max(1, min(size, 200))
    page = max(1, page)
    total = qs.count()
    rows = qs[(page - 1) * size: page * size]
    return {"count": total, "page": page, "items": [brief(i) for i in rows]}


class PlanIn(Schema):
    project: int
    planned_on: date | None = None
    kind: str = Inspection.Kind.SCHEDULED
    by: str = Inspection.By.STAFF
    expert_name: str = ""
    expert_org: str = ""
    note: str = ""
    start: bool = False
    lon: float | None = None
    lat: float | None = None


@router.post("", response={201: dict, **ERRORS})
def plan_(request, data: PlanIn):
    insp, err = api_call(inspections.plan, request.user, **data.dict())
    return err or Status(201, detail(request.user, insp))


@router.get("/indicators", response={200: dict, **ERRORS})
def indicators_get(request, year: int | None = None):
    if not inspections.may_see_indicators(request.user):
        return Status(403, {"detail": "not allowed: list property", "code": "not_allowed"})
    s, err = api_call(inspections.indicator_set, year or timezone.localdate().year)
    return err or set_out(s)


class IndicatorIn(Schema):
    id: int
    name: str | None = None
    full_marks: float | None = None
    method: str | None = None
    step: float | None = None
    criteria: str | None = None
    evidence: str | None = None
    rectify_days: int | None = None


class IndicatorsIn(Schema):
    indicators: list[IndicatorIn]


@router.put("/indicators", response={200: dict, **ERRORS})
def indicators_put(request, data: IndicatorsIn, year: int | None = None):
    s, err = api_call(inspections.update_set, request.user, year or timezone.localdate().year,
                      [r.dict() for r in data.indicators])
    return err or set_out(s)


@router.get("/photos/{int:photo_id}", response={200: None, **ERRORS})
def photo(request, photo_id: int):
    p, err = api_call(services.photo_for, request.user, photo_id)
    if err:
        return err
    return FileResponse(p.file.open("rb"), content_type=p.content_type or "image/jpeg")


@router.get("/{int:inspection_id}", response={200: dict, **ERRORS})
def get(request, inspection_id: int):
    insp, err = api_call(services.get_inspection, request.user, inspection_id)
    return err or detail(request.user, insp)


class PlaceIn(Schema):
    lon: float | None = None
    lat: float | None = None


def _act(request, inspection_id, fn, action="create"):
    """Find the inspection the user sees, run `fn(insp)`, answer its detail; 403 for who may
    never `action`."""
    insp, err = api_call(lambda: inspections.require(request.user, action)
                         or services.get_inspection(request.user, inspection_id))
    if err:
        return err
    out, err = api_call(fn, insp)
    if err:
        return err
    return detail(request.user, services.get_inspection(request.user, inspection_id))


@router.post("/{int:inspection_id}/start", response={200: dict, **ERRORS})
def start(request, inspection_id: int, data: PlaceIn):
    return _act(request, inspection_id,
                lambda i: services.start_inspection(request.user, i, lon=data.lon, lat=data.lat))


class DeductionIn(Schema):
    indicator: str
    note: str = ""
    points: str = ""
    place: str = ""
    lon: float | None = None
    lat: float | None = None


@router.post("/{int:inspection_id}/deductions", response={201: dict, **ERRORS})
def add_deduction(request, inspection_id: int, data: Form[DeductionIn], photos: File[list[UploadedFile]] = None):
    """Multipart: indicator, note, points (optional), place, lon, lat, photos (at least one)."""
    insp, err = api_call(lambda: inspections.require(request.user, "create")
                         or services.get_inspection(request.user, inspection_id))
    if err:
        return err
    d, err = api_call(inspections.deduct, request.user, insp, indicator=data.indicator, note=data.note,
                      points=data.points, place=data.place, lon=data.lon, lat=data.lat, photos=photos or [])
    if err:
        return err
    insp = services.get_inspection(request.user, inspection_id)
    return Status(201, {"deduction": deduction_out(inspections.deductions_of(insp).get(pk=d.pk)),
                        "score": _num(services.inspection_score(insp)), "version": insp.version})


@router.delete("/{int:inspection_id}/deductions/{int:deduction_id}", response={200: dict, **ERRORS})
def remove_deduction(request, inspection_id: int, deduction_id: int):
    return _act(request, inspection_id, lambda i: inspections.remove(request.user, i, deduction_id))


class SubmitIn(Schema):
    version: int | None = None
    note: str = ""


@router.post("/{int:inspection_id}/submit", response={200: dict, **ERRORS})
def submit(request, inspection_id: int, data: SubmitIn):
    return _act(request, inspection_id, lambda i: services.submit_inspection(
        request.user, i, note=data.note, expected_version=data.version))


class CancelIn(Schema):
    reason: str = ""


@router.post("/{int:inspection_id}/cancel", response={200: dict, **ERRORS})
def cancel(request, inspection_id: int, data: CancelIn):
    return _act(request, inspection_id, lambda i: services.cancel_inspection(request.user, i, reason=data.reason),
                "update")

