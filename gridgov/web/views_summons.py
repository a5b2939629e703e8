"""吹哨报到 for the summoned departments: their summonses (open first, with the time left to
report back, then the history of their reports) and the report-back form, which the case page
also shows to whoever may report back (`services.may_report_back`)."""

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.accounts.decorators import staff_required
from gridgov.cases import services
from gridgov.cases.models import Summons
from gridgov.cases.templatetags.cases_extras import clock_view

from .views_cases import _message


RELATED = ("case", "case__item", "case__grid", "summoned_by", "reported_by")


def _summonses(user):
    return Summons.objects.answered_by(user).select_related(*RELATED).prefetch_related("clocks")


def _decorate(user, s, now):
    """The summons' clock as the workbench shows clocks (time left, amber, red when late), and
    whether the user may report back."""
    clock = max(s.clocks.all(), key=lambda c: c.pk, default=None)
    s.clock = clock_view(clock, now) if clock else None
    s.late = bool(s.reported_at and s.reported_at > s.due_at) or (not s.reported_at and s.due_at <= now)
    s.may_report = not s.reported_at and services.may_report_back(user, s)
    return s


@staff_required
def summons_list(request):
    user, now = request.user, timezone.now()
    qs = _summonses(user)
    pending = qs.filter(reported_at__isnull=True)
    open_ = Paginator(pending.order_by("due_at", "id"), 50).get_page(request.GET.get("open_page"))
    history = Paginator(qs.filter(reported_at__isnull=False).order_by("-reported_at", "-id"), 30).get_page(request.GET.get("page"))
    for s in (*open_.object_list, *history.object_list):
        _decorate(user, s, now)
    return render(request, "web/summons.html", {
        "open": open_, "history": history, "late": pending.filter(due_at__lte=now).count(),
        "department": services.department_of(user),
    })


@staff_required
@require_POST
def summons_report(request, pk):
    """Report back on a summons: from the summons page (HTMX swaps the item), from the case page
    (HTMX reloads it; errors inline), or a plain form post (back to where it came from)."""
    user = request.user
    s = Summons.objects.visible_to(user).select_related("case").filter(pk=pk).first()
    if s is None:
        raise Http404("没有这个吹哨")
    error = None
    try:
        services.report_back(s, user, request.POST.get("report", "").strip()[:2000])
    except (services.CaseError, ValueError) as exc:
        error = _message(exc)
    came_from = request.POST.get("from")
    if not request.headers.get("HX-Request"):
        return redirect(f"/cases/{s.case_id}/" if came_from == "case" else "/summons/")
    if came_from == "case":
        if error:
            return HttpResponse(f'<p class="error" role="alert">{escape(error)}</p>')
        resp = HttpResponse(f'<p class="ok" role="status">{escape(_("已报到"))}</p>')
        resp["HX-Refresh"] = "true"
        return resp
    fresh = Summons.objects.visible_to(user).select_related(*RELATED).prefetch_related("clocks").get(pk=s.pk)
    fresh = _decorate(user, fresh, timezone.now())
    return HttpResponse(render_to_string("web/_summons_item.html", {"s": fresh, "error": error, "ok": not error}, request))
