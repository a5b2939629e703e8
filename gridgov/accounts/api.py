"""Staff accounts API (mounted at /api/accounts/, session authentication).

Rows come only through `User.objects.visible_to(request.user)` (policy kind "staff"): an account
outside the caller's scope answers 404 like a missing one; a role that may never list, read,
create or update staff gets 403. Errors carry {"detail": the Chinese message, "code": a stable
code}: 400 bad input, 403 not allowed (a role the caller may not give, an account they may not
manage, a grid outside their community), 409 a user name already taken."""

from datetime import date

from django.db.models import Prefetch, Q
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from gridgov.core import crypto

from . import services
from .models import GridAssignment, Role, User
from .policy import api_require

router = Router(tags=["accounts"])
# each area keeps its operations in its own module, added to this router
from .api_duties import router as duties_router  # noqa: E402

router.add_router("/duties", duties_router)

ERRORS = {400: dict, 403: dict, 404: dict, 409: dict}
MAX_PAGE_SIZE = 200


def _error(exc: services.StaffError):
    body = {"detail": exc.source_message() or exc.code, "code": exc.code}
    if isinstance(exc, services.StaffNotAllowed):
        return Status(403, body)
    if isinstance(exc, services.StaffConflict):
        return Status(409, body)
    return Status(400, body)


def _not_found():
    return Status(404, {"detail": "no such user"})


def _visible(request, user_id, action="read"):
    return User.objects.visible_to(request.user, action).filter(pk=user_id).first()


def _duties(u):
    return [
        {"id": a.pk, "grid": {"code": a.node.code, "name": a.node.name}, "duty": a.duty,
         "since": a.since.isoformat() if a.since else None, "until": a.until.isoformat() if a.until else None}
        for a in u.duties_in_force
    ]


def user_out(u: User, actor, detail: bool = False) -> dict:
    out = {
        "id": u.pk,
        "username": u.username,
        "display_name": u.display_name,
        "role": u.role,
        "role_label": u.role_label,
        "department": u.department,
        "phone": u.phone_masked,
        "is_active": u.is_active,
        "must_change_password": u.must_change_password,
        "second_factor": u.totp_enabled,
        "duties": _duties(u),
    }
    if detail:
        out["last_login"] = u.last_login.isoformat() if u.last_login else None
        out["date_joined"] = u.date_joined.isoformat()
        out["may_manage"] = services.may_manage(actor, u)
        out["history"] = [
            {"at": h.at.isoformat(), "actor": h.actor_name, "action": h.action, "changes": h.changes, "note": h.note}
            for h in services.staff_history(u)[:100]
        ]
    return out


def _with_duties(qs):
    return qs.prefetch_related(Prefetch(
        "assignments", queryset=GridAssignment.objects.in_force().select_related("node").order_by("id"),
        to_attr="duties_in_force"))


class UserFilters(Schema):
    page: int = Field(1, ge=1, le=10**7)
    page_size: int = Field(50, ge=1, le=10**6)
    q: str = Field("", description="user name or name (contains), or a phone number (exact)")
    role: str = ""
    active: bool | None = None


@router.get("/users", response={200: dict, 403: dict})
def list_users(request, f: Query[UserFilters]):
    """The staff accounts the caller may see (administrators: all but residents; a community
    secretary: those with a duty in force in their community), paged, newest first."""
    api_require(request, "staff", "list")
    qs = User.objects.visible_to(request.user)
    q = f.q.strip()
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(display_name__icontains=q) | Q(phone_hash=crypto.blind_index(q)))
    if f.role:
        qs = qs.filter(role=f.role)
    if f.active is not None:
        qs = qs.filter(is_active=f.active)
    size = min(f.page_size, MAX_PAGE_SIZE)
    total = qs.count()
    rows = _with_duties(qs.order_by("-id"))[(f.page - 1) * size : f.page * size]
    return {"count": total, "page": f.page, "page_size": size, "items": [user_out(u, request.user) for u in rows]}


class UserIn(Schema):
    username: str
    display_name: str
    role: str = Field(description="one of " + ", ".join(services.MANAGED_ROLES) + "; a community secretary may give "
                      + ", ".join(str(r) for r in services.COMMUNITY_GRANTS) + " only")
    password: str = Field("", description="checked by the password rules; empty: a temporary one is made and returned "
                          "once. Either way the first sign-in must change it")
    department: str = Field("", description="the name of an active department")
    phone: str = ""
    grid: str = Field("", description="a grid code: the new account gets a duty in force from `since` there "
                      "(a community secretary: required unless they serve one community, which is then used)")
    duty: str = Field("", description="the duty on that grid; empty: the one the role implies")
    since: date | None = None


@router.post("/users", response={201: dict, **ERRORS})
def create_user(request, body: UserIn):
    api_require(request, "staff", "create")
    try:
        user, password = services.create_staff(
            request.user, username=body.username, display_name=body.display_name, role=body.role,
            password=body.password, department=body.department, phone=body.phone, grid=body.grid or None,
            duty=body.duty or None, since=body.since)
    except services.StaffError as exc:
        return _error(exc)
    out = {"id": user.pk, "username": user.username, "must_change_password": True}
    if not body.password:
        out["temporary_password"] = password
    return Status(201, out)


@router.get("/users/{user_id}", response={200: dict, 403: dict, 404: dict})
def get_user(request, user_id: int):
    api_require(request, "staff", "read")
    user = _visible(request, user_id)
    if user is None:
        return _not_found()
    user = _with_duties(User.objects.filter(pk=user.pk)).get()
    return user_out(user, request.user, detail=True)


class UserPatch(Schema):
    display_name: str | None = None
    role: str | None = None
    department: str | None = None
    phone: str | None = None


@router.patch("/users/{user_id}", response={200: dict, **ERRORS})
def update_user(request, user_id: int, body: UserPatch):
    api_require(request, "staff", "update")
    user = _visible(request, user_id, "update")
    if user is None:
        return _not_found()
    try:
        changes = services.update_staff(request.user, user, **body.dict(exclude_unset=True))
    except services.StaffError as exc:
        return _error(exc)
    return {"id": user.pk, "changed": sorted(changes)}


def _act(request, user_id, fn):
    api_require(request, "staff", "update")
    user = _visible(request, user_id, "update")
    if user is None:
        return _not_found()
    try:
        return fn(user)
    except services.StaffError as exc:
        return _error(exc)


@router.post("/users/{user_id}/disable", response={200: dict, **ERRORS})
def disable_user(request, user_id: int):
    """Sign-in refused and the account's sessions end; history kept."""
    return _act(request, user_id, lambda u: {"id": u.pk, "is_active": False,
                                             "changed": services.set_staff_active(request.user, u, False)})


@router.post("/users/{user_id}/enable", response={200: dict, **ERRORS})
def enable_user(request, user_id: int):
    return _act(request, user_id, lambda u: {"id": u.pk, "is_active": True,
                                             "changed": services.set_staff_active(request.user, u, True)})


@router.post("/users/{user_id}/reset-password", response={200: dict, **ERRORS})
def reset_password(request, user_id: int):
    """A new temporary password, returned once; the account's next sign-in must change it."""
    return _act(request, user_id, lambda u: {"id": u.pk, "temporary_password": services.reset_staff_password(request.user, u),
                                             "must_change_password": True})


@router.get("/roles", response={200: dict, 403: dict})
def roles(request):
    """The roles the caller may give (create) and their labels."""
    api_require(request, "staff", "list")
    grant = set(services.grantable_roles(request.user))
    return {"roles": [{"value": r, "label": str(Role(r).label), "grantable": r in grant} for r in services.MANAGED_ROLES]}
