"""Volunteer teams, one's service, certificates, the hours report and the stewards' patrols.

* Joining: a signed-in person applies to a team (one pending application per team); the team's
  leader (VolunteerTeam.leader), or staff with volunteers × update on the team's grid, approves or
  rejects; the applicant may withdraw while it is pending. Approval makes (or links) the person's
  registry Volunteer record in that team and raises a resident's role to volunteer, so they can
  grab tasks and earn points (policy.RELATIONS["grab"]). The applicant is notified of the decision.
* Members: staff set a team's leader (a member of it); the leader or staff set a member's duties
  (五大员) or remove a member; a member leaves.
* Patrols: a steward or volunteer starts a patrol (one open at a time), the phone adds the track
  while the page is open, ending it computes the distance and counts the hours (at most
  PATROL_MAX_HOURS) as a service record "patrol:<id>" with the points of rule activity:patrol.
* My service: hours and points this year and overall, records by source, rank by hours among the
  volunteers of one's community this year (aggregates, never a loop over the people).
* Certificates: a PDF of the service hours of a period, with a verification number (an HMAC of the
  person, the period and the total) that the public page /volunteers/teams/certificate/verify checks.
* The hours report (volunteers × list) by team, community or month, and the xlsx export
  (volunteers × export), scoped to the user's grids.

Every state change is one transaction with one history row (kind "volunteers")."""

import hashlib
import hmac
import io
import math
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from gridgov.geo import levels as gl
from gridgov.accounts import policy
from gridgov.accounts.models import Role
from gridgov.core import history
from gridgov.core.errors import CodedError
from gridgov.geo.spatial import haversine_m

from . import services
from .models import Movement, Patrol, ServiceRecord, TeamApplication, Transfer
from .services import person_name as _name

#: the five duties of a steward or volunteer (五大员), Volunteer.duties joined by "、"
FIVE_DUTIES = [gettext_noop("信息员"), gettext_noop("宣传员"), gettext_noop("调解员"), gettext_noop("监督员"),
               gettext_noop("服务员")]
#: a patrol counts at most this many hours, and nothing below PATROL_MIN_MINUTES
PATROL_MAX_HOURS = 4
PATROL_MIN_MINUTES = 5
#: with a track, a patrol counts until this long after the last position received
PATROL_TRACK_GRACE = timedelta(minutes=15)
#: track points kept per patrol (the page sends one every half minute or so)
PATROL_MAX_POINTS = 2000
HISTORY_KIND = "volunteers"  # a registry volunteer's rows (the registry's record kind)
#: the history kind of each object these services change: a kind names one model, so that
#: core.history.for_object(kind, id) never mixes two models' rows with the same id
HISTORY_KINDS = {"TeamApplication": "team_applications", "Patrol": "patrols", "VolunteerTeam": "volunteer_teams",
                 "Volunteer": HISTORY_KIND}


def _kind(obj) -> str:
    return HISTORY_KINDS[type(obj).__name__]


class TeamError(CodedError):
    status = 400


class NotAllowed(TeamError):
    status = 403
    code = "not_allowed"


class NotFound(TeamError):
    status = 404
    code = "not_found"


class Conflict(TeamError):
    status = 409
    code = "conflict"


def hours_value(x) -> Decimal:
    """Hours as a Decimal of two places (sums come back with the database's own precision)."""
    return Decimal(x or 0).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _now(now=None):
    return now or timezone.now()


def _path(node) -> str:
    return node.path if node is not None else ""


def _notify(user, kind, title, body=""):
    from gridgov.cases import notify

    notify.queue(user, kind, str(title), str(body))


# --- teams and who runs them -------------------------------------------------------------------


def _team(team_id, lock: bool = False):
    from gridgov.registry.models import VolunteerTeam

    qs = VolunteerTeam.objects.select_related("grid", "leader")
    if lock:
        qs = qs.select_for_update(of=("self",))
    team = qs.filter(pk=team_id).first() if not hasattr(team_id, "pk") else qs.filter(pk=team_id.pk).first()
    if team is None:
        raise NotFound(_("没有这支队伍"))
    return team


def is_staff_over(user, team) -> bool:
    """Staff with volunteers × update on the team's grid."""
    return policy.allows(user, "volunteers", "update", _path(team.grid))


def may_decide(user, team) -> bool:
    """The team's leader, or staff with volunteers × update on its grid, decide applications."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return team.leader_id == user.pk or is_staff_over(user, team)


def membership(user):
    """The user's registry Volunteer record (in force), or None."""
    from gridgov.registry.models import Volunteer

    if not getattr(user, "pk", None):
        return None
    return Volunteer.objects.select_related("team", "grid", "building").filter(user=user, ended_on__isnull=True).first()


def public_teams():
    """The teams a resident may ask to join (the list every signed-in person sees)."""
    from gridgov.registry.models import VolunteerTeam

    return (VolunteerTeam.objects.filter(ended_on__isnull=True).select_related("grid", "leader")
            .annotate(n_members=Count("members", filter=Q(members__ended_on__isnull=True))).order_by("grid__path", "kind", "id"))


def staff_teams(user):
    """The teams of the user's grids (volunteers × list), with member counts."""
    from gridgov.registry.models import VolunteerTeam

    if not policy.allows(user, "volunteers", "list"):
        return VolunteerTeam.objects.none()
    return (VolunteerTeam.objects.visible_to(user).select_related("grid", "leader")
            .annotate(n_members=Count("members", filter=Q(members__ended_on__isnull=True), distinct=True),
                      n_pending=Count("applications", filter=Q(applications__state="pending"), distinct=True))
            .order_by("grid__path", "kind", "id"))


def led_teams(user):
    from gridgov.registry.models import VolunteerTeam

    if not getattr(user, "pk", None):
        return VolunteerTeam.objects.none()
    return VolunteerTeam.objects.filter(leader=user, ended_on__isnull=True).select_related("grid")


def members(team):
    from gridgov.registry.models import Volunteer

    return Volunteer.objects.filter(team=team, ended_on__isnull=True).select_related("user", "grid", "building").order_by("kind", "name", "id")


# --- applications ------------------------------------------------------------------------------


@transaction.atomic
def apply(user, team_id, name: str = "", note: str = "", now=None) -> TeamApplication:
    """A signed-in person asks to join a team: one pending application per team; not a member already."""
    now = _now(now)
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        raise NotAllowed(_("请先登录"))
    team = _team(team_id)
    if team.ended_on is not None:
        raise TeamError(_("该队伍已撤销"), code="team_ended")
    mine = membership(user)
    if mine is not None and mine.team_id == team.pk:
        raise Conflict(_("您已是该队伍成员"), code="already_member")
    name = (name or "").strip()[:50] or _name(user)
    if not name:
        raise TeamError(_("请填写姓名"), code="name_required")
    try:
        with transaction.atomic():
            app = TeamApplication.objects.create(team=team, user=user, name=name, note=(note or "").strip()[:200],
                                                 created_at=now)
    except IntegrityError:
        raise Conflict(_("您已申请加入该队伍，请等待审核"), code="already_pending") from None
    history.record(user, _kind(app), app, "apply", {"team": [None, team.name], "state": [None, app.state]},
                   grid_path=_path(team.grid), at=now)
    if team.leader_id and team.leader_id != user.pk:
        _notify(team.leader, "team_application", _("新的入队申请"),
                _("%(name)s 申请加入%(team)s") % {"name": name, "team": team.name})
    return app


def _application(app_id, lock=True) -> TeamApplication:
    qs = TeamApplication.objects.select_related("team__grid", "team__leader", "user")
    if lock:
        qs = qs.select_for_update(of=("self",))
    app = qs.filter(pk=app_id).first()
    if app is None:
        raise NotFound(_("没有这条申请"))
    return app


@transaction.atomic
def withdraw(user, app_id, now=None) -> TeamApplication:
    now = _now(now)
    app = _application(app_id)
    if app.user_id != getattr(user, "pk", None):
        raise NotAllowed(_("只能撤回自己的申请"))
    if app.state != TeamApplication.State.PENDING:
        raise Conflict(_("该申请已处理，不能撤回"), code="not_pending")
    app.state = TeamApplication.State.WITHDRAWN
    app.decided_at = now
    app.save(update_fields=["state", "decided_at"])
    history.record(user, _kind(app), app, "withdraw", {"state": ["pending", app.state]}, grid_path=_path(app.team.grid), at=now)
    return app


def _join(actor, user, team, name: str, now):
    """Make or link the user's registry Volunteer record in `team`; a resident becomes a volunteer."""
    from gridgov.registry.models import Volunteer

    vol = Volunteer.objects.select_for_update().filter(user=user, ended_on__isnull=True).first()
    if vol is None and user.phone_hash:  # the registry may know them already (by their phone)
        vol = Volunteer.objects.select_for_update().filter(user__isnull=True, ended_on__isnull=True,
                                                         phone_hash=user.phone_hash).order_by("id").first()
    if vol is None:
        kind = "steward" if user.role == Role.STEWARD else "volunteer"
        vol = Volunteer.objects.create(name=name, kind=kind, user=user, team=team, grid=team.grid, joined=timezone.localdate(now))
        history.record(actor, _kind(vol), vol, "create", {"name": [None, name], "team": [None, team.name]},
                       grid_path=_path(team.grid), at=now)
    else:
        before = {"team": vol.team.name if vol.team_id else None, "user": str(vol.user) if vol.user_id else None}
        if vol.team_id and vol.team_id != team.pk:  # moving: they no longer lead the team they leave
            from gridgov.registry.models import VolunteerTeam

            if VolunteerTeam.objects.filter(pk=vol.team_id, leader=user).update(leader=None, version=F("version") + 1):
                history.record(actor, _kind(vol.team), vol.team, "update", {"leader": [str(user), None]},
                               grid_path=_path(vol.team.grid), at=now)
        vol.team = team
        vol.user = user
        if vol.grid_id is None:
            vol.grid = team.grid
        vol.joined = vol.joined or timezone.localdate(now)
        vol.version = (vol.version or 0) + 1
        vol.save(update_fields=["team", "user", "grid", "joined", "version", "updated_at"])
        history.record(actor, _kind(vol), vol, "update",
                       history.diff(before, {"team": team.name, "user": str(user)}), grid_path=_path(vol.grid), at=now)
    if user.role == Role.RESIDENT:
        from gridgov.accounts.models import User

        # (kept in the approval's history row: {"role": ["resident", "volunteer"]})
        User.objects.filter(pk=user.pk, role=Role.RESIDENT).update(role=Role.VOLUNTEER)
        user.role = Role.VOLUNTEER
    return vol


@transaction.atomic
def decide(actor, app_id, approve: bool, reason: str = "", now=None) -> TeamApplication:
    """The team's leader or staff in scope approve or reject a pending application (once)."""
    now = _now(now)
    app = _application(app_id)
    if not may_decide(actor, app.team):
        raise NotAllowed(_("只有该队队长或社区工作人员可以审核"))
    if app.state != TeamApplication.State.PENDING:
        raise Conflict(_("该申请已处理"), code="not_pending")
    reason = (reason or "").strip()[:200]
    if not approve and not reason:
        raise TeamError(_("请填写未通过的原因"), code="reason_required")
    app.state = TeamApplication.State.APPROVED if approve else TeamApplication.State.REJECTED
    app.decided_by, app.decided_at, app.reason = actor, now, reason
    changes = {"state": ["pending", app.state]}
    if reason:
        changes["reason"] = [None, reason]
    if approve:
        role = app.user.role
        app.volunteer = _join(actor, app.user, app.team, app.name, now)
        if app.user.role != role:
            changes["role"] = [role, app.user.role]
    app.save(update_fields=["state", "decided_by", "decided_at", "reason", "volunteer"])
    history.record(actor, _kind(app), app, "approve" if approve else "reject", changes, grid_path=_path(app.team.grid), at=now)
    if approve:
        _notify(app.user, "team_application", _("入队申请已通过"),
                _("欢迎加入%(team)s！") % {"team": app.team.name})
    else:
        _notify(app.user, "team_application", _("入队申请未通过"),
                _("%(team)s：%(reason)s") % {"team": app.team.name, "reason": reason})
    return app


def approve(actor, app_id, now=None):
    return decide(actor, app_id, True, now=now)


def reject(actor, app_id, reason: str, now=None):
    return decide(actor, app_id, False, reason, now=now)


def applications_to_decide(user):
    """The applications of the teams `user` leads, and of the teams of their grids if staff."""
    qs = TeamApplication.objects.select_related("team__grid", "user", "decided_by")
    q = Q(team__leader=user) if getattr(user, "pk", None) else Q(pk__in=[])
    if policy.allows(user, "volunteers", "update"):
        from gridgov.accounts.scope import scope_of

        scope = scope_of(user)
        if scope.everything or policy.reach(user, "volunteers", "update") == policy.ALL:
            return qs
        for p in scope.paths:
            q |= Q(team__grid__path__startswith=p)
    return qs.filter(q)


# --- members -------------------------------------------------------------------------------------


@transaction.atomic
def set_leader(actor, team_id, user, now=None):
    """Staff (volunteers × update on the team's grid) name the team's leader: a member of it (or nobody)."""
    now = _now(now)
    team = _team(team_id, lock=True)
    if not is_staff_over(actor, team):
        raise NotAllowed(_("只有社区工作人员可以设置队长"))
    if user is not None:
        vol = membership(user)
        if vol is None or vol.team_id != team.pk:
            raise TeamError(_("队长须是本队成员"), code="not_member")
    before = str(team.leader) if team.leader_id else None
    team.leader = user
    team.version = (team.version or 0) + 1
    team.save(update_fields=["leader", "version", "updated_at"])
    history.record(actor, _kind(team), team, "update", {"leader": [before, str(user) if user else None]},
                   grid_path=_path(team.grid), at=now)
    if user is not None and user.pk != getattr(actor, "pk", None):
        _notify(user, "team_leader", _("您已被设为队长"), team.name)
    return team


def _member(volunteer_id, lock=True):
    from gridgov.registry.models import Volunteer

    qs = Volunteer.objects.select_related("team__grid", "grid", "user")
    if lock:
        qs = qs.select_for_update(of=("self",))
    vol = qs.filter(pk=volunteer_id, ended_on__isnull=True).first()
    if vol is None:
        raise NotFound(_("没有这名队员"))
    return vol


def _may_manage_member(actor, vol) -> bool:
    if vol.team_id and vol.team.leader_id and vol.team.leader_id == getattr(actor, "pk", None):
        return True
    return policy.allows(actor, "volunteers", "update", _path(vol.grid) or _path(vol.team.grid if vol.team_id else None))


def _leave(actor, vol, action, reason, now):
    team = vol.team
    vol.team = None
    vol.version = (vol.version or 0) + 1
    vol.save(update_fields=["team", "version", "updated_at"])
    history.record(actor, _kind(vol), vol, action, {"team": [team.name, None]}, grid_path=_path(vol.grid), at=now,
                   note=reason)
    if vol.user_id and team.leader_id == vol.user_id:
        from gridgov.registry.models import VolunteerTeam

        VolunteerTeam.objects.filter(pk=team.pk).update(leader=None, version=F("version") + 1)
        history.record(actor, _kind(team), team, "update", {"leader": [str(vol.user), None]}, grid_path=_path(team.grid), at=now)
    return vol


@transaction.atomic
def leave(user, now=None):
    """A member leaves their team (they stay in the registry, without a team)."""
    now = _now(now)
    vol = membership(user)
    if vol is None or vol.team_id is None:
        raise TeamError(_("您不在任何队伍中"), code="not_member")
    vol = _member(vol.pk)
    return _leave(user, vol, "leave", "", now)


@transaction.atomic
def remove_member(actor, volunteer_id, reason: str = "", now=None):
    """The team's leader or staff in scope take a member off the team."""
    now = _now(now)
    vol = _member(volunteer_id)
    if vol.team_id is None:
        raise TeamError(_("该志愿者不在任何队伍中"), code="not_member")
    if not _may_manage_member(actor, vol):
        raise NotAllowed(_("只有该队队长或社区工作人员可以移除队员"))
    team_name = vol.team.name
    _leave(actor, vol, "remove", (reason or "").strip()[:200], now)
    if vol.user_id and vol.user_id != getattr(actor, "pk", None):
        _notify(vol.user, "team_member", _("您已离开队伍"), team_name)
    return vol


def clean_duties(duties) -> str:
    if isinstance(duties, str):
        duties = [d for d in duties.replace(",", "、").replace("，", "、").split("、")]
    chosen = [d.strip() for d in duties if d and d.strip()]
    bad = [d for d in chosen if d not in FIVE_DUTIES]
    if bad:
        raise TeamError(_("未知的职责：%(duties)s"), code="bad_duty", duties="、".join(bad))
    return "、".join(d for d in FIVE_DUTIES if d in chosen)


@transaction.atomic
def set_duties(actor, volunteer_id, duties, now=None):
    """The team's leader or staff in scope set a member's duties (五大员)."""
    now = _now(now)
    vol = _member(volunteer_id)
    if not _may_manage_member(actor, vol):
        raise NotAllowed(_("只有该队队长或社区工作人员可以设置职责"))
    value = clean_duties(duties)
    if value == vol.duties:
        return vol
    before = vol.duties
    vol.duties = value
    vol.version = (vol.version or 0) + 1
    vol.save(update_fields=["duties", "version", "updated_at"])
    history.record(actor, _kind(vol), vol, "update", {"duties": [before, value]}, grid_path=_path(vol.grid), at=now)
    return vol


# --- patrols -------------------------------------------------------------------------------------


def track_distance_m(track) -> int:
    total = 0.0
    for a, b in zip(track, track[1:]):
        total += haversine_m(a[1], a[0], b[1], b[0])  # track points are [lat, lon, time]
    return int(round(total))


def open_patrol(user):
    return Patrol.objects.filter(user=user, ended_at__isnull=True).first() if getattr(user, "pk", None) else None


@transaction.atomic
def start_patrol(user, note: str = "", now=None) -> Patrol:
    """A steward or volunteer starts a patrol of their buildings: one open at a time."""
    now = _now(now)
    if not policy.holds(user, "grab"):
        raise NotAllowed(_("只有楼门长和志愿者可以巡查"))
    vol = membership(user)
    node = None
    if vol is not None:
        node = vol.building.grid if vol.building_id and vol.building.grid_id else vol.grid
    try:
        with transaction.atomic():
            patrol = Patrol.objects.create(user=user, node=node, started_at=now, note=(note or "").strip()[:200])
    except IntegrityError:
        raise Conflict(_("您有一次巡查尚未结束"), code="patrol_open") from None
    history.record(user, _kind(patrol), patrol, "patrol_start", {"started_at": [None, now]}, grid_path=_path(node), at=now)
    return patrol


def _patrol(user, patrol_id) -> Patrol:
    p = Patrol.objects.select_for_update(of=("self",)).select_related("node").filter(pk=patrol_id).first()
    if p is None:
        raise NotFound(_("没有这次巡查"))
    if p.user_id != getattr(user, "pk", None):
        raise NotAllowed(_("只能操作自己的巡查"))
    return p


def _clean_point(pt, crs: str):
    from gridgov.geo.coords import to_wgs84

    try:
        lat, lon = float(pt[0]), float(pt[1])
    except (TypeError, ValueError, IndexError):
        raise TeamError(_("位置格式不正确"), code="bad_point") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or math.isnan(lat) or math.isnan(lon):
        raise TeamError(_("位置格式不正确"), code="bad_point")
    try:
        lon, lat = to_wgs84(lon, lat, crs or "wgs84")
    except ValueError:
        raise TeamError(_("不支持的坐标系"), code="bad_crs") from None
    return [round(lat, 6), round(lon, 6)]


@transaction.atomic
def add_track(user, patrol_id, points, crs: str = "wgs84", now=None) -> Patrol:
    """Points of the route while the page is open: [[lat, lon], ...] (or [lat, lon, iso time])."""
    now = _now(now)
    p = _patrol(user, patrol_id)
    if p.ended_at is not None:
        raise Conflict(_("这次巡查已结束"), code="patrol_ended")
    if not isinstance(points, (list, tuple)) or not points or len(points) > 200:
        raise TeamError(_("位置格式不正确"), code="bad_point")
    room = PATROL_MAX_POINTS - len(p.track)
    stamp = now.isoformat()
    for pt in points[:max(room, 0)]:
        lat, lon = _clean_point(pt, crs)
        p.track.append([lat, lon, stamp])
    p.distance_m = track_distance_m(p.track)
    p.save(update_fields=["track", "distance_m"])
    return p


def patrol_hours(started_at, ended_at) -> Decimal:
    seconds = max(0.0, (ended_at - started_at).total_seconds())
    hours = min(seconds / 3600, PATROL_MAX_HOURS)
    return Decimal(str(hours)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def counted_end(p: Patrol):
    """Until when a patrol counts: its end; but with a track, no later than PATROL_TRACK_GRACE
    after the last position received (a page closed, a patrol ended days later, counts until then)."""
    end = p.ended_at
    if p.track:
        try:
            last = datetime.fromisoformat(p.track[-1][2])
        except (IndexError, TypeError, ValueError):
            return end
        end = min(end, max(p.started_at, last + PATROL_TRACK_GRACE))
    return end


@transaction.atomic
def end_patrol(user, patrol_id, now=None):
    """End the patrol: its distance from the track, its hours (at most PATROL_MAX_HOURS, and with a
    track until shortly after its last position: counted_end) as a service record with the patrol rule's points. A patrol under PATROL_MIN_MINUTES counts nothing.
    Returns (patrol, record or None)."""
    now = _now(now)
    p = _patrol(user, patrol_id)
    if p.ended_at is not None:
        return p, ServiceRecord.objects.filter(key=f"patrol:{p.pk}").first()
    p.ended_at = max(now, p.started_at)
    p.distance_m = track_distance_m(p.track)
    p.save(update_fields=["ended_at", "distance_m"])
    hours = patrol_hours(p.started_at, counted_end(p))
    history.record(user, _kind(p), p, "patrol_end", {"ended_at": [None, p.ended_at], "hours": [None, str(hours)],
                                                          "distance_m": [None, p.distance_m]},
                   grid_path=_path(p.node), at=now)
    record = None
    if (counted_end(p) - p.started_at) >= timedelta(minutes=PATROL_MIN_MINUTES):
        vol = membership(user)
        record = services.record_service(user, ServiceRecord.Source.PATROL, f"patrol:{p.pk}", "楼门巡查", hours=hours,
                                         at=p.ended_at, node=p.node, team=vol.team if vol and vol.team_id else None,
                                         rule="activity:patrol", quantity=hours)
    return p, record


# --- my service ------------------------------------------------------------------------------------


def year_bounds(year: int):
    tz = timezone.get_current_timezone()
    return (timezone.make_aware(datetime(year, 1, 1), tz), timezone.make_aware(datetime(year + 1, 1, 1), tz))


def community_of_user(user):
    """The community (level 1) of the user's registry record, else of their latest service."""
    vol = membership(user)
    node = None
    if vol is not None:
        node = vol.grid or (vol.team.grid if vol.team_id else None)
    if node is None:
        node = (ServiceRecord.objects.filter(user=user, node__isnull=False).select_related("node").first() or
                ServiceRecord(node=None)).node
    if node is None:
        return None
    return services._community(node)


def _in_community(path: str) -> Q:
    """Service of the people of a community: their registry record lies in it (or, without one, the service did)."""
    return Q(user__volunteer__grid__path__startswith=path) | Q(user__volunteer__isnull=True, node__path__startswith=path)


def rank(user, year: int, community=None) -> dict:
    """Rank by hours this year among the people who served in the community (1 = most hours)."""
    community = community if community is not None else community_of_user(user)
    start, end = year_bounds(year)
    mine = hours_value(ServiceRecord.objects.filter(user=user, at__gte=start, at__lt=end).aggregate(h=Sum("hours"))["h"])
    if community is None:
        return {"rank": None, "of": 0, "community": "", "hours": mine}
    base = ServiceRecord.objects.filter(_in_community(community.path), at__gte=start, at__lt=end)
    per_person = base.values("user").annotate(h=Sum("hours"))
    ahead = per_person.filter(h__gt=mine).count()
    people = per_person.count()
    if mine == 0 and not base.filter(user=user).exists():
        return {"rank": None, "of": people, "community": community.name, "hours": mine}
    return {"rank": ahead + 1, "of": people, "community": community.name, "hours": mine}


def _points_earned(user, since=None) -> int:
    acc = services.volunteer_account(user, create=False)
    if acc is None:
        return 0
    qs = Movement.objects.filter(account=acc, amount__gt=0, transfer__kind=Transfer.Kind.AWARD)
    if since is not None:
        qs = qs.filter(at__gte=since)
    return qs.aggregate(s=Sum("amount"))["s"] or 0


def my_service(user, year: int | None = None, now=None, limit: int = 50) -> dict:
    """Hours and points this year and overall, records by source, the rank this year, the latest records."""
    now = _now(now)
    year = year or timezone.localtime(now).year
    start, end = year_bounds(year)
    mine = ServiceRecord.objects.filter(user=user)
    total = mine.aggregate(h=Sum("hours"), n=Count("id"))
    this = mine.filter(at__gte=start, at__lt=end)
    this_total = this.aggregate(h=Sum("hours"), n=Count("id"))
    labels = dict(ServiceRecord.Source.choices)
    by_source = [{"source": r["source"], "label": str(labels.get(r["source"], r["source"])), "n": r["n"],
                  "hours": hours_value(r["h"]), "points": r["p"] or 0}
                 for r in this.values("source").annotate(n=Count("id"), h=Sum("hours"), p=Sum("transfer__amount")).order_by("source")]
    acc = services.volunteer_account(user, create=False)
    vol = membership(user)
    return {
        "year": year,
        "hours_year": hours_value(this_total["h"]), "records_year": this_total["n"],
        "hours_total": hours_value(total["h"]), "records_total": total["n"],
        "points_year": _points_earned(user, start), "points_total": _points_earned(user),
        "balance": acc.balance if acc else 0,
        "by_source": by_source,
        "rank": rank(user, year),
        "team": vol.team if vol and vol.team_id else None,
        "volunteer": vol,
        "records": list(mine.select_related("team", "node", "transfer")[:limit]),
    }


# --- certificates ----------------------------------------------------------------------------------


def may_see_service(actor, user) -> bool:
    """The person themself, or staff with volunteers × read on their grid."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return False
    if actor.pk == user.pk:
        return True
    vol = membership(user)
    node = vol.grid if vol and vol.grid_id else community_of_user(user)
    if node is None:  # placed nowhere: street-wide readers only
        return policy.reach(actor, "volunteers", "read") == policy.ALL
    return policy.allows(actor, "volunteers", "read", node.path)


def _sig(user_pk: int, start: date, end: date, cents: int) -> str:
    msg = f"certificate:{user_pk}:{start:%Y%m%d}:{end:%Y%m%d}:{cents}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), msg, hashlib.sha256).hexdigest()[:12].upper()


def certificate_number(user_pk: int, start: date, end: date, hours: Decimal) -> str:
    cents = int((Decimal(hours) * 100).to_integral_value(rounding=ROUND_HALF_UP))
    return f"{start:%Y%m%d}{end:%Y%m%d}-{user_pk}-{cents}-{_sig(user_pk, start, end, cents)}"


def certificate_data(user, start: date, end: date) -> dict:
    """The records of `user` from `start` to `end` (dates, inclusive), their total and the number."""
    if end < start:
        raise TeamError(_("结束日期不能早于开始日期"), code="bad_period")
    tz = timezone.get_current_timezone()
    lo = timezone.make_aware(datetime.combine(start, time.min), tz)
    hi = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), tz)
    qs = ServiceRecord.objects.filter(user=user, at__gte=lo, at__lt=hi)
    total = hours_value(qs.aggregate(h=Sum("hours"))["h"])
    vol = membership(user)
    community = community_of_user(user)
    return {
        "user": user, "name": vol.name if vol else _name(user), "start": start, "end": end,
        "hours": total, "records": list(qs.order_by("at", "id")),
        "team": vol.team.name if vol and vol.team_id else "",
        "community": community.name if community else "",
        "number": certificate_number(user.pk, start, end, total),
    }


def certificate_for(actor, user, start: date, end: date) -> dict:
    if not may_see_service(actor, user):
        raise NotAllowed(_("只能查看本人或辖区志愿者的服务时长"))
    return certificate_data(user, start, end)


def _hours_text(h) -> str:
    h = Decimal(h).quantize(Decimal("0.01"))
    return f"{h.normalize():f}" if h == h.to_integral_value() else f"{h:f}"


def certificate_pdf(data: dict, issued: date | None = None) -> bytes:
    """The certificate as a PDF (reportlab; STSong-Light, a CID font that needs no file)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
    from xml.sax.saxutils import escape

    font = "STSong-Light"
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    issued = issued or timezone.localdate()
    title = ParagraphStyle("t", fontName=font, fontSize=22, leading=30, alignment=1)
    body = ParagraphStyle("b", fontName=font, fontSize=12, leading=20)
    small = ParagraphStyle("s", fontName=font, fontSize=9, leading=13)
    labels = dict(ServiceRecord.Source.choices)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=20 * mm,
                            bottomMargin=20 * mm, title="志愿服务时长证明", author=data["community"] or "gridgov")
    total = _hours_text(data["hours"])
    team = f"（{escape(data['team'])}）" if data["team"] else ""
    story = [
        Paragraph("志愿服务时长证明", title), Spacer(1, 8 * mm),
        Paragraph(f"兹证明 <b>{escape(data['name'])}</b> 同志{team}于 {data['start']:%Y年%m月%d日} 至 "
                  f"{data['end']:%Y年%m月%d日} 期间参加志愿服务，累计服务时长 <b>{total}</b> 小时，"
                  f"共 {len(data['records'])} 条服务记录，特此证明。", body),
        Spacer(1, 6 * mm),
    ]
    rows = [["日期", "服务内容", "来源", "时长（小时）"]]
    for r in data["records"]:
        rows.append([f"{timezone.localtime(r.at):%Y-%m-%d}", Paragraph(escape(r.title), small),
                     _chinese(labels.get(r.source, r.source)), _hours_text(r.hours)])
    rows.append(["", "合计", "", total])
    table = Table(rows, colWidths=[28 * mm, 80 * mm, 32 * mm, 28 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 9),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
        ("ALIGN", (3, 0), (3, -1), "RIGHT"), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]))
    story += [table, Spacer(1, 10 * mm),
              Paragraph(f"出具单位：{escape(data['community'] or '')}", body),
              Paragraph(f"出具日期：{issued:%Y年%m月%d日}", body),
              Spacer(1, 4 * mm),
              Paragraph(f"验证编号：{data['number']}（可在 /volunteers/teams/certificate/verify 核验）", small)]
    doc.build(story)
    return buf.getvalue()


def _chinese(label) -> str:
    from django.utils import translation

    with translation.override(None):
        return str(label)


def verify_certificate(number: str) -> dict | None:
    """A certificate's number checked: None if forged; else who (name masked), the period, the
    certified total, and whether the records today still add up to it."""
    from gridgov.accounts.models import User

    try:
        period, user_pk, cents, sig = (number or "").strip().upper().split("-")
        start = datetime.strptime(period[:8], "%Y%m%d").date()
        end = datetime.strptime(period[8:], "%Y%m%d").date()
        user_pk, cents = int(user_pk), int(cents)
    except ValueError:
        return None
    if not hmac.compare_digest(sig, _sig(user_pk, start, end, cents)):
        return None
    user = User.objects.filter(pk=user_pk).first()
    if user is None:
        return None
    data = certificate_data(user, start, end)
    name = data["name"]
    masked = name[0] + "*" * max(1, len(name) - 1) if name else ""
    hours = Decimal(cents) / 100
    return {"name": masked, "start": start, "end": end, "hours": hours, "community": data["community"],
            "current": data["hours"] == hours}


# --- the hours report and export ---------------------------------------------------------------------


def _scoped_records(user, action: str):
    policy.require(user, "volunteers", action)
    qs = ServiceRecord.objects.all()
    if policy.reach(user, "volunteers", action) == policy.ALL:
        return qs
    from gridgov.accounts.scope import scope_of

    scope = scope_of(user)
    if scope.everything:
        return qs
    q = Q(pk__in=[])
    for p in scope.paths:
        q |= Q(node__path__startswith=p) | Q(node__isnull=True, user__volunteer__grid__path__startswith=p)
    return qs.filter(q)


def _period(start: date | None, end: date | None, now=None):
    today = timezone.localdate(now)
    start = start or date(today.year, 1, 1)
    end = end or today
    if end < start:
        raise TeamError(_("结束日期不能早于开始日期"), code="bad_period")
    tz = timezone.get_current_timezone()
    return (start, end, timezone.make_aware(datetime.combine(start, time.min), tz),
            timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), tz))


def hours_report(user, by: str = "team", start: date | None = None, end: date | None = None) -> dict:
    """Hours, points, records and people by team, community or month, of the records in the
    user's scope (volunteers × list), from `start` to `end` (default: this year)."""
    from gridgov.geo.models import GridNode
    from gridgov.registry.models import VolunteerTeam

    if by not in ("team", "community", "month"):
        raise TeamError(_("不支持的分组：%(by)s"), code="bad_group", by=by)
    start, end, lo, hi = _period(start, end)
    qs = _scoped_records(user, "list").filter(at__gte=lo, at__lt=hi)
    rows = []
    if by == "team":
        agg = (qs.annotate(t=Coalesce("team", "user__volunteer__team")).values("t")
               .annotate(hours=Sum("hours"), points=Sum("transfer__amount"), n=Count("id"), people=Count("user", distinct=True))
               .order_by("t"))
        names = dict(VolunteerTeam.objects.filter(pk__in=[r["t"] for r in agg if r["t"]]).values_list("pk", "name"))
        for r in agg:
            rows.append({"key": r["t"], "label": names.get(r["t"], "") if r["t"] else "", "hours": hours_value(r["hours"]),
                         "points": r["points"] or 0, "records": r["n"], "people": r["people"]})
        rows.sort(key=lambda r: (-r["hours"], r["label"]))
    elif by == "month":
        agg = (qs.annotate(m=TruncMonth("at")).values("m")
               .annotate(hours=Sum("hours"), points=Sum("transfer__amount"), n=Count("id"), people=Count("user", distinct=True))
               .order_by("m"))
        for r in agg:
            m = r["m"]
            label = f"{m:%Y-%m}" if m else ""
            rows.append({"key": label, "label": label, "hours": hours_value(r["hours"]), "points": r["points"] or 0,
                         "records": r["n"], "people": r["people"]})
    else:
        # by the node of the service (a few hundred nodes), folded into their communities here
        communities = {n.pk: n for n in GridNode.objects.filter(level=gl.community_level())}
        paths = sorted(((n.path, n) for n in communities.values()), key=lambda x: -len(x[0]))
        node_paths = dict(GridNode.objects.values_list("pk", "path"))

        def community_of(node_id):
            path = node_paths.get(node_id) or ""
            for p, n in paths:
                if path.startswith(p):
                    return n
            return None

        acc: dict = {}
        people: dict = {}
        for r in qs.values("node", "user").annotate(hours=Sum("hours"), points=Sum("transfer__amount"), n=Count("id")):
            c = community_of(r["node"])
            key = c.pk if c else None
            a = acc.setdefault(key, {"key": key, "label": c.name if c else "", "hours": Decimal(0), "points": 0,
                                     "records": 0, "people": 0})
            a["hours"] += r["hours"] or 0
            a["points"] += r["points"] or 0
            a["records"] += r["n"]
            people.setdefault(key, set()).add(r["user"])
        for key, a in acc.items():
            a["people"] = len(people[key])
            a["hours"] = hours_value(a["hours"])
            rows.append(a)
        rows.sort(key=lambda r: (-r["hours"], r["label"]))
    total = qs.aggregate(hours=Sum("hours"), points=Sum("transfer__amount"), n=Count("id"), people=Count("user", distinct=True))
    return {"by": by, "start": start, "end": end, "rows": rows,
            "total": {"hours": hours_value(total["hours"]), "points": total["points"] or 0, "records": total["n"],
                      "people": total["people"]}}


EXPORT_MAX_ROWS = 200_000


def export_xlsx(user, start: date | None = None, end: date | None = None, per: str = "record") -> tuple[bytes, str]:
    """The service hours of the user's scope as a workbook (volunteers × export): one row per
    record, or per person and month (`per="month"`). Returns (bytes, file name)."""
    from gridgov.core import audit
    from gridgov.core.tabular import Workbook

    if per not in ("record", "month"):
        raise TeamError(_("不支持的导出方式：%(per)s"), code="bad_export", per=per)
    start, end, lo, hi = _period(start, end)
    qs = _scoped_records(user, "export").filter(at__gte=lo, at__lt=hi)
    labels = {k: _chinese(v) for k, v in ServiceRecord.Source.choices}
    wb = Workbook(write_only=True)
    ws = wb.sheet("服务时长")
    if per == "record":
        ws.append(["日期", "姓名", "账号", "队伍", "社区", "网格", "来源", "服务内容", "时长（小时）", "积分", "记录编号"], bold=True)
        rows = (qs.annotate(team_name=Coalesce("team__name", "user__volunteer__team__name"))
                .values_list("at", "user__volunteer__name", "user__display_name", "user__username", "team_name",
                             "node__path", "node__name", "source", "title", "hours", "transfer__amount", "key")
                .order_by("at", "id"))
        communities = _community_names()
        n = 0
        for at, vname, dname, uname, team, path, node, source, title, hours, points, key in rows.iterator(chunk_size=2000):
            n += 1
            if n > EXPORT_MAX_ROWS:
                break
            ws.append([f"{timezone.localtime(at):%Y-%m-%d %H:%M}", vname or dname or uname, uname, team or "",
                       _community_from(path, communities), node or "", labels.get(source, source), title, hours, points or 0, key])
    else:
        ws.append(["月份", "姓名", "账号", "队伍", "记录数", "时长（小时）", "积分"], bold=True)
        rows = (qs.annotate(m=TruncMonth("at")).values("m", "user", "user__volunteer__name", "user__display_name",
                                                         "user__username", "user__volunteer__team__name")
                .annotate(n=Count("id"), hours=Sum("hours"), points=Sum("transfer__amount")).order_by("m", "user"))
        n = 0
        for r in rows:
            n += 1
            ws.append([f"{r['m']:%Y-%m}" if r["m"] else "", r["user__volunteer__name"] or r["user__display_name"] or r["user__username"],
                       r["user__username"], r["user__volunteer__team__name"] or "", r["n"], r["hours"], r["points"] or 0])
    audit.record(user, "export", object_type="volunteers.servicerecord", object_id=f"{start:%Y%m%d}-{end:%Y%m%d}",
                 fields="name,hours,points", detail=f"service hours, per {per}, {min(n, EXPORT_MAX_ROWS)} rows")
    return wb.getvalue(), f"service-hours-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"


def _community_names():
    from gridgov.geo.models import GridNode

    return sorted(GridNode.objects.filter(level=gl.community_level()).values_list("path", "name"), key=lambda x: -len(x[0]))


def _community_from(path, communities) -> str:
    if not path:
        return ""
    for p, name in communities:
        if path.startswith(p):
            return name
    return ""
