"""Volunteer activities (issue 11): published in one step (一键发布) by a community, a team or a
party branch; signed up for without ever over-subscribing the places; checked in on site (within
a radius of the place, or with the 6-digit code the organiser's phone shows, changing every
VOLUNTEERS_CODE_STEP_SECONDS); checked out; the hours confirmed (or corrected with a reason) by
whoever runs it, which records the service and its points (services.record_service, key
"activity:<sign-up id>"); finished, marking the people who never came as no-shows.

Who may do what:

* publish: staff with activities × create on the grid; a team's leader (VolunteerTeam.leader)
  for their team; a party branch's secretary (PartyOrganization.secretary) for their branch;
* run (edit, cancel, see the code, check in by hand, confirm hours, finish): the organiser, the
  leader / secretary of the activity's team / branch, staff with activities × update on its grid;
* sign up: anyone signed in for an activity open to all; a team-only one for the team's
  members (a registry Volunteer of that team linked to the user) and its leader;
* list (staff): activities × list on the grids in scope.

Every state change is one transaction with one history row (kind "activities" for the activity,
"activity_signups" for a sign-up); the people concerned are notified on commit. Every function
takes `now=` (the demo books a year with explicit times)."""

import hashlib
import hmac
import math
import secrets
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.accounts import policy
from gridgov.accounts.querysets import within_reach
from gridgov.core import history
from gridgov.core.errors import CodedError
from gridgov.geo.spatial import haversine_m

from . import conf, services
from .models import Activity, PointRule, ServiceRecord, SignUp

EDITABLE = ["title", "description", "kind", "place_name", "lat", "lon", "radius_m", "starts_at", "ends_at",
            "places", "points_per_hour", "open_to_all"]
HISTORY_FIELDS = EDITABLE + ["state"]
MAX_PLACES = 10000
MAX_HOURS = Decimal("24")
#: a person's sign-up that counts (every state but cancelled: at most one, a unique index)
LIVE_OR_DONE = [v for v in SignUp.State.values if v != SignUp.State.CANCELLED]


class ActivityError(CodedError):
    status = 400
    code = "invalid"


class Full(ActivityError):
    status = 409
    code = "full"


class Stale(ActivityError):
    status = 409
    code = "stale"


class NotAllowed(ActivityError):
    status = 403
    code = "not_allowed"


class NotFound(ActivityError):
    status = 404
    code = "not_found"


# --- who ---------------------------------------------------------------------------------------


def _signed_in(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and getattr(user, "is_active", False)


def member_team_ids(user) -> set[int]:
    """The teams `user` belongs to (a registry Volunteer linked to them) or leads."""
    if not _signed_in(user):
        return set()
    from gridgov.registry.models import Volunteer, VolunteerTeam

    ids = set(Volunteer.objects.filter(user=user, team__isnull=False, ended_on__isnull=True).values_list("team_id", flat=True))
    ids |= set(VolunteerTeam.objects.filter(leader=user).values_list("pk", flat=True))
    return ids


def is_member(user, team) -> bool:
    if team is None or not _signed_in(user):
        return False
    from gridgov.registry.models import Volunteer

    return team.leader_id == user.pk or Volunteer.objects.filter(user=user, team=team, ended_on__isnull=True).exists()


def may_run(user, activity: Activity) -> bool:
    """The organiser, the leader / secretary of its team / branch, or staff with
    activities × update on its grid."""
    if not _signed_in(user):
        return False
    if activity.organiser_id == user.pk:
        return True
    if activity.team_id and activity.team.leader_id == user.pk:
        return True
    if activity.party_org_id and activity.party_org.secretary_id == user.pk:
        return True
    return policy.allows(user, "activities", "update", activity.node.path)


def may_publish(user) -> bool:
    """Whether the publish form is offered at all (staff who may create somewhere, a team's
    leader, a branch's secretary)."""
    if not _signed_in(user):
        return False
    return policy.allows(user, "activities", "create") or publishable_teams(user).exists() or publishable_branches(user).exists()


def publishable_teams(user):
    from gridgov.registry.models import VolunteerTeam

    if not _signed_in(user):
        return VolunteerTeam.objects.none()
    qs = VolunteerTeam.objects.filter(ended_on__isnull=True).select_related("grid")
    return qs.filter(leader=user) | within_reach(qs, user, "activities", "create", "grid__path")


def publishable_branches(user):
    from gridgov.registry.models import PartyOrganization

    if not _signed_in(user):
        return PartyOrganization.objects.none()
    qs = PartyOrganization.objects.filter(ended_on__isnull=True).select_related("grid")
    return qs.filter(secretary=user) | within_reach(qs, user, "activities", "create", "grid__path")


def may_see(user, activity: Activity) -> bool:
    if not _signed_in(user):
        return False
    if activity.state == Activity.State.PUBLISHED and activity.open_to_all:
        return True
    if may_run(user, activity) or policy.allows(user, "activities", "list", activity.node.path):
        return True
    if activity.team_id and is_member(user, activity.team):
        return True
    return SignUp.objects.filter(activity=activity, user=user).exists()


def get_activity(user, activity_id) -> Activity:
    """The activity if `user` may see it; NotFound otherwise (the same answer as a missing one)."""
    a = Activity.objects.select_related("node", "team", "party_org", "organiser").filter(pk=activity_id).first()
    if a is None or not may_see(user, a):
        raise NotFound(_("没有这个活动"))
    return a


def get_signup(user, signup_id) -> SignUp:
    """A sign-up for whoever runs its activity, or its own person."""
    s = SignUp.objects.select_related("activity__node", "activity__team", "activity__party_org", "user").filter(pk=signup_id).first()
    if s is None or not (s.user_id == getattr(user, "pk", None) or may_run(user, s.activity)):
        raise NotFound(_("没有这条报名记录"))
    return s


def _require_run(user, activity):
    if not may_run(user, activity):
        raise NotAllowed(_("只有活动的组织者、所属队伍队长或支部书记、或有权限的工作人员可以操作"))


# --- helpers -----------------------------------------------------------------------------------


def award_rule(kind: str) -> str:
    """The award rule of an activity type: "activity:<kind>" if there is one, else "activity:other"."""
    key = f"activity:{kind}"
    return key if PointRule.objects.filter(key=key).exists() else "activity:other"


def default_points_per_hour(kind: str) -> int:
    rule = PointRule.objects.filter(key=award_rule(kind)).first()
    return rule.points if rule and rule.active else 0


def _hours(start, end) -> Decimal:
    seconds = max(0.0, (end - start).total_seconds())
    return (Decimal(str(seconds)) / Decimal(3600)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _notify(user, kind, title_tpl, body_tpl="", **params):
    """Queue a notification in the source language (Chinese), `params` filled in after."""
    from django.utils import translation

    from gridgov.cases import notify

    with translation.override(None):
        notify.queue(user, kind, str(title_tpl) % params, str(body_tpl) % params)


def _snapshot(a):
    return history.snapshot(a, HISTORY_FIELDS)


def _record(actor, a, action, changes=None, note="", at=None):
    history.record(actor, "activities", a, action, changes or {}, grid_path=a.node.path, note=note, at=at)


def _record_signup(actor, s, action, changes=None, note="", at=None):
    history.record(actor, "activity_signups", s, action, changes or {}, grid_path=s.activity.node.path, note=note, at=at)


def _check_fields(f: dict, now=None):
    title = (f.get("title") or "").strip()
    if not title:
        raise ActivityError(_("请填写活动名称"), code="title")
    f["title"] = title[:100]
    f["description"] = (f.get("description") or "").strip()[:2000]
    f["place_name"] = (f.get("place_name") or "").strip()[:150]
    if not f["place_name"]:
        raise ActivityError(_("请填写活动地点"), code="place")
    try:
        lat, lon = float(f["lat"]), float(f["lon"])
    except (TypeError, ValueError, KeyError):
        raise ActivityError(_("请在地图上选择活动地点"), code="place") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ActivityError(_("活动地点的坐标不正确"), code="place")
    f["lat"], f["lon"] = lat, lon
    if f.get("kind") not in dict(Activity.KINDS):
        raise ActivityError(_("活动类型不正确"), code="kind")
    starts, ends = f.get("starts_at"), f.get("ends_at")
    if not starts or not ends:
        raise ActivityError(_("请填写活动开始和结束时间"), code="time")
    if ends <= starts:
        raise ActivityError(_("结束时间必须晚于开始时间"), code="time")
    if ends - starts > timedelta(hours=24):
        raise ActivityError(_("一次活动不超过24小时"), code="time")
    if now is not None and starts <= now:
        raise ActivityError(_("开始时间必须晚于现在"), code="time")
    try:
        places = int(f.get("places"))
    except (TypeError, ValueError):
        raise ActivityError(_("请填写招募人数"), code="places") from None
    if not 1 <= places <= MAX_PLACES:
        raise ActivityError(_("招募人数应在1到%(max)s之间"), code="places", max=MAX_PLACES)
    f["places"] = places
    for name, lo, hi in (("radius_m", 10, 5000), ("points_per_hour", 0, 1000)):
        try:
            f[name] = int(f[name])
        except (TypeError, ValueError):
            raise ActivityError(_("数值不正确：%(field)s"), code=name, field=name) from None
        if not lo <= f[name] <= hi:
            raise ActivityError(_("%(field)s 应在%(lo)s到%(hi)s之间"), code=name, field=name, lo=lo, hi=hi)
    return f


# --- publish, edit, cancel ---------------------------------------------------------------------


def publish(actor, *, title: str, node=None, lat, lon, starts_at, ends_at, places, place_name: str,
            kind: str = "other", description: str = "", team=None, party_org=None, open_to_all: bool = True,
            points_per_hour=None, radius_m=None, now=None) -> Activity:
    """Publish an activity in one step. With a `team`: the team's activity (its leader, or staff
    who may create on the grid); with a `party_org`: the branch's (its secretary, or staff);
    else the community's (staff who may create on `node`). `node` defaults to the team's or
    branch's grid. Points per hour default to the award rule of the kind."""
    now = now or timezone.now()
    if team is not None and party_org is not None:
        raise ActivityError(_("活动属于一个队伍或一个党组织，不能同时属于两者"), code="publisher")
    home = team.grid if team is not None else party_org.grid if party_org is not None else None
    node = node or home
    if node is None:
        raise ActivityError(_("请选择活动所在的网格"), code="node")
    relation = (team is not None and team.leader_id == getattr(actor, "pk", None)) or \
               (party_org is not None and party_org.secretary_id == getattr(actor, "pk", None))
    if relation:
        community = services._community(home)
        if community is not None and not node.path.startswith(community.path):
            raise NotAllowed(_("队长或支部书记只能在本社区发布活动"))
    elif not policy.allows(actor, "activities", "create", node.path):
        raise NotAllowed(_("您不能在这个网格发布活动"))
    if not open_to_all and team is None:
        raise ActivityError(_("只有队伍的活动可以仅限队员报名"), code="open_to_all")
    fields = _check_fields(dict(
        title=title, description=description, kind=kind or "other", place_name=place_name, lat=lat, lon=lon,
        starts_at=starts_at, ends_at=ends_at, places=places,
        points_per_hour=default_points_per_hour(kind or "other") if points_per_hour in (None, "") else points_per_hour,
        radius_m=conf.get_int("VOLUNTEERS_CHECKIN_RADIUS_M") if radius_m in (None, "") else radius_m), now=now)
    publisher = Activity.Publisher.TEAM if team is not None else Activity.Publisher.PARTY if party_org is not None \
        else Activity.Publisher.COMMUNITY
    with transaction.atomic():
        a = Activity.objects.create(
            **fields, publisher=publisher, node=node, team=team,
            party_org=party_org, open_to_all=bool(open_to_all), organiser=actor, code_secret=secrets.token_hex(32),
            created_at=now, created_by=actor)
        _record(actor, a, "create", history.diff({}, _snapshot(a)), at=now)
    return a


def edit(actor, activity: Activity, version: int, now=None, **changes) -> Activity:
    """Change an activity still open (version compare-and-set: a stale version → 409). The
    places never go below the people signed up; the signed-up people hear of a new time or place."""
    now = now or timezone.now()
    _require_run(actor, activity)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ActivityError(_("不能修改：%(fields)s"), code="fields", fields=", ".join(sorted(unknown)))
    with transaction.atomic():
        a = Activity.objects.select_for_update(of=("self",)).select_related("node", "team", "party_org").get(pk=activity.pk)
        if version is None or int(version) != a.version:
            raise Stale(_("活动已被他人修改，请刷新后重试"))
        if a.state != Activity.State.PUBLISHED:
            raise ActivityError(_("活动已结束或已取消，不能修改"), code="closed")
        before = _snapshot(a)
        fields = {name: getattr(a, name) for name in EDITABLE}
        fields.update({k: v for k, v in changes.items()})
        if fields["open_to_all"] is False and a.team_id is None:
            raise ActivityError(_("只有队伍的活动可以仅限队员报名"), code="open_to_all")
        started = a.starts_at <= now
        if started and (fields["starts_at"] != a.starts_at):
            raise ActivityError(_("活动已开始，不能修改开始时间"), code="time")
        fields = _check_fields(fields, now=None if started or fields["starts_at"] == a.starts_at else now)
        if fields["places"] < a.taken:
            raise ActivityError(_("已有%(n)s人报名，招募人数不能少于报名人数"), code="places", n=a.taken)
        for k, v in fields.items():
            setattr(a, k, v)
        a.open_to_all = bool(a.open_to_all)
        a.version += 1
        a.save()
        changed = history.diff(before, _snapshot(a))
        _record(actor, a, "update", changed, at=now)
        if {"starts_at", "ends_at", "place_name", "lat", "lon"} & set(changed):
            when = timezone.localtime(a.starts_at).strftime("%Y-%m-%d %H:%M")
            for s in a.signups.filter(state__in=SignUp.LIVE).select_related("user"):
                _notify(s.user, "activity_changed", _("活动时间或地点有变：%(title)s"), _("%(when)s，%(place)s"),
                        title=a.title, when=when, place=a.place_name)
    return a


def cancel(actor, activity: Activity, reason: str = "", now=None, notify: bool = True) -> Activity:
    """Cancel an activity nobody has checked in to yet: the sign-ups are cancelled and their
    people told (`notify=False`: the demo's past year)."""
    now = now or timezone.now()
    _require_run(actor, activity)
    reason = (reason or "").strip()[:200]
    with transaction.atomic():
        a = Activity.objects.select_for_update(of=("self",)).select_related("node").get(pk=activity.pk)
        if a.state != Activity.State.PUBLISHED:
            raise ActivityError(_("活动已结束或已取消"), code="closed")
        if a.signups.filter(state__in=["checked_in", "checked_out", "confirmed"]).exists():
            raise ActivityError(_("已有人签到，不能取消活动；请结束活动"), code="started")
        people = list(a.signups.filter(state=SignUp.State.SIGNED).select_related("user"))
        a.signups.filter(state=SignUp.State.SIGNED).update(state=SignUp.State.CANCELLED, cancelled_at=now)
        a.state, a.taken, a.version = Activity.State.CANCELLED, 0, a.version + 1
        a.save(update_fields=["state", "taken", "version"])
        _record(actor, a, "cancel", {"state": ["published", "cancelled"]}, note=reason, at=now)
        for s in people if notify else []:
            _notify(s.user, "activity_cancelled", _("活动已取消：%(title)s"), _("原因：%(reason)s"),
                    title=a.title, reason=reason or "—")
    return a


# --- signing up -------------------------------------------------------------------------------


def sign_up(user, activity: Activity, now=None) -> SignUp:
    """Take one place: one conditional UPDATE (taken < places, still open, not started) then the
    sign-up row; a full activity → Full (409). Nothing is ever over-subscribed."""
    now = now or timezone.now()
    if not _signed_in(user):
        raise NotAllowed(_("请先登录"))
    if activity.state != Activity.State.PUBLISHED or activity.starts_at <= now:
        raise ActivityError(_("活动已开始、已结束或已取消，不能报名"), code="closed")
    if not activity.open_to_all and not is_member(user, activity.team):
        raise ActivityError(_("这个活动只限%(team)s的队员报名"), code="members_only", team=activity.team)
    if SignUp.objects.filter(activity=activity, user=user).exclude(state=SignUp.State.CANCELLED).exists():
        raise ActivityError(_("您已报名这个活动"), code="already")
    with transaction.atomic():
        taken = Activity.objects.filter(pk=activity.pk, state=Activity.State.PUBLISHED, starts_at__gt=now,
                                        taken__lt=F("places")).update(taken=F("taken") + 1)
        if taken != 1:
            fresh = Activity.objects.filter(pk=activity.pk).values("state", "starts_at").first()
            if fresh and fresh["state"] == Activity.State.PUBLISHED and fresh["starts_at"] > now:
                raise Full(_("名额已满"))
            raise ActivityError(_("活动已开始、已结束或已取消，不能报名"), code="closed")
        try:
            with transaction.atomic():
                s = SignUp.objects.create(activity=activity, user=user, signed_at=now)
        except IntegrityError:  # a second tap meanwhile: its place goes back with this rollback
            raise ActivityError(_("您已报名这个活动"), code="already") from None
        s.activity = activity
        _record_signup(user, s, "create", {"state": [None, "signed"]}, at=now)
    activity.taken += 1
    return s


def my_signup(user, activity) -> SignUp | None:
    if not _signed_in(user):
        return None
    return SignUp.objects.filter(activity_id=activity.pk, user_id=user.pk, state__in=LIVE_OR_DONE).first()


def _mine(user, activity) -> SignUp:
    s = my_signup(user, activity)
    if s is None:
        raise ActivityError(_("您没有报名这个活动"), code="not_signed")
    s.activity, s.user = activity, user
    return s


def cancel_signup(user, activity: Activity, now=None) -> SignUp:
    """Give one's place back before the start."""
    now = now or timezone.now()
    s = _mine(user, activity)
    if activity.starts_at <= now:
        raise ActivityError(_("活动已开始，不能取消报名"), code="started")
    with transaction.atomic():
        if SignUp.objects.filter(pk=s.pk, state=SignUp.State.SIGNED).update(
                state=SignUp.State.CANCELLED, cancelled_at=now) != 1:
            raise ActivityError(_("已签到，不能取消报名"), code="state")
        Activity.objects.filter(pk=activity.pk, taken__gt=0).update(taken=F("taken") - 1)
        _record_signup(user, s, "cancel", {"state": [s.state, "cancelled"]}, at=now)
    s.state, s.cancelled_at = SignUp.State.CANCELLED, now
    return s


# --- the check-in code -------------------------------------------------------------------------


def _step() -> int:
    return max(5, conf.get_int("VOLUNTEERS_CODE_STEP_SECONDS"))


def code_at(activity: Activity, t: float) -> str:
    """The 6-digit code of the step holding Unix time `t`: HMAC(code_secret, step counter)."""
    counter = int(t // _step())
    mac = hmac.new(activity.code_secret.encode(), str(counter).encode(), hashlib.sha256).digest()
    offset = mac[-1] & 0x0F
    n = int.from_bytes(mac[offset:offset + 4], "big") & 0x7FFFFFFF
    return f"{n % 1_000_000:06d}"


def current_code(actor, activity: Activity, now=None) -> tuple[str, int]:
    """For whoever runs the activity: the code now and the seconds until it changes."""
    _require_run(actor, activity)
    if activity.state != Activity.State.PUBLISHED:
        raise ActivityError(_("活动已结束或已取消"), code="closed")
    t = (now or timezone.now()).timestamp()
    step = _step()
    return code_at(activity, t), max(1, int(step - (t % step)))


def code_valid(activity: Activity, code: str, now=None) -> bool:
    """The code of the current step or of the one before (read just before it changed)."""
    code = (code or "").strip()
    if len(code) != 6 or not code.isdigit():
        return False
    t = (now or timezone.now()).timestamp()
    return any(hmac.compare_digest(code, code_at(activity, t - k * _step())) for k in (0, 1))


# --- on site ---------------------------------------------------------------------------------


def checkin_window(activity: Activity):
    return activity.starts_at - timedelta(minutes=conf.get_int("VOLUNTEERS_CHECKIN_EARLY_MINUTES")), activity.ends_at


def check_in(user, activity: Activity, *, lat=None, lon=None, crs: str = "wgs84", code: str = "", now=None) -> SignUp:
    """Prove presence: a position within the activity's radius, or the organiser's current code;
    only within the check-in window (from VOLUNTEERS_CHECKIN_EARLY_MINUTES before the start to
    the end)."""
    now = now or timezone.now()
    s = _mine(user, activity)
    if activity.state != Activity.State.PUBLISHED:
        raise ActivityError(_("活动已结束或已取消"), code="closed")
    opens, closes = checkin_window(activity)
    if now < opens:
        raise ActivityError(_("签到将在活动开始前%(n)s分钟开放"), code="too_early",
                            n=conf.get_int("VOLUNTEERS_CHECKIN_EARLY_MINUTES"))
    if now > closes:
        raise ActivityError(_("活动已结束，不能签到"), code="too_late")
    if s.state != SignUp.State.SIGNED:
        raise ActivityError(_("您已签到"), code="already")
    fields = dict(state=SignUp.State.CHECKED_IN, checkin_at=now)
    if code:
        if not code_valid(activity, code, now):
            raise ActivityError(_("签到码无效或已过期，请扫描组织者手机上的最新签到码"), code="bad_code")
        fields["checkin_method"] = "code"
    else:
        if lat in (None, "") or lon in (None, ""):
            raise ActivityError(_("请允许定位或输入签到码"), code="no_position")
        from gridgov.geo.coords import to_wgs84

        try:
            lon_w, lat_w = to_wgs84(float(lon), float(lat), crs or "wgs84")
        except (TypeError, ValueError):
            raise ActivityError(_("位置不正确"), code="no_position") from None
        d = haversine_m(lon_w, lat_w, activity.lon, activity.lat)
        if d > activity.radius_m:
            raise ActivityError(_("您距活动地点约%(d)s米，超出签到范围（%(r)s米）"), code="too_far",
                                d=int(round(d)), r=activity.radius_m)
        fields.update(checkin_method="gps", checkin_lat=lat_w, checkin_lon=lon_w, checkin_distance_m=round(d, 1))
    with transaction.atomic():
        if SignUp.objects.filter(pk=s.pk, state=SignUp.State.SIGNED).update(**fields) != 1:
            raise ActivityError(_("您已签到"), code="already")
        _record_signup(user, s, "checkin", {"state": ["signed", "checked_in"], "method": [None, fields["checkin_method"]]},
                       at=now)
    s.refresh_from_db()
    return s


def check_in_by_hand(actor, signup: SignUp, at=None, now=None) -> SignUp:
    """Whoever runs the activity checks a signed-up person in (they came without a phone)."""
    now = now or timezone.now()
    a = signup.activity
    _require_run(actor, a)
    if a.state != Activity.State.PUBLISHED:
        raise ActivityError(_("活动已结束或已取消"), code="closed")
    opens, _closes = checkin_window(a)
    if now < opens:
        raise ActivityError(_("签到将在活动开始前%(n)s分钟开放"), code="too_early",
                            n=conf.get_int("VOLUNTEERS_CHECKIN_EARLY_MINUTES"))
    at = at or min(max(now, a.starts_at), a.ends_at)
    with transaction.atomic():
        if SignUp.objects.filter(pk=signup.pk, state__in=[SignUp.State.SIGNED, SignUp.State.NO_SHOW]).update(
                state=SignUp.State.CHECKED_IN, checkin_at=at, checkin_method="organiser") != 1:
            raise ActivityError(_("已签到"), code="already")
        _record_signup(actor, signup, "checkin", {"state": [signup.state, "checked_in"], "method": [None, "organiser"]},
                       at=now)
    signup.refresh_from_db()
    return signup


def _close(signup: SignUp, at) -> dict:
    a = signup.activity
    end = min(max(at, a.starts_at), a.ends_at)
    start = max(signup.checkin_at or a.starts_at, a.starts_at)
    return {"checkout_at": at, "hours": _hours(start, end) if end > start else Decimal("0.00")}


def check_out(user, activity: Activity, now=None) -> SignUp:
    """Close one's hours: from the check-in to now, within the activity's time."""
    now = now or timezone.now()
    s = _mine(user, activity)
    if s.state != SignUp.State.CHECKED_IN:
        raise ActivityError(_("请先签到"), code="not_checked_in")
    if now > activity.ends_at + timedelta(minutes=conf.get_int("VOLUNTEERS_CHECKOUT_LATE_MINUTES")):
        raise ActivityError(_("签退已截止，请联系组织者确认时长"), code="too_late")
    fields = _close(s, now)
    with transaction.atomic():
        if SignUp.objects.filter(pk=s.pk, state=SignUp.State.CHECKED_IN).update(state=SignUp.State.CHECKED_OUT, **fields) != 1:
            raise ActivityError(_("已签退"), code="already")
        _record_signup(user, s, "checkout", {"state": ["checked_in", "checked_out"], "hours": [None, str(fields["hours"])]},
                       at=now)
    s.refresh_from_db()
    return s


def confirm(actor, signup: SignUp, hours=None, reason: str = "", now=None, notify: bool = True, _rule=None) -> SignUp:
    """Whoever runs the activity confirms a person's hours: the computed ones by default, or
    other hours with a reason (kept on the sign-up and in the history). Records the service and
    its points (the award rule's caps apply)."""
    now = now or timezone.now()
    a = signup.activity
    _require_run(actor, a)
    reason = (reason or "").strip()[:200]
    with transaction.atomic():
        s = SignUp.objects.select_for_update(of=("self",)).select_related("user").get(pk=signup.pk)
        s.activity = a
        if s.state == SignUp.State.CHECKED_IN:  # never checked out: closed now (within the activity's time)
            for k, v in _close(s, now).items():
                setattr(s, k, v)
        elif s.state != SignUp.State.CHECKED_OUT:
            raise ActivityError(_("只能确认已签到的人员的时长"), code="state")
        computed = s.hours if s.hours is not None else Decimal("0.00")
        if hours in (None, ""):
            value = computed
        else:
            try:
                value = Decimal(str(hours)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            except ArithmeticError:
                raise ActivityError(_("时长不正确"), code="hours") from None
            if not Decimal("0") <= value <= MAX_HOURS:
                raise ActivityError(_("时长应在0到24小时之间"), code="hours")
            if value != computed and not reason:
                raise ActivityError(_("修改时长请填写原因"), code="reason_required")
        before_state = s.state
        s.state, s.confirmed_hours, s.confirmed_by, s.confirmed_at = SignUp.State.CONFIRMED, value, actor, now
        s.correction_reason = reason if value != computed else ""
        s.save(update_fields=["state", "checkout_at", "hours", "confirmed_hours", "confirmed_by", "confirmed_at",
                              "correction_reason"])
        changes = {"state": [before_state, "confirmed"], "hours": [str(computed), str(value)]}
        _record_signup(actor, s, "confirm", changes, note=s.correction_reason, at=now)
        record = None
        if value > 0:
            record = services.record_service(
                s.user, ServiceRecord.Source.ACTIVITY, f"activity:{s.pk}", a.title, hours=value, at=a.ends_at,
                node=a.node, team=a.team, rule=_rule or award_rule(a.kind), quantity=value, rate=a.points_per_hour, actor=actor)
        earned = record.transfer.amount if record is not None and record.transfer_id else 0
        if notify:
            _notify(s.user, "activity_hours", _("服务时长已确认：%(title)s"), _("%(hours)s小时，积分%(points)s"),
                    title=a.title, hours=value, points=earned)
    return s


def finish(actor, activity: Activity, now=None, notify: bool = True) -> dict:
    """End the activity: the people still checked in are checked out at the end, every checked-out
    person's hours confirmed as computed, the ones who never checked in marked no-shows."""
    now = now or timezone.now()
    _require_run(actor, activity)
    if activity.starts_at > now:
        raise ActivityError(_("活动尚未开始，不能结束；不举办请取消"), code="not_started")
    counts = {"confirmed": 0, "no_show": 0}
    with transaction.atomic():
        a = Activity.objects.select_for_update(of=("self",)).select_related("node", "team", "party_org").get(pk=activity.pk)
        if a.state != Activity.State.PUBLISHED:
            raise ActivityError(_("活动已结束或已取消"), code="closed")
        rule = award_rule(a.kind)
        for s in a.signups.filter(state__in=[SignUp.State.CHECKED_IN, SignUp.State.CHECKED_OUT]):
            s.activity = a
            confirm(actor, s, now=min(now, a.ends_at) if s.state == SignUp.State.CHECKED_IN else now, notify=notify,
                    _rule=rule)
            counts["confirmed"] += 1
        for s in a.signups.filter(state=SignUp.State.SIGNED).select_related("user"):
            s.activity = a
            SignUp.objects.filter(pk=s.pk).update(state=SignUp.State.NO_SHOW)
            _record_signup(actor, s, "no_show", {"state": ["signed", "no_show"]}, at=now)
            counts["no_show"] += 1
        # a no-show holds no place (Activity.taken counts the live sign-ups)
        a.state, a.finished_at, a.version, a.taken = Activity.State.FINISHED, now, a.version + 1, a.taken - counts["no_show"]
        a.save(update_fields=["state", "finished_at", "version", "taken"])
        _record(actor, a, "finish", {"state": ["published", "finished"]}, at=now)
    activity.state, activity.finished_at, activity.version = a.state, a.finished_at, a.version
    return counts


# --- reading -----------------------------------------------------------------------------------


def for_person(user, lat=None, lon=None, *, radius_km: float = 5.0, now=None, limit: int = 100):
    """The activities a person may still sign up for or attend: the published ones not yet
    ended near (lat, lon) (open to all, or of their teams), and those of their teams wherever
    they are. Returns [(activity, distance in metres or None, is_team's)] nearest first, then by start."""
    now = now or timezone.now()
    teams = member_team_ids(user)
    base = Activity.objects.filter(state=Activity.State.PUBLISHED, ends_at__gt=now).select_related("node", "team")
    visible = base.filter(Q(open_to_all=True) | Q(team_id__in=teams))
    rows = {}
    if lat not in (None, "") and lon not in (None, ""):
        lat, lon = float(lat), float(lon)
        dlat = radius_km / 111.0
        dlon = radius_km / (111.0 * max(0.1, math.cos(math.radians(lat))))
        for a in visible.filter(lat__range=(lat - dlat, lat + dlat), lon__range=(lon - dlon, lon + dlon))[:500]:
            d = haversine_m(lon, lat, a.lon, a.lat)
            if d <= radius_km * 1000:
                rows[a.pk] = (a, d, a.team_id in teams)
    if teams:
        for a in base.filter(team_id__in=teams).order_by("starts_at")[:limit]:
            if a.pk not in rows:
                d = haversine_m(float(lon), float(lat), a.lon, a.lat) if lat not in (None, "") and lon not in (None, "") else None
                rows[a.pk] = (a, d, True)
    out = sorted(rows.values(), key=lambda r: (r[1] is None, r[1] or 0, r[0].starts_at))
    return out[:limit]


def signups_of(user, states=None):
    qs = SignUp.objects.filter(user=user).select_related("activity__node", "activity__team").order_by("-activity__starts_at", "-id")
    if states:
        qs = qs.filter(state__in=states)
    return qs


def my_hours(user) -> dict:
    """A person's confirmed activity hours: the total and the records."""
    from django.db.models import Sum

    qs = ServiceRecord.objects.filter(user=user, source=ServiceRecord.Source.ACTIVITY).select_related("transfer")
    total = Decimal(str(qs.aggregate(s=Sum("hours"))["s"] or 0)).quantize(Decimal("0.01"))
    return {"total": total, "records": list(qs[:100])}


def staff_list(user, *, community=None, team=None, month: str = "", state: str = ""):
    """Activities × list: the activities of the grids in scope, filtered."""
    policy.require(user, "activities", "list")
    qs = within_reach(Activity.objects.select_related("node", "team", "party_org", "organiser"), user,
                      "activities", "list", "node__path")
    if community is not None:
        qs = qs.filter(node__path__startswith=community.path)
    if team:
        qs = qs.filter(team_id=team)
    if month:
        try:
            y, m = (int(x) for x in month.split("-"))
            start = timezone.make_aware(datetime(y, m, 1))
        except (ValueError, TypeError):
            raise ActivityError(_("月份格式应为 YYYY-MM"), code="month") from None
        end = timezone.make_aware(datetime(y + (m == 12), m % 12 + 1, 1))
        qs = qs.filter(starts_at__gte=start, starts_at__lt=end)
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("-starts_at", "-id")


def grids_for_publish(user):
    """The grids (levels 1–3) a staff user may publish on."""
    from gridgov.geo.models import GridNode

    return within_reach(GridNode.objects.filter(level__in=[1, 2]).order_by("path"), user, "activities", "create", "path")
