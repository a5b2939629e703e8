"""The department records' JSON API (mounted at /api/accounts/departments): list, read, create,
change (PATCH; a rename updates every row that names the department), end, and members. It
validates input and calls `accounts.departments`; the access table's departments × list / read /
create / update decides who may (403 otherwise)."""

from django.core.exceptions import PermissionDenied
from django.utils import translation
from ninja import Router, Schema

from gridgov.core import history

from . import departments as deps
from .models import Department, User
from .policy import allows

try:  # django-ninja ≥ 1.5 wants Status; older versions take a (status, body) tuple
    from ninja import Status
except ImportError:  # pragma: no cover
    def Status(status_code, value):  # noqa: N802
        return status_code, value

router = Router(tags=["departments"])
ERRORS = {400: dict, 403: dict, 404: dict, 409: dict}


def _forbidden(action):
    return Status(403, {"detail": f"not allowed: {action} departments", "code": "not_allowed"})


def _error(exc):
    if isinstance(exc, PermissionDenied):
        return Status(403, {"detail": str(exc), "code": "not_allowed"})
    with translation.override(None):
        body = {"detail": exc.message, "code": exc.code}
    if isinstance(exc, deps.VersionConflict):
        body["changed"] = exc.changed
        body["version"] = exc.current.version
        return Status(409, body)
    return Status(400, body)


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs), None
    except (deps.DepartmentError, PermissionDenied) as exc:
        return None, _error(exc)


def _member(u: User) -> dict:
    return {"id": u.pk, "username": u.username, "name": str(u), "role": u.role, "active": u.is_active}


def department_out(d: Department, members: int | None = None, detail: bool = False) -> dict:
    out = {"id": d.pk, "name": d.name, "kind": d.kind, "kind_label": str(d.get_kind_display()),
           "contact_name": d.contact_name, "contact_phone": d.contact_phone, "note": d.note,
           "active": d.active, "version": d.version,
           "members": members if members is not None else deps.members(d).filter(is_active=True).count()}
    if detail:
        out["member_list"] = [_member(u) for u in deps.members(d)]
        org = getattr(d, "organization", None) if d.kind == Department.Kind.PROPERTY else None
        out["company"] = {"id": org.pk, "name": org.name} if org else None
    return out


class DepartmentIn(Schema):
    name: str
    kind: str = "section"
    contact_name: str = ""
    contact_phone: str = ""
    note: str = ""


class DepartmentPatch(Schema):
    name: str | None = None
    kind: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    note: str | None = None
    version: int | None = None


class EndIn(Schema):
    note: str = ""


class MemberIn(Schema):
    user: int


def _get(pk):
    return Department.objects.filter(pk=pk).first()


@router.get("", response={200: list, **ERRORS})
def list_departments(request, active: bool | None = None, kind: str = ""):
    if not allows(request.user, "departments", "list"):
        return _forbidden("list")
    qs = Department.objects.all()
    if active is not None:
        qs = qs.filter(active=active)
    if kind:
        qs = qs.filter(kind=kind)
    counts = deps.member_counts()
    return [department_out(d, counts.get(d.name, 0)) for d in qs]


@router.post("", response={201: dict, **ERRORS})
def create_department(request, data: DepartmentIn):
    if not allows(request.user, "departments", "create"):
        return _forbidden("create")
    d, err = _call(deps.create, request.user, **data.dict())
    return err or Status(201, department_out(d, 0))


@router.get("/{dep_id}", response={200: dict, **ERRORS})
def get_department(request, dep_id: int):
    if not allows(request.user, "departments", "read"):
        return _forbidden("read")
    d = _get(dep_id)
    if d is None:
        return Status(404, {"detail": "no such department"})
    return department_out(d, detail=True)


@router.patch("/{dep_id}", response={200: dict, **ERRORS})
def patch_department(request, dep_id: int, data: DepartmentPatch):
    if not allows(request.user, "departments", "update"):
        return _forbidden("update")
    d = _get(dep_id)
    if d is None:
        return Status(404, {"detail": "no such department"})
    fields = data.dict(exclude_unset=True)
    version = fields.pop("version", None)
    d, err = _call(deps.update, request.user, d, version=version, **fields)
    return err or department_out(d, detail=True)


@router.post("/{dep_id}/end", response={200: dict, **ERRORS})
def end_department(request, dep_id: int, data: EndIn):
    if not allows(request.user, "departments", "update"):
        return _forbidden("update")
    d = _get(dep_id)
    if d is None:
        return Status(404, {"detail": "no such department"})
    d, err = _call(deps.end, request.user, d, data.note)
    return err or department_out(d, detail=True)


@router.get("/{dep_id}/members", response={200: list, **ERRORS})
def list_members(request, dep_id: int):
    if not allows(request.user, "departments", "read"):
        return _forbidden("read")
    d = _get(dep_id)
    if d is None:
        return Status(404, {"detail": "no such department"})
    return [_member(u) for u in deps.members(d)]


def _user_or_400(pk):
    u = User.objects.filter(pk=pk).first()
    return u, None if u else Status(400, {"detail": f"没有编号为 {pk} 的用户", "code": "no_such_user"})


@router.post("/{dep_id}/members", response={200: dict, **ERRORS})
def add_member(request, dep_id: int, data: MemberIn):
    if not allows(request.user, "departments", "update"):
        return _forbidden("update")
    d = _get(dep_id)
    if d is None:
        return Status(404, {"detail": "no such department"})
    u, err = _user_or_400(data.user)
    if err:
        return err
    _, err = _call(deps.add_member, request.user, d, u)
    return err or department_out(d, detail=True)


@router.delete("/{dep_id}/members/{user_id}", response={200: dict, **ERRORS})
def remove_member(request, dep_id: int, user_id: int):
    if not allows(request.user, "departments", "update"):
        return _forbidden("update")
    d = _get(dep_id)
    if d is None:
        return Status(404, {"detail": "no such department"})
    u, err = _user_or_400(user_id)
    if err:
        return err
    _, err = _call(deps.remove_member, request.user, d, u)
    return err or department_out(d, detail=True)


@router.get("/{dep_id}/history", response={200: list, **ERRORS})
def department_history(request, dep_id: int):
    if not allows(request.user, "departments", "read"):
        return _forbidden("read")
    d = _get(dep_id)
    if d is None:
        return Status(404, {"detail": "no such department"})
    return [{"at": r.at.isoformat(), "actor": r.actor_name, "action": r.action, "changes": r.changes, "note": r.note}
            for r in history.for_object(deps.HISTORY_KIND, d.pk)]
