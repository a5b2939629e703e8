"""Department records on the pages (/departments/): the list with each department's members and
contact, a new department, a department's page (edit, rename, end, members, history). Views
validate and call `accounts.departments`; the access table's departments × list / read / create /
update decides who sees and who may change (403 otherwise)."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from gridgov.accounts import departments as deps
from gridgov.accounts import policy
from gridgov.accounts.models import Department, User
from gridgov.core import history
from gridgov.registry import property as property_companies
from gridgov.registry.models import Organization

from .views import staff_required


#: how the history names its actions and fields
ACTIONS = {"create": pgettext_lazy("history", "新建"), "update": pgettext_lazy("history", "修改"), "end": pgettext_lazy("history", "停用"),
           "reopen": pgettext_lazy("history", "恢复"), "add_member": gettext_lazy("加入成员"), "remove_member": gettext_lazy("移出成员")}
FIELDS = {"name": gettext_lazy("名称"), "kind": gettext_lazy("类别"), "contact_name": gettext_lazy("联系人"),
          "contact_phone": gettext_lazy("联系电话"), "note": gettext_lazy("备注"), "active": gettext_lazy("状态"),
          "members": gettext_lazy("成员")}


def _history(d):
    rows = []
    for r in history.for_object(deps.HISTORY_KIND, d.pk)[:50]:
        r.label = ACTIONS.get(r.action, r.action)
        r.lines = [(FIELDS.get(k, k), v[0], v[1]) for k, v in (r.changes or {}).items()]
        rows.append(r)
    return rows


def _require(user, action):
    if not policy.allows(user, "departments", action):
        raise PermissionDenied(_("无权管理部门"))


def _fields(post) -> dict:
    return {f: post.get(f, "").strip() for f in ("name", "kind", "contact_name", "contact_phone", "note")}


@staff_required
def department_list(request):
    user = request.user
    _require(user, "list")
    counts = deps.member_counts()
    rows = list(Department.objects.all())
    for d in rows:
        d.member_count = counts.get(d.name, 0)
    return render(request, "web/departments.html", {
        "departments": rows, "may_create": policy.allows(user, "departments", "create"),
        "kinds": Department.Kind.choices,
    })


@staff_required
def department_new(request):
    user = request.user
    _require(user, "create")
    error, form = None, {"kind": "section"}
    if request.method == "POST":
        form = _fields(request.POST)
        try:
            d = deps.create(user, **form)
            return redirect(f"/departments/{d.pk}/")
        except deps.DepartmentError as exc:
            error = exc.message
    return render(request, "web/department_form.html", {"form": form, "error": error, "kinds": Department.Kind.choices})


def _department(pk) -> Department:
    d = Department.objects.filter(pk=pk).first()
    if d is None:
        raise Http404("没有这个部门")
    return d


def _page(request, d, error=None, ok=None, form=None, status=200):
    user = request.user
    may_update = policy.allows(user, "departments", "update")
    candidates = []
    if may_update and d.active:
        roles = ("property_staff",) if d.kind == Department.Kind.PROPERTY else ("section_staff", "leader")
        candidates = User.objects.filter(is_active=True, role__in=roles).exclude(department=d.name).order_by("username")
    return render(request, "web/department_detail.html", {
        "d": d, "members": deps.members(d), "history": _history(d),
        "may_update": may_update, "error": error, "ok": ok, "kinds": Department.Kind.choices,
        "form": form or {f: getattr(d, f) for f in ("name", "kind", "contact_name", "contact_phone", "note")},
        "candidates": candidates,
        "company": getattr(d, "organization", None) if d.kind == Department.Kind.PROPERTY else None,
        "companies": (Organization.objects.visible_to(user).filter(kind="property_company").order_by("name")
                      if may_update and d.kind == Department.Kind.PROPERTY and d.active else []),
    }, status=status)


@staff_required
def department_detail(request, pk):
    user = request.user
    _require(user, "read")
    d = _department(pk)
    if request.method != "POST":
        return _page(request, d)
    _require(user, "update")
    form = _fields(request.POST)
    try:
        d = deps.update(user, d, version=request.POST.get("version") or None, **form)
    except deps.DepartmentError as exc:
        return _page(request, d, error=exc.message, form=form, status=409 if exc.code == "version_conflict" else 400)
    return _page(request, d, ok=_("已保存"))


@staff_required
@require_POST
def department_end(request, pk):
    user = request.user
    _require(user, "update")
    d = _department(pk)
    try:
        d = deps.end(user, d, request.POST.get("note", "").strip()[:200])
    except deps.DepartmentError as exc:
        return _page(request, d, error=exc.message, status=400)
    return _page(request, d, ok=_("已停用"))


@staff_required
@require_POST
def department_members(request, pk):
    """Add a member (by user name), or remove one (`remove` = the user's id)."""
    user = request.user
    _require(user, "update")
    d = _department(pk)
    try:
        if request.POST.get("remove"):
            member = User.objects.filter(pk=request.POST["remove"]).first() if request.POST["remove"].isdigit() else None
            if member is None:
                raise deps.DepartmentError(_("没有这个用户"), code="no_such_user")
            deps.remove_member(user, d, member)
            ok = _("已移出")
        else:
            name = request.POST.get("username", "").strip()
            member = User.objects.filter(username=name).first()
            if member is None:
                raise deps.DepartmentError(_("没有用户名为“%(name)s”的用户"), code="no_such_user", name=name or "—")
            deps.add_member(user, d, member)
            ok = _("已加入")
    except deps.DepartmentError as exc:
        return _page(request, d, error=exc.message, status=400)
    return _page(request, d, ok=ok)


@staff_required
@require_POST
def department_company(request, pk):
    """Tie a property-company department to its company's record (or untie it: empty)."""
    from django.core.exceptions import ValidationError

    user = request.user
    _require(user, "update")
    d = _department(pk)
    raw = request.POST.get("organization", "")
    org = Organization.objects.visible_to(user).filter(pk=raw).first() if raw.isdigit() else None
    if raw and org is None:
        return _page(request, d, error=_("没有这个单位"), status=400)
    try:
        property_companies.link_company(user, d, org)
    except ValidationError as exc:
        return _page(request, d, error=exc.messages[0], status=400)
    return _page(request, Department.objects.get(pk=d.pk), ok=_("已保存"))
