"""Volunteers' points: a double-entry ledger, award rules as data, rewards and redemptions.

* `Account`: who holds points. A volunteer's account (one per user), a community's issuing
  account (the points it awards come out of it, so its balance is minus what it issued), a
  station's or merchant's account (the points spent there go in), the expiry sink.
* `Transfer`: one business event (an award, a redemption, a correction, an expiry, a refund),
  with a UNIQUE key naming its source ("case:12:grab", "redemption:7", ...): one source is never
  counted twice.
* `Movement`: one leg of a transfer on one account (signed amount). A transfer's movements sum
  to zero: points are never made or lost, only moved.
* `Account.balance` is a cache of the sum of the account's movements, updated in the same
  transaction (conditional UPDATE with F()); `gridgov points verify` recomputes it.

Every write goes through gridgov.volunteers.services (ledger.post)."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Account(models.Model):
    class Kind(models.TextChoices):
        VOLUNTEER = "volunteer", _("志愿者积分账户")
        ISSUING = "issuing", _("社区发放账户")
        STATION = "station", _("驿站/商户账户")
        SINK = "sink", _("过期回收账户")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=150)
    #: volunteer: the volunteer; station/merchant: the user who verifies its redemption codes
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="point_accounts")
    #: issuing: the community; station: the grid it lies on; volunteer: their home grid (if known)
    node = models.ForeignKey("geo.GridNode", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    #: station: the registry's service station (Place kind service_station); a merchant has none
    place = models.ForeignKey("registry.Place", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    #: volunteer: the registry's volunteer record, so that a volunteer without a login (a steward
    #: entered by the community) earns points too; linked to their user when they sign in
    volunteer = models.ForeignKey("registry.Volunteer", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    balance = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # the last line of defence behind services' conditional UPDATE
            models.CheckConstraint(condition=~Q(kind="volunteer") | Q(balance__gte=0),
                                   name="volunteer_balance_not_negative"),
            models.UniqueConstraint(fields=["user"], condition=Q(kind="volunteer"), name="one_point_account_per_volunteer"),
            models.UniqueConstraint(fields=["node"], condition=Q(kind="issuing"), name="one_issuing_account_per_node"),
            models.UniqueConstraint(fields=["place"], condition=Q(kind="station"), name="one_account_per_station"),
            models.UniqueConstraint(fields=["volunteer"], condition=Q(kind="volunteer"), name="one_point_account_per_registry_volunteer"),
        ]

    def __str__(self):
        return self.name


class Transfer(models.Model):
    class Kind(models.TextChoices):
        AWARD = "award", _("奖励")
        REDEEM = "redeem", _("兑换")
        CORRECT = "correct", _("更正")
        EXPIRE = "expire", _("过期")
        REFUND = "refund", _("退还")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    #: idempotency key: the source event ("case:12:grab", "redemption:7", ...), counted once
    key = models.CharField(max_length=120, unique=True)
    #: the award rule applied (PointRule.key), for awards
    rule = models.CharField(max_length=40, blank=True, db_index=True)
    amount = models.BigIntegerField(help_text="points moved (the sum of the positive legs)")
    reason = models.CharField(max_length=200, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)
    #: when the event happened (an award dated by its source) / was booked
    at = models.DateTimeField(db_index=True)
    booked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount} ({self.key})"


class Movement(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="movements")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="movements")
    amount = models.BigIntegerField()
    at = models.DateTimeField()  # the transfer's, copied for an account's statement

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["account", "at"])]


class PointRule(models.Model):
    """How many points an award earns: `points` per unit (an hour of an activity type, a valid
    report, a verified grab), capped per volunteer per day and per month (0 = no cap). Edited
    by administrators (services.update_rule), each change kept in the history (core.history)."""

    class Unit(models.TextChoices):
        EACH = "each", _("次")
        HOUR = "hour", _("小时")

    key = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=60)
    unit = models.CharField(max_length=6, choices=Unit.choices, default=Unit.EACH)
    points = models.PositiveIntegerField()
    daily_cap = models.PositiveIntegerField(default=0)
    monthly_cap = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    KEEP_ON_DEMO_RESET = True

    class Meta:
        ordering = ["key"]

    def __str__(self):
        return self.name


class Reward(models.Model):
    """A reward offered by a station or merchant (its account receives the points spent)."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="rewards")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=200, blank=True)
    price = models.PositiveIntegerField(help_text="points")
    stock = models.IntegerField(default=0)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["price", "id"]
        constraints = [models.CheckConstraint(condition=Q(stock__gte=0), name="reward_stock_not_negative")]

    def __str__(self):
        return self.name


class Redemption(models.Model):
    class State(models.TextChoices):
        ISSUED = "issued", _("待核销")
        USED = "used", _("已核销")
        CANCELLED = "cancelled", _("已取消")

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="redemptions")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="redemptions")
    points = models.PositiveIntegerField()
    #: keyed hash of the one-time code (the code itself is shown once, never stored)
    code_hash = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ISSUED, db_index=True)
    created_at = models.DateTimeField()
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    verified_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.reward} ({self.get_state_display()})"


# --- teams, activities, service records (issue 11) --------------------------------------------
#
# Names: a team's member joins by a TeamApplication (approved by the team's leader or the
# community); an Activity is published in one step by a community, a team or a party branch; a
# SignUp is one person's place in it (signed → checked_in → checked_out → confirmed, or
# cancelled / no_show); a ServiceRecord is one piece of service from any door (activity hours, a
# verified grab, a valid report, a fulfilled wish, a steward's patrol), keyed by its source so
# that nothing is counted twice; the points it earned are the Transfer it names.


class TeamApplication(models.Model):
    """A resident asks to join a volunteer team; the team's leader or the community decides."""

    class State(models.TextChoices):
        PENDING = "pending", _("待审核")
        APPROVED = "approved", _("已通过")
        REJECTED = "rejected", _("未通过")
        WITHDRAWN = "withdrawn", _("已撤回")

    team = models.ForeignKey("registry.VolunteerTeam", on_delete=models.CASCADE, related_name="applications")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_applications")
    name = models.CharField(max_length=50, help_text="the applicant's name as they gave it")
    note = models.CharField(max_length=200, blank=True, help_text="what they would like to do")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    created_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    #: the registry volunteer made or linked on approval
    volunteer = models.ForeignKey("registry.Volunteer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["team", "user"], condition=Q(state="pending"),
                                               name="one_pending_application_per_team")]

    def __str__(self):
        return f"{self.name} → {self.team}"


class Activity(models.Model):
    """A volunteer activity, published in one step (一键发布) by a community, a team or a party
    branch. `taken` counts the live sign-ups; a sign-up moves it with one conditional UPDATE
    (`taken < places`), so the places are never over-subscribed."""

    class State(models.TextChoices):
        PUBLISHED = "published", _("报名中")
        CANCELLED = "cancelled", _("已取消")
        FINISHED = "finished", _("已结束")  # the organiser confirmed the hours

    class Publisher(models.TextChoices):
        COMMUNITY = "community", _("社区")
        TEAM = "team", _("志愿服务队")
        PARTY = "party", _("党组织")

    #: activity types: the team kinds and "other"; the award rule is "activity:<kind>"
    #: (else "activity:other")
    KINDS = [
        ("patrol", _("平安巡逻")),
        ("environment", _("环境整治")),
        ("elderly_care", _("为老服务")),
        ("culture", _("文化宣传")),
        ("mediation", _("矛盾调解")),
        ("emergency", _("应急救援")),
        ("youth", _("青少年服务")),
        ("steward", _("楼门长服务")),
        ("other", _("其他")),
    ]

    title = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=KINDS, default="other")
    publisher = models.CharField(max_length=10, choices=Publisher.choices, default=Publisher.COMMUNITY)
    #: the grid it belongs to (its community, or a finer grid): scope and "near me"
    node = models.ForeignKey("geo.GridNode", on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey("registry.VolunteerTeam", null=True, blank=True, on_delete=models.SET_NULL, related_name="activities")
    party_org = models.ForeignKey("registry.PartyOrganization", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    #: False: only the team's members may sign up
    open_to_all = models.BooleanField(default=True)
    organiser = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="organised_activities")
    place_name = models.CharField(max_length=150)
    lat = models.FloatField()
    lon = models.FloatField()
    #: check-in by location: within this many metres of the place
    radius_m = models.PositiveIntegerField(default=200)
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField()
    places = models.PositiveIntegerField()
    taken = models.PositiveIntegerField(default=0)
    points_per_hour = models.PositiveIntegerField(default=0)
    #: the secret of the check-in code the organiser's phone shows (changes every 30 s)
    code_secret = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PUBLISHED, db_index=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    finished_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(taken__lte=F("places")), name="activity_not_oversubscribed"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="activity_ends_after_start"),
        ]

    def __str__(self):
        return self.title

    @property
    def rule_key(self) -> str:
        return f"activity:{self.kind}"


class SignUp(models.Model):
    """One person's place in an activity, and the hours they served."""

    class State(models.TextChoices):
        SIGNED = "signed", _("已报名")
        CANCELLED = "cancelled", _("已取消")
        CHECKED_IN = "checked_in", _("已签到")
        CHECKED_OUT = "checked_out", _("已签退")
        CONFIRMED = "confirmed", _("时长已确认")
        NO_SHOW = "no_show", _("未到")

    #: the states that hold a place (count in Activity.taken)
    LIVE = ("signed", "checked_in", "checked_out", "confirmed")

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="signups")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signups")
    state = models.CharField(max_length=12, choices=State.choices, default=State.SIGNED, db_index=True)
    signed_at = models.DateTimeField()
    cancelled_at = models.DateTimeField(null=True, blank=True)
    checkin_at = models.DateTimeField(null=True, blank=True)
    checkin_method = models.CharField(max_length=10, blank=True)  # gps, code, organiser
    checkin_lat = models.FloatField(null=True, blank=True)
    checkin_lon = models.FloatField(null=True, blank=True)
    checkin_distance_m = models.FloatField(null=True, blank=True)
    checkout_at = models.DateTimeField(null=True, blank=True)
    #: hours from check-in to check-out (within the activity's time)
    hours = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    #: the hours the organiser confirmed (a correction needs a reason)
    confirmed_hours = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    correction_reason = models.CharField(max_length=200, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["signed_at", "id"]
        constraints = [models.UniqueConstraint(fields=["activity", "user"], condition=~Q(state="cancelled"),
                                               name="one_live_signup_per_person")]

    def __str__(self):
        return f"{self.user} @ {self.activity}"


class ServiceRecord(models.Model):
    """One piece of service, from whichever door: `key` names the source once
    ("activity:<signup id>", "case:<id>:grab", "case:<id>:report", "wish:<id>", "patrol:<id>")."""

    class Source(models.TextChoices):
        ACTIVITY = "activity", _("志愿活动")
        GRAB = "grab", _("志愿抢单")
        REPORT = "report", _("有效上报")
        WISH = "wish", _("微心愿")
        PATROL = "patrol", _("楼门长巡查")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="service_records")
    source = models.CharField(max_length=10, choices=Source.choices, db_index=True)
    key = models.CharField(max_length=80, unique=True)
    title = models.CharField(max_length=150)
    hours = models.DecimalField(max_digits=6, decimal_places=2, default=0)
    at = models.DateTimeField(db_index=True)
    #: where it was served (scope), and the team it was served with, if any
    node = models.ForeignKey("geo.GridNode", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    team = models.ForeignKey("registry.VolunteerTeam", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    #: the points it earned (none when the caps left nothing)
    transfer = models.ForeignKey(Transfer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "at"])]

    def __str__(self):
        return f"{self.title} ({self.hours} h)"


class Patrol(models.Model):
    """A steward's (or volunteer's) patrol of their buildings: started and ended on the phone,
    the route as points taken while the page is open. Ending it makes a service record."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="volunteer_patrols")
    node = models.ForeignKey("geo.GridNode", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    #: [[lat, lon, iso time], ...]
    track = models.JSONField(default=list, blank=True)
    distance_m = models.PositiveIntegerField(default=0)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user"], condition=Q(ended_at__isnull=True),
                                               name="one_open_patrol_per_person")]


# --- party life (issue 11) --------------------------------------------------------------------


class PartyRegistration(models.Model):
    """双报到: an in-service party member (kind member) or an in-service unit's branch (kind unit)
    registers with the community where they live (or the unit lies); the community sees the roll."""

    class Kind(models.TextChoices):
        MEMBER = "member", _("在职党员")
        UNIT = "unit", _("在职单位党组织")

    class State(models.TextChoices):
        ACTIVE = "active", _("已报到")
        ENDED = "ended", _("已注销")

    kind = models.CharField(max_length=6, choices=Kind.choices)
    #: member: the member's user (their account on the platform); unit: who registered it
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="party_registrations")
    resident = models.ForeignKey("registry.Resident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(max_length=100, help_text="the member's name, or the unit's branch")
    unit_name = models.CharField(max_length=150, blank=True, help_text="工作单位 / the unit")
    #: the member's own branch (organisational relation), or the unit's branch, if in the registry
    party_org = models.ForeignKey("registry.PartyOrganization", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    #: the community registered with (level 1), and the home grid if known
    community = models.ForeignKey("geo.GridNode", on_delete=models.PROTECT, related_name="+")
    grid = models.ForeignKey("geo.GridNode", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    #: 亮身份: shown as a party member on their service and pages
    show_identity = models.BooleanField(default=True)
    skills = models.CharField(max_length=200, blank=True, help_text="what they offer (特长/服务意向)")
    state = models.CharField(max_length=6, choices=State.choices, default=State.ACTIVE, db_index=True)
    registered_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-registered_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["kind", "user", "community"], condition=Q(state="active") & Q(kind="member"),
                                               name="one_active_member_registration")]

    def __str__(self):
        return f"{self.name} → {self.community}"


class VanguardPost(models.Model):
    """党员先锋岗: a post on a grid that party members take (e.g. 垃圾分类督导岗)."""

    name = models.CharField(max_length=100)
    description = models.CharField(max_length=200, blank=True)
    node = models.ForeignKey("geo.GridNode", on_delete=models.PROTECT, related_name="+")
    party_org = models.ForeignKey("registry.PartyOrganization", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name


class VanguardDuty(models.Model):
    """A party member holding a vanguard post, from `since` until `until` (None: in force)."""

    post = models.ForeignKey(VanguardPost, on_delete=models.CASCADE, related_name="duties")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="vanguard_duties")
    since = models.DateTimeField()
    until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-since", "-id"]
        constraints = [models.UniqueConstraint(fields=["post", "user"], condition=Q(until__isnull=True),
                                               name="one_vanguard_duty_in_force")]


# --- 微心愿 (issue 11) -----------------------------------------------------------------------


def wish_photo_path(instance, filename):
    return f"wishes/{instance.created_at:%Y/%m}/{instance.pk or 'new'}/{secrets_token()}{_ext(instance.photo_type)}"


def secrets_token() -> str:
    import secrets

    return secrets.token_hex(8)


def _ext(content_type: str) -> str:
    return {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp"}.get(content_type, "")


class Wish(models.Model):
    """A small wish (微心愿) of a resident, above all of the five special groups (老弱病残孕),
    posted by them or by a grid worker for them. Exactly one claimer (a conditional UPDATE
    `state = open`); fulfilled with a photo; the resident (or the worker who posted it)
    confirms. The public card shows the title, the grid and the group, never the person."""

    class State(models.TextChoices):
        OPEN = "open", _("待认领")
        CLAIMED = "claimed", _("已认领")
        FULFILLED = "fulfilled", _("待确认")
        CONFIRMED = "confirmed", _("已圆梦")
        CANCELLED = "cancelled", _("已撤销")

    class Claimer(models.TextChoices):
        PARTY_MEMBER = "party_member", _("党员")
        VOLUNTEER = "volunteer", _("志愿者")
        UNIT = "unit", _("单位")

    title = models.CharField(max_length=60)
    description = models.CharField(max_length=300, blank=True)
    #: one of Resident.SPECIAL_CARE, or "" (any resident)
    group = models.CharField(max_length=12, blank=True)
    node = models.ForeignKey("geo.GridNode", on_delete=models.PROTECT, related_name="+")
    #: whose wish it is (private: the name and house are personal data)
    resident = models.ForeignKey("registry.Resident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    person_name = models.CharField(max_length=50, blank=True)
    #: the resident's own account, when they posted it themselves (they confirm)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="wishes")
    #: who typed it (the resident, or a grid worker for them)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN, db_index=True)
    created_at = models.DateTimeField()
    claimed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="claimed_wishes")
    claimer_kind = models.CharField(max_length=12, choices=Claimer.choices, blank=True)
    claimer_unit = models.CharField(max_length=150, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    fulfil_note = models.CharField(max_length=300, blank=True)
    photo = models.FileField(upload_to=wish_photo_path, max_length=200, blank=True)
    photo_type = models.CharField(max_length=40, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.title
