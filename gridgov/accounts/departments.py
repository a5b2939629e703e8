"""Departments as records: the street's functional sections (职能科室), the outside units that can
be summoned (城管执法, 派出所, 市场监管, ...) and the property companies (物业), each with members
(the users whose `department` names it) and a contact.

Names are the key: users, items, summonses, cases (handler_department) and clocks hold the
Department's name in a CharField. So a rename must update every row that names it, in one
transaction: this module renames the department and its members, then sends
`department_renamed`, to which the layers above connect their own update (cases: items, open
cases, summonses, running clocks; accounts never imports them). The same way
`department_references` asks the layers above what still points at a department before it is
ended.

Every change goes through here (one transaction, one history row: core.history, kind
"departments"); pages and API only validate the input and call these. Every place that takes a
department name from input asks `require_active(name)` (unknown or ended: `NoSuchDepartment`)."""

from django.db import transaction
from django.dispatch import Signal
from django.utils.translation import gettext_lazy as _

from gridgov.core.errors import CodedError
from gridgov.core import history

from . import policy
from .models import STAFF_ROLES, Department, Role, User

#: sent inside the rename's transaction: `old`, `new` (names), `actor`. Receivers update the rows
#: of their app that name the department (and must not commit on their own).
department_renamed = Signal()
#: sent before a department is ended: `name`. Each receiver answers {label: count} of the rows of
#: its app that still need the department (an active item, an open case, an unanswered summons).
department_references = Signal()

HISTORY_KIND = "departments"
#: the name an item gives when the property company of the case's compound handles it (routing)
PROPERTY_PLACEHOLDER = "物业"
FIELDS = ("name", "kind", "contact_name", "contact_phone", "note", "active")
#: roles that may be members of a department (the others have no use for one)
MEMBER_ROLES = frozenset({Role.SECTION_STAFF, Role.PROPERTY_STAFF, Role.LEADER, Role.ADMIN})


class DepartmentError(CodedError, ValueError):
    """A refused department change: `code` for programs, a Chinese message for people."""


class NoSuchDepartment(DepartmentError):
    code = "no_such_department"


class VersionConflict(DepartmentError):
    """Someone saved the department since the editor read it (optimistic lock)."""

    code = "version_conflict"

    def __init__(self, current: Department, changed: dict):
        self.current, self.changed = current, changed
        super().__init__(_("部门“%(name)s”已被他人修改（%(fields)s），请刷新后重试"), code="version_conflict",
                         name=current.name, fields="、".join(changed) or "—")


#: words in a name that guess an outside unit (驻街单位) rather than a section of the street
UNIT_WORDS = ("派出所", "公安", "城管", "执法", "市场监管", "住建", "供电", "供水", "燃气", "自来水", "消防", "交警", "环保")


def guess_kind(name: str) -> str:
    if "物业" in name:
        return Department.Kind.PROPERTY
    if any(w in name for w in UNIT_WORDS) and "办公室" not in name:
        return Department.Kind.UNIT
    return Department.Kind.SECTION


def ensure(names) -> int:
    """Create a record (kind guessed) for each of `names` that has none: what a taxonomy import
    does for the departments its items name. Returns how many were made."""
    names = {n.strip() for n in names if n and n.strip()} - {PROPERTY_PLACEHOLDER}
    have = set(Department.objects.filter(name__in=names).values_list("name", flat=True))
    made = [Department(name=n, kind=guess_kind(n)) for n in sorted(names - have)]
    Department.objects.bulk_create(made)
    return len(made)


def active_names() -> list[str]:
    """The names of the active departments, in the records' order (kind, name)."""
    return list(Department.objects.filter(active=True).values_list("name", flat=True))


def choices(kinds=None):
    """The active departments, for a select: [(name, "name（kind）")]."""
    qs = Department.objects.filter(active=True)
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return [(d.name, f"{d.name}（{d.get_kind_display()}）") for d in qs]


def require_active(name: str, field: str = "department") -> Department:
    """The active Department called `name`; otherwise NoSuchDepartment (code no_such_department)."""
    name = (name or "").strip()
    dep = Department.objects.filter(name=name, active=True).first() if name else None
    if dep is None:
        raise NoSuchDepartment(_("没有名为“%(name)s”的在用部门，请从部门列表中选择"), name=name or "—")
    return dep


def members(department: Department):
    return User.objects.filter(department=department.name).order_by("-is_active", "role", "username")


def member_counts() -> dict[str, int]:
    from django.db.models import Count

    rows = User.objects.filter(is_active=True).exclude(department="").values("department").annotate(n=Count("id"))
    return {r["department"]: r["n"] for r in rows}


def _require(actor, action):
    if actor is not None and not policy.allows(actor, HISTORY_KIND, action):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied(f"not allowed: {action} departments")


def _clean(data: dict, *, partial: bool) -> dict:
    out = {}
    for f in ("name", "kind", "contact_name", "contact_phone", "note"):
        if f in data and data[f] is not None:
            out[f] = str(data[f]).strip()
    if not partial and not out.get("name"):
        raise DepartmentError(_("请填写部门名称"), code="name_required")
    if "name" in out:
        if not out["name"]:
            raise DepartmentError(_("请填写部门名称"), code="name_required")
        if len(out["name"]) > 100:
            raise DepartmentError(_("部门名称最多 100 字"), code="name_too_long")
    if "kind" in out:
        if not out["kind"]:
            out.pop("kind")
        elif out["kind"] not in Department.Kind.values:
            raise DepartmentError(_("部门类别“%(kind)s”无效：职能科室 section、驻街单位 unit、物业公司 property"),
                                  code="bad_kind", kind=out["kind"])
    limits = {"contact_name": 50, "contact_phone": 30, "note": 200}
    for f, n in limits.items():
        if len(out.get(f, "")) > n:
            raise DepartmentError(_("%(field)s 最多 %(n)s 字"), code="too_long", field=f, n=n)
    return out


@transaction.atomic
def create(actor, **data) -> Department:
    _require(actor, "create")
    fields = _clean(data, partial=False)
    if Department.objects.filter(name=fields["name"]).exists():
        raise DepartmentError(_("部门“%(name)s”已存在"), code="name_taken", name=fields["name"])
    dep = Department.objects.create(**fields)
    history.record(actor, HISTORY_KIND, dep, "create", history.diff({}, history.snapshot(dep, FIELDS)))
    return dep


@transaction.atomic
def update(actor, department: Department, *, version: int | None = None, **data) -> Department:
    """Change a department's fields; a new name is written, in this one transaction, on every
    row that names the old one (its members here; items, open cases, summonses and clocks
    through `department_renamed`). `version`: the version the editor read (a stale one is
    refused with what changed since)."""
    _require(actor, "update")
    dep = Department.objects.select_for_update().get(pk=department.pk)
    if version is not None and int(version) != dep.version:
        raise VersionConflict(dep, history.diff(history.snapshot(department, FIELDS), history.snapshot(dep, FIELDS)))
    fields = _clean(data, partial=True)
    before = history.snapshot(dep, FIELDS)
    old_name, new_name = dep.name, fields.get("name", dep.name)
    if new_name != old_name and Department.objects.filter(name=new_name).exclude(pk=dep.pk).exists():
        raise DepartmentError(_("部门“%(name)s”已存在"), code="name_taken", name=new_name)
    for k, v in fields.items():
        setattr(dep, k, v)
    changes = history.diff(before, history.snapshot(dep, FIELDS))
    if not changes:
        return dep
    dep.version += 1
    dep.save()
    note = ""
    if new_name != old_name:
        n = User.objects.filter(department=old_name).update(department=new_name)
        counts = {"users": n}
        for _receiver, answer in department_renamed.send(sender=Department, old=old_name, new=new_name, actor=actor):
            counts.update(answer or {})
        note = "改名：" + "，".join(f"{k} {v}" for k, v in counts.items())
    history.record(actor, HISTORY_KIND, dep, "update", changes, note=note)
    return dep


def references(name: str) -> dict[str, int]:
    """{label: count} of what still needs the department (the layers above answer)."""
    out = {}
    for _receiver, answer in department_references.send(sender=Department, name=name):
        out.update({k: v for k, v in (answer or {}).items() if v})
    return out


@transaction.atomic
def end(actor, department: Department, note: str = "") -> Department:
    """End a department (active False; never deleted: history, summonses and cases name it).
    Refused while an active item routes to it, an open case waits in its queue or a summons
    of it is not answered (the administrator re-points them first). Its members keep their
    department (their history), but it can no longer be chosen, summoned or routed to."""
    _require(actor, "update")
    dep = Department.objects.select_for_update().get(pk=department.pk)
    if not dep.active:
        raise DepartmentError(_("部门“%(name)s”已停用"), code="already_ended", name=dep.name)
    refs = references(dep.name)
    if refs:
        raise DepartmentError(_("部门“%(name)s”仍在使用（%(refs)s），请先改派后再停用"), code="department_in_use",
                              name=dep.name, refs="，".join(f"{k} {v}" for k, v in refs.items()))
    dep.active = False
    dep.version += 1
    dep.save(update_fields=["active", "version"])
    history.record(actor, HISTORY_KIND, dep, "end", {"active": [True, False]}, note=note)
    return dep


@transaction.atomic
def reopen(actor, department: Department) -> Department:
    _require(actor, "update")
    dep = Department.objects.select_for_update().get(pk=department.pk)
    if not dep.active:
        dep.active = True
        dep.version += 1
        dep.save(update_fields=["active", "version"])
        history.record(actor, HISTORY_KIND, dep, "reopen", {"active": [False, True]})
    return dep


def _member_kind_ok(dep: Department, user: User):
    if not user.is_active:
        raise DepartmentError(_("用户 %(user)s 已停用"), code="user_inactive", user=user.username)
    if user.role not in STAFF_ROLES or user.role not in MEMBER_ROLES:
        raise DepartmentError(_("%(role)s 不能作为部门成员（科室人员、物业人员、街道领导、管理员可以）"),
                              code="bad_member_role", role=user.role_label)
    if (dep.kind == Department.Kind.PROPERTY) != (user.role == Role.PROPERTY_STAFF):
        raise DepartmentError(_("物业公司的成员须为物业人员，物业人员只能属于物业公司"), code="bad_member_role")


@transaction.atomic
def add_member(actor, department: Department, user: User) -> User:
    """Make `user` a member (their `department` names it; a user belongs to one department)."""
    _require(actor, "update")
    dep = Department.objects.select_for_update().get(pk=department.pk)
    if not dep.active:
        raise NoSuchDepartment(_("没有名为“%(name)s”的在用部门，请从部门列表中选择"), name=dep.name)
    user = User.objects.select_for_update().get(pk=user.pk)
    _member_kind_ok(dep, user)
    if user.department == dep.name:
        return user
    old = user.department
    User.objects.filter(pk=user.pk).update(department=dep.name)
    user.department = dep.name
    history.record(actor, HISTORY_KIND, dep, "add_member", {"members": [None, user.username]},
                   note=f"{user.username}（原部门：{old or '—'}）")
    history.record(actor, "staff", user, "update", {"department": [old, dep.name]}, note="部门成员")
    return user


@transaction.atomic
def remove_member(actor, department: Department, user: User) -> User:
    _require(actor, "update")
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.department != department.name:
        raise DepartmentError(_("%(user)s 不是“%(name)s”的成员"), code="not_a_member", user=user.username,
                              name=department.name)
    User.objects.filter(pk=user.pk).update(department="")
    user.department = ""
    history.record(actor, HISTORY_KIND, department, "remove_member", {"members": [user.username, None]})
    history.record(actor, "staff", user, "update", {"department": [department.name, ""]}, note="部门成员")
    return user


def set_user_department(actor, user: User, name: str) -> User:
    """A user's department from input (the staff pages): '' clears it, a name must be an active
    Department."""
    name = (name or "").strip()
    if not name:
        current = Department.objects.filter(name=user.department).first()
        if current is None:
            User.objects.filter(pk=user.pk).update(department="")
            user.department = ""
            return user
        return remove_member(actor, current, user)
    return add_member(actor, require_active(name), user)
