"""Pages of the property alliance's inspections (专家点、现场查).

Staff (/property/inspections/, property × list; a property company's users their company's):
the list filtered by quarter / project / state with the plan form, an inspection's page (score,
breakdown by category, deductions with photos and the problems they opened, history, cancel) and
the indicator system of a year (/property/inspections/indicators/; administrators edit a year not
yet frozen).

Phone (/m/property/inspections/): my planned and running inspections and an unannounced visit
started from a project (plan + start); walking one: start (the phone's location), the indicators
by category with criteria and evidence, a deduction per finding (note, points, photo, location),
the running score, submit. Views validate and call gridgov.property.inspections / services /
indicators."""

from datetime import date

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.accounts import policy
from gridgov.accounts.decorators import staff_required
from gridgov.core import history

from . import indicators, inspections, services
from .models import Indicator, Inspection

m_login_required = login_required(login_url="/m/login/")
STATES = Inspection.State.choices


def _inspection(request, pk) -> Inspection:
    try:
        return services.get_inspection(request.user, pk)
    except services.NotFound:
        raise Http404(_("检查不存在或无权查看")) from None


def _plannable(user):
    """The projects `user` may plan an inspection of."""
    return [p for p in services.projects_visible_to(user).select_related("grid")
            if policy.allows(user, services.KIND, "create", services.project_path(p))]


def _point(post):
    """(lon, lat) in WGS 84 of a form's hidden lon / lat / crs (the phone's location), or (None, None)."""
    return services.position(post.get("lon"), post.get("lat"), post.get("crs", "wgs84"))


def _files(request):
    return request.FILES.getlist("photos")


def _page_context(request, insp: Inspection) -> dict:
    deductions = list(inspections.deductions_of(insp))
    breakdown = services.inspection_breakdown(insp)
    score = insp.score if insp.score is not None else services.inspection_score(insp)
    open_ = insp.state in (Inspection.State.PLANNED, Inspection.State.IN_PROGRESS)
    return {"insp": insp, "deductions": deductions, "breakdown": breakdown, "score": score,
            "may_conduct": open_ and policy.allows(request.user, services.KIND, "create", insp.grid_path),
            "may_cancel": open_ and policy.allows(request.user, services.KIND, "update", insp.grid_path)}


# --- staff -------------------------------------------------------------------------------------


def _scope(user) -> str:
    if policy.allows(user, services.KIND, "list"):
        return "staff"
    if policy.holds(user, "property"):
        return "company"
    raise PermissionDenied(_("您没有权限查看物业检查"))


def _list_context(request, error: str = "") -> dict:
    g = request.GET
    scope = _scope(request.user)
    filters = {"project": g.get("project", ""), "quarter": g.get("quarter", "").strip(), "state": g.get("state", "")}
    try:
        project = int(filters["project"]) if filters["project"].isdigit() else None
        rows = inspections.filtered(request.user, scope=scope, project=project, quarter=filters["quarter"],
                                    state=filters["state"])
        rows = list(rows[:300])
    except services.PropertyError as exc:
        rows, error = [], error or str(exc)
    plannable = _plannable(request.user)
    return {"rows": rows, "filters": filters, "states": STATES, "error": error,
            "projects": services.projects_visible_to(request.user), "plannable": plannable,
            "kinds": Inspection.Kind.choices, "bys": Inspection.By.choices,
            "today": timezone.localdate().isoformat(), "scope": scope}


@staff_required
def inspection_list(request):
    return render(request, "property/inspections/list.html", _list_context(request))


@staff_required
@require_POST
def plan(request):
    p = request.POST
    try:
        planned_on = date.fromisoformat(p.get("planned_on", ""))
    except ValueError:
        planned_on = None
    try:
        insp = inspections.plan(request.user, project=p.get("project", ""), planned_on=planned_on,
                      kind=p.get("kind", Inspection.Kind.SCHEDULED), by=p.get("by", Inspection.By.STAFF),
                      expert_name=p.get("expert_name", ""), expert_org=p.get("expert_org", ""),
                      note=p.get("note", ""))
    except services.PropertyError as exc:
        return render(request, "property/inspections/list.html", _list_context(request, str(exc)),
                      status=exc.status)
    return redirect(f"/property/inspections/{insp.pk}/")


def _history(insp):
    labels = {"plan": _("安排检查"), "start": _("开始检查"), "deduct": _("扣分"), "undeduct": _("撤销扣分"),
              "submit": _("提交"), "cancel": _("取消")}
    rows = list(history.for_object("property_inspections", insp.pk).order_by("at", "id"))
    for h in rows:
        h.label = labels.get(h.action, h.action)
    return rows


@staff_required
def inspection_page(request, pk):
    insp = _inspection(request, pk)
    ctx = _page_context(request, insp)
    ctx["history"] = _history(insp)
    return render(request, "property/inspections/detail.html", ctx)


@staff_required
@require_POST
def cancel(request, pk):
    insp = _inspection(request, pk)
    try:
        services.cancel_inspection(request.user, insp, reason=request.POST.get("reason", ""))
    except services.PropertyError as exc:
        ctx = _page_context(request, insp)
        ctx["history"] = _history(insp)
        ctx["error"] = str(exc)
        return render(request, "property/inspections/detail.html", ctx, status=exc.status)
    return redirect(f"/property/inspections/{pk}/")


FIELDS = ("name", "full_marks", "method", "step", "criteria", "evidence", "rectify_days")


def _indicator_rows(s, posted=None):
    """The set's categories with their indicators' values (the posted ones when re-shown)."""
    out = []
    for cat in s.categories.prefetch_related("indicators"):
        rows = []
        for ind in cat.indicators.all():
            values = {f: getattr(ind, f) for f in FIELDS}
            if posted is not None:
                values.update({f: posted[f"{ind.pk}-{f}"] for f in FIELDS if f"{ind.pk}-{f}" in posted})
            rows.append({"ind": ind, "v": values})
        out.append({"cat": cat, "rows": rows})
    return out


@staff_required
def indicator_page(request):
    """The indicator system of a year: the rules, and the form to change a year not yet frozen."""
    if not inspections.may_see_indicators(request.user):
        raise PermissionDenied(_("您没有权限查看物业考评指标"))
    year = request.GET.get("year") or request.POST.get("year") or str(timezone.localdate().year)
    try:
        s = inspections.indicator_set(year)
    except services.PropertyError:
        raise Http404(_("该年度没有指标体系")) from None
    may_edit = s.frozen_at is None and policy.allows(request.user, "settings", "update")
    error, status, posted = "", 200, None
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied(_("该年度指标不能修改"))
        posted = request.POST
        changes = {}
        for ind in Indicator.objects.filter(category__indicator_set=s):
            row = {}
            for f in FIELDS:
                key = f"{ind.pk}-{f}"
                if key not in posted:
                    continue
                raw = posted[key].strip()
                now = getattr(ind, f)
                if f in ("full_marks", "step"):
                    if raw != f"{now:g}" and raw != str(now):
                        row[f] = raw
                elif f == "rectify_days":
                    if raw != str(now):
                        row[f] = raw
                elif raw != now:
                    row[f] = raw
            if row:
                changes[ind.pk] = row
        try:
            for row in changes.values():
                for f in ("full_marks", "step"):
                    if f in row:
                        row[f] = _decimal(row[f])
                if "rectify_days" in row:
                    if not row["rectify_days"].isdigit():
                        raise indicators.IndicatorError(_("整改期限须为整数天"))
                    row["rectify_days"] = int(row["rectify_days"])
            if changes:
                indicators.update_indicators(request.user, s, changes)
            return redirect(f"/property/inspections/indicators/?year={s.year}&saved={len(changes)}")
        except indicators.IndicatorError as exc:
            error, status = str(exc), 400
    s.refresh_from_db()
    years = sorted({*indicators.IndicatorSet.objects.values_list("year", flat=True), s.year}, reverse=True)
    total = sum((c.weight for c in s.categories.all()), 0)
    return render(request, "property/inspections/indicators.html", {
        "set": s, "groups": _indicator_rows(s, posted if error else None), "may_edit": may_edit, "error": error,
        "years": years, "total": total, "methods": Indicator.Method.choices, "saved": request.GET.get("saved"),
        "next_year": timezone.localdate().year + 1,
    }, status=status)


def _decimal(raw):
    from decimal import Decimal, InvalidOperation

    try:
        return Decimal(raw)
    except InvalidOperation:
        raise indicators.IndicatorError(_("分值须为数字：%(value)s") % {"value": raw}) from None


@login_required
def photo(request, pk):
    """A deduction's photo: whoever sees its inspection."""
    try:
        p = services.photo_for(request.user, pk)
    except services.NotFound:
        raise Http404(_("没有这张照片")) from None
    return FileResponse(p.file.open("rb"), content_type=p.content_type or "image/jpeg")


# --- phone -------------------------------------------------------------------------------------


def _m_home_context(request, error=""):
    user = request.user
    mine = (Inspection.objects.visible_to(user).filter(state__in=(Inspection.State.PLANNED,
                                                                  Inspection.State.IN_PROGRESS))
            .filter(inspector=user).select_related("project").distinct().order_by("planned_on", "id"))
    return {"tab": "property", "mine": list(mine), "projects": _plannable(user), "error": error}


@m_login_required
def m_home(request):
    """My planned and running inspections; the projects to visit unannounced."""
    if not policy.allows(request.user, services.KIND, "create"):
        raise PermissionDenied(_("您没有权限进行物业检查"))
    return render(request, "property/inspections/m_home.html", _m_home_context(request))


@m_login_required
@require_POST
def m_unannounced(request):
    """An unannounced visit of a project: planned for today and started here and now."""
    try:
        lon, lat = _point(request.POST)
        insp = inspections.plan(request.user, project=request.POST.get("project", ""), start=True, lon=lon, lat=lat)
    except services.PropertyError as exc:
        return render(request, "property/inspections/m_home.html", _m_home_context(request, str(exc)),
                      status=exc.status)
    return redirect(f"/m/property/inspections/{insp.pk}/")


def _m_walk(request, insp, error="", status=200):
    ctx = _page_context(request, insp)
    by_ind = {}
    for d in ctx["deductions"]:
        by_ind.setdefault(d.indicator_id, []).append(d)
    for c in ctx["breakdown"]:
        for r in c["indicators"]:
            r["mine"] = by_ind.get(r["indicator"].pk, [])
    ctx.update({"tab": "property", "error": error})
    return render(request, "property/inspections/m_walk.html", ctx, status=status)


@m_login_required
def m_walk(request, pk):
    insp = _inspection(request, pk)
    return _m_walk(request, insp)


def _m_act(request, pk, fn):
    insp = _inspection(request, pk)
    try:
        fn(insp)
    except services.PropertyError as exc:
        return _m_walk(request, _inspection(request, pk), str(exc), exc.status)
    return None


@m_login_required
@require_POST
def m_start(request, pk):
    def act(insp):
        lon, lat = _point(request.POST)
        return services.start_inspection(request.user, insp, lon=lon, lat=lat)

    return _m_act(request, pk, act) or redirect(f"/m/property/inspections/{pk}/")


@m_login_required
@require_POST
def m_deduct(request, pk):
    p = request.POST

    def act(insp):
        lon, lat = _point(p)
        return inspections.deduct(request.user, insp, indicator=p.get("indicator", ""), note=p.get("note", ""),
                        points=p.get("points"), place=p.get("place", ""), lon=lon, lat=lat, photos=_files(request))

    return _m_act(request, pk, act) or redirect(f"/m/property/inspections/{pk}/?added=1#score")


@m_login_required
@require_POST
def m_remove(request, pk, did):
    def act(insp):
        inspections.remove(request.user, insp, did)

    return _m_act(request, pk, act) or redirect(f"/m/property/inspections/{pk}/#score")


@m_login_required
@require_POST
def m_submit(request, pk):
    raw = request.POST.get("version", "")
    version = int(raw) if raw.isdigit() else None
    return _m_act(request, pk, lambda i: services.submit_inspection(
        request.user, i, note=request.POST.get("note", ""), expected_version=version)) or redirect(
        f"/m/property/inspections/{pk}/?submitted=1")
