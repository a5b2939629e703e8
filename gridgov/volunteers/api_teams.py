"""API of the volunteers' teams (issue 11), at /api/volunteers/teams: the teams (public list to
join; staff: their grids' teams), applications and their decisions, my service and its
certificate, the stewards' patrols, and the staff's hours report and export. Views validate and
call gridgov.volunteers.teams; errors answer {"detail": the Chinese message, "code": ...}."""

from datetime import date

from django.http import HttpResponse
from django.utils import timezone
from ninja import Router, Schema

from gridgov.accounts import policy

from . import teams
from .models import TeamApplication
from .services import person_name as _name

from ninja.responses import Status

from gridgov.core.errors import api_error as _error

router = Router(tags=["volunteers"])
ERRORS = {400: dict, 401: dict, 403: dict, 404: dict, 409: dict}



def _signed_in(request):
    u = request.user
    return u is not None and u.is_authenticated and u.is_active


def _login_required():
    return Status(401, {"detail": "login required", "code": "login_required"})


def _team_out(t, staff: bool = False) -> dict:
    out = {"id": t.pk, "name": t.name, "kind": t.kind, "kind_label": str(dict(t.KINDS).get(t.kind, t.kind)),
           "community": t.grid.name if t.grid_id else "", "leader": _name(t.leader) if t.leader_id else "",
           "members": getattr(t, "n_members", None)}
    if staff:
        out.update({"grid_id": t.grid_id, "leader_id": t.leader_id, "pending": getattr(t, "n_pending", 0)})
    return out


def _app_out(a: TeamApplication) -> dict:
    return {"id": a.pk, "team_id": a.team_id, "team": a.team.name, "name": a.name, "note": a.note, "state": a.state,
            "created_at": a.created_at.isoformat(), "decided_at": a.decided_at.isoformat() if a.decided_at else None,
            "reason": a.reason, "volunteer_id": a.volunteer_id}


@router.get("", response={200: list[dict], 401: dict, 403: dict})
def list_teams(request, scope: str = ""):
    """The teams: everyone signed in sees the public list (name, kind, community, leader's name,
    member count); `scope=staff` lists the teams of the user's grids (volunteers × list)."""
    if not _signed_in(request):
        return _login_required()
    if scope == "staff":
        if not policy.allows(request.user, "volunteers", "list"):
            return Status(403, {"detail": "not allowed: list volunteers", "code": "not_allowed"})
        return [_team_out(t, staff=True) for t in teams.staff_teams(request.user)]
    return [_team_out(t) for t in teams.public_teams()]


class ApplyIn(Schema):
    name: str = ""
    note: str = ""


@router.post("/{team_id}/apply", response={201: dict, **ERRORS})
def apply(request, team_id: int, data: ApplyIn):
    if not _signed_in(request):
        return _login_required()
    try:
        app = teams.apply(request.user, team_id, data.name, data.note)
    except Exception as exc:  # noqa: BLE001 - mapped by _error
        return _error(exc)
    return Status(201, _app_out(app))


class DecideIn(Schema):
    reason: str = ""


@router.get("/applications", response={200: list[dict], 401: dict})
def applications(request, state: str = "", mine: bool = False):
    """`mine=true`: my own applications; else the applications I decide (leader / staff)."""
    if not _signed_in(request):
        return _login_required()
    qs = TeamApplication.objects.filter(user=request.user).select_related("team") if mine else \
        teams.applications_to_decide(request.user)
    if state:
        qs = qs.filter(state=state)
    return [_app_out(a) for a in qs[:500]]


@router.post("/applications/{app_id}/withdraw", response={200: dict, **ERRORS})
def withdraw(request, app_id: int):
    if not _signed_in(request):
        return _login_required()
    try:
        return _app_out(teams.withdraw(request.user, app_id))
    except Exception as exc:  # noqa: BLE001
        return _error(exc)


@router.post("/applications/{app_id}/approve", response={200: dict, **ERRORS})
def approve(request, app_id: int):
    if not _signed_in(request):
        return _login_required()
    try:
        return _app_out(teams.approve(request.user, app_id))
    except Exception as exc:  # noqa: BLE001
        return _error(exc)


@router.post("/applications/{app_id}/reject", response={200: dict, **ERRORS})
def reject(request, app_id: int, data: DecideIn):
    if not _signed_in(request):
        return _login_required()
    try:
        return _app_out(teams.reject(request.user, app_id, data.reason))
    except Exception as exc:  # noqa: BLE001
        return _error(exc)


def _record_out(r) -> dict:
    return {"key": r.key, "source": r.source, "title": r.title, "hours": str(r.hours), "at": r.at.isoformat(),
            "points": r.transfer.amount if r.transfer_id else 0}


@router.get("/me/service", response={200: dict, 401: dict})
def my_service(request, year: int | None = None):
    """My hours and points (this year and overall), records by source, my rank this year among
    the volunteers of my community (by hours), my latest records."""
    if not _signed_in(request):
        return _login_required()
    s = teams.my_service(request.user, year)
    return {
        "year": s["year"], "hours_year": str(s["hours_year"]), "hours_total": str(s["hours_total"]),
        "records_year": s["records_year"], "records_total": s["records_total"],
        "points_year": s["points_year"], "points_total": s["points_total"], "balance": s["balance"],
        "rank": s["rank"]["rank"], "rank_of": s["rank"]["of"], "community": s["rank"]["community"],
        "team": s["team"].name if s["team"] else "",
        "by_source": [{"source": b["source"], "records": b["n"], "hours": str(b["hours"]), "points": b["points"]}
                      for b in s["by_source"]],
        "records": [_record_out(r) for r in s["records"]],
    }


def _period_of(year, start, end):
    if start or end:
        today = timezone.localdate()
        return start or date(today.year, 1, 1), end or today
    year = year or timezone.localdate().year
    return date(year, 1, 1), date(year, 12, 31)


@router.get("/me/certificate.pdf", response={200: None, 400: dict, 401: dict, 403: dict, 404: dict})
def my_certificate(request, year: int | None = None, start: date | None = None, end: date | None = None,
                   user: int | None = None):
    """The certificate of service hours of a year (or start..end) as a PDF. `user`: staff with
    volunteers × read on that person's grid ask for someone else's."""
    if not _signed_in(request):
        return _login_required()
    from gridgov.accounts.models import User

    person = request.user if user is None else User.objects.filter(pk=user).first()
    if person is None:
        return Status(404, {"detail": "no such user", "code": "not_found"})
    try:
        data = teams.certificate_for(request.user, person, *_period_of(year, start, end))
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    resp = HttpResponse(teams.certificate_pdf(data), content_type="application/pdf")
    resp["Content-Disposition"] = f'attachment; filename="certificate-{data["start"]:%Y%m%d}-{data["end"]:%Y%m%d}.pdf"'
    resp["X-Certificate-Number"] = data["number"]
    return resp


@router.get("/certificate/verify", response={200: dict, 404: dict}, auth=None)
def verify(request, n: str = ""):
    """Public: check a certificate's number (the name masked)."""
    v = teams.verify_certificate(n)
    if v is None:
        return Status(404, {"detail": "no such certificate", "code": "not_found"})
    return {"name": v["name"], "start": v["start"].isoformat(), "end": v["end"].isoformat(), "hours": str(v["hours"]),
            "community": v["community"], "current": v["current"]}


class PatrolIn(Schema):
    note: str = ""


def _patrol_out(p, record=None) -> dict:
    out = {"id": p.pk, "started_at": p.started_at.isoformat(), "ended_at": p.ended_at.isoformat() if p.ended_at else None,
           "distance_m": p.distance_m, "points": len(p.track)}
    if p.ended_at:
        out["hours"] = str(record.hours) if record else "0"
        out["earned"] = record.transfer.amount if record and record.transfer_id else 0
    return out


@router.post("/patrols/start", response={201: dict, **ERRORS})
def start_patrol(request, data: PatrolIn):
    if not _signed_in(request):
        return _login_required()
    try:
        return Status(201, _patrol_out(teams.start_patrol(request.user, data.note)))
    except Exception as exc:  # noqa: BLE001
        return _error(exc)


class TrackIn(Schema):
    points: list[list[float]]
    crs: str = "wgs84"


@router.post("/patrols/{patrol_id}/track", response={200: dict, **ERRORS})
def track(request, patrol_id: int, data: TrackIn):
    """Points [[lat, lon], ...] taken while the page is open (wgs84, or crs=gcj02 in WeChat)."""
    if not _signed_in(request):
        return _login_required()
    try:
        return _patrol_out(teams.add_track(request.user, patrol_id, data.points, data.crs))
    except Exception as exc:  # noqa: BLE001
        return _error(exc)


@router.post("/patrols/{patrol_id}/end", response={200: dict, **ERRORS})
def end_patrol(request, patrol_id: int):
    if not _signed_in(request):
        return _login_required()
    try:
        p, record = teams.end_patrol(request.user, patrol_id)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return _patrol_out(p, record)


@router.get("/hours", response={200: dict, **ERRORS})
def hours(request, by: str = "team", start: date | None = None, end: date | None = None):
    """Staff: hours, points, records and people by team, community or month (volunteers × list)."""
    if not _signed_in(request):
        return _login_required()
    try:
        rep = teams.hours_report(request.user, by, start, end)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return {"by": rep["by"], "start": rep["start"].isoformat(), "end": rep["end"].isoformat(),
            "rows": [{**r, "hours": str(r["hours"])} for r in rep["rows"]],
            "total": {**rep["total"], "hours": str(rep["total"]["hours"])}}


@router.get("/hours.xlsx", response={200: None, **ERRORS})
def hours_xlsx(request, start: date | None = None, end: date | None = None, per: str = "record"):
    """Staff: the service hours as a workbook (volunteers × export), one row per record or per person-month."""
    if not _signed_in(request):
        return _login_required()
    try:
        body, filename = teams.export_xlsx(request.user, start, end, per)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    resp = HttpResponse(body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp
