"""Staff pages for duties (/duties/): the duties in force on a day (filters: grid, person, duty,
date; or every duty ever held), a form to assign a duty, one to end a duty (last day, successor),
and the coverage of the grids (/duties/coverage). Rows come through
`GridAssignment.objects.visible_to`; the changes go through accounts.duties."""

from datetime import date

from django.contrib import messages
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.accounts import duties, policy
from gridgov.accounts.decorators import staff_required
from gridgov.accounts.models import STAFF_ROLES, Duty, GridAssignment, User
from gridgov.geo.levels import level_index
from gridgov.geo.models import GridNode



def _day(text):
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _staff_people():
    return User.objects.filter(is_active=True, role__in=STAFF_ROLES).order_by("username")


def _nodes_for(user, action):
    """The grid nodes (down to the grid level) where `user` may assign or end duties."""
    nodes = GridNode.objects.filter(level__lte=level_index("grid")).order_by("path").only("code", "name", "path", "level")
    if policy.reach(user, "duties", action) == policy.ALL:
        return list(nodes)
    return [n for n in nodes.visible_to(user) if policy.allows(user, "duties", action, n.path)]


@staff_required
def duty_list(request):
    policy.require(request.user, "duties", "list")
    g = request.GET
    today = timezone.localdate()
    at = _day(g.get("at")) or today
    everything = g.get("all") == "1"
    qs = GridAssignment.objects.visible_to(request.user).select_related("user", "node", "ended_by")
    node = None
    if g.get("grid"):
        node = GridNode.objects.visible_to(request.user).filter(code=g["grid"].strip()).first()
        qs = qs.filter(node=node) if node else qs.none()
    if not everything:
        qs = qs.filter(pk__in=(duties.served(node, at) if node else GridAssignment.objects.in_force(at)).values("pk"))
    if g.get("user"):
        who = g["user"].strip()
        qs = qs.filter(Q(user__username=who) | Q(user__display_name__icontains=who))
    if g.get("duty") in Duty.values:
        qs = qs.filter(duty=g["duty"])
    rows = list(qs.order_by("node__path", "duty", "-since", "id")[:500])
    may_create = policy.allows(request.user, "duties", "create")
    may_end = policy.allows(request.user, "duties", "update")
    for a in rows:
        a.may_end = may_end and a.until is None and policy.allows(request.user, "duties", "update", a.node.path)
    ending = None
    if may_end and (g.get("end") or "").isdigit():
        ending = GridAssignment.objects.visible_to(request.user).select_related("user", "node").filter(
            pk=g["end"], until__isnull=True).first()
        if ending is not None and not policy.allows(request.user, "duties", "update", ending.node.path):
            ending = None
    people = list(_staff_people()) if (may_create or ending) else []
    filter_nodes = GridNode.objects.visible_to(request.user).filter(level__lte=level_index("grid")).order_by("path")
    return render(request, "web/duties.html", {
        "rows": rows, "at": at, "today": today, "everything": everything, "node": node, "f": g, "ending": ending,
        "filter_nodes": filter_nodes.only("code", "name"),
        "duties": Duty.choices, "may_create": may_create, "may_end": may_end, "people": people,
        "nodes": _nodes_for(request.user, "create") if may_create else [],
    })


def _back(request, default="/duties/"):
    nxt = request.POST.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, {request.get_host()}, require_https=request.is_secure()):
        return redirect(nxt)
    return redirect(default)


@staff_required
@require_POST
def duty_assign(request):
    policy.require(request.user, "duties", "create")
    p = request.POST
    person = User.objects.filter(pk=p.get("user") or 0).first() if (p.get("user") or "").isdigit() else None
    node = GridNode.objects.filter(code=(p.get("grid") or "").strip()).first()
    if person is None or node is None:
        messages.error(request, _("请选择人员和网格"))
        return _back(request)
    try:
        a = duties.assign_duty(request.user, person, node, p.get("duty") or "", _day(p.get("since")) or p.get("since"),
                               (p.get("note") or "")[:200])
    except duties.DutyError as exc:
        messages.error(request, str(exc))
        return _back(request)
    messages.success(request, _("已任命：%(user)s 任 %(node)s %(duty)s") % {
        "user": a.user, "node": a.node.name, "duty": a.get_duty_display()})
    return _back(request)


@staff_required
@require_POST
def duty_end(request, pk):
    policy.require(request.user, "duties", "update")
    a = GridAssignment.objects.visible_to(request.user).select_related("user", "node").filter(pk=pk).first()
    if a is None:
        raise Http404(_("没有这个职务"))
    p = request.POST
    successor = None
    if (p.get("successor") or "").isdigit():
        successor = User.objects.filter(pk=p["successor"]).first()
    try:
        done = duties.end_duty(request.user, a, _day(p.get("until")) or p.get("until") or None, successor,
                               (p.get("note") or "")[:200])
    except duties.DutyError as exc:
        messages.error(request, str(exc))
        return _back(request)
    messages.success(request, _("已结束 %(user)s 的%(duty)s职务（%(node)s），移交在办事件 %(n)d 件") % {
        "user": a.user, "duty": a.get_duty_display(), "node": a.node.name, "n": done.handed_over})
    return _back(request)


@staff_required
def duty_coverage(request):
    """The grids without a grid leader, a grid worker or a party organization on a day."""
    from gridgov.registry.coverage import coverage

    policy.require(request.user, "duties", "list")
    at = _day(request.GET.get("at")) or timezone.localdate()
    rep = coverage(at, user=request.user)
    sections = [
        (_("无网格长的网格"), rep["without_leader"]),
        (_("无网格员的网格"), rep["without_worker"]),
        (_("无党组织的网格"), rep["without_party_org"]),
    ]
    return render(request, "web/duty_coverage.html", {"rep": rep, "at": at, "sections": sections})


def grid_duties(user, node):
    """For the grid page: the duties in force today, and (for those who may list duties) every
    duty ever held on the grid."""
    people = duties.served(node)
    past = list(duties.history_of(node)) if policy.allows(user, "duties", "list", node.path) else None
    return people, past
