"""API of the volunteers' activities (issue 11), at /api/volunteers/activities. Views validate and
call gridgov.volunteers.activities; errors answer {"detail": the Chinese message, "code": a
stable code} with 400 (invalid, closed, not allowed for this person), 403 (not allowed to run
it), 404 (missing or invisible), 409 (full, stale version)."""

from datetime import datetime

from ninja import Router, Schema

from gridgov.accounts import policy

from . import activities as act
from .models import Activity, SignUp

from ninja.responses import Status

from gridgov.core.errors import api_error as _error

router = Router(tags=["volunteers"])
ERRORS = {400: dict, 403: dict, 404: dict, 409: dict}



def _signup_out(s: SignUp) -> dict:
    return {"id": s.pk, "user": s.user_id, "name": getattr(s.user, "display_name", "") or s.user.username,
            "state": s.state, "signed_at": s.signed_at.isoformat(),
            "checkin_at": s.checkin_at.isoformat() if s.checkin_at else None, "checkin_method": s.checkin_method,
            "checkin_distance_m": s.checkin_distance_m,
            "checkout_at": s.checkout_at.isoformat() if s.checkout_at else None,
            "hours": str(s.hours) if s.hours is not None else None,
            "confirmed_hours": str(s.confirmed_hours) if s.confirmed_hours is not None else None,
            "correction_reason": s.correction_reason}


def _out(a: Activity, user=None, distance=None, detail=False) -> dict:
    d = {"id": a.pk, "title": a.title, "kind": a.kind, "publisher": a.publisher, "state": a.state,
         "grid": a.node.code, "grid_name": a.node.name, "team": a.team_id, "team_name": a.team.name if a.team_id else "",
         "party_org": a.party_org_id, "open_to_all": a.open_to_all, "place_name": a.place_name, "lat": a.lat, "lon": a.lon,
         "radius_m": a.radius_m, "starts_at": a.starts_at.isoformat(), "ends_at": a.ends_at.isoformat(),
         "places": a.places, "taken": a.taken, "places_left": max(0, a.places - a.taken),
         "points_per_hour": a.points_per_hour, "version": a.version}
    if distance is not None:
        d["distance_m"] = round(distance)
    if detail:
        d["description"] = a.description
        mine = act.my_signup(user, a)
        d["my_signup"] = _signup_out(mine) if mine else None
        d["may_run"] = act.may_run(user, a)
        if d["may_run"] or policy.allows(user, "activities", "list", a.node.path):
            d["signups"] = [_signup_out(s) for s in a.signups.select_related("user")]
    return d


@router.get("", response={200: list[dict], **ERRORS})
def list_activities(request, lat: float | None = None, lon: float | None = None, scope: str = "",
                    community: str = "", team: int | None = None, month: str = "", state: str = ""):
    """The activities for me (near `lat`,`lon` and of my teams), `scope=mine` (the ones I signed
    up for), or `scope=staff` (activities × list: the grids in scope, filtered by community code,
    team, month YYYY-MM, state)."""
    user = request.user
    try:
        if scope == "staff":
            from gridgov.geo.models import GridNode

            node = GridNode.objects.filter(code=community).first() if community else None
            qs = act.staff_list(user, community=node, team=team, month=month, state=state)
            return [_out(a) for a in qs[:500]]
        if scope == "mine":
            out = []
            for s in act.signups_of(user).exclude(state="cancelled")[:200]:
                row = _out(s.activity)
                row["my_state"] = s.state
                out.append(row)
            return out
        return [_out(a, distance=d) for a, d, _team in act.for_person(user, lat, lon)]
    except Exception as exc:  # noqa: BLE001 - mapped by _error
        return _error(exc)


@router.get("/{int:activity_id}", response={200: dict, **ERRORS})
def detail(request, activity_id: int):
    try:
        return _out(act.get_activity(request.user, activity_id), request.user, detail=True)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)


class PublishIn(Schema):
    title: str
    grid: str = ""
    team: int | None = None
    party_org: int | None = None
    kind: str = "other"
    description: str = ""
    place_name: str
    lat: float
    lon: float
    starts_at: datetime
    ends_at: datetime
    places: int
    open_to_all: bool = True
    points_per_hour: int | None = None
    radius_m: int | None = None


@router.post("", response={201: dict, **ERRORS})
def publish(request, data: PublishIn):
    """一键发布: a community's (grid code), a team's (its leader or staff) or a branch's activity."""
    from gridgov.geo.models import GridNode
    from gridgov.registry.models import PartyOrganization, VolunteerTeam

    try:
        node = None
        if data.grid:
            node = GridNode.objects.filter(code=data.grid).first()
            if node is None:
                raise act.ActivityError("没有这个网格", code="grid")
        team = VolunteerTeam.objects.filter(pk=data.team).select_related("grid").first() if data.team else None
        branch = PartyOrganization.objects.filter(pk=data.party_org).select_related("grid").first() if data.party_org else None
        if (data.team and team is None) or (data.party_org and branch is None):
            raise act.ActivityError("没有这个队伍或党组织", code="publisher")
        a = act.publish(request.user, title=data.title, node=node, team=team, party_org=branch, kind=data.kind,
                        description=data.description, place_name=data.place_name, lat=data.lat, lon=data.lon,
                        starts_at=data.starts_at, ends_at=data.ends_at, places=data.places,
                        open_to_all=data.open_to_all, points_per_hour=data.points_per_hour, radius_m=data.radius_m)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return Status(201, _out(a, request.user, detail=True))


class EditIn(Schema):
    version: int
    title: str | None = None
    description: str | None = None
    kind: str | None = None
    place_name: str | None = None
    lat: float | None = None
    lon: float | None = None
    radius_m: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    places: int | None = None
    points_per_hour: int | None = None
    open_to_all: bool | None = None


@router.patch("/{int:activity_id}", response={200: dict, **ERRORS})
def edit(request, activity_id: int, data: EditIn):
    """Change an open activity (`version` as read: a stale one → 409)."""
    changes = {k: v for k, v in data.dict().items() if v is not None and k != "version"}
    try:
        a = act.edit(request.user, act.get_activity(request.user, activity_id), data.version, **changes)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return _out(a, request.user, detail=True)


class ReasonIn(Schema):
    reason: str = ""


@router.post("/{int:activity_id}/cancel", response={200: dict, **ERRORS})
def cancel(request, activity_id: int, data: ReasonIn | None = None):
    try:
        a = act.cancel(request.user, act.get_activity(request.user, activity_id), reason=data.reason if data else "")
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return _out(a, request.user, detail=True)


@router.post("/{int:activity_id}/signup", response={201: dict, **ERRORS})
def sign_up(request, activity_id: int):
    """Take a place: 201; 409 when full; 400 when closed, already signed up or members only."""
    try:
        s = act.sign_up(request.user, act.get_activity(request.user, activity_id))
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return Status(201, _signup_out(s))


def _cancel_signup(request, activity_id):
    try:
        s = act.cancel_signup(request.user, act.get_activity(request.user, activity_id))
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return _signup_out(s)


@router.delete("/{int:activity_id}/signup", response={200: dict, **ERRORS})
def cancel_signup(request, activity_id: int):
    """Give my place back (before the start)."""
    return _cancel_signup(request, activity_id)


@router.post("/{int:activity_id}/signup/cancel", response={200: dict, **ERRORS})
def cancel_signup_post(request, activity_id: int):
    return _cancel_signup(request, activity_id)


@router.get("/{int:activity_id}/code", response={200: dict, **ERRORS})
def code(request, activity_id: int):
    """Whoever runs the activity: the check-in code now and the seconds until it changes."""
    try:
        a = act.get_activity(request.user, activity_id)
        value, left = act.current_code(request.user, a)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return {"code": value, "seconds_left": left, "step": act._step()}


class CheckinIn(Schema):
    lat: float | None = None
    lon: float | None = None
    crs: str = "wgs84"
    code: str = ""


@router.post("/{int:activity_id}/checkin", response={200: dict, **ERRORS})
def checkin(request, activity_id: int, data: CheckinIn):
    """Check in on site: {lat, lon[, crs]} within the radius, or {code} (the organiser's)."""
    try:
        s = act.check_in(request.user, act.get_activity(request.user, activity_id), lat=data.lat, lon=data.lon,
                         crs=data.crs, code=data.code)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return _signup_out(s)


@router.post("/{int:activity_id}/checkout", response={200: dict, **ERRORS})
def checkout(request, activity_id: int):
    try:
        s = act.check_out(request.user, act.get_activity(request.user, activity_id))
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return _signup_out(s)


@router.post("/signups/{int:signup_id}/checkin", response={200: dict, **ERRORS})
def checkin_by_hand(request, signup_id: int):
    """Whoever runs the activity checks a signed-up person in by hand."""
    try:
        s = act.check_in_by_hand(request.user, act.get_signup(request.user, signup_id))
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return _signup_out(s)


class ConfirmIn(Schema):
    hours: str | None = None
    reason: str = ""


@router.post("/signups/{int:signup_id}/confirm", response={200: dict, **ERRORS})
def confirm(request, signup_id: int, data: ConfirmIn):
    """Confirm a person's hours (the computed ones, or `hours` with a `reason`)."""
    try:
        s = act.confirm(request.user, act.get_signup(request.user, signup_id), hours=data.hours, reason=data.reason)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return _signup_out(s)


@router.post("/{int:activity_id}/finish", response={200: dict, **ERRORS})
def finish(request, activity_id: int):
    """End it: hours confirmed for everyone who came, the others marked no-shows."""
    try:
        a = act.get_activity(request.user, activity_id)
        counts = act.finish(request.user, a)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return {**_out(a, request.user, detail=True), **counts}


@router.get("/me/hours", response=dict)
def my_hours(request):
    """My confirmed activity hours."""
    h = act.my_hours(request.user)
    return {"total": str(h["total"]),
            "records": [{"title": r.title, "hours": str(r.hours), "at": r.at.isoformat(),
                         "points": r.transfer.amount if r.transfer_id else 0} for r in h["records"]]}
