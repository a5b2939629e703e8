"""Pages of the volunteers' teams: on the phone (/m/volunteer/teams/) my service, teams to join,
my applications, a leader's applications and members, the steward's patrol; for staff
(/volunteers/teams/) the teams of their grids, a team's page, the hours report and its export;
and the public check of a certificate's number. Views validate and call gridgov.volunteers.teams."""

from datetime import date

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.accounts import policy
from gridgov.accounts.decorators import staff_required

from . import teams
from .models import Patrol, TeamApplication

m_login_required = login_required(login_url="/m/login/")


def _date(value):
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _year(value):
    try:
        y = int(value)
    except (TypeError, ValueError):
        return timezone.localdate().year
    return y if 2000 <= y <= 2100 else timezone.localdate().year


def _pdf(data) -> HttpResponse:
    resp = HttpResponse(teams.certificate_pdf(data), content_type="application/pdf")
    resp["Content-Disposition"] = f'attachment; filename="certificate-{data["start"]:%Y%m%d}-{data["end"]:%Y%m%d}.pdf"'
    return resp


# --- the phone -------------------------------------------------------------------------------------


def _m_context(user, **extra):
    s = teams.my_service(user)
    year = s["year"]
    ctx = {"tab": "volunteer", "s": s, "years": list(range(year, year - 4, -1)),
           "applications": list(TeamApplication.objects.filter(user=user).select_related("team")[:20]),
           "leads": teams.led_teams(user).exists(), "may_patrol": policy.holds(user, "grab")}
    ctx.update(extra)
    return ctx


@m_login_required
def m_service(request):
    return render(request, "volunteers/m_teams_service.html", _m_context(request.user))


@m_login_required
def m_certificate(request):
    year = _year(request.GET.get("year"))
    data = teams.certificate_for(request.user, request.user, date(year, 1, 1), date(year, 12, 31))
    return _pdf(data)


@m_login_required
def m_leave(request):
    if request.method != "POST":
        return redirect("/m/volunteer/teams/")
    try:
        teams.leave(request.user)
    except teams.TeamError as exc:
        return render(request, "volunteers/m_teams_service.html", _m_context(request.user, error=exc.message), status=exc.status)
    return render(request, "volunteers/m_teams_service.html", _m_context(request.user, notice=_("已退出队伍")))


def _join_context(user, **extra):
    mine = teams.membership(user)
    pending = set(TeamApplication.objects.filter(user=user, state="pending").values_list("team_id", flat=True))
    ctx = {"tab": "volunteer", "teams": list(teams.public_teams()), "my_team_id": mine.team_id if mine else None,
           "pending": pending}
    ctx.update(extra)
    return ctx


@m_login_required
def m_join(request):
    return render(request, "volunteers/m_teams_join.html", _join_context(request.user))


@m_login_required
@require_POST
def m_apply(request, team_id):
    try:
        teams.apply(request.user, team_id, request.POST.get("name", ""), request.POST.get("note", ""))
    except teams.TeamError as exc:
        return render(request, "volunteers/m_teams_join.html", _join_context(request.user, error=exc.message), status=exc.status)
    return render(request, "volunteers/m_teams_join.html",
                  _join_context(request.user, notice=_("申请已提交，请等待队长或社区审核")), status=201)


@m_login_required
@require_POST
def m_withdraw(request, app_id):
    try:
        teams.withdraw(request.user, app_id)
    except teams.TeamError as exc:
        return render(request, "volunteers/m_teams_service.html", _m_context(request.user, error=exc.message), status=exc.status)
    return render(request, "volunteers/m_teams_service.html", _m_context(request.user, notice=_("申请已撤回")))


def _lead_context(user, **extra):
    led = list(teams.led_teams(user))
    ctx = {"tab": "volunteer", "teams": [{"team": t, "members": list(teams.members(t)),
                                          "pending": list(t.applications.filter(state="pending").select_related("user"))}
                                         for t in led],
           "five": teams.FIVE_DUTIES}
    ctx.update(extra)
    return ctx


@m_login_required
def m_lead(request):
    ctx = _lead_context(request.user)
    if not ctx["teams"]:
        return render(request, "volunteers/m_teams_lead.html", ctx, status=403)
    return render(request, "volunteers/m_teams_lead.html", ctx)


@m_login_required
@require_POST
def m_decide(request, app_id, verdict):
    if verdict not in ("approve", "reject"):
        raise Http404()
    try:
        teams.decide(request.user, app_id, verdict == "approve", request.POST.get("reason", ""))
    except teams.TeamError as exc:
        return render(request, "volunteers/m_teams_lead.html", _lead_context(request.user, error=exc.message), status=exc.status)
    notice = _("已通过") if verdict == "approve" else _("已拒绝")
    return render(request, "volunteers/m_teams_lead.html", _lead_context(request.user, notice=notice))


@m_login_required
@require_POST
def m_duties(request, volunteer_id):
    try:
        teams.set_duties(request.user, volunteer_id, request.POST.getlist("duties"))
    except teams.TeamError as exc:
        return render(request, "volunteers/m_teams_lead.html", _lead_context(request.user, error=exc.message), status=exc.status)
    return render(request, "volunteers/m_teams_lead.html", _lead_context(request.user, notice=_("职责已保存")))


def _patrol_context(user, **extra):
    ctx = {"tab": "volunteer", "open": teams.open_patrol(user),
           "recent": list(Patrol.objects.filter(user=user, ended_at__isnull=False)[:10]),
           "max_hours": teams.PATROL_MAX_HOURS, "min_minutes": teams.PATROL_MIN_MINUTES}
    ctx.update(extra)
    return ctx


@m_login_required
def m_patrol(request):
    if not policy.holds(request.user, "grab"):
        raise PermissionDenied(_("只有楼门长和志愿者可以巡查"))
    return render(request, "volunteers/m_teams_patrol.html", _patrol_context(request.user))


@m_login_required
@require_POST
def m_patrol_start(request):
    try:
        teams.start_patrol(request.user, request.POST.get("note", ""))
    except teams.TeamError as exc:
        return render(request, "volunteers/m_teams_patrol.html", _patrol_context(request.user, error=exc.message), status=exc.status)
    return render(request, "volunteers/m_teams_patrol.html", _patrol_context(request.user, notice=_("巡查已开始")), status=201)


@m_login_required
@require_POST
def m_patrol_end(request, patrol_id):
    try:
        p, record = teams.end_patrol(request.user, patrol_id)
    except teams.TeamError as exc:
        return render(request, "volunteers/m_teams_patrol.html", _patrol_context(request.user, error=exc.message), status=exc.status)
    if record is None:
        notice = _("巡查已结束；不足 %(n)s 分钟，不计服务时长") % {"n": teams.PATROL_MIN_MINUTES}
    else:
        notice = _("巡查已结束：%(hours)s 小时，%(m)s 米，获得 %(points)s 积分") % {
            "hours": record.hours, "m": p.distance_m, "points": record.transfer.amount if record.transfer_id else 0}
    return render(request, "volunteers/m_teams_patrol.html", _patrol_context(request.user, notice=notice, ended=p))


# --- staff -----------------------------------------------------------------------------------------


def _require_list(user):
    if not policy.allows(user, "volunteers", "list"):
        raise PermissionDenied(_("该页面仅限工作人员"))


@staff_required
def staff_teams(request):
    _require_list(request.user)
    rows = list(teams.staff_teams(request.user))
    labels = dict(teams_kinds())
    summary = {}
    for t in rows:
        k = summary.setdefault(t.kind, {"kind": t.kind, "label": labels.get(t.kind, t.kind), "teams": 0, "members": 0})
        k["teams"] += 1
        k["members"] += t.n_members
    kind = request.GET.get("kind") or ""
    if kind:
        rows = [t for t in rows if t.kind == kind]
    return render(request, "volunteers/teams_list.html", {
        "teams": rows, "summary": sorted(summary.values(), key=lambda k: -k["members"]), "kind": kind,
        "may_export": policy.allows(request.user, "volunteers", "export")})


def teams_kinds():
    from gridgov.registry.models import VolunteerTeam

    return [(k, _(v)) for k, v in VolunteerTeam.KINDS]


def _staff_team(user, team_id):
    team = teams.staff_teams(user).filter(pk=team_id).first()
    if team is None:
        raise Http404(_("没有这支队伍"))
    return team


def _team_context(user, team_id, **extra):
    team = _staff_team(user, team_id)
    year = timezone.localdate().year
    start, end = teams.year_bounds(year)
    from django.db.models import Sum

    from .models import ServiceRecord

    mem = list(teams.members(team))
    hours = dict(ServiceRecord.objects.filter(user__in=[m.user_id for m in mem if m.user_id], at__gte=start, at__lt=end)
                 .values("user").annotate(h=Sum("hours")).values_list("user", "h"))
    for m in mem:
        m.hours_year = hours.get(m.user_id) if m.user_id else None
    ctx = {"team": team, "members": mem, "five": teams.FIVE_DUTIES, "year": year,
           "kind_label": dict(teams_kinds()).get(team.kind, team.kind),
           "applications": list(team.applications.select_related("user", "decided_by")[:50]),
           "may_update": teams.is_staff_over(user, team),
           "team_hours": sum((h for h in hours.values() if h), 0)}
    ctx.update(extra)
    return ctx


@staff_required
def staff_team(request, team_id):
    _require_list(request.user)
    return render(request, "volunteers/teams_team.html", _team_context(request.user, team_id))


def _staff_act(request, team_id, fn, notice):
    _require_list(request.user)
    _staff_team(request.user, team_id)
    try:
        fn()
    except teams.TeamError as exc:
        return render(request, "volunteers/teams_team.html", _team_context(request.user, team_id, error=exc.message),
                      status=exc.status)
    return render(request, "volunteers/teams_team.html", _team_context(request.user, team_id, notice=notice))


@staff_required
@require_POST
def staff_set_leader(request, team_id):
    from gridgov.accounts.models import User

    uid = request.POST.get("user")
    user = User.objects.filter(pk=uid).first() if uid else None
    return _staff_act(request, team_id, lambda: teams.set_leader(request.user, team_id, user), _("队长已设置"))


@staff_required
@require_POST
def staff_duties(request, team_id, volunteer_id):
    return _staff_act(request, team_id, lambda: teams.set_duties(request.user, volunteer_id, request.POST.getlist("duties")),
                      _("职责已保存"))


@staff_required
@require_POST
def staff_remove(request, team_id, volunteer_id):
    return _staff_act(request, team_id, lambda: teams.remove_member(request.user, volunteer_id, request.POST.get("reason", "")),
                      _("已移出队伍"))


@staff_required
@require_POST
def staff_decide(request, team_id, app_id, verdict):
    if verdict not in ("approve", "reject"):
        raise Http404()
    app = TeamApplication.objects.filter(pk=app_id, team_id=team_id).first()
    if app is None:
        raise Http404(_("没有这条申请"))
    return _staff_act(request, team_id,
                      lambda: teams.decide(request.user, app_id, verdict == "approve", request.POST.get("reason", "")),
                      _("已通过") if verdict == "approve" else _("已拒绝"))


@staff_required
def staff_certificate(request, user_id):
    from gridgov.accounts.models import User

    person = User.objects.filter(pk=user_id).first()
    if person is None:
        raise Http404()
    year = _year(request.GET.get("year"))
    try:
        data = teams.certificate_for(request.user, person, date(year, 1, 1), date(year, 12, 31))
    except teams.NotAllowed as exc:
        raise PermissionDenied(exc.message) from None
    return _pdf(data)


@staff_required
def staff_hours(request):
    _require_list(request.user)
    by = request.GET.get("by") or "team"
    start, end = _date(request.GET.get("start")), _date(request.GET.get("end"))
    try:
        rep = teams.hours_report(request.user, by, start, end)
    except teams.TeamError as exc:
        return render(request, "volunteers/teams_hours.html", {"error": exc.message, "by": by}, status=exc.status)
    return render(request, "volunteers/teams_hours.html", {
        "rep": rep, "by": by, "may_export": policy.allows(request.user, "volunteers", "export"),
        "groups": [("team", _("按队伍")), ("community", _("按社区")), ("month", _("按月份"))]})


@staff_required
def staff_hours_xlsx(request):
    if not policy.allows(request.user, "volunteers", "export"):
        raise PermissionDenied(_("没有导出权限"))
    try:
        body, filename = teams.export_xlsx(request.user, _date(request.GET.get("start")), _date(request.GET.get("end")),
                                           request.GET.get("per") or "record")
    except teams.TeamError as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain; charset=utf-8")
    resp = HttpResponse(body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp


def verify_certificate(request):
    """Public: anyone checks a certificate's number (the name shown masked)."""
    n = (request.GET.get("n") or "").strip()[:80]
    result = teams.verify_certificate(n) if n else None
    return render(request, "volunteers/teams_verify.html", {"n": n, "result": result},
                  status=404 if n and result is None else 200)
