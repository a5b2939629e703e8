"""Duties in the JSON API (mounted at /api/accounts/duties, session auth).

* GET  /duties?grid=CODE&at=DATE&user=ID&duty=KIND — the duties in force that day (default today)
  on the grid (the node itself: "who served grid X on date D", accounts.duties.served) or, without
  a grid, everywhere the caller may see;
* GET  /duties/{id} — one duty (ended ones too) with its history;
* POST /duties {user, grid, duty, since} — 201 {"id"};
* POST /duties/{id}/end {until, successor} — 200; the person's open cases where they no longer
  serve are handed to the successor or the grid's leader.

Rows come through `GridAssignment.objects.visible_to(user)` (policy kind "duties"); a duty outside
the caller's scope answers 404 like a missing one. Views only validate and call accounts.duties."""

from datetime import date

from django.core.exceptions import PermissionDenied
from django.utils import translation
from ninja import Router, Schema

from gridgov.core import history

from . import duties
from .models import Duty, GridAssignment, User
from .policy import api_require

try:  # django-ninja ≥ 1.5 wants Status; older versions take a (status, body) tuple
    from ninja import Status
except ImportError:  # pragma: no cover
    def Status(status_code, value):  # noqa: N802
        return status_code, value

router = Router(tags=["accounts"])

ERRORS = {400: dict, 403: dict, 404: dict, 409: dict}


def _node(code: str):
    """The grid node with this code, or None. geo is a layer above accounts (geo asks the access
    table): the node model is reached through the duty's own relation, not imported."""
    return GridAssignment._meta.get_field("node").related_model.objects.filter(code=code).first()


def _person(u):
    return {"id": u.pk, "username": u.username, "name": u.display_name or u.username} if u else None


def duty_out(a: GridAssignment) -> dict:
    return {
        "id": a.pk,
        "user": _person(a.user),
        "grid": {"code": a.node.code, "name": a.node.name, "level": a.node.level},
        "duty": a.duty,
        "duty_label": str(a.get_duty_display()),
        "since": a.since.isoformat() if a.since else None,
        "until": a.until.isoformat() if a.until else None,
        "ended_by": _person(a.ended_by),
        "end_note": a.end_note,
    }


def _error(exc):
    if isinstance(exc, PermissionDenied):
        with translation.override(None):  # the API's messages stay Chinese
            return Status(403, {"detail": str(exc) or "not allowed", "code": "not_allowed"})
    status = 409 if exc.code in ("duplicate", "ended") else 400
    return Status(status, {"detail": exc.source_message(), "code": exc.code})


def _bad(detail, code="invalid"):
    return Status(400, {"detail": detail, "code": code})


@router.get("", response={200: list[dict], **ERRORS})
def list_duties(request, grid: str = "", at: date | None = None, user: int | None = None, duty: str = ""):
    """The duties in force on `at` (default today), scoped to the caller."""
    api_require(request, "duties", "list")
    qs = GridAssignment.objects.visible_to(request.user)
    if grid:
        node = _node(grid)
        if node is None:
            return []
        qs = qs.filter(pk__in=duties.served(node, at).values("pk"))
    else:
        qs = qs.in_force(at)
    if user is not None:
        qs = qs.filter(user_id=user)
    if duty:
        if duty not in Duty.values:
            return _bad(f"未知的职务：{duty}", "bad_duty")
        qs = qs.filter(duty=duty)
    return [duty_out(a) for a in qs.select_related("user", "node", "ended_by").order_by("node__path", "duty", "since", "id")]


@router.get("/{int:duty_id}", response={200: dict, **ERRORS})
def get_duty(request, duty_id: int):
    api_require(request, "duties", "read")
    a = GridAssignment.objects.visible_to(request.user).select_related("user", "node", "ended_by").filter(pk=duty_id).first()
    if a is None:
        return Status(404, {"detail": "no such duty"})
    out = duty_out(a)
    out["history"] = [{"at": h.at.isoformat(), "actor": h.actor_name, "action": h.action, "changes": h.changes,
                       "note": h.note} for h in history.for_object("duties", a.pk).order_by("at", "id")]
    return out


class DutyIn(Schema):
    user: int
    grid: str
    duty: str
    since: date | None = None
    note: str = ""


@router.post("", response={201: dict, **ERRORS})
def create_duty(request, data: DutyIn):
    api_require(request, "duties", "create")
    person = User.objects.filter(pk=data.user).first()
    if person is None:
        return _bad("没有这个用户", "bad_user")
    node = _node(data.grid)
    if node is None:
        return _bad("没有这个网格", "bad_grid")
    try:
        a = duties.assign_duty(request.user, person, node, data.duty, data.since, data.note[:200])
    except (PermissionDenied, duties.DutyError) as exc:
        return _error(exc)
    return Status(201, {"id": a.pk, **duty_out(a)})


class EndIn(Schema):
    until: date | None = None
    successor: int | None = None
    note: str = ""


@router.post("/{int:duty_id}/end", response={200: dict, **ERRORS})
def end_duty(request, duty_id: int, data: EndIn):
    api_require(request, "duties", "update")
    a = GridAssignment.objects.visible_to(request.user).select_related("user", "node").filter(pk=duty_id).first()
    if a is None:
        return Status(404, {"detail": "no such duty"})
    successor = None
    if data.successor is not None:
        successor = User.objects.filter(pk=data.successor).first()
        if successor is None:
            return _bad("没有这个接任人", "bad_user")
    try:
        done = duties.end_duty(request.user, a, data.until, successor, data.note[:200])
    except (PermissionDenied, duties.DutyError) as exc:
        return _error(exc)
    out = duty_out(done.duty)
    out["handed_over"] = done.handed_over
    out["successor_duty"] = duty_out(done.successor_duty) if done.successor_duty else None
    return out
