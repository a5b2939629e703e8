"""The workbench of grid workers and community staff (the home page `/`): the cases in their
scope by state and deadline with the time left on each clock, one- or two-click actions
(HTMX posts that call `gridgov.cases.services`; errors such as Conflict shown inline), and a
case's page with its timeline, routing reason, photos, followers and ratings."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from gridgov.accounts import departments, policy
from gridgov.accounts.decorators import staff_required
from gridgov.cases import services
from gridgov.cases.models import FOLLOWER, FULL, OPEN_STATES, Case, CaseFollower, Channel, Item, State, Summons
from gridgov.cases.templatetags.cases_extras import clock_view, current_clocks


#: the "to do" filter: open cases, and resolved ones waiting for verification
TODO_STATES = (*OPEN_STATES, State.RESOLVED)
#: row actions offered in one click, in this order, each when `services.may_act` says so
ROW_ACTIONS = [
    ("accept", gettext_lazy("受理")), ("arrive", gettext_lazy("到场")), ("resolve", gettext_lazy("办结")),
    ("verify", gettext_lazy("核查通过")), ("return", gettext_lazy("退回")), ("escalate", gettext_lazy("升级")),
]
ACTION_OK = {
    "accept": gettext_lazy("已受理"), "arrive": gettext_lazy("已到场"), "resolve": gettext_lazy("已办结"),
    "verify": gettext_lazy("已核查通过"), "rework": gettext_lazy("已退回返工"), "close": gettext_lazy("已结案"),
    "return": gettext_lazy("已退回"), "escalate": gettext_lazy("已升级"), "summon": gettext_lazy("已吹哨"),
    "merge": gettext_lazy("已合并"), "dispatch": gettext_lazy("已派单"), "reject": gettext_lazy("已不予受理"),
}


def _cases(user):
    return Case.objects.visible_to(user).select_related("item", "grid", "handler_user").prefetch_related("clocks")


def _row_actions(user, case):
    return [(a, label) for a, label in ROW_ACTIONS if services.may_act(user, case, a)]


def _decorate(user, case, now):
    case.clock_views = current_clocks(case, now)
    case.actions = _row_actions(user, case)
    case.late = any(c["level"] == "late" and not c["stopped"] for c in case.clock_views)
    return case


FILTERS = [("open", gettext_lazy("待办")), ("overdue", gettext_lazy("已超时")), ("stuck", gettext_lazy("无人经办")),
           *[(s.value, s.label) for s in State], ("all", gettext_lazy("全部"))]


def workbench(request):
    """The staff home page; residents and volunteers who land here go to their phone pages."""
    from django.shortcuts import redirect

    if request.user.is_authenticated and not request.user.is_staff_role:
        return redirect("/m/")
    return _workbench(request)


#: rows per page of the workbench
PAGE_SIZE = 50


def search_cases(qs, q: str):
    """Cases whose number starts with `q` (a whole number finds that case) or whose text or
    address holds it."""
    q = q.strip()
    if not q:
        return qs
    return qs.filter(Q(number__startswith=q) | Q(text__icontains=q) | Q(address__icontains=q))


@staff_required
def _workbench(request):
    user, now = request.user, timezone.now()
    state = request.GET.get("state", "open")
    mine = request.GET.get("mine") == "1"
    q = request.GET.get("q", "").strip()[:100]
    qs = search_cases(Case.objects.queue_of(user), q)
    if mine:
        qs = qs.filter(handler_user=user)
    counts = dict(qs.order_by().values_list("state").annotate(n=Count("id")))
    # overdue: the one definition (CaseQuerySet.overdue), as the dashboard counts it; stuck:
    # open cases nobody holds (leaders see every one of them)
    counts["overdue"], counts["stuck"] = qs.overdue(now).count(), qs.stuck().count()
    if state == "open":
        qs = qs.filter(state__in=TODO_STATES)
    elif state in ("overdue", "stuck"):
        qs = qs.overdue(now) if state == "overdue" else qs.stuck()
    elif state != "all":
        qs = qs.filter(state=state)
    rows = qs.select_related("item", "grid", "handler_user").prefetch_related("clocks").by_deadline(TODO_STATES)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    cases = [_decorate(user, c, now) for c in page.object_list]
    filters = [(k, label, sum(counts.get(s, 0) for s in TODO_STATES) if k == "open" else
                sum(counts.get(s, 0) for s in State.values) if k == "all" else counts.get(k, 0)) for k, label in FILTERS]
    keep = {k: v for k, v in (("state", state), ("mine", "1" if mine else ""), ("q", q)) if v}
    section = policy.holds(user, "department") or policy.holds(user, "property")
    ctx = {
        "cases": cases, "page": page, "filters": [f for f in filters if f[2] or f[0] in ("open", "all", state)],
        "state": state, "mine": mine, "q": q, "query": urlencode(keep),
        "chip_query": urlencode({k: v for k, v in keep.items() if k != "state"}),
        "late": counts["overdue"],
        "section": section,
        "open_summons": Summons.objects.answered_by(user).filter(reported_at__isnull=True).count() if section else 0,
    }
    template = "web/_workbench_cases.html" if request.headers.get("HX-Request") else "web/workbench.html"
    return render(request, template, ctx)


def _case_or_404(user, pk):
    case = _cases(user).filter(pk=pk).first()
    if case is None:
        raise Http404("没有这个事件")
    return case


@staff_required
def case_page(request, pk):
    """The full case page, for staff whose work the case is; one they only reported or joined
    they read on the phone page, as any co-reporter (joining widens nobody's scope)."""
    user, now = request.user, timezone.now()
    case = _cases(user).filter(pk=pk).first()
    if case is None:
        if Case.objects.access(user, pk) == FOLLOWER:
            return redirect(f"/m/cases/{pk}/")
        raise Http404("没有这个事件")
    case = _decorate(user, case, now)
    manage = services.may_manage(user, case)
    # a 12345 ticket's case: the ticket (if the user sees it) with its category, linked to its page
    ticket = case.hotline_tickets.visible_to(user).first() if case.channel == Channel.HOTLINE else None
    return render(request, "web/case_detail.html", {
        "ticket": ticket,
        "case": case, "view": services.view_for(case, user, FULL), "photos": case.photos.all(),
        "followers": CaseFollower.objects.filter(case=case).select_related("user").order_by("at"),
        "summons": case.summons.all(),
        "clocks": [(c, clock_view(c, now)) for c in case.clocks.all()],
        "reason": case.routing_reason or {}, "may_manage": manage,
        "may_verify": services.may_act(user, case, "verify"),
        "may_dispatch": manage and case.state in services.TRANSITIONS["dispatch"][0],
        "may_merge": manage and case.state in OPEN_STATES,
        "items": Item.objects.filter(active=True).order_by("scenario_id", "id"),
        "departments": departments.choices(),  # the active department records (accounts.departments)
    })


def _message(exc) -> str:
    if isinstance(exc, services.NotAllowed):
        return _("无权操作：%(reason)s") % {"reason": exc}
    if isinstance(exc, services.Conflict):
        return _("状态已变化，请刷新：%(reason)s") % {"reason": exc}
    return _("无法办理：%(reason)s") % {"reason": exc}


def _perform(request, case, action):
    user, post = request.user, request.POST
    note = post.get("note", "").strip()[:1000]
    if action == "verify":
        return services.verify(case, user, post.get("passed", "1") != "0", note)
    if action == "dispatch":
        code = post.get("item") or ""
        item = Item.objects.filter(code=code, active=True).first() if code else None
        if code and item is None:
            raise services.InvalidInput(_("事项 %(code)r 不存在") % {"code": code})
        return services.dispatch(case, user, note, item=item)
    if action == "summon":
        departments = [d for d in post.getlist("departments") if d]
        return services.summon(case, user, departments, note, post.get("hours") or None)
    if action == "merge":
        ref = post.get("target", "").strip()
        target = _cases(user).filter(number=ref).first() or (_cases(user).filter(pk=int(ref)).first() if ref.isdigit() else None)
        if target is None:
            raise services.InvalidInput(_("找不到可见的目标事件 %(ref)r（填写事件编号）") % {"ref": ref})
        return services.merge(case, target, user, note)
    if action == "resolve":  # what was done, and photos of the result (services.check_resolution)
        return services.resolve(case, user, note, photos=request.FILES.getlist("photos"))
    fn = {"accept": services.accept, "arrive": services.arrive, "close": services.close,
          "return": services.return_case, "escalate": services.escalate, "reject": services.reject}.get(action)
    if fn is None:
        raise Http404("没有这个操作")
    return fn(case, user, note)


@staff_required
@require_POST
def case_action(request, pk, action):
    """One action; from a workbench row (HTMX swaps the row, with the outcome inline), from the
    case page (HTMX: reload on success, the error inline), or a plain form post (redirect)."""
    user = request.user
    case = _case_or_404(user, pk)
    error = None
    try:
        _perform(request, case, action)
    except (services.CaseError, ValueError) as exc:
        error = _message(exc)
    label = ACTION_OK.get("rework" if action == "verify" and request.POST.get("passed") == "0" else action, _("已办理"))
    if not request.headers.get("HX-Request"):
        return redirect(f"/cases/{case.pk}/")
    if request.POST.get("from") == "row":
        fresh = _decorate(user, _case_or_404(user, pk), timezone.now())
        html = render_to_string("web/_case_row.html", {"c": fresh, "error": error, "ok": None if error else label}, request)
        return HttpResponse(html)
    if error:
        return HttpResponse(f'<p class="error" role="alert">{escape(error)}</p>')
    resp = HttpResponse(f'<p class="ok" role="status">{label}</p>')
    resp["HX-Refresh"] = "true"
    return resp




@login_required
def case_photo(request, pk, photo):
    """A case's photo, for whoever may see the case (staff in scope, reporter, followers)."""
    case = Case.objects.visible_to(request.user, following=True).filter(pk=pk).first()
    p = case.photos.filter(pk=photo).first() if case else None
    if p is None:
        raise Http404("没有这张照片")
    return FileResponse(p.file.open("rb"), content_type=p.content_type)
