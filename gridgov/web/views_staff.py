"""Staff pages: the accounts administrators (the street) and community secretaries (their
community) manage — list, new, detail (edit, disable / enable, reset password, history, duties),
bulk import — and the signed-in user's own password change. Rows come only through
`User.objects.visible_to`; every change goes through accounts.services (which checks the policy
table and keeps the history); an account outside the user's scope answers 404."""

import io

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from gridgov.geo import levels as gl
from gridgov.accounts import policy
from gridgov.accounts import services as staff
from gridgov.accounts.models import Department, Duty, GridAssignment, Role, User
from gridgov.core import crypto
from gridgov.geo.models import GridNode

from .views import staff_required

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: the history's actions and fields, as the page shows them
ACTION_LABELS = {
    "create": gettext_lazy("新增"), "update": gettext_lazy("修改"), "disable": gettext_lazy("停用"),
    "enable": gettext_lazy("启用"), "reset_password": gettext_lazy("重置密码"),
    "change_password": gettext_lazy("本人修改密码"),
}
FIELD_LABELS = {
    "username": gettext_lazy("用户名"), "display_name": gettext_lazy("姓名"), "role": gettext_lazy("角色"),
    "department": gettext_lazy("科室/部门"), "phone": gettext_lazy("手机"), "is_active": gettext_lazy("启用"),
    "must_change_password": gettext_lazy("须修改密码"), "duty": gettext_lazy("职责"),
}


def _shown(field, value):
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if field == "role" and value in Role.values:
        return Role(value).label
    return value


def _history(target):
    """(row, action label, [(field label, old, new)]) of the account's history, newest first."""
    out = []
    for h in staff.staff_history(target)[:100]:
        lines = [(FIELD_LABELS.get(f, f), _shown(f, v[0]), _shown(f, v[1])) for f, v in (h.changes or {}).items()
                 if isinstance(v, list) and len(v) == 2]
        out.append((h, ACTION_LABELS.get(h.action, h.action), lines))
    return out


def _duties_in_force():
    return Prefetch("assignments", queryset=GridAssignment.objects.in_force().select_related("node").order_by("id"),
                    to_attr="duties_in_force")


def _visible(user, pk, action="read") -> User:
    target = User.objects.visible_to(user, action).prefetch_related(_duties_in_force()).filter(pk=pk).first()
    if target is None:
        raise Http404(_("没有这个工作人员"))
    return target


def _roles(codes):
    return [(r, Role(r).label) for r in codes]


def _grids(user):
    """Grids to give a duty on: the top levels the user sees (a secretary: their community)."""
    nodes = GridNode.objects.visible_to(user)
    top = min(nodes.values_list("level", flat=True), default=None)
    if top is None:
        return []
    return list(nodes.filter(level__lte=max(top, gl.community_level()) + 1).order_by("path").values_list("code", "name")[:500])


def _departments():
    return list(Department.objects.filter(active=True).values_list("name", flat=True))


@staff_required
def staff_list(request):
    policy.require(request.user, "staff", "list")
    qs = User.objects.visible_to(request.user).prefetch_related(_duties_in_force())
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(display_name__icontains=q) | Q(phone_hash=crypto.blind_index(q)))
    role = request.GET.get("role", "")
    if role:
        qs = qs.filter(role=role)
    page = Paginator(qs.order_by("-is_active", "role", "username"), 50).get_page(request.GET.get("page"))
    ctx = {
        "page": page, "q": q, "role": role, "roles": _roles(staff.MANAGED_ROLES),
        "may_create": policy.allows(request.user, "staff", "create"),
    }
    template = "web/_staff_rows.html" if request.headers.get("HX-Request") else "web/staff_list.html"
    return render(request, template, ctx)


@staff_required
def staff_new(request):
    policy.require(request.user, "staff", "create")
    data = request.POST if request.method == "POST" else {}
    ctx = {
        "roles": _roles(staff.grantable_roles(request.user)), "departments": _departments(),
        "grids": _grids(request.user), "duties": Duty.choices, "data": data,
    }
    if request.method == "POST":
        try:
            user, password = staff.create_staff(
                request.user, username=data.get("username", ""), display_name=data.get("display_name", ""),
                role=data.get("role", ""), password=data.get("password", ""), department=data.get("department", ""),
                phone=data.get("phone", ""), grid=data.get("grid") or None, duty=data.get("duty") or None)
        except staff.StaffError as exc:
            ctx["error"] = exc.message
            return render(request, "web/staff_new.html", ctx, status=400)
        shown = None if data.get("password") else password
        return render(request, "web/staff_created.html", {"target": user, "password": shown})
    return render(request, "web/staff_new.html", ctx)


@staff_required
def staff_detail(request, pk):
    policy.require(request.user, "staff", "read")
    target = _visible(request.user, pk)
    may_manage = staff.may_manage(request.user, target)
    roles = staff.grantable_roles(request.user, "update")
    if target.role not in roles:
        roles = (target.role, *roles)
    history = _history(target)
    return render(request, "web/staff_detail.html", {
        "target": target, "may_manage": may_manage, "roles": _roles(roles), "departments": _departments(),
        "history": history, "password": _temp_password_for(request, target),
    })


def _temp_password_for(request, target):
    """The temporary password just set for `target` (after the reset's redirect): shown once."""
    if request.session.get("staff_temp_password_for") != target.pk:
        return None
    request.session.pop("staff_temp_password_for", None)
    return request.session.pop("staff_temp_password", None)


def _act(request, pk, fn, done):
    """An act on one visible account through the services; back to its page with a message."""
    policy.require(request.user, "staff", "update")
    target = _visible(request.user, pk, "update")
    try:
        fn(target)
    except staff.StaffNotAllowed as exc:
        raise PermissionDenied(exc.message) from None
    except staff.StaffError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("web:staff-detail", pk=target.pk)


def _phone(data):
    """A new phone typed in, "" when asked to clear it, None to leave it."""
    phone = data.get("phone", "").strip()
    if phone:
        return phone
    return "" if data.get("clear_phone") else None


@staff_required
@require_POST
def staff_edit(request, pk):
    data = request.POST
    return _act(request, pk, lambda t: staff.update_staff(
        request.user, t, display_name=data.get("display_name"), role=data.get("role"),
        department=data.get("department"), phone=_phone(data),
    ), _("已保存。"))


@staff_required
@require_POST
def staff_disable(request, pk):
    return _act(request, pk, lambda t: staff.set_staff_active(request.user, t, False, note=request.POST.get("note", "")),
                _("已停用：该账号不能再登录。"))


@staff_required
@require_POST
def staff_enable(request, pk):
    return _act(request, pk, lambda t: staff.set_staff_active(request.user, t, True), _("已启用。"))


@staff_required
@require_POST
def staff_reset_password(request, pk):
    def reset(target):
        request.session["staff_temp_password"] = staff.reset_staff_password(request.user, target)
        request.session["staff_temp_password_for"] = target.pk

    return _act(request, pk, reset, _("密码已重置。"))


# ---- bulk import --------------------------------------------------------------------------------


@staff_required
def staff_import(request):
    """Template download, upload, and the result: the accounts made with their temporary
    passwords (shown once), or every row's error with nothing written."""
    from . import staff_import as importer

    policy.require(request.user, "staff", "create")
    result, issued = None, []
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            result = {"ok": False, "message": _("请选择要导入的文件（.xlsx 或 .csv）")}
        else:
            try:
                res, issued = importer.run(upload, upload.name, request.user)
            except staff.StaffError as exc:  # a row became wrong between validation and writing
                result = {"ok": False, "message": exc.message}
            else:
                result = res.as_dict()
    status = 400 if result and not result["ok"] else 200
    return render(request, "web/staff_import.html", {"result": result, "issued": issued}, status=status)


@staff_required
def staff_import_template(request):
    from . import staff_import as importer

    policy.require(request.user, "staff", "create")
    buf = io.BytesIO()
    importer.write_template(buf)
    resp = HttpResponse(buf.getvalue(), content_type=XLSX)
    resp["Content-Disposition"] = 'attachment; filename="template-staff.xlsx"'
    return resp


# ---- one's own password ---------------------------------------------------------------------------


class _PasswordForm(PasswordChangeForm):
    def save(self, commit=True):
        staff.change_own_password(self.user, self.cleaned_data["new_password1"])
        return self.user


@login_required
def password_change(request):
    """Change one's own password; the page every other page leads to while a password someone
    else set is still in use (accounts.middleware)."""
    form = _PasswordForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        update_session_auth_hash(request, form.user)
        messages.success(request, _("密码已修改。"))
        nxt = request.POST.get("next") or request.GET.get("next") or "/"
        if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
            nxt = "/"
        return redirect(nxt)
    return render(request, "web/password_change.html", {
        "form": form, "forced": request.user.must_change_password, "next": request.GET.get("next", ""),
    }, status=400 if request.method == "POST" else 200)
