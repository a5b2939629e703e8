"""Pages of the grid worker's day (the day slice).

Phone (under /m/gridwork/, gridwork × create):
* ``/m/gridwork/`` — today: start / end a patrol (static/gridwork/m_patrol.js posts check-ins
  every ~30 s while the page is open and redraws the route as an SVG), today's figures, links.
* ``/m/gridwork/visit/?q=`` — find a house of one's grids by address; ``/m/gridwork/visit/<house>/``
  the visit form: residents with special-care badges to tick, who was met, needs lines.
* ``/m/gridwork/needs/`` — the needs heard, with one-tap "转为事件" (and "转为服务事项" for who may).
* ``/m/gridwork/log/?day=`` — the day's record: gathered figures, notes, photos, submit.
* ``/m/gridwork/plan/`` — the overdue visits of one's grids.

Staff (under /gridwork/day/, gridwork × list): patrols (filters worker / grid / date) and a
patrol's route, visits, the needs ledger (问题需求清单 → 服务事项清单) by state, the daily logs,
the overdue visits of the scope.

Views validate and call gridgov.gridwork.day."""

import json
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.accounts import policy
from gridgov.accounts.decorators import staff_required

from . import day as svc
from .models import DailyLog, Need, Patrol, Visit

m_login_required = login_required(login_url="/m/login/")
MAX_ROWS = 300


def _may_record(user) -> bool:
    return policy.allows(user, svc.KIND, "create")


def _require_record(user):
    if not _may_record(user):
        raise PermissionDenied(_("您没有网格工作的记录权限"))


def _require_list(user):
    if not policy.allows(user, svc.KIND, "list"):
        raise PermissionDenied(_("您不能查看网格工作记录"))


def _day(text) -> date:
    if not text:
        return timezone.localdate()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Http404(_("日期格式应为 YYYY-MM-DD")) from None


def _m(request, template, ctx):
    return render(request, f"gridwork/day/{template}", {"tab": "gridwork", **ctx})


# --- phone -----------------------------------------------------------------------------------


@m_login_required
def m_today(request):
    user = request.user
    _require_record(user)
    patrol = svc.active_patrol(user)
    today = timezone.localdate()
    route = svc.patrol_geojson(patrol)["geometry"]["coordinates"] if patrol and patrol.point_count else []
    if patrol and patrol.point_count == 1:
        route = [route]
    return _m(request, "m_today.html", {
        "patrol": patrol, "route_json": json.dumps(route), "svg": svc.route_svg(patrol) if patrol else {},
        "figures": svc.gathered(user, today), "node": svc.periods.serving(user, today),
        "log": svc.log_of(user, today)})


@m_login_required
def m_visit_find(request):
    _require_record(request.user)
    q = request.GET.get("q", "").strip()
    houses = svc.houses_for(request.user, q, limit=30) if q else []
    return _m(request, "m_visit_find.html", {"q": q, "houses": houses})


@m_login_required
def m_visit(request, house_id):
    user = request.user
    _require_record(user)
    try:
        house = svc.house_for(user, house_id)
    except svc.NotFound:
        raise Http404(_("房屋不存在")) from None
    residents = list(house.residents.filter(ended_on__isnull=True).order_by("id"))
    error = ""
    if request.method == "POST":
        p = request.POST
        by_id = {r.pk: r for r in residents}
        checked = [(by_id[int(i)], p.get(f"concern_{i}", "")) for i in p.getlist("resident") if i.isdigit() and int(i) in by_id]
        needs = []
        for k in range(3):
            text = p.get(f"need_text_{k}", "").strip()
            rid = p.get(f"need_resident_{k}", "")
            if text:
                needs.append((p.get(f"need_kind_{k}", "other"), text, by_id.get(int(rid)) if rid.isdigit() else None))
        lon, lat = p.get("lon") or None, p.get("lat") or None
        patrol = svc.active_patrol(user)
        try:
            svc.record_visit(user, house, p.get("outcome", "met"), p.get("met", ""), p.get("note", ""), checked, needs,
                             lon, lat, p.get("crs", "wgs84"), patrol)
        except svc.DayError as exc:
            error = str(exc)
        else:
            return redirect("/m/gridwork/?visited=1")
    return _m(request, "m_visit.html", {"house": house, "residents": residents, "error": error,
                                        "outcomes": Visit.Outcome.choices, "kinds": Need.Kind.choices,
                                        "lines": range(3)})


@m_login_required
def m_needs(request):
    user = request.user
    _require_record(user)
    state = request.GET.get("state", "")
    qs = Need.objects.visible_to(user).select_related("case", "resident", "visit__house__address", "worker")
    if not policy.allows(user, svc.KIND, "update"):
        qs = qs.filter(worker=user)
    counts = dict(qs.order_by().values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    if state:
        qs = qs.filter(state=state)
    rows = [{"n": n, "may_case": n.state == "heard" and svc.may_turn_into_case(user, n),
             "may_manage": svc.may_manage_need(user, n)} for n in qs[:MAX_ROWS]]
    return _m(request, "m_needs.html", {"rows": rows, "state": state, "counts": counts, "states": Need.State.choices})


def _need_or_404(user, pk):
    try:
        return svc.get_need(user, pk)
    except svc.NotFound:
        raise Http404(_("需求不存在或无权查看")) from None


def _need_act(request, pk, fn, *args, back="/m/gridwork/needs/", **kwargs):
    n = _need_or_404(request.user, pk)
    try:
        fn(n, request.user, *args, **kwargs)
    except svc.DayError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("已处理"))
    return redirect(request.POST.get("next") or back)


@m_login_required
@require_POST
def m_need_case(request, pk):
    return _need_act(request, pk, svc.need_to_case)


@m_login_required
@require_POST
def m_need_service(request, pk):
    return _need_act(request, pk, svc.need_to_service, request.POST.get("provider", ""))


@m_login_required
def m_log(request):
    user = request.user
    _require_record(user)
    d = _day(request.GET.get("day") or request.POST.get("day"))
    error = ""
    if request.method == "POST":
        version = request.POST.get("version") or None
        try:
            if request.POST.get("action") == "submit":
                svc.submit_log(user, d, version, notes=request.POST.get("notes", ""))
            else:
                svc.save_log(user, d, request.POST.get("notes", ""), request.FILES.getlist("photos"), version)
        except svc.DayError as exc:
            error = str(exc)
        else:
            return redirect(f"/m/gridwork/log/?day={d.isoformat()}&saved=1")
    log = svc.log_of(user, d)
    figures = log.figures if log and log.state == DailyLog.State.SUBMITTED else svc.gathered(user, d)
    return _m(request, "m_log.html", {"day": d, "log": log, "figures": figures, "error": error})


@m_login_required
def m_plan(request):
    _require_record(request.user)
    rows = svc.due_visits(request.user, timezone.localdate())
    late = [r for r in rows if r["late"]]
    return _m(request, "m_plan.html", {"rows": late[:MAX_ROWS], "summary": svc.plan_summary(rows)})


# --- staff -----------------------------------------------------------------------------------


def _filters(request, qs):
    g = request.GET
    f = {k: g.get(k, "").strip() for k in ("worker", "grid", "day", "since", "until", "state")}
    if f["worker"].isdigit():
        qs = qs.filter(worker_id=int(f["worker"]))
    if f["grid"]:
        qs = qs.filter(grid_path__startswith=f["grid"])
    for key, lookup in (("day", "day"), ("since", "day__gte"), ("until", "day__lte")):
        if f[key]:
            qs = qs.filter(**{lookup: _day(f[key])})
    return qs, f


def _workers(user):
    from gridgov.accounts.models import User

    ids = Patrol.objects.visible_to(user).values("worker_id").distinct()
    return User.objects.filter(pk__in=ids).order_by("username")


def _grids(user):
    from gridgov.geo.levels import level_index
    from gridgov.geo.models import GridNode

    qs = GridNode.objects.filter(level=level_index("grid")).order_by("path")
    paths = svc.scope_paths(user)
    if paths is not None:
        from django.db.models import Q

        q = Q(pk__in=[])
        for p in paths:
            q |= Q(path__startswith=p)
        qs = qs.filter(q)
    return qs


@staff_required
def index(request):
    return redirect("/gridwork/day/patrols/")


@staff_required
def patrols(request):
    _require_list(request.user)
    qs = Patrol.objects.visible_to(request.user).exclude(state=Patrol.State.CANCELLED).select_related("worker", "grid")
    qs, f = _filters(request, qs)
    return render(request, "gridwork/day/patrols.html", {
        "rows": qs[:MAX_ROWS], "totals": svc.totals(qs), "f": f, "workers": _workers(request.user),
        "grids": _grids(request.user), "section": "patrols"})


@staff_required
def patrol(request, pk):
    try:
        p = svc.get_patrol(request.user, pk)
    except svc.NotFound:
        raise Http404(_("巡查不存在或无权查看")) from None
    return render(request, "gridwork/day/patrol.html", {
        "p": p, "svg": svc.route_svg(p, 640, 420), "points": p.points.select_related("grid")[:1000],
        "visits": p.visits.select_related("house__address"), "section": "patrols"})


@staff_required
def visits(request):
    _require_list(request.user)
    qs = Visit.objects.visible_to(request.user).select_related("worker", "house__address").prefetch_related(
        "residents__resident", "needs")
    qs, f = _filters(request, qs)
    return render(request, "gridwork/day/visits.html", {
        "rows": qs[:MAX_ROWS], "total": qs.count(), "f": f, "workers": _workers(request.user),
        "grids": _grids(request.user), "section": "visits"})


@staff_required
def needs(request):
    _require_list(request.user)
    qs = Need.objects.visible_to(request.user).select_related("worker", "case", "resident", "visit__house__address")
    g = request.GET
    if g.get("grid"):
        qs = qs.filter(grid_path__startswith=g["grid"])
    counts = dict(qs.order_by().values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    state = g.get("state", "")
    if state:
        qs = qs.filter(state=state)
    return render(request, "gridwork/day/needs.html", {
        "rows": [{"n": n, "may_manage": svc.may_manage_need(request.user, n)} for n in qs[:MAX_ROWS]],
        "total": qs.count(), "state": state, "counts": counts, "states": Need.State.choices,
        "grid": g.get("grid", ""), "grids": _grids(request.user), "section": "needs"})


@staff_required
@require_POST
def need_act(request, pk, act):
    p = request.POST
    version = p.get("version") or None
    fns = {"case": (svc.need_to_case, (), {}),
           "service": (svc.need_to_service, (p.get("provider", ""),), {"version": version}),
           "done": (svc.complete_service, (p.get("result", ""),), {"version": version}),
           "close": (svc.close_need, (p.get("reply", ""),), {"version": version})}
    if act not in fns:
        raise Http404()
    fn, args, kwargs = fns[act]
    return _need_act(request, pk, fn, *args, back="/gridwork/day/needs/", **kwargs)


@staff_required
def logs(request):
    _require_list(request.user)
    qs = DailyLog.objects.visible_to(request.user).select_related("worker").prefetch_related("photos")
    qs, f = _filters(request, qs)
    if f["state"]:
        qs = qs.filter(state=f["state"])
    return render(request, "gridwork/day/logs.html", {
        "rows": qs[:MAX_ROWS], "total": qs.count(), "f": f, "workers": _workers(request.user), "section": "logs"})


@staff_required
def plan(request):
    _require_list(request.user)
    grid = request.GET.get("grid", "")
    scope = request.user
    if grid:
        paths = svc.scope_paths(request.user)
        if paths is not None and not any(grid.startswith(p) for p in paths):
            raise Http404()
        scope = grid
    rows = svc.due_visits(scope, timezone.localdate())
    late = [r for r in rows if r["late"]]
    return render(request, "gridwork/day/plan.html", {
        "rows": late[:MAX_ROWS * 3], "summary": svc.plan_summary(rows), "grid": grid, "grids": _grids(request.user),
        "intervals": svc.intervals(), "section": "plan"})
