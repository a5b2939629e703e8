"""The 12345 office's pages: tickets (list, page, category correction), the address queue, the
month's topics, proactive projects, and the printable monthly report with its workbook.

Views read rows only through `.visible_to(request.user)`, check the form input and call
`services` (every change, with its history row) or the read-only `rates` and `clusters`; they
hold no business rules. HTMX posts answer with a fragment (errors inline, in the request's
language); plain form posts redirect."""

import io
from datetime import date

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from gridgov.core.dbrouter import reads_from_replica
from gridgov.geo import levels as gl
from gridgov.accounts import policy
from gridgov.accounts.decorators import staff_required
from gridgov.geo.models import GridNode

from . import clusters, rates, services
from .models import AddressMatch, CategorySource, Milestone, ProactiveProject, Ticket

PAGE_SIZE = 50
QUEUE_SIZE = 100


def _bad_month(request, exc: "rates.MonthError", back: str) -> HttpResponse:
    """400: the page's month (rates.check_month refused it), with the months it takes."""
    error = _("“%(month)s”不是有效月份：请填写 %(first)s 至 %(last)s 之间的月份，例如 %(last)s。") % {
        "month": str(exc.value)[:40], "first": exc.first, "last": exc.last}
    return HttpResponse(render_to_string("hotline/form_error.html", {"error": error, "back": back, "title": _("月份")}, request),
                        status=400)


def _is_month(value) -> bool:
    try:
        rates.check_month(value)
    except ValueError:
        return False
    return True


def _default_month():
    return rates.add_months(timezone.localtime().strftime("%Y-%m"), -1)


def _id(value):
    """A database id from form input, or None (not digits, or beyond a 64-bit key)."""
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


def _hx(request) -> bool:
    return bool(request.headers.get("HX-Request"))


def _alert(text, status=200):
    return HttpResponse(f'<p class="error" role="alert">{escape(text)}</p>', status=status)


# --- the monthly report ----------------------------------------------------------------------


def _unit_level(request) -> int:
    """The report's units from ?level= (street, community, grid or 0, 1, 2); communities otherwise."""
    try:
        return rates.unit_level(request.GET.get("level"))
    except ValueError:
        return 1


@staff_required
@reads_from_replica
def monthly_report(request, month=None):
    try:
        month = rates.check_month(month or request.GET.get("month") or _default_month())
    except rates.MonthError as exc:
        return _bad_month(request, exc, "/hotline/report/")
    level = _unit_level(request)
    report = rates.monthly_report(month, request.user, level)
    topics = clusters.month_topics(month, limit=5, user=request.user)  # tickets and cases in the user's scope
    return render(request, "hotline/monthly_report.html", {
        "r": report, "topics": topics, "month": month, "level": level, "by_street": gl.multi_street(),
        "prev_month": rates.add_months(month, -1), "next_month": rates.add_months(month, 1),
    })


@staff_required
@reads_from_replica
def monthly_report_xlsx(request, month):
    try:
        month = rates.check_month(month)
    except rates.MonthError as exc:
        return _bad_month(request, exc, "/hotline/report/")
    level = _unit_level(request)
    buf = io.BytesIO()
    rates.export_xlsx(rates.monthly_report(month, request.user, level), buf)
    resp = HttpResponse(buf.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp["Content-Disposition"] = f'attachment; filename="hotline-rates-{month}.xlsx"'
    return resp


# --- tickets -------------------------------------------------------------------------------


def _ticket_or_404(user, pk) -> Ticket:
    t = (Ticket.objects.visible_to(user).select_related("grid", "community", "case", "matched_address")
         .filter(pk=pk).first())
    if t is None:
        raise Http404("没有这张工单")
    return t


def _nodes(user, levels=(1, 2)):
    """Communities and grids the user sees, in tree order (for grid pickers and filters)."""
    return GridNode.objects.visible_to(user).filter(level__in=levels).order_by("path")


YES_NO = [("yes", pgettext_lazy("yes or no", "有")), ("no", pgettext_lazy("yes or no", "无"))]
SOURCE_CHOICES = [("none" if v == "" else v, label) for v, label in CategorySource.choices]


#: the monthly report's figures → the tickets behind them (rates.MEASURES)
MEASURE_CHOICES = [
    ("valid", gettext_lazy("有效（考核）工单")), ("invalid", gettext_lazy("无效工单")), ("contacted", gettext_lazy("已联系")),
    ("not_contacted", gettext_lazy("未联系（拉低响应率）")), ("solved", gettext_lazy("已解决")),
    ("unsolved", gettext_lazy("未解决（拉低解决率）")), ("rated", gettext_lazy("有评价")), ("satisfied", gettext_lazy("满意")),
    ("basic", gettext_lazy("基本满意")), ("unsatisfied", gettext_lazy("不满意（拉低满意率）")),
]


@staff_required
def ticket_list(request):
    """Tickets in the user's scope, newest first, with filters and a text search (HTMX swaps
    the rows; the address bar keeps the filters)."""
    user = request.user
    policy.require(user, "tickets", "list")
    visible = Ticket.objects.visible_to(user)
    qs = visible.select_related("grid", "community", "case")
    f = {k: request.GET.get(k, "").strip() for k in ("month", "grid", "category", "match", "source", "case", "q", "measure")}
    if f["month"]:
        try:
            f["month"] = rates.check_month(f["month"])
        except rates.MonthError as exc:
            return _bad_month(request, exc, "/hotline/tickets/")
        qs = qs.filter(month=f["month"])
    grid = None
    if f["grid"]:
        grid = GridNode.objects.visible_to(user).filter(code=f["grid"]).first()
        if grid is None:
            raise Http404("没有这个网格")
        qs = qs.filter(grid__path__startswith=grid.path)
    if f["category"]:
        qs = qs.filter(category_l1="" if f["category"] == "none" else f["category"])
    if f["match"] in AddressMatch.values:
        qs = qs.filter(address_match=f["match"])
    if f["source"] in dict(SOURCE_CHOICES):
        qs = qs.filter(category_source="" if f["source"] == "none" else f["source"])
    if f["case"] in ("yes", "no"):
        qs = qs.filter(case__isnull=f["case"] == "no")
    if f["measure"] in rates.MEASURES:  # drill-down from a figure of the monthly report
        qs = qs.filter(rates.MEASURES[f["measure"]])
    else:
        f["measure"] = ""
    if f["q"]:
        qs = qs.filter(Q(content__icontains=f["q"]) | Q(ticket_id__icontains=f["q"]) | Q(address_text__icontains=f["q"]))
    page = Paginator(qs.order_by("-received_at", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    ctx = {"page": page, "f": f, "query": params.urlencode()}
    if _hx(request):
        return render(request, "hotline/_ticket_rows.html", ctx)
    ctx.update(
        months=list(visible.order_by("-month").values_list("month", flat=True).distinct()),
        nodes=_nodes(user),
        categories=list(visible.exclude(category_l1="").order_by("category_l1").values_list("category_l1", flat=True).distinct()),
        matches=AddressMatch.choices, sources=SOURCE_CHOICES, yes_no=YES_NO, measures=MEASURE_CHOICES,
    )
    return render(request, "hotline/tickets.html", ctx)


def _case_summary(user, t: Ticket):
    """The ticket's case for its page: the case (None without one), whether the user may open
    it, and the last steps of its timeline."""
    if not t.case_id:
        return {"case": None}
    from gridgov.cases import services as cases
    from gridgov.cases.models import Case

    case = Case.objects.visible_to(user).filter(pk=t.case_id).first()
    if case is None:  # the ticket is in scope, its case is not (e.g. placed elsewhere since)
        return {"case": t.case, "visible": False}
    events = cases.timeline(case)
    return {"case": case, "visible": True, "events": events[-6:], "more": max(0, len(events) - 6)}


def _category_ctx(user, t: Ticket, **extra):
    return {
        "t": t, "labels": services.category_labels(), "level2": services.category_level2_names(),
        "may_update": policy.allows(user, "tickets", "update"), **extra,
    }


@staff_required
def ticket_page(request, pk):
    user = request.user
    t = _ticket_or_404(user, pk)
    names = dict(GridNode.objects.filter(pk__in={c.get("grid_id") or c.get("community_id") for c in t.address_candidates})
                 .values_list("pk", "name"))
    candidates = [{**c, "place": names.get(c.get("grid_id") or c.get("community_id"), "")} for c in t.address_candidates]
    return render(request, "hotline/ticket.html", {
        **_category_ctx(user, t), "case_info": _case_summary(user, t), "candidates": candidates,
        "projects": t.projects.visible_to(user).select_related("grid"),
        "history": t.events.select_related("user").order_by("at", "id"),
    })


def _category_message(exc: services.CategoryError) -> str:
    if exc.code == "no_taxonomy":
        return _("服务器上没有分类体系（taxonomy.xlsx，也没有训练好的模型），无法校验分类。")
    if exc.code == "empty":
        return _("请选择一级分类。")
    if exc.code == "unknown":
        return _("一级分类「%(label)s」不在分类体系中，请从列表中选择。") % {"label": exc.label}
    if exc.code == "level3":
        return _("填写三级分类前请先填写二级分类。")
    return _("无法保存分类：%(error)s") % {"error": exc}


@staff_required
@require_POST
def ticket_category(request, pk):
    """Staff correct the category (services.set_category): HTMX swaps the category box."""
    user = request.user
    t = _ticket_or_404(user, pk)
    post = request.POST
    error = ok = None
    try:
        services.set_category(user, t, post.get("category_l1", ""), post.get("category_l2", ""), post.get("category_l3", ""))
        ok = _("已更正为「%(category)s」（人工）。") % {"category": t.category}
    except PermissionDenied:
        error = _("无权更正这张工单的分类。")
    except services.CategoryError as exc:
        error = _category_message(exc)
    if not _hx(request):
        if error is None:
            return redirect(f"/hotline/tickets/{t.pk}/")
        return HttpResponse(render_to_string("hotline/form_error.html", {"error": error, "back": f"/hotline/tickets/{t.pk}/"},
                                             request), status=400)
    # the box, and the history below it (out of band) when a correction was written
    history = t.events.select_related("user").order_by("at", "id") if ok else None
    return render(request, "hotline/_category_box.html", _category_ctx(user, t, error=error, ok=ok, oob_history=history))


# --- the address queue -----------------------------------------------------------------------


def _queue_rows(user, tickets):
    """Each pending ticket with its candidates: the grid or community each lies in, and whether
    the user may confirm it (the standard address is in their scope)."""
    from gridgov.registry.models import Address

    ids = {c["id"] for t in tickets for c in t.address_candidates}
    confirmable = set(Address.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True))
    node_ids = {c.get("grid_id") or c.get("community_id") for t in tickets for c in t.address_candidates}
    names = dict(GridNode.objects.filter(pk__in=node_ids).values_list("pk", "name"))
    for t in tickets:
        t.candidates = [{**c, "place": names.get(c.get("grid_id") or c.get("community_id"), ""),
                         "confirmable": c["id"] in confirmable} for c in t.address_candidates]
    return tickets


@staff_required
def address_queue(request):
    user = request.user
    policy.require(user, "tickets", "list")
    qs = (Ticket.objects.visible_to(user).filter(address_match=AddressMatch.PENDING)
          .select_related("grid", "community").order_by("received_at", "id"))
    return render(request, "hotline/addresses.html", {
        "count": qs.count(), "tickets": _queue_rows(user, list(qs[:QUEUE_SIZE])), "limit": QUEUE_SIZE,
        "may_update": policy.allows(user, "tickets", "update"),
    })


def _queue_done(request, t: Ticket, text: str):
    """The row goes (empty body, swapped outerHTML) and the status line says what happened."""
    if not _hx(request):
        return redirect("/hotline/addresses/")
    return HttpResponse(f'<p id="queue-msg" class="ok" role="status" hx-swap-oob="true">{escape(text)}</p>')


def _queue_error(request, user, t: Ticket, error: str):
    if not _hx(request):
        return HttpResponse(render_to_string("hotline/form_error.html", {"error": error, "back": "/hotline/addresses/"},
                                             request), status=400)
    t = _ticket_or_404(user, t.pk)
    return render(request, "hotline/_address_row.html", {
        "t": _queue_rows(user, [t])[0], "error": error, "may_update": policy.allows(user, "tickets", "update"),
    })


@staff_required
@require_POST
def ticket_address(request, pk):
    """Confirm one of the ticket's candidate standard addresses (services.confirm_address)."""
    from gridgov.registry.models import Address

    user = request.user
    t = _ticket_or_404(user, pk)
    aid = _id(request.POST.get("address_id"))
    address = Address.objects.visible_to(user).filter(pk=aid).first() if aid is not None else None
    if address is None:
        return _queue_error(request, user, t, _("该地址不存在或不在您的辖区内。"))
    try:
        t = services.confirm_address(user, t, address)
    except PermissionDenied:
        return _queue_error(request, user, t, _("无权确认这张工单的地址。"))
    return _queue_done(request, t, _("工单 %(ticket)s 已确认地址「%(address)s」，归入%(grid)s。") % {
        "ticket": t.ticket_id, "address": address.text, "grid": t.grid.name if t.grid_id else "—"})


@staff_required
def ticket_grid(request, pk):
    """GET: the grid picker of one queue row (loaded on demand); POST: put the ticket in the
    chosen grid (services.place_ticket)."""
    user = request.user
    t = _ticket_or_404(user, pk)
    if request.method != "POST":
        return render(request, "hotline/_grid_form.html", {"t": t, "nodes": _nodes(user)})
    code = request.POST.get("grid", "").strip()
    grid = GridNode.objects.visible_to(user).filter(code=code, level__gte=gl.community_level()).first() if code else None
    if grid is None:
        return _queue_error(request, user, t, _("请选择您辖区内的社区或网格。"))
    try:
        t = services.place_ticket(user, t, grid)
    except PermissionDenied:
        return _queue_error(request, user, t, _("无权把这张工单放入该网格。"))
    return _queue_done(request, t, _("工单 %(ticket)s 已归入%(grid)s。") % {"ticket": t.ticket_id, "grid": grid.name})


# --- topics --------------------------------------------------------------------------------


def _place_defaults(user, places):
    """The grid and compound a cluster's project defaults to: those of its commonest place."""
    from gridgov.registry.models import Compound

    compounds, grid, compound = [], None, None
    ids = [int(p["key"].split(":")[1]) for p in places if p["key"].startswith("compound:")]
    by_id = {c.pk: c for c in Compound.objects.visible_to(user).filter(pk__in=ids).select_related("grid", "community")}
    compounds = [by_id[i] for i in ids if i in by_id]
    for p in places:
        kind, _, ident = p["key"].partition(":")
        if kind == "compound" and int(ident) in by_id:
            compound = by_id[int(ident)]
            grid = compound.grid or compound.community
            break
        if kind == "grid":
            grid = GridNode.objects.visible_to(user).filter(pk=int(ident)).first()
            if grid is not None:
                break
    return grid, compound, compounds


def _grid_choices(nodes, grid):
    """The communities and grids a topic's project form offers: with a default place, its
    community's (and the place itself, if finer); else all the user sees."""
    if grid is None:
        return nodes
    community = next((n for n in nodes if n.level == gl.community_level() and grid.path.startswith(n.path)), None)
    near = [n for n in nodes if community is not None and n.path.startswith(community.path)]
    return near + ([grid] if grid not in near else [])


def _split_key(category: str) -> tuple[str, str]:
    if category == "未分类":
        return "", ""
    l1, _, l2 = category.partition("/")
    return l1, l2


@staff_required
def topics(request):
    """The month's near-duplicate clusters, hot spots and recurring problems; from a cluster, a
    short form proposes a proactive project linked to its tickets."""
    user = request.user
    try:
        month = rates.check_month(request.GET.get("month") or _default_month())
    except rates.MonthError as exc:
        return _bad_month(request, exc, "/hotline/topics/")
    data = clusters.month_topics(month, limit=20, user=user)  # tickets and other channels' cases in scope
    nodes = list(_nodes(user))
    for c in data["topics"]:
        c["grid"], c["compound"], c["compounds"] = _place_defaults(user, c["places"])
        # a cases-only topic's category is a case item (not a 12345 category): the project gets none
        c["category_l1"], c["category_l2"] = _split_key(c["category"]) if c["category_source"] == "hotline" else ("", "")
        c["title"] = f"{c['places'][0]['name'] if c['places'] else ''}{c['category_l2'] or c['category_l1']}问题治理"
        c["nodes"] = _grid_choices(nodes, c["grid"])
    return render(request, "hotline/topics.html", {
        "month": month, "data": data, "funding": ProactiveProject.FUNDING,
        "prev_month": rates.add_months(month, -1), "next_month": rates.add_months(month, 1),
    })


# --- proactive projects --------------------------------------------------------------------


def _project_or_404(user, pk) -> ProactiveProject:
    p = ProactiveProject.objects.visible_to(user).select_related("grid", "compound", "created_by").filter(pk=pk).first()
    if p is None:
        raise Http404("没有这个项目")
    return p


def _date(value: str, what: str):
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(_("%(what)s不是有效日期（例如 2024-05-31）") % {"what": what})


def _form_result(request, back, error=None, to=None, ok=None):
    """HTMX: the error inline, or go to `to` / refresh the page; plain posts: redirect to `to`
    or `back` (errors on a small page with a link to `back`)."""
    if error is not None:
        if _hx(request):
            return _alert(error)
        return HttpResponse(render_to_string("hotline/form_error.html", {"error": error, "back": back}, request), status=400)
    if not _hx(request):
        return redirect(to or back)
    ok = ok or _("已保存")
    resp = HttpResponse(f'<p class="ok" role="status">{escape(ok)}</p>')
    if to:
        resp["HX-Redirect"] = to
    else:
        resp["HX-Refresh"] = "true"
    return resp


def _project_error(exc) -> str:
    return (_("无权操作：%(error)s") if isinstance(exc, PermissionDenied) else _("无法保存：%(error)s")) % {"error": exc}


@staff_required
@require_POST
def project_create(request):
    """A project from a topic: title, grid, optional compound, owner, funding source, budget, and
    the cluster's tickets (services.create_project keeps those the user sees)."""
    from gridgov.registry.models import Compound

    user, post = request.user, request.POST
    back = "/hotline/topics/" + (f"?month={post['month']}" if _is_month(post.get("month", "")) else "")
    title = post.get("title", "").strip()
    if not title:
        return _form_result(request, back, _("请填写项目名称。"))
    grid = GridNode.objects.visible_to(user).filter(code=post.get("grid", "").strip(), level__gte=gl.community_level()).first()
    if grid is None:
        return _form_result(request, back, _("请选择您辖区内的社区或网格。"))
    compound = None
    if post.get("compound"):
        cid = _id(post["compound"])
        compound = Compound.objects.visible_to(user).filter(pk=cid).first() if cid is not None else None
        if compound is None:
            return _form_result(request, back, _("所选小区不存在或不在您的辖区内。"))
    funding = post.get("funding_source", "")
    if funding and funding not in dict(ProactiveProject.FUNDING):
        return _form_result(request, back, _("请选择列表中的资金来源。"))
    try:
        budget = services.clean_budget(post.get("budget", ""))
    except services.BudgetError as exc:
        return _form_result(request, back, _("预算请填写金额（元），例如 120000。") if exc.kind == "number"
                            else _("预算请填写 0 到 99.99 亿之间的金额（元）。"))
    ticket_ids = [i for i in map(_id, post.getlist("ticket_ids")) if i is not None]
    try:
        p = services.create_project(
            user, title=title, grid=grid, compound=compound, tickets=ticket_ids, owner=post.get("owner", "").strip()[:100],
            funding_source=funding, budget=budget, description=post.get("description", "").strip(),
            category_l1=post.get("category_l1", "")[:100], category_l2=post.get("category_l2", "")[:100],
            cluster_key=post.get("cluster_key", ""),
        )
    except (PermissionDenied, services.ProjectError) as exc:
        return _form_result(request, back, _project_error(exc))
    return _form_result(request, back, to=f"/hotline/projects/{p.pk}/", ok=_("项目已提出"))


@staff_required
def project_list(request):
    user = request.user
    status = request.GET.get("status", "")
    qs = (ProactiveProject.objects.visible_to(user).select_related("grid", "compound")
          .prefetch_related("milestones").annotate(n_tickets=Count("tickets")))
    counts = dict(ProactiveProject.objects.visible_to(user).order_by().values_list("status").annotate(n=Count("id")))
    if status in ProactiveProject.Status.values:
        qs = qs.filter(status=status)
    else:
        status = ""
    return render(request, "hotline/projects.html", {
        "projects": qs, "status": status, "funding": dict(ProactiveProject.FUNDING),
        "filters": [("", _("全部"), sum(counts.values()))] + [(v, label, counts.get(v, 0)) for v, label in ProactiveProject.Status.choices],
    })


@staff_required
def project_page(request, pk):
    user = request.user
    p = _project_or_404(user, pk)
    status_labels = dict(ProactiveProject.Status.choices)
    return render(request, "hotline/project.html", {
        "p": p, "milestones": p.milestones.all(), "funding": dict(ProactiveProject.FUNDING),
        "next_statuses": [(s, status_labels[s]) for s in ProactiveProject.Status.values
                          if s in services.PROJECT_TRANSITIONS.get(p.status, ())],
        "tickets": p.tickets.visible_to(user).select_related("grid", "case").order_by("-received_at", "id"),
        "effect": services.project_effect(p), "history": p.events.select_related("user").order_by("at", "id"),
        "today": timezone.localdate(),
    })


@staff_required
@require_POST
def project_status(request, pk):
    user = request.user
    p = _project_or_404(user, pk)
    back = f"/hotline/projects/{p.pk}/"
    status = request.POST.get("status", "")
    if status not in ProactiveProject.Status.values:
        return _form_result(request, back, _("没有这个状态。"))
    try:
        on = _date(request.POST.get("on", ""), _("日期"))
        services.set_project_status(user, p, status, on)
    except ValueError as exc:  # ProjectError is a ValueError
        return _form_result(request, back, _project_error(exc) if isinstance(exc, services.ProjectError) else str(exc))
    except PermissionDenied as exc:
        return _form_result(request, back, _project_error(exc))
    return _form_result(request, back, to=None, ok=_("已改为「%(status)s」") % {"status": dict(ProactiveProject.Status.choices)[status]})


@staff_required
@require_POST
def milestone_add(request, pk):
    user = request.user
    p = _project_or_404(user, pk)
    back = f"/hotline/projects/{p.pk}/"
    title = request.POST.get("title", "").strip()
    if not title:
        return _form_result(request, back, _("请填写节点名称。"))
    try:
        due = _date(request.POST.get("due_on", ""), _("计划完成日期"))
        services.add_milestone(user, p, title, due)
    except ValueError as exc:
        return _form_result(request, back, _project_error(exc) if isinstance(exc, services.ProjectError) else str(exc))
    except PermissionDenied as exc:
        return _form_result(request, back, _project_error(exc))
    return _form_result(request, back, ok=_("节点已添加"))


@staff_required
@require_POST
def milestone_progress(request, pk, mid):
    user = request.user
    p = _project_or_404(user, pk)
    back = f"/hotline/projects/{p.pk}/"
    m = Milestone.objects.filter(pk=mid, project=p).first()
    if m is None:
        raise Http404("没有这个节点")
    raw = request.POST.get("progress", "").strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 3 and 0 <= int(raw) <= 100):
        return _form_result(request, back, _("进度请填写 0 到 100 之间的整数。"))
    try:
        done = _date(request.POST.get("done_on", ""), _("完成日期"))
        services.update_milestone(user, m, int(raw), done)
    except ValueError as exc:
        return _form_result(request, back, _project_error(exc) if isinstance(exc, services.ProjectError) else str(exc))
    except PermissionDenied as exc:
        return _form_result(request, back, _project_error(exc))
    return _form_result(request, back, ok=_("进度已更新"))

