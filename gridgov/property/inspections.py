"""The inspections' reading and acting as the API and the pages need it (services of the
inspections slice): the filtered list, the projects and indicators a request names, planning,
deducting and removing a finding, the indicator set of a year and its edit. Both
api_inspections and views_inspections call these (they only validate, render and serialize);
the state changes themselves are gridgov.property.services'."""

from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.accounts import policy

from . import indicators, services
from .models import Deduction, Indicator, IndicatorSet, Inspection


def require(user, action: str) -> None:
    """Forbidden at once for who may never `action` property records (before looking anything up)."""
    if not policy.allows(user, services.KIND, action):
        raise services.Forbidden(_("您没有权限进行此操作"))


def filtered(user, *, scope: str = "staff", project=None, quarter: str = "", state: str = ""):
    """The inspections `user` sees, filtered. PropertyError on a bad filter; Forbidden when staff
    may not list."""
    if scope == "company":
        if not policy.holds(user, "property"):
            raise services.Forbidden(_("您不是物业服务企业人员"))
        qs = Inspection.objects.visible_to(user).filter(project__company__department__name=user.department)
    else:
        if not policy.allows(user, services.KIND, "list"):
            raise services.Forbidden(_("您没有权限查看物业检查"))
        qs = Inspection.objects.visible_to(user)
    if project:
        qs = qs.filter(project_id=project)
    if quarter:
        qs = qs.filter(quarter=services.quarter_key(quarter))
    if state:
        if state not in Inspection.State.values:
            raise services.PropertyError(_("状态无效：%(state)s"), code="state", state=state)
        qs = qs.filter(state=state)
    return qs.select_related("project", "inspector").distinct().order_by("-planned_on", "-id")


def deductions_of(insp: Inspection):
    """An inspection's deductions with what their pages show (indicator, author, problem, photos)."""
    return (insp.deductions.select_related("indicator__category", "created_by", "problem")
            .prefetch_related("photos").order_by("id"))


def may_see_indicators(user) -> bool:
    return policy.allows(user, services.KIND, "list") or policy.holds(user, "property")


def indicator_set(year) -> IndicatorSet:
    """The set of `year` (made when missing, for years up to next year); NotFound beyond."""
    try:
        year = int(year)
    except (TypeError, ValueError):
        raise services.PropertyError(_("年份无效"), code="year") from None
    s = indicators.set_for(year, create=False)
    if s is None and 2000 <= year <= timezone.localdate().year + 1:
        s = indicators.set_for(year)
    if s is None:
        raise services.NotFound(_("该年度没有指标体系"), code="not_found")
    return s


def update_set(user, year, rows: list[dict]) -> IndicatorSet:
    """Change indicators of the set of `year` ([{id, field: value or None}]): all or none."""
    policy.require(user, "settings", "update")
    s = indicator_set(year)
    changes = {}
    for r in rows:
        r = dict(r)
        pk = r.pop("id")
        changes[pk] = {k: v for k, v in r.items() if v is not None}
    known = set(Indicator.objects.filter(category__indicator_set=s).values_list("pk", flat=True))
    if set(changes) - known:
        raise services.PropertyError(_("指标不属于该年度的指标体系"), code="indicator")
    indicators.update_indicators(user, s, changes)
    return IndicatorSet.objects.get(pk=s.pk)


def project_for(user, pk):
    """The property project `pk` if `user` sees it; NotFound otherwise."""
    from gridgov.registry.models import PropertyProject

    try:
        return services.projects_visible_to(user).get(pk=pk)
    except (PropertyProject.DoesNotExist, ValueError, TypeError):
        raise services.NotFound(_("物业项目不存在或无权查看")) from None


def indicator_for(insp: Inspection, key) -> Indicator:
    """The indicator of the inspection's set named by id or code; PropertyError otherwise."""
    qs = Indicator.objects.select_related("category").filter(category__indicator_set=insp.indicator_set_id)
    key = str(key or "").strip()
    ind = (qs.filter(pk=int(key)).first() if key.isdigit() else None) or qs.filter(code=key.upper()).first()
    if ind is None:
        raise services.PropertyError(_("该指标不属于本次检查的指标体系"), code="indicator")
    return ind


def plan(user, *, project, planned_on=None, kind=Inspection.Kind.SCHEDULED, by=Inspection.By.STAFF,
         expert_name="", expert_org="", note="", start=False, lon=None, lat=None) -> Inspection:
    """Plan an inspection of a project the user sees; `start`: an unannounced visit opened now."""
    require(user, "create")
    proj = project_for(user, project)
    if start:
        return services.start_unannounced(user, proj, lon=lon, lat=lat, note=note)
    if planned_on is None:
        raise services.PropertyError(_("请填写计划检查日期"), code="planned_on")
    return services.plan_inspection(user, proj, planned_on=planned_on, kind=kind, by=by, expert_name=expert_name,
                                    expert_org=expert_org, note=note)


def points_of(raw):
    """The points typed (None: the indicator's default); PropertyError when not a number."""
    raw = str(raw if raw is not None else "").strip()
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise services.PropertyError(_("扣分须为数字（收到“%(raw)s”）"), code="points", raw=raw)
    return value


def deduct(user, insp, *, indicator, photos=(), points=None, **fields) -> Deduction:
    """A finding on the indicator named by id or code, the points as typed."""
    ind = indicator_for(insp, indicator)
    return services.add_deduction(user, insp, indicator=ind, photos=photos, points=points_of(points), **fields)


def remove(user, insp, deduction_id) -> None:
    """Remove a deduction of `insp` (NotFound when it has none of that id)."""
    d = insp.deductions.select_related("indicator").filter(pk=deduction_id).first()
    if d is None:
        raise services.NotFound(_("没有这条扣分"))
    services.remove_deduction(user, d)
