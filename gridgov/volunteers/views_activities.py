"""Pages of the volunteers' activities: on the phone (/m/volunteer/activities/: near me and in my
teams, sign up, check in and out on site, my hours; the organiser's page with the turning code
and its QR code, who came, hours, finish; publishing for leaders, secretaries and staff) and for
staff (/volunteers/activities/: the list in scope, 一键发布, an activity's sign-ups, hours and
no-shows). Views validate and call gridgov.volunteers.activities."""

from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from gridgov.geo import levels as gl
from gridgov.accounts import policy
from gridgov.accounts.scope import scope_of

from . import activities as act
from .party import party_identity_ids
from .models import Activity, SignUp

m_login_required = login_required(login_url="/m/login/")
M = "/m/volunteer/activities/"
S = "/volunteers/activities/"


def _activity(request, activity_id) -> Activity:
    try:
        return act.get_activity(request.user, activity_id)
    except act.NotFound:
        raise Http404 from None


def _signup(request, signup_id) -> SignUp:
    try:
        return act.get_signup(request.user, signup_id)
    except act.NotFound:
        raise Http404 from None


# --- forms ------------------------------------------------------------------------------------


def _parse_day_time(day: str, hhmm: str):
    try:
        d = datetime.strptime(day.strip(), "%Y-%m-%d").date()
        t = datetime.strptime(hhmm.strip(), "%H:%M").time()
    except (ValueError, AttributeError):
        return None
    return timezone.make_aware(datetime.combine(d, t))


def _publish_from_post(user, p):
    """Read the 一键发布 form: owner ("grid:<id>", "team:<id>", "party:<id>"), title, kind, the
    place (name, lat, lon), the day with start and end time, places, points per hour, open to all."""
    from gridgov.geo.models import GridNode
    from gridgov.registry.models import PartyOrganization, VolunteerTeam

    owner = (p.get("owner") or "").split(":")
    node = team = branch = None
    try:
        kind_, pk = owner[0], int(owner[1])
    except (IndexError, ValueError):
        raise act.ActivityError(_("请选择发布单位")) from None
    if kind_ == "grid":
        node = GridNode.objects.filter(pk=pk).first()
    elif kind_ == "team":
        team = VolunteerTeam.objects.filter(pk=pk).select_related("grid").first()
    elif kind_ == "party":
        branch = PartyOrganization.objects.filter(pk=pk).select_related("grid").first()
    if node is None and team is None and branch is None:
        raise act.ActivityError(_("请选择发布单位"))
    starts = _parse_day_time(p.get("day", ""), p.get("start", ""))
    ends = _parse_day_time(p.get("day", ""), p.get("end", ""))
    if starts is None or ends is None:
        raise act.ActivityError(_("请填写活动日期和起止时间"))
    lat, lon = p.get("lat"), p.get("lon")
    if (p.get("crs") or "wgs84") != "wgs84":
        from gridgov.geo.coords import to_wgs84

        try:
            lon, lat = to_wgs84(float(lon), float(lat), p.get("crs"))
        except (TypeError, ValueError):
            raise act.ActivityError(_("请在地图上选择活动地点")) from None
    return act.publish(user, title=p.get("title", ""), node=node, team=team, party_org=branch,
                       kind=p.get("kind") or "other", description=p.get("description", ""),
                       place_name=p.get("place_name", ""), lat=lat, lon=lon,
                       starts_at=starts, ends_at=ends, places=p.get("places"),
                       open_to_all=not (team is not None and p.get("members_only") == "on"),
                       points_per_hour=p.get("points_per_hour") or None, radius_m=p.get("radius_m") or None)


def _publish_context(user, **extra):
    owners = [(f"grid:{g.pk}", _("社区/网格：%(name)s") % {"name": g.name}) for g in act.grids_for_publish(user)]
    owners += [(f"team:{t.pk}", _("志愿服务队：%(name)s") % {"name": t.name}) for t in act.publishable_teams(user)]
    owners += [(f"party:{b.pk}", _("党组织：%(name)s") % {"name": b.name}) for b in act.publishable_branches(user)]
    ctx = {"owners": owners, "kinds": Activity.KINDS,
           "today": timezone.localdate().isoformat(), "form": {}}
    ctx.update(extra)
    return ctx


# --- the phone --------------------------------------------------------------------------------


def _m_list_context(request, **extra):
    user = request.user
    lat, lon = request.GET.get("lat") or None, request.GET.get("lon") or None
    try:
        rows = act.for_person(user, lat, lon)
    except ValueError:
        rows, lat, lon = act.for_person(user), None, None
    mine = {s.activity_id: s for s in act.signups_of(user, SignUp.LIVE)}
    running = list(Activity.objects.filter(state="published").filter(
        Q(organiser=user) | Q(team__leader=user) | Q(party_org__secretary=user)).order_by("starts_at")[:50])
    ctx = {"tab": "volunteer", "rows": [(a, d, t, mine.get(a.pk)) for a, d, t in rows], "near": lat is not None,
           "signed": [s for s in mine.values() if s.activity.state == "published"], "running": running,
           "may_publish": act.may_publish(user)}
    ctx.update(extra)
    return ctx


@m_login_required
def m_list(request):
    return render(request, "volunteers/m_activities_list.html", _m_list_context(request))


def _m_detail_context(request, a, **extra):
    s = act.my_signup(request.user, a)
    now = timezone.now()
    opens, closes = act.checkin_window(a)
    ctx = {"tab": "volunteer", "a": a, "mine": s, "may_run": act.may_run(request.user, a),
           "left": max(0, a.places - a.taken), "open": a.state == "published" and a.starts_at > now,
           "checkin_open": a.state == "published" and opens <= now <= closes,
           "members_only": not a.open_to_all, "may_join": a.open_to_all or act.is_member(request.user, a.team)}
    ctx.update(extra)
    return ctx


def _m_detail(request, a, status=200, **extra):
    a.refresh_from_db()
    return render(request, "volunteers/m_activities_detail.html", _m_detail_context(request, a, **extra), status=status)


@m_login_required
def m_detail(request, activity_id):
    return _m_detail(request, _activity(request, activity_id))


def _m_do(request, activity_id, fn, notice):
    a = _activity(request, activity_id)
    try:
        fn(a)
    except act.ActivityError as exc:
        return _m_detail(request, a, status=exc.status, error=exc.message)
    return _m_detail(request, a, notice=notice)


@m_login_required
@require_POST
def m_signup(request, activity_id):
    return _m_do(request, activity_id, lambda a: act.sign_up(request.user, a), _("报名成功"))


@m_login_required
@require_POST
def m_cancel_signup(request, activity_id):
    return _m_do(request, activity_id, lambda a: act.cancel_signup(request.user, a), _("已取消报名"))


@m_login_required
def m_checkin(request, activity_id):
    """GET: the check-in page (from the organiser's QR code the code is filled in and sent at
    once); POST: check in with the position (lat, lon, crs) or the code."""
    a = _activity(request, activity_id)
    if request.method != "POST":
        code = (request.GET.get("code") or "")[:6]
        return render(request, "volunteers/m_activities_checkin.html", _m_detail_context(request, a, code=code))
    p = request.POST
    try:
        act.check_in(request.user, a, lat=p.get("lat") or None, lon=p.get("lon") or None, crs=p.get("crs") or "wgs84",
                     code=(p.get("code") or "").strip()[:6])
    except act.ActivityError as exc:
        return render(request, "volunteers/m_activities_checkin.html",
                      _m_detail_context(request, a, error=exc.message), status=exc.status)
    return _m_detail(request, a, notice=_("签到成功"))


@m_login_required
@require_POST
def m_checkout(request, activity_id):
    return _m_do(request, activity_id, lambda a: act.check_out(request.user, a), _("签退成功，等待组织者确认时长"))


@m_login_required
def m_hours(request):
    h = act.my_hours(request.user)
    return render(request, "volunteers/m_activities_hours.html",
                  {"tab": "volunteer", "total": h["total"], "records": h["records"],
                   "signups": list(act.signups_of(request.user).exclude(state="cancelled")[:100])})


def _require_run(request, a):
    if not act.may_run(request.user, a):
        raise PermissionDenied(_("只有活动的组织者、所属队伍队长或支部书记、或有权限的工作人员可以操作"))


def _run_context(request, a, **extra):
    a.refresh_from_db()
    signups = list(a.signups.select_related("user").exclude(state="cancelled"))
    ctx = {"tab": "volunteer", "a": a, "signups": signups, "started": a.starts_at <= timezone.now(),
           "party": party_identity_ids([s.user_id for s in signups])}  # 亮身份: a 党员 badge
    ctx.update(extra)
    return ctx


@m_login_required
def m_run(request, activity_id):
    """The organiser's phone: the turning code with its QR code, who signed up and came, hours."""
    a = _activity(request, activity_id)
    _require_run(request, a)
    return render(request, "volunteers/m_activities_run.html", _m_back(request, a))


def _code_context(request, a):
    import qrcode
    import qrcode.image.svg

    value, left = act.current_code(request.user, a)
    url = request.build_absolute_uri(f"{M}{a.pk}/checkin/?code={value}")
    svg = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=12, border=2).to_string(encoding="unicode")
    return {"value": value, "left": left, "step": act._step(), "url": url, "svg": svg}


@m_login_required
def m_code(request, activity_id):
    """The code fragment the organiser's page fetches again every few seconds."""
    a = _activity(request, activity_id)
    _require_run(request, a)
    if a.state != Activity.State.PUBLISHED:
        return HttpResponse(status=204)  # finished or cancelled: the page keeps what it shows
    resp = render(request, "volunteers/_activities_code.html", {"a": a, "code": _code_context(request, a)})
    resp["Cache-Control"] = "no-store"
    return resp


def _run_do(request, a, fn, notice, template, back):
    _require_run(request, a)
    try:
        fn()
    except act.ActivityError as exc:
        ctx = back(request, a, error=exc.message)
        return render(request, template, ctx, status=exc.status)
    return render(request, template, back(request, a, notice=notice))


def _m_back(request, a, **extra):
    return _run_context(request, a, code=_code_context(request, a) if a.state == "published" else None, **extra)


@m_login_required
@require_POST
def m_run_checkin(request, signup_id):
    s = _signup(request, signup_id)
    return _run_do(request, s.activity, lambda: act.check_in_by_hand(request.user, s), _("已代为签到"),
                   "volunteers/m_activities_run.html", _m_back)


@m_login_required
@require_POST
def m_run_confirm(request, signup_id):
    s = _signup(request, signup_id)
    return _run_do(request, s.activity, lambda: act.confirm(request.user, s, hours=request.POST.get("hours") or None,
                                                            reason=request.POST.get("reason", "")),
                   _("时长已确认"), "volunteers/m_activities_run.html", _m_back)


@m_login_required
@require_POST
def m_run_finish(request, activity_id):
    a = _activity(request, activity_id)
    return _run_do(request, a, lambda: act.finish(request.user, a), _("活动已结束，时长已确认，未到人员已记录"),
                   "volunteers/m_activities_run.html", _m_back)


@m_login_required
def m_publish(request):
    """一键发布 on the phone (team leaders, branch secretaries, staff)."""
    if not act.may_publish(request.user):
        raise PermissionDenied(_("您不能发布活动"))
    if request.method == "POST":
        try:
            a = _publish_from_post(request.user, request.POST)
        except act.ActivityError as exc:
            return render(request, "volunteers/m_activities_publish.html",
                          _publish_context(request.user, tab="volunteer", error=exc.message, form=request.POST), status=exc.status)
        return redirect(f"{M}{a.pk}/run/")
    return render(request, "volunteers/m_activities_publish.html", _publish_context(request.user, tab="volunteer"))


# --- staff ------------------------------------------------------------------------------------


def _months(n=12):
    today = timezone.localdate()
    y, m = today.year, today.month
    out = []
    for _i in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out


@login_required
def staff_list(request):
    """The activities of the grids in scope (activities × list), filtered."""
    from gridgov.geo.models import GridNode
    from gridgov.registry.models import VolunteerTeam

    if not policy.allows(request.user, "activities", "list"):
        raise PermissionDenied(_("该页面仅限工作人员"))
    g = request.GET
    community = GridNode.objects.filter(level=gl.community_level(), code=g.get("community")).first() if g.get("community") else None
    team = int(g["team"]) if (g.get("team") or "").isdigit() else None
    error = ""
    try:
        qs = act.staff_list(request.user, community=community, team=team, month=g.get("month", ""), state=g.get("state", ""))
        rows = list(qs[:300])
    except act.ActivityError as exc:
        rows, error = [], exc.message
    scope = scope_of(request.user)
    communities = list(GridNode.objects.filter(level=gl.community_level()).order_by("path"))
    if not scope.everything and policy.reach(request.user, "activities", "list") != policy.ALL:
        communities = [c for c in communities if any(c.path.startswith(p) or p.startswith(c.path) for p in scope.paths)]
    q = Q(pk__in=[])
    for c in communities:
        q |= Q(grid__path__startswith=c.path)
    teams = VolunteerTeam.objects.filter(q).order_by("name")
    return render(request, "volunteers/activities_list.html", {
        "rows": rows, "error": error, "communities": communities, "teams": teams, "months": _months(),
        "states": Activity.State.choices, "f": g, "may_publish": act.may_publish(request.user)})


@login_required
def staff_new(request):
    """一键发布 for staff (and leaders, secretaries signed in on the desktop)."""
    if not act.may_publish(request.user):
        raise PermissionDenied(_("您不能发布活动"))
    if request.method == "POST":
        try:
            a = _publish_from_post(request.user, request.POST)
        except act.ActivityError as exc:
            return render(request, "volunteers/activities_new.html",
                          _publish_context(request.user, error=exc.message, form=request.POST), status=exc.status)
        return redirect(f"{S}{a.pk}/")
    return render(request, "volunteers/activities_new.html", _publish_context(request.user))


HISTORY_LABELS = {"create": gettext_lazy("已发布"), "update": gettext_lazy("已修改"), "cancel": gettext_lazy("已取消"),
                  "finish": gettext_lazy("已结束")}


def _staff_context(request, a, **extra):
    from gridgov.core.models import ChangeRecord

    a.refresh_from_db()
    signups = list(a.signups.select_related("user", "confirmed_by"))
    ctx = {"a": a, "signups": signups, "may_run": act.may_run(request.user, a),
           "party": party_identity_ids([s.user_id for s in signups]),  # 亮身份: a 党员 badge
           "started": a.starts_at <= timezone.now(), "kinds": Activity.KINDS,
           "counts": {st: sum(1 for s in signups if s.state == st) for st in SignUp.State.values},
           "history": [(c, HISTORY_LABELS.get(c.action, c.action)) for c in
                       ChangeRecord.objects.filter(kind="activities", object_id=str(a.pk)).order_by("-at", "-id")[:20]],
           "local_start": timezone.localtime(a.starts_at), "local_end": timezone.localtime(a.ends_at)}
    ctx.update(extra)
    return ctx


def _staff_activity(request, activity_id):
    a = _activity(request, activity_id)
    if not (act.may_run(request.user, a) or policy.allows(request.user, "activities", "list", a.node.path)):
        raise PermissionDenied(_("该页面仅限工作人员"))
    return a


@login_required
def staff_detail(request, activity_id):
    a = _staff_activity(request, activity_id)
    return render(request, "volunteers/activities_detail.html", _staff_context(request, a))


def _staff_do(request, a, fn, notice):
    return _run_do(request, a, fn, notice, "volunteers/activities_detail.html", _staff_context)


@login_required
@require_POST
def staff_edit(request, activity_id):
    a = _staff_activity(request, activity_id)
    p = request.POST

    def go():
        starts = _parse_day_time(p.get("day", ""), p.get("start", ""))
        ends = _parse_day_time(p.get("day", ""), p.get("end", ""))
        if starts is None or ends is None:
            raise act.ActivityError(_("请填写活动日期和起止时间"))
        changes = {"title": p.get("title", ""), "place_name": p.get("place_name", ""), "places": p.get("places"),
                   "starts_at": starts, "ends_at": ends}
        act.edit(request.user, a, int(p.get("version") or 0), **changes)

    return _staff_do(request, a, go, _("活动已修改"))


@login_required
@require_POST
def staff_cancel(request, activity_id):
    a = _staff_activity(request, activity_id)
    return _staff_do(request, a, lambda: act.cancel(request.user, a, reason=request.POST.get("reason", "")), _("活动已取消"))


@login_required
@require_POST
def staff_finish(request, activity_id):
    a = _staff_activity(request, activity_id)
    return _staff_do(request, a, lambda: act.finish(request.user, a), _("活动已结束，时长已确认，未到人员已记录"))


@login_required
@require_POST
def staff_checkin(request, signup_id):
    s = _signup(request, signup_id)
    return _staff_do(request, s.activity, lambda: act.check_in_by_hand(request.user, s), _("已代为签到"))


@login_required
@require_POST
def staff_confirm(request, signup_id):
    s = _signup(request, signup_id)
    return _staff_do(request, s.activity, lambda: act.confirm(request.user, s, hours=request.POST.get("hours") or None,
                                                              reason=request.POST.get("reason", "")), _("时长已确认"))
