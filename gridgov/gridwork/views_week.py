"""Pages of the week and the month: the staff's highlights of a week by community with the pick
(/gridwork/week/), the wall of the weeks' best, the month's summaries of the scope and one
summary with its note (printable); the phone's highlight form and the worker's own month
(/m/gridwork/week/). Views validate and call gridgov.gridwork.week."""

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.accounts import policy

from . import periods
from . import week as svc
from .models import POLICY_KIND as KIND
from .models import Highlight

m_login_required = login_required(login_url="/m/login/")


def _monday(text) -> date:
    try:
        return periods.week_of(date.fromisoformat(text)) if text else periods.week_of(timezone.localdate())
    except ValueError:
        raise Http404(_("日期格式应为 YYYY-MM-DD")) from None


def _month(text):
    try:
        p = periods.parse(text) if text else periods.period_of(timezone.localdate(), "month").previous()
    except periods.PeriodError:
        raise Http404(_("月份格式应为 2026-07")) from None
    if p.kind != "month":
        raise Http404(_("月份格式应为 2026-07"))
    return p


def _require_list(user):
    if not (policy.allows(user, KIND, "list") or policy.allows(user, KIND, "create")):
        raise PermissionDenied(_("您不能查看网格工作记录"))


@login_required
def highlights(request):
    _require_list(request.user)
    monday = _monday(request.GET.get("week", ""))
    rows = list(Highlight.objects.visible_to(request.user).filter(week=monday)
                .select_related("worker", "author").order_by("community_path", "-picked_at", "id"))
    by_community = {}
    for h in rows:
        h.may_pick = policy.allows(request.user, KIND, "update", h.community_path)
        by_community.setdefault(h.community_path, []).append(h)
    from gridgov.geo.models import GridNode

    names = dict(GridNode.objects.filter(path__in=list(by_community)).values_list("path", "name"))
    groups = [{"path": p, "name": names.get(p, p), "rows": hs} for p, hs in sorted(by_community.items())]
    best = (Highlight.objects.visible_to(request.user).filter(picked_at__isnull=False)
            .select_related("worker").order_by("-week", "community_path")[:30])
    return render(request, "gridwork/week/highlights.html", {
        "monday": monday, "prev": monday - timedelta(days=7), "next": monday + timedelta(days=7),
        "groups": groups, "best": best, "section": "highlights"})


@login_required
@require_POST
def highlight_act(request, pk: int, act: str):
    h = Highlight.objects.visible_to(request.user).filter(pk=pk).first()
    if h is None:
        raise Http404
    fn = {"pick": svc.pick_best, "unpick": svc.unpick, "withdraw": svc.withdraw_highlight}.get(act)
    if fn is None:
        raise Http404
    try:
        fn(request.user, h)
    except (svc.WeekError, PermissionDenied) as e:
        messages.error(request, str(e) or _("无权操作"))
    week = h.week.isoformat()
    return redirect(request.POST.get("next") or f"/gridwork/week/?week={week}")


@login_required
def month(request):
    _require_list(request.user)
    p = _month(request.GET.get("month", ""))
    subject = request.GET.get("subject", "worker")
    if subject not in ("worker", "grid", "community"):
        raise Http404
    rows = svc.summaries(request.user, p, subject, request.GET.get("under", ""))
    for r in rows:
        r["cells"] = [r["figures"].get(k) for k, _label in svc.FIGURES]
    return render(request, "gridwork/week/month.html", {
        "p": p, "prev": p.previous().key, "next": periods.period_of(p.last + timedelta(days=1), "month").key,
        "subject": subject, "rows": rows, "figures": svc.FIGURES, "section": "month"})


@login_required
def summary(request):
    p = _month(request.GET.get("month", ""))
    subject, key = request.GET.get("subject", "worker"), request.GET.get("key", "")
    try:
        s = svc.summary(request.user, subject, key, p)
    except PermissionDenied:
        raise Http404 from None
    if request.method == "POST":
        try:
            svc.annotate(request.user, subject, key, p, request.POST.get("text", ""), request.POST.get("version") or 0)
            messages.success(request, _("说明已保存"))
        except (svc.WeekError, PermissionDenied) as e:
            messages.error(request, str(e) or _("无权操作"))
        return redirect(f"/gridwork/week/summary/?subject={subject}&key={key}&month={p.key}")
    figures = [(label, s["figures"].get(k)) for k, label in svc.FIGURES]
    return render(request, "gridwork/week/summary.html", {"s": s, "p": p, "subject": subject, "key": key,
                                                           "figures": figures, "section": "month"})


# --- phone -----------------------------------------------------------------------------------


@m_login_required
def m_week(request):
    if not policy.allows(request.user, KIND, "create"):
        raise PermissionDenied(_("您没有网格工作的记录权限"))
    if request.method == "POST":
        try:
            svc.mark_highlight(request.user, request.user, _monday(request.POST.get("week", "")),
                               request.POST.get("title", ""), request.POST.get("text", ""))
            messages.success(request, _("亮点已提交"))
        except (svc.WeekError, PermissionDenied) as e:
            messages.error(request, str(e) or _("无权操作"))
        return redirect("/m/gridwork/week/")
    p = periods.period_of(timezone.localdate(), "month")
    mine = svc.figures(p, "worker", [request.user.pk])[request.user.pk]
    figures = [(label, mine.get(k)) for k, label in svc.FIGURES if mine.get(k)]
    return render(request, "gridwork/week/m_week.html", {
        "tab": "gridwork", "monday": periods.week_of(timezone.localdate()), "p": p, "figures": figures,
        "mine": Highlight.objects.filter(worker=request.user).order_by("-week", "-id")[:20]})


