"""Pages of 专人办、结果亮 (deliberation, the execution slice).

Staff (/deliberation/execution/, deliberation × list): the ledger of the decisions of the grids in
scope, overdue first; the forms of the topic page's include (assign, carry out, report done,
publish the result) post here and return to the topic page (/deliberation/topics/<id>/).

Phone (/m/deliberation/execution/): my decisions to carry out (report "other" work done); the
topic page's include posts the rating here. Photos of a result are served to anyone who sees the
topic. Views validate and call gridgov.deliberation.execution."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.accounts import policy
from gridgov.accounts.decorators import staff_required

from . import execution, services, views_hub

m_login_required = login_required(login_url="/m/login/")
MAX_UPLOAD = 12 * 1024 * 1024


def _topic(request, pk):
    try:
        return services.get_topic(request.user, pk)
    except services.NotFound:
        raise Http404(_("没有这个议题")) from None


# --- staff -------------------------------------------------------------------------------------


@staff_required
def ledger(request):
    """The 专人办 ledger: overdue first, then due soon, by deadline."""
    if not policy.allows(request.user, services.KIND, "list"):
        raise PermissionDenied(_("该页面仅限工作人员"))
    state = request.GET.get("state", "")
    state = state if state in execution.LEDGER_STATES else ""
    rows = execution.ledger(request.user, state=state or None)
    counts = {"overdue": 0, "due_soon": 0, "done": 0, "open": 0}
    for r in execution.ledger(request.user) if state else rows:
        s = r["status"]
        counts["overdue" if s["overdue"] else "due_soon" if s["due_soon"] else "done" if s["done"] else "open"] += 1
    return render(request, "deliberation/execution_ledger.html", {
        "rows": rows, "state": state, "counts": counts,
        "states": [("overdue", _("已超期")), ("due_soon", _("3天内到期")), ("open", _("办理中")),
                   ("done", _("已办结")), ("unassigned", _("未指定负责人"))],
    })


def _staff_act(request, pk, fn):
    """Run `fn(topic)`; on error show the topic page with the message (and its status)."""
    topic = _topic(request, pk)
    try:
        fn(topic)
    except services.DeliberationError as exc:
        ctx = views_hub._header(topic)
        for mod in views_hub.SLICES:
            ctx.update(mod.staff_context(request.user, topic))
        ctx["x_error"] = str(exc)
        return render(request, "deliberation/staff_topic.html", ctx, status=exc.status)
    return redirect(f"/deliberation/topics/{pk}/#execution")


def _owner_from(post):
    from gridgov.accounts.models import User

    raw = (post.get("owner") or "").strip()
    if not raw.isdigit():
        return None
    return User.objects.filter(pk=int(raw), is_active=True).first()


@staff_required
@require_POST
def assign(request, pk):
    p = request.POST
    return _staff_act(request, pk, lambda t: execution.assign(
        request.user, t, owner=_owner_from(p), owner_name=p.get("owner_name", ""), deadline=p.get("deadline", ""),
        work=p.get("work", "")))


@staff_required
@require_POST
def carry_out(request, pk):
    p = request.POST
    details = {k: p.get(k) for k in ("item", "title", "place_name", "milestone") if p.get(k)}
    for k in ("starts_at", "ends_at"):
        if p.get(k):
            details[k] = p.get(k)
    if (p.get("places") or "").isdigit():
        details["places"] = int(p["places"])
    return _staff_act(request, pk, lambda t: execution.carry_out(request.user, t, carrier=p.get("carrier", ""),
                                                                 **details))


@staff_required
@require_POST
def done(request, pk):
    return _staff_act(request, pk, lambda t: execution.report_done(request.user, t, note=request.POST.get("note", "")))


@staff_required
@require_POST
def result(request, pk):
    files = [f.read(MAX_UPLOAD + 1) for f in request.FILES.getlist("photos")]
    return _staff_act(request, pk, lambda t: execution.publish_result(
        request.user, t, summary=request.POST.get("summary", ""), photos=files))


@login_required
def photo(request, pk):
    """A result's photo: anyone who sees its topic."""
    try:
        p = execution.photo_for(request.user, pk)
    except services.NotFound:
        raise Http404(_("没有这张照片")) from None
    return FileResponse(p.file.open("rb"), content_type=p.content_type or "image/jpeg")


# --- phone -------------------------------------------------------------------------------------


@m_login_required
def m_mine(request):
    """My decisions to carry out, with the report-done form for "other" work."""
    return render(request, "deliberation/m_execution_mine.html", {
        "tab": "deliberation", "rows": execution.mine(request.user), "error": request.GET.get("error", ""),
    })


@m_login_required
@require_POST
def m_done(request, pk):
    topic = _topic(request, pk)
    try:
        execution.report_done(request.user, topic, note=request.POST.get("note", ""))
    except services.DeliberationError as exc:
        return render(request, "deliberation/m_execution_mine.html", {
            "tab": "deliberation", "rows": execution.mine(request.user), "error": str(exc)}, status=exc.status)
    return redirect("/m/deliberation/execution/mine/?done=1")


@m_login_required
@require_POST
def m_rate(request, pk):
    topic = _topic(request, pk)
    try:
        execution.rate(request.user, topic, score=request.POST.get("score", ""), comment=request.POST.get("comment", ""))
    except services.DeliberationError as exc:
        ctx = {**views_hub._header(topic), "tab": "deliberation"}
        for mod in views_hub.SLICES:
            ctx.update(mod.m_context(request.user, topic))
        ctx["x_error"] = str(exc)
        return render(request, "deliberation/m_topic.html", ctx, status=exc.status)
    return redirect(f"/m/deliberation/topics/{pk}/#result")
