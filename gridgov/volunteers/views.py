"""Pages: the volunteer's points on the phone (/m/points/), a station's code check
(/m/points/station/), and the staff's points page (/volunteers/points/). They validate and call
services; the access table (points × list / update) and the relations (own account, the
station's user) decide who sees what."""

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, Sum
from django.http import Http404
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.geo import levels as gl
from gridgov.accounts import policy

from . import services
from .conf import get_int
from .models import Account, PointRule, Redemption, Reward

m_login_required = login_required(login_url="/m/login/")


def _message(exc) -> str:
    return str(exc) or _("操作未成功")


# --- the volunteer's phone -------------------------------------------------------------------


def _points_context(user, **extra):
    acc = services.volunteer_account(user, create=False)
    if acc is not None:
        acc = services.link_accounts(acc)
    expiring, expires_on = services.expiring(acc)
    ctx = {
        "expiring": expiring,
        "expires_on": expires_on,
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
    stations = list(accounts.filter(kind=Account.Kind.STATION).select_related("user").annotate(
        used=Count("rewards__redemptions")).order_by("-balance", "id")[:100])
    top = list(accounts.filter(kind=Account.Kind.VOLUNTEER).select_related("node").order_by("-balance", "id")[:20])
    rules = list(PointRule.objects.all())
    changes = []
    if policy.allows(user, "points", "update"):
        from gridgov.core.models import ChangeRecord

        changes = list(ChangeRecord.objects.filter(kind__in=["points_rules", "points_rewards", "points_accounts"])
                       .order_by("-at", "-id")[:30])
    may_edit = policy.allows(user, "points", "update")
    ctx = {"communities": communities, "stations": stations, "top": top, "rules": rules, "changes": changes,
           "may_edit": may_edit, "units": PointRule.Unit.choices, "expire_months": get_int("VOLUNTEERS_POINTS_EXPIRE_MONTHS"),
           "community_nodes": _community_nodes() if may_edit else [],
           "expiring": services.expiring_in(accounts)}
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



# --- staff: one account, corrections, rewards, merchants ---------------------------------------


def _community_nodes():
    from gridgov.geo.models import GridNode

    return list(GridNode.objects.filter(level=gl.community_level()).order_by("path"))


def _require_list(user):
    if not policy.allows(user, "points", "list"):
        raise PermissionDenied(_("该页面仅限工作人员"))


def _require_update(user):
    if not policy.allows(user, "points", "update"):
        raise PermissionDenied(_("只有系统管理员可以管理积分"))


def _account_or_404(user, pk):
    _require_list(user)
    acc = services.account_for(user, pk)
    if acc is None:
        raise Http404
    return acc


def _account_context(user, acc, **extra):
    from gridgov.core.models import ChangeRecord

    rewards = list(acc.rewards.all()) if acc.kind == Account.Kind.STATION else []
    versions = services.reward_versions(rewards)
    for r in rewards:
        r.version = versions[r.pk]
    history = ChangeRecord.objects.filter(
        Q(kind="points_rewards", object_id__in=[str(r.pk) for r in rewards]) | Q(kind="points_accounts", object_id=str(acc.pk)))
    expiring, expires_on = services.expiring(acc) if acc.kind == Account.Kind.VOLUNTEER else (0, None)
    ctx = {
        "acc": acc,
        "movements": list(services.statement(acc, 200)),
        "redemptions": list(services.redemptions_of(acc, 100)),
        "rewards": rewards,
        "history": list(history.order_by("-at", "-id")[:50]),
        "may_edit": policy.allows(user, "points", "update"),
        "expiring": expiring,
        "expires_on": expires_on,
        "form_key": secrets.token_hex(8),
    }
    ctx.update(extra)
    return ctx


@login_required
def staff_account(request, pk):
    """One account: its statement and redemptions; a station's rewards; a volunteer's correction
    form (administrators)."""
    acc = _account_or_404(request.user, pk)
    return render(request, "volunteers/points_account.html", _account_context(request.user, acc))


def _account_error(request, acc, exc):
    acc.refresh_from_db()
    return render(request, "volunteers/points_account.html", _account_context(request.user, acc, error=_message(exc)),
                  status=getattr(exc, "status", 400))


def _signed_int(value, field):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise services.PointsError(_("%(field)s：请填写整数") % {"field": field}) from None


def _form_key(p, acc):
    """The correction's key from the form's one-time token: a second click (or a replayed post)
    books nothing twice."""
    key = (p.get("key") or "").strip()
    return f"correct:form:{key}:{acc.pk}" if len(key) == 16 and all(c in "0123456789abcdef" for c in key) else None


@login_required
@require_POST
def correct_account(request, pk):
    """Add or take away points with a reason (the form's key makes a second click harmless)."""
    acc = _account_or_404(request.user, pk)
    _require_update(request.user)
    p = request.POST
    try:
        t = services.correct(request.user, acc, _signed_int(p.get("amount"), _("积分")), p.get("reason", "")[:200],
                             key=_form_key(p, acc))
    except services.PointsError as exc:
        return _account_error(request, acc, exc)
    messages.success(request, _("已更正 %(n)s 积分") % {"n": t.amount})
    return redirect("volunteers:points-account", pk=acc.pk)


@login_required
@require_POST
def correct_registry_volunteer(request, volunteer_id):
    """Correct the points of a registry volunteer who may have no login yet: their account opens."""
    from gridgov.registry.models import Volunteer

    _require_update(request.user)
    vol = Volunteer.objects.visible_to(request.user).filter(pk=volunteer_id).first()
    if vol is None:
        raise Http404
    p = request.POST
    try:
        amount = _signed_int(p.get("amount"), _("积分"))
        with transaction.atomic():  # the account opens with its correction, never without it
            acc = services.registry_volunteer_account(vol)
            t = services.correct(request.user, acc, amount, p.get("reason", "")[:200], key=_form_key(p, acc))
    except services.PointsError as exc:
        return render(request, "volunteers/points_find.html", _find_context(request.user, p.get("q", ""), error=_message(exc)),
                      status=exc.status)
    messages.success(request, _("已更正 %(n)s 积分") % {"n": t.amount})
    return redirect("volunteers:points-account", pk=acc.pk)


def _find_context(user, q, **extra):
    found = services.find_holders(user, q)
    ctx = {"q": q, "accounts": found["accounts"], "registry": found["registry"],
           "may_edit": policy.allows(user, "points", "update"), "form_key": secrets.token_hex(8)}
    ctx.update(extra)
    return ctx


@login_required
def find(request):
    """Find a volunteer (or a station) by name or username; administrators also see registry
    volunteers who have no account yet, with a correction form."""
    _require_list(request.user)
    q = request.GET.get("q", "")[:50]
    return render(request, "volunteers/points_find.html", _find_context(request.user, q))


@login_required
@require_POST
def add_reward(request, pk):
    acc = _account_or_404(request.user, pk)
    _require_update(request.user)
    p = request.POST
    try:
        r = services.add_reward(request.user, acc, p.get("name", ""), _int(p.get("price"), _("所需积分")),
                                _int(p.get("stock"), _("库存")), p.get("description", ""))
    except services.PointsError as exc:
        return _account_error(request, acc, exc)
    messages.success(request, _("已添加奖品：%(name)s") % {"name": r.name})
    return redirect("volunteers:points-account", pk=acc.pk)


@login_required
@require_POST
def edit_reward(request, reward_id):
    _require_update(request.user)
    reward = Reward.objects.select_related("account").filter(pk=reward_id).first()
    if reward is None:
        raise Http404
    acc = _account_or_404(request.user, reward.account_id)
    p = request.POST
    try:
        r = services.update_reward(request.user, reward.pk, _int(p.get("version"), "version"),
                                   add_stock=_signed_int(p.get("add_stock") or 0, _("增减库存")),
                                   name=p.get("name", ""), description=p.get("description", ""),
                                   price=_int(p.get("price"), _("所需积分")), active=p.get("active") == "on")
    except services.PointsError as exc:
        return _account_error(request, acc, exc)
    messages.success(request, _("已保存奖品：%(name)s") % {"name": r.name})
    return redirect("volunteers:points-account", pk=acc.pk)


@login_required
@require_POST
def edit_station(request, pk):
    """A merchant's name, and who accepts a station's or merchant's codes (by username)."""
    acc = _account_or_404(request.user, pk)
    _require_update(request.user)
    p = request.POST
    try:
        services.update_station(request.user, acc, name=p.get("name") if acc.place_id is None else None,
                                username=p.get("username", ""))
    except services.PointsError as exc:
        return _account_error(request, acc, exc)
    messages.success(request, _("已保存"))
    return redirect("volunteers:points-account", pk=acc.pk)


@login_required
@require_POST
def add_merchant(request):
    _require_update(request.user)
    from gridgov.geo.models import GridNode

    p = request.POST
    node = GridNode.objects.filter(pk=p.get("node")).first() if (p.get("node") or "").isdigit() else None
    try:
        acc = services.add_merchant(request.user, p.get("name", ""), node=node, username=p.get("username", ""))
    except services.PointsError as exc:
        return render(request, "volunteers/points.html", _staff_context(request.user, error=_message(exc)),
                      status=exc.status)
    messages.success(request, _("已添加商户：%(name)s") % {"name": acc.name})
    return redirect("volunteers:points-account", pk=acc.pk)
