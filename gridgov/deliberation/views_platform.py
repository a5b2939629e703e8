"""Staff pages of 平台议, at /deliberation/ (staff roles; the services check the place):

* /deliberation/              the board: the topics of a community by process and phase (columns),
  filtered by month and state, the month's topics first, overdue phases flagged; links to the
  other steps' pages
* /deliberation/month/        the month's data (recurring problems, hot spots, near-duplicate
  topics of cases and tickets) beside the community's proposals: "offer as proposal" and
  "choose as this month's topic"
* /deliberation/enter/        staff enter a topic (a letterbox slip, a home visit)
* /deliberation/processes/    the processes and their phases with flags: new, edit, default, stop
* POST /deliberation/topics/<id>/{advance,choose,decline,problem}/   the topic page's controls

Views validate and call gridgov.deliberation.platform."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from gridgov.geo import levels as gl
from gridgov.accounts import policy
from gridgov.accounts.decorators import staff_required

from . import platform, services, views_hub
from .models import FLAGS, Topic
from .models import POLICY_KIND as KIND

#: the other steps' staff pages (the hub on the board)
HUB = (("/deliberation/month/", gettext_lazy("本月数据与议题")),
       ("/deliberation/proposals/held/", gettext_lazy("待审核评论")),
       ("/deliberation/proposals/qr/", gettext_lazy("楼栋二维码")),
       ("/deliberation/meetings/", gettext_lazy("议事会")),
       ("/deliberation/execution/", gettext_lazy("专人办理与结果")),
       ("/deliberation/effect/", gettext_lazy("议事成效")),
       ("/deliberation/processes/", gettext_lazy("议事流程")))
FLAG_LABELS = (("proposals_open", gettext_lazy("征集议题")), ("support_open", gettext_lazy("附议")),
               ("discussion_open", gettext_lazy("公开讨论")), ("meeting", gettext_lazy("协商决定")),
               ("execution", gettext_lazy("专人办理")), ("published", gettext_lazy("结果公开")))


def _require_list(user):
    if not policy.allows(user, KIND, "list"):
        raise PermissionDenied(_("该页面仅限议事工作人员"))


def _community(request, communities):
    """The community chosen by ?community= (code), else the user's first."""
    code = (request.GET.get("community") or request.POST.get("community") or "").strip()
    found = next((c for c in communities if c.code == code), None)
    return found or (communities[0] if communities else None)


def _month(request, default):
    month = (request.GET.get("month") or "").strip()
    if not month:
        return default
    try:
        return platform.check_month(month)
    except services.DeliberationError:
        return default


@staff_required
def board(request):
    _require_list(request.user)
    now = timezone.now()
    communities = platform.communities_for(request.user)
    community = _community(request, communities)
    month = _month(request, "")
    state = request.GET.get("state", "open")
    if state != "all" and state not in Topic.State.values:
        state = "open"
    columns = platform.board(request.user, community=community, month=month or None, state=state, now=now) \
        if community is not None else []
    return render(request, "deliberation/platform_board.html", {
        "communities": communities, "community": community, "month": month, "this_month": platform.month_of(now),
        "state": state, "states": Topic.State.choices, "board": columns, "hub": HUB,
        "may_enter": community is not None and policy.allows(request.user, KIND, "create", community.path),
    })


def _month_context(request, community, month, communities, **extra):
    ctx = {"communities": communities, "community": community, "month": month, "data": None, "error": ""}
    if community is not None:
        try:
            ctx["data"] = platform.month_data(request.user, community, month)
        except services.DeliberationError as exc:
            ctx["error"] = str(exc)
        ctx["may_offer"] = policy.allows(request.user, KIND, "create", community.path)
        ctx["may_choose"] = policy.allows(request.user, KIND, "update", community.path)
    from gridgov.hotline.rates import add_months

    ctx.update({"prev_month": add_months(month, -1), "next_month": add_months(month, 1),
                "discussion_days": platform.conf.get_int("DELIBERATION_DISCUSSION_DAYS")})
    ctx.update(extra)
    return ctx


@staff_required
def month_page(request):
    _require_list(request.user)
    communities = platform.communities_for(request.user)
    community = _community(request, communities)
    month = _month(request, platform.month_of(timezone.now()))
    return render(request, "deliberation/platform_month.html", _month_context(request, community, month, communities))


@staff_required
@require_POST
def month_offer(request):
    """Offer a problem of the month's data as a proposal."""
    _require_list(request.user)
    p = request.POST
    communities = platform.communities_for(request.user)
    try:
        topic = platform.from_data(request.user, community=p.get("community", ""), place=p.get("place", ""),
                                   category=p.get("category", ""), month=p.get("month", ""),
                                   title=p.get("title") or None)
    except services.DeliberationError as exc:
        community = next((c for c in communities if c.code == p.get("community")), None)
        month = _month(request, platform.month_of(timezone.now())) if not p.get("month") else p.get("month")
        try:
            month = platform.check_month(month)
        except services.DeliberationError:
            month = platform.month_of(timezone.now())
        ctx = _month_context(request, community, month, communities, action_error=str(exc))
        return render(request, "deliberation/platform_month.html", ctx, status=exc.status)
    messages.success(request, _("已作为议题提出：%(title)s") % {"title": topic.title})
    return redirect(f"/deliberation/topics/{topic.pk}/")


def _enter_context(request, **extra):
    from gridgov.geo.models import GridNode
    from gridgov.registry.models import Compound

    communities = platform.communities_for(request.user)
    paths = [c.path for c in communities]
    nodes = [n for n in GridNode.objects.filter(level__gte=gl.community_level()).order_by("path")
             if any(n.path.startswith(p) for p in paths) and policy.allows(request.user, KIND, "create", n.path)][:500]
    compounds = list(Compound.objects.filter(community__in=communities).select_related("community").order_by(
        "community__code", "name")[:500])
    ctx = {"nodes": nodes, "compounds": compounds, "channels": [(c, l) for c, l in Topic.Channel.choices
                                                                if c in platform.ENTER_CHANNELS], "form": {}}
    ctx.update(extra)
    return ctx


@staff_required
def enter_page(request):
    if not policy.allows(request.user, KIND, "create"):
        raise PermissionDenied(_("无权录入议题"))
    if request.method == "POST":
        p = request.POST
        try:
            topic = platform.enter(request.user, title=p.get("title", ""), body=p.get("body", ""),
                                   node=p.get("node", ""), compound=p.get("compound") or None,
                                   building=p.get("building") or None, channel=p.get("channel", "staff"),
                                   person_name=p.get("person_name", ""))
        except services.DeliberationError as exc:
            return render(request, "deliberation/platform_enter.html", _enter_context(request, form=p, error=str(exc)),
                          status=exc.status)
        messages.success(request, _("议题已录入"))
        return redirect(f"/deliberation/topics/{topic.pk}/")
    return render(request, "deliberation/platform_enter.html", _enter_context(request))


# --- the topic page's controls ---------------------------------------------------------------


def _back(request, topic):
    nxt = request.POST.get("next", "")
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        return redirect(nxt)
    return redirect(f"/deliberation/topics/{topic.pk}/")


def _topic_act(request, pk, fn, done, **kwargs):
    try:
        topic = services.get_topic(request.user, pk)
    except services.NotFound:
        raise Http404("no such topic") from None
    try:
        fn(request.user, topic, **kwargs)
    except services.DeliberationError as exc:
        topic = services.get_topic(request.user, pk)
        ctx = views_hub._header(topic)
        for mod in views_hub.SLICES:
            ctx.update(mod.staff_context(request.user, topic))
        ctx["platform"]["error"] = str(exc)
        return render(request, "deliberation/staff_topic.html", ctx, status=exc.status)
    messages.success(request, done)
    return _back(request, topic)


@staff_required
@require_POST
def topic_advance(request, pk):
    p = request.POST
    return _topic_act(request, pk, platform.move, _("议题已推进"), to=p.get("to") or None, days=p.get("days") or None,
                      version=p.get("version") or None, note=p.get("note", ""))


@staff_required
@require_POST
def topic_choose(request, pk):
    p = request.POST
    return _topic_act(request, pk, platform.choose, _("已选为每月一题"), month=p.get("month", ""),
                      days=p.get("days") or None)


@staff_required
@require_POST
def topic_decline(request, pk):
    return _topic_act(request, pk, lambda u, t: platform.decline(u, t, request.POST.get("reason", "")), _("议题未予采纳"))


@staff_required
@require_POST
def topic_problem(request, pk):
    p = request.POST
    return _topic_act(request, pk, platform.set_problem, _("已标明问题"), place=p.get("place", ""),
                      category=p.get("category", ""), category_l1=p.get("category_l1", ""),
                      category_l2=p.get("category_l2", ""))


# --- processes -------------------------------------------------------------------------------


def _phases_from_post(p) -> list[dict]:
    """Phase rows of a process form: fields <field>_<i> for i = 0..; a row with `remove_<i>` or
    without a name is left out; rows are ordered by `pos_<i>` (then their order)."""
    rows = []
    i = 0
    while f"name_{i}" in p and i < 60:
        name = p.get(f"name_{i}", "").strip()
        if name and not p.get(f"remove_{i}"):
            try:
                pos = int(p.get(f"pos_{i}") or 0)
            except ValueError:
                pos = 0
            rows.append((pos or 1000 + i, i, {
                "id": p.get(f"id_{i}") or None, "name": name, "description": p.get(f"desc_{i}", ""),
                "days": p.get(f"days_{i}", "").strip() or None, **{f: bool(p.get(f"{f}_{i}")) for f in FLAGS}}))
        i += 1
    return [r for _pos, _i, r in sorted(rows, key=lambda x: (x[0], x[1]))]


def _processes_context(request, **extra):
    communities = platform.communities_for(request.user)
    rows = []
    for proc in platform.processes_visible(request.user):
        phases = list(proc.phases.all())
        rows.append({"process": proc, "phases": phases, "blank": range(len(phases), len(phases) + 2),
                     "may_edit": platform.may_edit_process(request.user, proc)})
    editable = [c for c in communities if policy.allows(request.user, KIND, "update", c.path)]
    ctx = {"rows": rows, "flags": FLAG_LABELS, "communities": editable,
           "may_street": policy.allows(request.user, "settings", "update"), "new_rows": range(6), "form": {}}
    ctx.update(extra)
    return ctx


@staff_required
def processes_page(request):
    _require_list(request.user)
    if request.method == "POST":
        p = request.POST
        try:
            proc = platform.create_process(request.user, name=p.get("name", ""), community=p.get("community") or None,
                                           phases=_phases_from_post(p), description=p.get("description", ""))
        except services.DeliberationError as exc:
            return render(request, "deliberation/platform_processes.html",
                          _processes_context(request, error=str(exc), form=p), status=exc.status)
        messages.success(request, _("流程“%(name)s”已创建") % {"name": proc.name})
        return redirect("/deliberation/processes/")
    return render(request, "deliberation/platform_processes.html", _processes_context(request))


def _process_act(request, pk, fn, done, **kwargs):
    _require_list(request.user)
    proc = platform.processes_visible(request.user).filter(pk=pk).first()
    if proc is None:
        raise Http404("no such process")
    try:
        fn(request.user, proc, **kwargs)
    except services.DeliberationError as exc:
        return render(request, "deliberation/platform_processes.html",
                      _processes_context(request, error=str(exc), error_process=proc.pk), status=exc.status)
    messages.success(request, done)
    return redirect("/deliberation/processes/")


@staff_required
@require_POST
def process_edit(request, pk):
    p = request.POST
    return _process_act(request, pk, platform.update_process, _("流程已保存"), name=p.get("name", ""),
                        description=p.get("description", ""), phases=_phases_from_post(p))


@staff_required
@require_POST
def process_default(request, pk):
    return _process_act(request, pk, platform.set_default, _("已设为默认流程"))


@staff_required
@require_POST
def process_deactivate(request, pk):
    return _process_act(request, pk, platform.deactivate, _("流程已停用"))

