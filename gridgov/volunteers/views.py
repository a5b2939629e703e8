"""Pages: the volunteer's points on the phone (/m/points/), a station's code check
(/m/points/station/), and the staff's points page (/volunteers/points/). They validate and call
services; the access table (points × list / update) and the relations (own account, the
station's user) decide who sees what."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Sum
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.accounts import policy

from . import services
from .models import Account, PointRule, Redemption, Reward

m_login_required = login_required(login_url="/m/login/")


def _message(exc) -> str:
    return str(exc) or _("操作未成功")


# --- the volunteer's phone -------------------------------------------------------------------


def _points_context(user, **extra):
    acc = services.volunteer_account(user, create=False)
    ctx = {
        "tab": "points",
        "account": acc,
        "balance": acc.balance if acc else 0,
        "movements": list(services.statement(acc, 30)) if acc else [],
        "redemptions": list(acc.redemptions.select_related("reward__account")[:20]) if acc else [],
        "rewards": list(Reward.objects.filter(active=True).select_related("account")),
        "is_station": Account.objects.filter(kind=Account.Kind.STATION, user=user).exists(),
    }
    ctx.update(extra)
    return ctx


@m_login_required
def my_points(request):
    return render(request, "volunteers/m_points.html", _points_context(request.user))


@m_login_required
@require_POST
def redeem(request, reward_id):
    """Redeem one reward; the code is shown on this answer only (never stored in clear)."""
    try:
        red, code = services.redeem(request.user, reward_id)
    except services.PointsError as exc:
        return render(request, "volunteers/m_points.html", _points_context(request.user, error=_message(exc)),
                      status=exc.status)
    return render(request, "volunteers/m_points.html", _points_context(request.user, code=code, redeemed=red), status=201)


@m_login_required
@require_POST
def cancel(request, redemption_id):
    try:
        services.cancel(request.user, redemption_id)
    except services.PointsError as exc:
        return render(request, "volunteers/m_points.html", _points_context(request.user, error=_message(exc)),
                      status=exc.status)
    return render(request, "volunteers/m_points.html", _points_context(request.user, notice=_("已取消，积分已退回")))


# --- a station's phone -----------------------------------------------------------------------


def _station_context(user, **extra):
    stations = list(Account.objects.filter(kind=Account.Kind.STATION, user=user))
    ctx = {
        "tab": "points",
        "stations": stations,
        "recent": list(Redemption.objects.filter(reward__account__in=stations, state=Redemption.State.USED)
                       .select_related("reward").order_by("-verified_at")[:20]),
    }
    ctx.update(extra)
    return ctx


@m_login_required
def station(request):
    """The station's user checks a volunteer's code and marks it used (once)."""
    ctx = _station_context(request.user)
    if not ctx["stations"]:
        return render(request, "volunteers/m_station.html", ctx, status=403)
    if request.method == "POST":
        try:
            red = services.verify_code(request.user, request.POST.get("code", "")[:20])
        except services.PointsError as exc:
            return render(request, "volunteers/m_station.html", _station_context(request.user, error=_message(exc)),
                          status=exc.status)
        return render(request, "volunteers/m_station.html", _station_context(request.user, used=red))
    return render(request, "volunteers/m_station.html", ctx)


# --- staff -----------------------------------------------------------------------------------


def _staff_context(user, **extra):
    accounts = services.accounts_for(user)
    communities = []
    for issuer in accounts.filter(kind=Account.Kind.ISSUING).select_related("node").order_by("node__path"):
        vols = accounts.filter(kind=Account.Kind.VOLUNTEER, node__path__startswith=issuer.node.path) if issuer.node_id else accounts.none()
        agg = vols.aggregate(n=Count("id"), held=Sum("balance"))
        communities.append({"name": issuer.node.name if issuer.node_id else issuer.name, "issued": -issuer.balance,
                            "volunteers": agg["n"] or 0, "held": agg["held"] or 0})
    stations = list(accounts.filter(kind=Account.Kind.STATION).annotate(
        used=Count("rewards__redemptions")).order_by("-balance", "id")[:100])
    top = list(accounts.filter(kind=Account.Kind.VOLUNTEER).select_related("node").order_by("-balance", "id")[:20])
    rules = list(PointRule.objects.all())
    changes = []
    if policy.allows(user, "points", "update"):
        from gridgov.core.models import ChangeRecord

        changes = list(ChangeRecord.objects.filter(kind="points_rules").order_by("-at", "-id")[:20])
    ctx = {"communities": communities, "stations": stations, "top": top, "rules": rules, "changes": changes,
           "may_edit": policy.allows(user, "points", "update"), "units": PointRule.Unit.choices}
    ctx.update(extra)
    return ctx


@login_required
def staff_points(request):
    """Accounts by community, stations, the award rules (administrators edit them)."""
    if not policy.allows(request.user, "points", "list"):
        raise PermissionDenied(_("该页面仅限工作人员"))
    return render(request, "volunteers/points.html", _staff_context(request.user))


def _int(value, field):
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise services.PointsError(_("%(field)s：请填写整数") % {"field": field}) from None
    if n < 0:
        raise services.PointsError(_("%(field)s：不能为负数") % {"field": field})
    return n


@login_required
@require_POST
def edit_rule(request, key):
    if not policy.allows(request.user, "points", "update"):
        raise PermissionDenied(_("只有系统管理员可以修改积分规则"))
    p = request.POST
    try:
        changes = {"points": _int(p.get("points"), _("分值")), "daily_cap": _int(p.get("daily_cap"), _("每日上限")),
                   "monthly_cap": _int(p.get("monthly_cap"), _("每月上限")), "active": p.get("active") == "on"}
        services.update_rule(request.user, key, _int(p.get("version"), "version"), **changes)
    except services.PointsError as exc:
        return render(request, "volunteers/points.html", _staff_context(request.user, error=_message(exc)), status=400)
    return render(request, "volunteers/points.html", _staff_context(request.user, notice=_("积分规则已保存")))

