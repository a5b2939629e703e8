"""The grid work API: the day slice (mounted at /api/gridwork/day). Views validate and call
gridgov.gridwork.day; errors answer {"detail": the Chinese message, "code"} with 400 / 403 / 404
/ 409 (core.errors.api_call). A record another user cannot see answers 404.

`scope` on the lists: "mine" (default: the user's own records) or "staff" (the records of the
grids in the user's scope: gridwork × list, 403 without it).

* POST /patrols/start              {lon, lat, crs, accuracy}: start a patrol (409 while one is active)
* GET  /patrols/active             the user's active patrol, or null
* POST /patrols/{id}/points        {points: [{lon, lat, crs, at, accuracy}]}: check-ins (a re-sent batch keeps nothing)
* POST /patrols/{id}/end           {note, points}
* POST /patrols/{id}/cancel        {reason}
* POST /patrols/upload             {started_at, ended_at, note, points}: a whole patrol at once (offline)
* GET  /patrols?scope=&worker=&grid=&day=&since=&until=   the list with totals
* GET  /patrols/{id}               one patrol with its route (GeoJSON Feature, a LineString)
* GET  /houses?q=                  houses of the user's grids by address text
* GET  /houses/{id}                a house with its residents and their special-care groups
* POST /visits                     {house, outcome, met, note, residents: [{id, concern}],
                                    needs: [{kind, text, resident}], lon, lat, crs, patrol}
* GET  /visits?scope=&worker=&grid=&day=&since=&until=,  GET /visits/{id}
* GET  /needs?scope=&state=&grid=
* POST /needs/{id}/case            turn into a case (the worker who heard it, or gridwork × update); idempotent
* POST /needs/{id}/service         {provider, version}: a service item (gridwork × update)
* POST /needs/{id}/done            {result, version}: the service item done
* POST /needs/{id}/close           {reply, version}
* GET  /logs/{day}                 "today" or YYYY-MM-DD: the gathered figures and the saved record (?worker= for staff)
* POST /logs/{day}                 multipart: notes, version, photos
* POST /logs/{day}/submit          {notes, version}: freeze the figures
* GET  /logs?day=&since=&until=&worker=&state=   the daily logs of the scope (gridwork × list)
* GET  /plan?grid=&late=1&within=  the visit plan of the user's grids (or a grid of them): due and overdue"""

from datetime import date

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile

from gridgov.accounts import policy
from gridgov.core.errors import api_call

from . import day as svc
from .models import DailyLog, Need, Patrol, Visit

router = Router(tags=["gridwork"])
ERRORS = {400: dict, 403: dict, 404: dict, 409: dict}
MAX_ROWS = 500


def _iso(v):
    return v.isoformat() if v is not None else None


def _name(u):
    return (getattr(u, "display_name", "") or u.username) if u is not None else ""


def _scoped(request, model, scope: str):
    """The rows of a list: the user's own, or (scope=staff) the scope's (gridwork × list)."""
    if scope == "staff":
        policy.api_require(request, svc.KIND, "list")
        return model.objects.visible_to(request.user)
    return model.objects.filter(worker=request.user)


def _parse_day(text: str) -> date:
    if text in ("", "today", None):
        return timezone.localdate()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise svc.DayError(_("日期格式应为 YYYY-MM-DD"), code="day") from None


def _filter_days(qs, day="", since="", until=""):
    if day:
        qs = qs.filter(day=_parse_day(day))
    if since:
        qs = qs.filter(day__gte=_parse_day(since))
    if until:
        qs = qs.filter(day__lte=_parse_day(until))
    return qs


def _listed(request, model, scope, worker, grid, day, since, until):
    """A list of patrols or visits: the user's own or the scope's, filtered by worker, grid and days."""
    qs = _filter_days(_scoped(request, model, scope), day, since, until).select_related("worker", "grid")
    if worker:
        qs = qs.filter(worker_id=worker)
    if grid:
        qs = qs.filter(grid_path__startswith=grid)
    return qs


# --- patrols ---------------------------------------------------------------------------------


def patrol_out(p: Patrol) -> dict:
    return {"id": p.pk, "worker": {"id": p.worker_id, "name": _name(p.worker)}, "grid_path": p.grid_path,
            "grid": p.grid.name if p.grid_id else "", "state": p.state, "state_label": str(p.get_state_display()),
            "day": _iso(p.day), "started_at": _iso(p.started_at), "ended_at": _iso(p.ended_at),
            "distance_m": p.distance_m, "point_count": p.point_count, "grid_paths": p.grid_paths, "note": p.note,
            "version": p.version}


class PointIn(Schema):
    lon: float
    lat: float
    crs: str = "wgs84"
    at: str | float | None = None
    accuracy: float | None = None


class StartIn(Schema):
    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    accuracy: float | None = None


class PointsIn(Schema):
    points: list[PointIn] = []


class EndIn(Schema):
    note: str = ""
    points: list[PointIn] = []


class CancelIn(Schema):
    reason: str = ""


class UploadIn(Schema):
    started_at: str
    ended_at: str
    note: str = ""
    points: list[PointIn] = []


def _pts(points):
    return [p.dict() for p in points]


@router.post("/patrols/start", response={200: dict, **ERRORS})
def start(request, data: StartIn):
    p, err = api_call(svc.start_patrol, request.user, data.lon, data.lat, data.crs, accuracy=data.accuracy)
    return err or patrol_out(p)


@router.get("/patrols/active", response={200: dict | None, **ERRORS})
def active(request):
    p = svc.active_patrol(request.user)
    return patrol_out(p) if p else None


@router.post("/patrols/upload", response={200: dict, **ERRORS})
def upload(request, data: UploadIn):
    p, err = api_call(svc.record_patrol, request.user, _pts(data.points), data.started_at, data.ended_at, data.note)
    return err or patrol_out(p)


@router.post("/patrols/{patrol_id}/points", response={200: dict, **ERRORS})
def points(request, patrol_id: int, data: PointsIn):
    p, err = api_call(svc.get_patrol, request.user, patrol_id)
    if err:
        return err
    res, err = api_call(svc.add_points, p, _pts(data.points), request.user)
    if err:
        return err
    p, kept = res
    return {"kept": kept, "patrol": patrol_out(p)}


@router.post("/patrols/{patrol_id}/end", response={200: dict, **ERRORS})
def end(request, patrol_id: int, data: EndIn):
    p, err = api_call(svc.get_patrol, request.user, patrol_id)
    if err:
        return err
    p, err = api_call(svc.end_patrol, p, request.user, data.note, points=_pts(data.points))
    return err or patrol_out(p)


@router.post("/patrols/{patrol_id}/cancel", response={200: dict, **ERRORS})
def cancel(request, patrol_id: int, data: CancelIn):
    p, err = api_call(svc.get_patrol, request.user, patrol_id)
    if err:
        return err
    p, err = api_call(svc.cancel_patrol, p, request.user, data.reason)
    return err or patrol_out(p)


@router.get("/patrols", response={200: dict, **ERRORS})
def patrols(request, scope: str = "mine", worker: int | None = None, grid: str = "", day: str = "", since: str = "",
            until: str = ""):
    qs, err = api_call(_listed, request, Patrol, scope, worker, grid, day, since, until)
    if err:
        return err
    qs = qs.exclude(state=Patrol.State.CANCELLED) if scope == "staff" else qs
    return {**svc.totals(qs), "items": [patrol_out(p) for p in qs[:MAX_ROWS]]}


@router.get("/patrols/{patrol_id}", response={200: dict, **ERRORS})
def patrol_detail(request, patrol_id: int):
    p, err = api_call(svc.get_patrol, request.user, patrol_id)
    if err:
        return err
    return {**patrol_out(p), "route": svc.patrol_geojson(p),
            "visits": [visit_out(v) for v in p.visits.select_related("worker", "house__address")]}


# --- houses ----------------------------------------------------------------------------------


def resident_out(r) -> dict:
    return {"id": r.pk, "name": r.name, "groups": r.special_care, "living_alone": "living_alone" in (r.tags or []),
            "labels": [str(lb) for lb in r.tag_labels]}


@router.get("/houses", response={200: list, **ERRORS})
def houses(request, q: str = ""):
    policy.api_require(request, svc.KIND, "create")
    return [{"id": h.pk, "address": h.address.text, "grid": h.grid.name if h.grid_id else ""}
            for h in svc.houses_for(request.user, q)]


@router.get("/houses/{house_id}", response={200: dict, **ERRORS})
def house(request, house_id: int):
    policy.api_require(request, svc.KIND, "create")
    h, err = api_call(svc.house_for, request.user, house_id)
    if err:
        return err
    return {"id": h.pk, "address": h.address.text, "grid": h.grid.name if h.grid_id else "",
            "residents": [resident_out(r) for r in h.residents.filter(ended_on__isnull=True).order_by("id")]}


# --- visits ----------------------------------------------------------------------------------


def need_out(n: Need) -> dict:
    return {"id": n.pk, "visit": n.visit_id, "worker": {"id": n.worker_id, "name": _name(n.worker)},
            "resident": n.resident.name if n.resident_id else "", "kind": n.kind, "kind_label": str(n.get_kind_display()),
            "text": n.text, "state": n.state, "state_label": str(n.get_state_display()), "grid_path": n.grid_path,
            "case": ({"id": n.case_id, "number": n.case.number, "state": n.case.state} if n.case_id else None),
            "provider": n.provider, "result": n.result, "heard_at": _iso(n.heard_at), "done_at": _iso(n.done_at),
            "version": n.version}


def visit_out(v: Visit) -> dict:
    return {"id": v.pk, "worker": {"id": v.worker_id, "name": _name(v.worker)}, "house": v.house_id,
            "address": v.house.address.text if v.house_id else "", "grid_path": v.grid_path, "at": _iso(v.at),
            "day": _iso(v.day), "outcome": v.outcome, "outcome_label": str(v.get_outcome_display()), "met": v.met,
            "note": v.note, "patrol": v.patrol_id}


class ResidentIn(Schema):
    id: int
    concern: str = ""


class NeedIn(Schema):
    kind: str = "other"
    text: str
    resident: int | None = None


class VisitIn(Schema):
    house: int
    outcome: str = "met"
    met: str = ""
    note: str = ""
    residents: list[ResidentIn] = []
    needs: list[NeedIn] = []
    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    patrol: int | None = None


def _create_visit(user, data: VisitIn):
    h = svc.house_for(user, data.house)
    by_id = {r.pk: r for r in h.residents.all()}
    res = []
    for r in data.residents:
        if r.id not in by_id:
            raise svc.DayError(_("所选居民不属于该房屋"), code="resident")
        res.append((by_id[r.id], r.concern))
    needs = []
    for n in data.needs:
        if n.resident is not None and n.resident not in by_id:
            raise svc.DayError(_("所选居民不属于该房屋"), code="resident")
        needs.append((n.kind, n.text, by_id.get(n.resident)))
    patrol = svc.get_patrol(user, data.patrol) if data.patrol else None
    return svc.record_visit(user, h, data.outcome, data.met, data.note, res, needs, data.lon, data.lat, data.crs,
                            patrol)


@router.post("/visits", response={200: dict, **ERRORS})
def create_visit(request, data: VisitIn):
    policy.api_require(request, svc.KIND, "create")
    v, err = api_call(_create_visit, request.user, data)
    return err or visit_detail_out(v)


def visit_detail_out(v: Visit) -> dict:
    return {**visit_out(v),
            "residents": [{"id": vr.resident_id, "name": vr.resident.name, "groups": vr.groups, "concern": vr.concern}
                          for vr in v.residents.select_related("resident")],
            "needs": [need_out(n) for n in v.needs.select_related("worker", "case", "resident")]}


@router.get("/visits", response={200: dict, **ERRORS})
def visits(request, scope: str = "mine", worker: int | None = None, grid: str = "", day: str = "", since: str = "",
           until: str = ""):
    qs, err = api_call(_listed, request, Visit, scope, worker, grid, day, since, until)
    if err:
        return err
    qs = qs.select_related("house__address")
    return {"count": qs.count(), "items": [visit_out(v) for v in qs[:MAX_ROWS]]}


@router.get("/visits/{visit_id}", response={200: dict, **ERRORS})
def visit_detail(request, visit_id: int):
    v, err = api_call(svc.get_visit, request.user, visit_id)
    return err or visit_detail_out(v)


# --- needs -----------------------------------------------------------------------------------


@router.get("/needs", response={200: dict, **ERRORS})
def needs(request, scope: str = "mine", state: str = "", grid: str = ""):
    def run():
        qs = _scoped(request, Need, scope).select_related("worker", "case", "resident")
        if grid:
            qs = qs.filter(grid_path__startswith=grid)
        return qs

    qs, err = api_call(run)
    if err:
        return err
    from django.db.models import Count

    counts = dict(qs.order_by().values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    if state:
        qs = qs.filter(state=state)
    return {"count": qs.count(), "counts": counts, "items": [need_out(n) for n in qs[:MAX_ROWS]]}


class ServiceIn(Schema):
    provider: str
    version: int | None = None


class DoneIn(Schema):
    result: str
    version: int | None = None


class CloseIn(Schema):
    reply: str
    version: int | None = None


def _need_act(request, need_id, fn, *args, **kwargs):
    n, err = api_call(svc.get_need, request.user, need_id)
    if err:
        return err
    _res, err = api_call(fn, n, request.user, *args, **kwargs)
    if err:
        return err
    return need_out(svc.get_need(request.user, need_id))


@router.post("/needs/{need_id}/case", response={200: dict, **ERRORS})
def need_case(request, need_id: int):
    return _need_act(request, need_id, svc.need_to_case)


@router.post("/needs/{need_id}/service", response={200: dict, **ERRORS})
def need_service(request, need_id: int, data: ServiceIn):
    return _need_act(request, need_id, svc.need_to_service, data.provider, version=data.version)


@router.post("/needs/{need_id}/done", response={200: dict, **ERRORS})
def need_done(request, need_id: int, data: DoneIn):
    return _need_act(request, need_id, svc.complete_service, data.result, version=data.version)


@router.post("/needs/{need_id}/close", response={200: dict, **ERRORS})
def need_close(request, need_id: int, data: CloseIn):
    return _need_act(request, need_id, svc.close_need, data.reply, version=data.version)


# --- daily logs ------------------------------------------------------------------------------


def log_out(log: DailyLog | None) -> dict | None:
    if log is None:
        return None
    return {"id": log.pk, "worker": {"id": log.worker_id, "name": _name(log.worker)}, "day": _iso(log.day),
            "grid_path": log.grid_path, "notes": log.notes, "state": log.state,
            "state_label": str(log.get_state_display()), "figures": log.figures, "submitted_at": _iso(log.submitted_at),
            "updated_at": _iso(log.updated_at), "version": log.version,
            "photos": [{"id": ph.pk, "url": ph.file.url, "content_type": ph.content_type} for ph in log.photos.all()]}


def _log_worker(request, worker):
    """The worker whose log is read: oneself, or (staff) one of the scope's."""
    if not worker or worker == request.user.pk:
        return request.user
    from gridgov.accounts.models import User

    policy.api_require(request, svc.KIND, "list")
    u = User.objects.filter(pk=worker).first()
    if u is None or not (DailyLog.objects.visible_to(request.user).filter(worker=u).exists()
                         or Patrol.objects.visible_to(request.user).filter(worker=u).exists()):
        raise svc.NotFound(_("网格员不存在或无权查看"))
    return u


@router.get("/logs", response={200: dict, **ERRORS})
def logs(request, day: str = "", since: str = "", until: str = "", worker: int | None = None, state: str = ""):
    policy.api_require(request, svc.KIND, "list")

    def run():
        qs = _filter_days(DailyLog.objects.visible_to(request.user), day, since, until).select_related("worker")
        if worker:
            qs = qs.filter(worker_id=worker)
        if state:
            qs = qs.filter(state=state)
        return qs

    qs, err = api_call(run)
    if err:
        return err
    return {"count": qs.count(), "items": [log_out(lg) for lg in qs.prefetch_related("photos")[:MAX_ROWS]]}


@router.get("/logs/{day}", response={200: dict, **ERRORS})
def log_get(request, day: str, worker: int | None = None):
    def run():
        d = _parse_day(day)
        u = _log_worker(request, worker)
        return d, u

    res, err = api_call(run)
    if err:
        return err
    d, u = res
    return {"day": d.isoformat(), "gathered": svc.gathered(u, d), "log": log_out(svc.log_of(u, d))}


class LogIn(Schema):
    notes: str = ""
    version: int | None = None


@router.post("/logs/{day}", response={200: dict, **ERRORS})
def log_save(request, day: str, data: Form[LogIn], photos: File[list[UploadedFile]] = None):
    d, err = api_call(_parse_day, day)
    if err:
        return err
    log, err = api_call(svc.save_log, request.user, d, data.notes, list(photos or []), data.version)
    return err or log_out(log)


class SubmitIn(Schema):
    notes: str | None = None
    version: int | None = None


@router.post("/logs/{day}/submit", response={200: dict, **ERRORS})
def log_submit(request, day: str, data: SubmitIn):
    d, err = api_call(_parse_day, day)
    if err:
        return err
    log, err = api_call(svc.submit_log, request.user, d, data.version, notes=data.notes)
    return err or log_out(log)


# --- the visit plan --------------------------------------------------------------------------


def plan_row_out(r: dict) -> dict:
    return {**r, "last_visit": _iso(r["last_visit"]), "next_due": _iso(r["next_due"])}


@router.get("/plan", response={200: dict, **ERRORS})
def plan(request, grid: str = "", late: bool = False, within: int | None = None, as_of: str = ""):
    """The special-care residents of the user's grids (or `grid`, a path inside them) with their
    next visit due; `late=1` only the overdue (and never visited), `within=N` those due in N days."""
    if not (policy.allows(request.user, svc.KIND, "create") or policy.allows(request.user, svc.KIND, "list")):
        policy.api_require(request, svc.KIND, "list")

    def run():
        d = _parse_day(as_of)
        scope = request.user
        if grid:
            paths = svc.scope_paths(request.user)
            if paths is not None and not any(grid.startswith(p) for p in paths):
                raise svc.NotFound(_("网格不存在或无权查看"))
            scope = grid
        return d, svc.due_visits(scope, d, within_days=within)

    res, err = api_call(run)
    if err:
        return err
    d, rows = res
    summary = svc.plan_summary(rows)
    if late:
        rows = [r for r in rows if r["late"]]
    return {"as_of": d.isoformat(), "intervals": svc.intervals(), "summary": summary,
            "items": [plan_row_out(r) for r in rows[:MAX_ROWS * 4]], "truncated": len(rows) > MAX_ROWS * 4}
