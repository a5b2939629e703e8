"""API of the property alliance's inspections (专家点、现场查), at /api/property/inspections. Views
validate and call gridgov.property.services / indicators; errors answer {"detail": the Chinese
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
from django.utils.translation import gettext_lazy as _
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from gridgov.accounts import policy
from gridgov.core.errors import api_call

from . import indicators, services
from .models import Deduction, Indicator, IndicatorSet, Inspection

router = Router(tags=["property"])
ERRORS = {400: dict, 403: dict, 404: dict, 409: dict}
API = "/api/property/inspections"
PHOTO_URL = API + "/photos/{pk}"


def _num(d):
    return None if d is None else float(d)


# --- reading ---------------------------------------------------------------------------------


def filtered(user, *, scope: str = "staff", project=None, quarter: str = "", state: str = ""):
    """The inspections `user` sees, filtered (shared by the list page). PropertyError on a bad
    filter; Forbidden when staff may not list."""
    if scope == "company":
        if not policy.holds(user, "property"):
            raise services.Forbidden(_("您不是物业服务企业人员"))
        qs = Inspection.objects.visible_to(user).filter(project__company__department__name=user.department)
    else:
        if not policy.allows(user, services.KIND, "list"):
            raise services.Forbidden(_("您没有权限查看物业检查"))
        qs = Inspection.objects.visible_to(user)
    if project:
        qs = qs.filter(project_id=project)
    if quarter:
        qs = qs.filter(quarter=services.quarter_key(quarter))
    if state:
        if state not in Inspection.State.values:
            raise services.PropertyError(_("状态无效：%(state)s"), code="state", state=state)
        qs = qs.filter(state=state)
    return qs.select_related("project", "inspector").distinct().order_by("-planned_on", "-id")


def brief(i: Inspection) -> dict:
    return {"id": i.pk, "project": {"id": i.project_id, "name": i.project.name}, "kind": i.kind,
            "kind_label": i.get_kind_display(), "by": i.by, "state": i.state, "state_label": i.get_state_display(),
            "planned_on": i.planned_on.isoformat(), "quarter": i.quarter, "score": _num(i.score),
            "inspector": str(i.inspector) if i.inspector_id else "", "expert_name": i.expert_name,
            "started_at": i.started_at.isoformat() if i.started_at else None,
            "submitted_at": i.submitted_at.isoformat() if i.submitted_at else None, "version": i.version}


def deductions_of(insp: Inspection):
    return (insp.deductions.select_related("indicator__category", "created_by", "problem")
            .prefetch_related("photos").order_by("id"))


def detail(user, insp: Inspection) -> dict:
    ds = list(deductions_of(insp))
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


def may_see_indicators(user) -> bool:
    return policy.allows(user, services.KIND, "list") or policy.holds(user, "property")


def indicator_set(year) -> IndicatorSet:
    """The set of `year` (made when missing, for years up to next year); NotFound beyond."""
    try:
        year = int(year)
    except (TypeError, ValueError):
        raise services.PropertyError(_("年份无效"), code="year") from None
    s = indicators.set_for(year, create=False)
    if s is None and 2000 <= year <= timezone.localdate().year + 1:
        s = indicators.set_for(year)
    if s is None:
        raise services.NotFound(_("该年度没有指标体系"), code="not_found")
    return s


def project_for(user, pk):
    from gridgov.registry.models import PropertyProject

    try:
        return services.projects_visible_to(user).get(pk=pk)
    except (PropertyProject.DoesNotExist, ValueError, TypeError):
        raise services.NotFound(_("物业项目不存在或无权查看")) from None


def indicator_for(insp: Inspection, key) -> Indicator:
    qs = Indicator.objects.select_related("category").filter(category__indicator_set=insp.indicator_set_id)
    key = str(key or "").strip()
    ind = (qs.filter(pk=int(key)).first() if key.isdigit() else None) or qs.filter(code=key.upper()).first()
    if ind is None:
        raise services.PropertyError(_("该指标不属于本次检查的指标体系"), code="indicator")
    return ind


def plan(user, *, project, planned_on=None, kind=Inspection.Kind.SCHEDULED, by=Inspection.By.STAFF,
         expert_name="", expert_org="", note="", start=False, lon=None, lat=None) -> Inspection:
    """Plan an inspection of a project the user sees; `start`: an unannounced visit opened now."""
    _may(user, "create")
    proj = project_for(user, project)
    if start:
        return services.start_unannounced(user, proj, lon=lon, lat=lat, note=note)
    if planned_on is None:
        raise services.PropertyError(_("请填写计划检查日期"), code="planned_on")
    return services.plan_inspection(user, proj, planned_on=planned_on, kind=kind, by=by, expert_name=expert_name,
                                    expert_org=expert_org, note=note)


# --- the doors -------------------------------------------------------------------------------


@router.get("", response={200: dict, **ERRORS})
def list_(request, scope: str = "staff", project: int | None = None, quarter: str = "", state: str = "",
          page: int = 1, size: int = 50):
    qs, err = api_call(filtered, request.user, scope=scope, project=project, quarter=quarter, state=state)
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
    insp, err = api_call(plan, request.user, **data.dict())
    return err or Status(201, detail(request.user, insp))


@router.get("/indicators", response={200: dict, **ERRORS})
def indicators_get(request, year: int | None = None):
    if not may_see_indicators(request.user):
        return Status(403, {"detail": "not allowed: list property", "code": "not_allowed"})
    s, err = api_call(indicator_set, year or timezone.localdate().year)
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


def update_set(user, year, rows: list[dict]) -> IndicatorSet:
    policy.require(user, "settings", "update")
    s = indicator_set(year)
    changes = {}
    for r in rows:
        pk = r.pop("id")
        changes[pk] = {k: v for k, v in r.items() if v is not None}
    known = set(Indicator.objects.filter(category__indicator_set=s).values_list("pk", flat=True))
    if set(changes) - known:
        raise services.PropertyError(_("指标不属于该年度的指标体系"), code="indicator")
    indicators.update_indicators(user, s, changes)
    return IndicatorSet.objects.get(pk=s.pk)


@router.put("/indicators", response={200: dict, **ERRORS})
def indicators_put(request, data: IndicatorsIn, year: int | None = None):
    s, err = api_call(update_set, request.user, year or timezone.localdate().year,
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


def _may(user, action):
    """403 at once for who may never `action` (before looking anything up)."""
    if not policy.allows(user, services.KIND, action):
        raise services.Forbidden(_("您没有权限进行此操作"))


def _act(request, inspection_id, fn, action="create"):
    """Find the inspection the user sees, run `fn(insp)`, answer its detail; 403 for who may
    never `action`."""
    insp, err = api_call(lambda: _may(request.user, action) or services.get_inspection(request.user, inspection_id))
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


def points_of(raw):
    """The points typed (None: the indicator's default); PropertyError when not a number."""
    from decimal import Decimal, InvalidOperation

    raw = str(raw if raw is not None else "").strip()
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise services.PropertyError(_("扣分须为数字（收到“%(raw)s”）"), code="points", raw=raw)
    return value


def deduct(user, insp, *, indicator, photos=(), points=None, **fields) -> Deduction:
    ind = indicator_for(insp, indicator)
    return services.add_deduction(user, insp, indicator=ind, photos=photos, points=points_of(points), **fields)


@router.post("/{int:inspection_id}/deductions", response={201: dict, **ERRORS})
def add_deduction(request, inspection_id: int, data: Form[DeductionIn], photos: File[list[UploadedFile]] = None):
    """Multipart: indicator, note, points (optional), place, lon, lat, photos (at least one)."""
    insp, err = api_call(lambda: _may(request.user, "create") or services.get_inspection(request.user, inspection_id))
    if err:
        return err
    d, err = api_call(deduct, request.user, insp, indicator=data.indicator, note=data.note,
                   points=data.points, place=data.place, lon=data.lon, lat=data.lat, photos=photos or [])
    if err:
        return err
    insp = services.get_inspection(request.user, inspection_id)
    return Status(201, {"deduction": deduction_out(deductions_of(insp).get(pk=d.pk)),
                        "score": _num(services.inspection_score(insp)), "version": insp.version})


def remove(user, insp, deduction_id):
    d = insp.deductions.select_related("indicator").filter(pk=deduction_id).first()
    if d is None:
        raise services.NotFound(_("没有这条扣分"))
    services.remove_deduction(user, d)


@router.delete("/{int:inspection_id}/deductions/{int:deduction_id}", response={200: dict, **ERRORS})
def remove_deduction(request, inspection_id: int, deduction_id: int):
    return _act(request, inspection_id, lambda i: remove(request.user, i, deduction_id))


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

