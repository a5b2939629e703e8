"""Cases (事件/诉求): from a resident's report to the rated, closed result.

The tables fall in four groups:

* taxonomy — `Scenario` → `Item` (the must-handle items, with department, limits and the
  crosswalk to the national urban-management codes);
* routing — `RoutingPath` (ordered handler levels), `RoutingRule` (who gets what; the most
  specific rule wins) and `RoutingRuleHistory` (every edit of a rule);
* the case — `Case` (current state and what derives from the history, for speed), `CaseEvent`
  (the append-only history), `CasePhoto`, `CaseFollower`, `Rating`, `Summons`, `Clock`,
  `Breach`, `Correction` (staff corrections kept as training signal);
* delivery — `Notification` (the outbox), `Subscription` (where a user receives messages),
  `CalendarOverride` (local working-day overrides).

Every state change goes through `gridgov.cases.services`; nothing here changes state."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.db.models import Exists, OuterRef, Q

from gridgov.accounts.querysets import ScopedQuerySet

USER = settings.AUTH_USER_MODEL


class Urgency(models.TextChoices):
    MINOR = "minor", _("小事")
    NORMAL = "normal", _("一般")
    MAJOR = "major", _("大事")
    EMERGENCY = "emergency", _("紧急")


class HandlerLevel(models.TextChoices):
    """The rungs of the escalation ladder, from the grid up."""

    GRID_LEADER = "grid_leader", _("网格长")
    COMMUNITY_SECRETARY = "community_secretary", _("社区书记")
    SECTION = "section", _("职能科室")
    LEADER_IN_CHARGE = "leader_in_charge", _("分管领导")
    PRINCIPAL_LEADER = "principal_leader", _("主要领导")
    VOLUNTEER = "volunteer", _("志愿者")  # only by grabbing, never on a path


class Channel(models.TextChoices):
    RESIDENT = "resident", _("居民上报")
    VOLUNTEER = "volunteer", _("志愿者上报")
    PATROL = "patrol", _("网格巡查")
    HOTLINE = "hotline", _("热线")
    API = "api", _("接口")


class State(models.TextChoices):
    SUBMITTED = "submitted", _("已上报")
    DISPATCHED = "dispatched", _("已派遣")
    ACCEPTED = "accepted", _("已受理")
    ON_SITE = "on_site", _("已到场")
    RESOLVED = "resolved", _("已处置")
    VERIFIED = "verified", _("已核查")
    CLOSED = "closed", _("已结案")
    RETURNED = "returned", _("已退回")
    ESCALATED = "escalated", _("已升级")
    MERGED = "merged", _("已合并")
    REJECTED = "rejected", _("不予受理")
    REOPENED = "reopened", _("已重办")


#: states in which a case still needs work (duplicates, late lists, grabbing)
OPEN_STATES = (
    State.SUBMITTED,
    State.DISPATCHED,
    State.ACCEPTED,
    State.ON_SITE,
    State.RETURNED,
    State.ESCALATED,
    State.REOPENED,
)
#: states the reporter may rate in
RATABLE_STATES = (State.VERIFIED, State.CLOSED)


class Score(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASIC = "basic", _("基本满意")
    UNSATISFIED = "unsatisfied", _("不满意")


# --- taxonomy ---------------------------------------------------------------------------------


class LimitUnit(models.TextChoices):
    """The unit of an item's time limit: wall-clock minutes (day and night), working hours or
    working days (both on the working calendar, workcal.WorkCalendar)."""

    MINUTES = "minutes", _("分钟")
    WORKING_HOURS = "working_hours", _("工作小时")
    WORKING_DAYS = "working_days", _("工作日")


#: the units as stored texts say them (source Chinese, whatever the active language)
LIMIT_WORDS = {"minutes": "分钟", "working_hours": "个工作小时", "working_days": "个工作日"}


class Scenario(models.Model):
    """A governance scenario (公共安全, 创城创卫, ...) grouping items."""

    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=60, unique=True)
    order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)  # a deactivated scenario offers none of its items

    class Meta:
        ordering = ["order", "id"]

    def __str__(self):
        return self.name


class Item(models.Model):
    """A must-handle item (必办事项): what a case is about, and how it is handled by default."""

    scenario = models.ForeignKey(Scenario, on_delete=models.PROTECT, related_name="items")
    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=60)
    keywords = models.TextField(blank=True, help_text="separated by | ; Chinese and English")
    default_urgency = models.CharField(max_length=12, choices=Urgency.choices, default=Urgency.NORMAL)
    department = models.CharField(max_length=100, help_text="functional section responsible (User.department)")
    # three optional limits, each an amount and a unit (LimitUnit); no amount: that clock never
    # starts (a consultation has no on-site clock). Clocks copy the limit when they start: an
    # edit applies to clocks started after it, never to running ones.
    accept_limit = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True, help_text="time to accept")
    accept_unit = models.CharField(max_length=16, choices=LimitUnit.choices, default=LimitUnit.MINUTES)
    arrive_limit = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True,
                                       help_text="time from the assignment to being on site")
    arrive_unit = models.CharField(max_length=16, choices=LimitUnit.choices, default=LimitUnit.MINUTES)
    resolve_limit = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True, help_text="time to resolve")
    resolve_unit = models.CharField(max_length=16, choices=LimitUnit.choices, default=LimitUnit.WORKING_HOURS)
    volunteer_grabbable = models.BooleanField(default=False)
    # crosswalk to GB/T 30428.2 (event or component class, and sub-class where known)
    national_kind = models.CharField(max_length=10, blank=True, choices=[("event", "事件"), ("component", "部件")])
    national_code = models.CharField(max_length=10, blank=True, help_text="e.g. 01-10; a bare class like 01 when only the class is known")
    national_name = models.CharField(max_length=60, blank=True)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scenario__order", "code"]

    def __str__(self):
        return self.name

    def limit(self, kind: str) -> tuple[float, str] | None:
        """(amount, unit) of the clock `kind` (accept, arrive, resolve), None when the item has none."""
        amount = getattr(self, f"{kind}_limit", None)
        if amount is None or amount <= 0:
            return None
        return float(amount), getattr(self, f"{kind}_unit")

    def limits(self) -> list[tuple]:
        """[(kind, (amount, unit) or None)] of the three clocks (for the pages)."""
        return [(k, self.limit(k)) for k in ("accept", "arrive", "resolve")]

    def units(self) -> list[tuple]:
        return [(k, getattr(self, f"{k}_unit")) for k in ("accept", "arrive", "resolve")]

    def limit_text(self, kind: str) -> str:
        """e.g. "30 分钟", "2 个工作日"; "" without that clock (Chinese: kept in stored texts)."""
        lim = self.limit(kind)
        if lim is None:
            return ""
        return f"{lim[0]:g} {LIMIT_WORDS[lim[1]]}"

    def keyword_list(self) -> list[str]:
        return [k.strip() for k in self.keywords.replace("、", "|").split("|") if k.strip()]


# --- routing ----------------------------------------------------------------------------------


class RoutingPath(models.Model):
    """An ordered list of steps; each step is a list of handler levels: the first handles,
    the others are informed (an emergency goes to the section and its leader at once).
    Escalation moves a case to the next step."""

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    steps = models.JSONField(help_text='e.g. [["grid_leader"], ["community_secretary"], ["section", "leader_in_charge"]]')

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name

    def handler_level(self, step: int) -> str | None:
        return self.steps[step][0] if 0 <= step < len(self.steps) else None


class RoutingRule(models.Model):
    """(item | scenario | any) × urgency × grid level × time-of-day window → path.

    Empty fields match anything. The most specific matching rule wins: item over scenario over
    any, then a set urgency, a set grid level, a set time window; ties go to the lower
    `priority`, then the lower id. Edit only through `routing.save_rule`/`delete_rule`, which
    keep the history."""

    item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.CASCADE, related_name="rules")
    scenario = models.ForeignKey(Scenario, null=True, blank=True, on_delete=models.CASCADE, related_name="rules")
    urgency = models.CharField(max_length=12, blank=True, choices=Urgency.choices)
    grid_level = models.PositiveSmallIntegerField(null=True, blank=True, help_text="level of the finest grid the case lies in")
    start_time = models.TimeField(null=True, blank=True, help_text="local time window; may wrap midnight")
    end_time = models.TimeField(null=True, blank=True)
    path = models.ForeignKey(RoutingPath, on_delete=models.PROTECT, related_name="rules")
    priority = models.SmallIntegerField(default=100)
    note = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        target = self.item or self.scenario or "任意事项"
        return f"#{self.pk} {target} {self.urgency or '*'} → {self.path.code}"

    def as_dict(self) -> dict:
        return {
            "id": self.pk,
            "item": self.item.code if self.item_id else None,
            "scenario": self.scenario.code if self.scenario_id else None,
            "urgency": self.urgency or None,
            "grid_level": self.grid_level,
            "start_time": self.start_time.isoformat() if self.start_time else None,
            "end_time": self.end_time.isoformat() if self.end_time else None,
            "path": self.path.code,
            "priority": self.priority,
            "note": self.note,
            "active": self.active,
        }


class RoutingRuleHistory(models.Model):
    rule_id = models.BigIntegerField(db_index=True)
    action = models.CharField(max_length=10)  # create, update, delete
    data = models.JSONField()
    user = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["id"]


# --- the case ---------------------------------------------------------------------------------


class CaseQuerySet(ScopedQuerySet):
    grid_path_lookup = "grid_path"

    def visible_to(self, user, *, following: bool = False):
        """The cases that are `user`'s work: staff, cases whose grid lies in their scope (leaders:
        all); everyone, cases they handle or grabbed; section staff, cases now routed to their
        department or summoning it; property staff, the same within their company's compounds
        only (RELATIONS["property"]); volunteers, grabbable tasks still free. This is what the
        workbench, the maps, the dashboards and every managing act count and act on.

        `following=True` adds the cases the user reported or follows (joined, merged in). Those
        they see as a co-reporter only (`access` → FOLLOWER): the item, the place, the progress
        and the result, never who reported or who else follows. Only the doors that show a
        co-reporter their cases pass it (the case detail and list of the API, the phone pages,
        photos), so joining a case never widens a staff user's territory."""
        if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        from gridgov.accounts import policy
        from gridgov.accounts.scope import scope_of

        reach = policy.reach(user, "cases", "read")  # the territorial part: the access table
        if reach == policy.ALL:
            return self
        # no joins: followers and summons are subqueries on their own tables, so a row never
        # repeats and the grid-path prefixes can use their index (a pk IN (… OR joins …) over
        # the whole table cost a grid worker as much as a leader)
        q = Q(handler_user=user) | Q(grabbed_by=user)
        if following:
            q |= Q(reporter=user) | Q(pk__in=CaseFollower.objects.filter(user=user).values("case_id"))
        if reach == policy.OWN:
            for path in scope_of(user).paths:  # the grid lies in the user's scope
                q |= Q(**{f"{self.grid_path_lookup}__startswith": path})
        if policy.holds(user, "department") and user.department:
            q |= Q(handler_department=user.department) | Q(
                pk__in=Summons.objects.filter(department=user.department).values("case_id"))
        if policy.holds(user, "property") and user.department:  # only in their company's compounds
            q |= Q(compound__in=_property_compounds(user)) & (Q(handler_department=user.department) | Q(
                pk__in=Summons.objects.filter(department=user.department).values("case_id")))
        if policy.holds(user, "grab"):  # volunteers and stewards: the free volunteer tasks
            q |= Q(grabbable=True, grabbed_by__isnull=True, state=State.DISPATCHED)
        return self.filter(q)

    def overdue(self, now=None):
        """Open cases that are late now: a limit of their current assignment breached or past
        due (`Clock.objects.late`). The one definition of "overdue" the workbench, the
        dashboards, the late list (`services.late_cases`) and the map count."""
        return self.filter(state__in=OPEN_STATES).filter(Exists(Clock.objects.late(now).filter(case=OuterRef("pk"))))

    def stuck(self):
        """Open cases nobody holds: no handler and no department (waiting to be classified or
        re-dispatched, handed back, or left when nobody could be found). Not those held for
        moderation (their own queue). Leaders see them on the workbench and are told."""
        return self.filter(state__in=OPEN_STATES, held=False, handler_user__isnull=True, handler_department="")

    def handled_by(self, user):
        """The cases of `user`'s work whose handling falls to them (accept, arrive, resolve,
        return: `services.may_handle`): section staff, those routed to their department or to
        them; other staff, all their work (the grid's staff handle its cases)."""
        from gridgov.accounts import policy

        qs = self.visible_to(user)
        if policy.holds(user, "department") or policy.holds(user, "property"):
            dep = Q(handler_department=user.department) if user.department else Q(pk__in=[])
            return qs.filter(Q(handler_user=user) | dep)
        return qs

    def queue_of(self, user):
        """What the workbench lists for `user`: section staff see their department's work (the
        cases routed to it or to them, and the cases summoning it), not the whole territory the
        access table lets them read; everyone else all of `visible_to(user)`."""
        from gridgov.accounts import policy

        if policy.holds(user, "property"):  # visible_to is already their company's work only
            return self.visible_to(user)
        if policy.holds(user, "department"):
            q = Q(handler_user=user)
            if user.department:
                q |= Q(handler_department=user.department) | Q(pk__in=Summons.objects.filter(department=user.department).values("case_id"))
            return self.visible_to(user).filter(q)
        return self.visible_to(user)

    def by_deadline(self, todo_states):
        """Open work first (`todo_states`), then the nearest running deadline of each (a
        clock not stopped, summonses included), then the newest: the workbench's order, in the
        database so that it can be paged."""
        # MIN per case (the clock's case index), never "ORDER BY due_at LIMIT 1", which a planner
        # may answer by walking the due_at index of every clock
        due = (Clock.objects.filter(case=models.OuterRef("pk")).exclude(state=ClockState.STOPPED).order_by()
               .values("case").annotate(first=models.Min("due_at")).values("first"))
        todo = list(todo_states)
        return self.annotate(
            done=models.Case(models.When(state__in=todo, then=models.Value(0)), default=models.Value(1), output_field=models.IntegerField()),
            # only open work is ordered by its clocks (the rest by number): no subquery per closed case
            next_due=models.Case(models.When(state__in=todo, then=models.Subquery(due)), default=None, output_field=models.DateTimeField()),
        ).order_by("done", models.F("next_due").asc(nulls_last=True), "-id")

    def access_levels(self, user, cases) -> dict:
        """{case id: FULL or FOLLOWER} for those of `cases` (ids or cases) the user may open:
        FULL when the case is their work (`visible_to(user)`), FOLLOWER when they only
        reported or follow it. The one answer to "how much of this case may the user see"."""
        ids = [getattr(c, "pk", c) for c in cases]
        full = set(self.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True))
        seen = set(self.visible_to(user, following=True).filter(pk__in=ids).values_list("pk", flat=True))
        return {pk: FULL if pk in full else FOLLOWER for pk in seen}

    def access(self, user, case) -> str | None:
        """FULL, FOLLOWER or None (the user may not open the case)."""
        return self.access_levels(user, [case]).get(getattr(case, "pk", case))


#: how much of a case a user sees (CaseQuerySet.access): all of it, as their work, or what a
#: co-reporter needs
FULL, FOLLOWER = "full", "follower"


class Case(models.Model):
    number = models.CharField(max_length=20, unique=True, null=True, blank=True)
    idempotency_key = models.UUIDField(unique=True, null=True, blank=True)
    channel = models.CharField(max_length=12, choices=Channel.choices)
    reporter = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="reported_cases")
    entered_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="entered_cases")
    text = models.TextField(help_text="as typed, with ID and mobile numbers masked (core.freetext)")
    # the text and address as typed, Fernet-encrypted, when masking changed them (else empty);
    # read through services.reveal_originals (policy cases × personal, audited)
    text_enc = models.TextField(blank=True)
    address_enc = models.TextField(blank=True)
    # keyed hash of the report as submitted: the same idempotency key with another body is a 409
    intake_digest = models.CharField(max_length=40, blank=True)
    item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.PROTECT, related_name="cases")
    item_source = models.CharField(max_length=12, blank=True)  # reporter, classifier, staff
    item_confidence = models.FloatField(null=True, blank=True)
    urgency = models.CharField(max_length=12, choices=Urgency.choices, default=Urgency.NORMAL)
    lon = models.FloatField(null=True, blank=True, help_text="WGS-84")
    lat = models.FloatField(null=True, blank=True, help_text="WGS-84")
    crs_in = models.CharField(max_length=10, blank=True, help_text="coordinate system the location came in")
    address = models.CharField(max_length=200, blank=True)
    grid = models.ForeignKey("geo.GridNode", null=True, blank=True, on_delete=models.PROTECT, related_name="cases")
    grid_path = models.CharField(max_length=400, blank=True, db_index=True)
    # the residential compound the case lies in (registry.property.compound_at, decided at intake):
    # a 物业 item goes to the compound's property company, whose staff see only such cases
    compound = models.ForeignKey("registry.Compound", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=12, choices=State.choices, default=State.SUBMITTED, db_index=True)
    path = models.ForeignKey(RoutingPath, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    path_step = models.PositiveSmallIntegerField(default=0)
    handler_level = models.CharField(max_length=24, blank=True, choices=HandlerLevel.choices)
    handler_user = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="handled_cases")
    handler_department = models.CharField(max_length=100, blank=True, db_index=True)
    routing_reason = models.JSONField(default=dict, blank=True)
    grabbable = models.BooleanField(default=False)
    grabbed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="grabbed_cases")
    resolved_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    verified_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_cases")
    reopen_count = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # held for moderation (the sensitive-word filter matched): stored and acknowledged, not
    # dispatched nor published until a moderator releases or rejects it (services.moderate)
    held = models.BooleanField(default=False, db_index=True)
    held_reason = models.CharField(max_length=200, blank=True)
    # stored and acknowledged, not yet routed (deferred intake: services.finish_intake)
    intake_pending = models.BooleanField(default=False)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["item", "state", "created_at"]), models.Index(fields=["lat", "lon"]),
                   models.Index(fields=["created_at"], condition=models.Q(intake_pending=True), name="cases_intake_pending")]

    def __str__(self):
        return f"{self.number or self.pk} {self.item or ''} {self.get_state_display()}"


def _property_compounds(user):
    """The compounds (ids, a subquery) of the property projects of the company `user` works for."""
    from gridgov.registry.property import compounds_of_department

    return compounds_of_department(user.department)


class CaseEvent(models.Model):
    """One line of a case's append-only history: a transition, or an act that left the state
    as it was (rated, joined, summoned, warned, corrected...)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    actor = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)  # "系统" for the sweep
    action = models.CharField(max_length=20)
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12)
    note = models.TextField(blank=True)  # masked (core.freetext)
    # the note as typed, encrypted, when masking changed it (a database default too: the demo
    # writes events with a plain INSERT of EVENT_FIELDS)
    note_enc = models.TextField(blank=True, default="", db_default="")
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["case", "id"])]


def photo_path(instance, filename):
    return f"cases/{instance.case.created_at:%Y/%m}/{instance.case_id}/{instance.sha256[:16]}{instance.extension}"


class CasePhoto(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(upload_to=photo_path, max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    stage = models.CharField(max_length=12, default="report")  # report, resolve

    class Meta:
        ordering = ["id"]

    @property
    def extension(self) -> str:
        return {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp", "image/heic": ".heic"}.get(
            self.content_type, ""
        )


class CaseFollower(models.Model):
    """A person who sees a case's timeline and may rate it: its reporter, whoever joined it as
    a duplicate, and the reporters of cases merged into it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="followers")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="followed_cases")
    source = models.CharField(max_length=10)  # reporter, joined, merged
    at = models.DateTimeField()

    class Meta:
        unique_together = [("case", "user")]


class Rating(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="ratings")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    round = models.PositiveSmallIntegerField(help_text="reopen_count when rated")
    score = models.CharField(max_length=12, choices=Score.choices)
    comment = models.TextField(blank=True)
    at = models.DateTimeField()

    class Meta:
        unique_together = [("case", "user", "round")]
        ordering = ["id"]


class SummonsQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The summonses of the cases that are `user`'s work (`Case.objects.visible_to`)."""
        return self.filter(case__in=Case.objects.visible_to(user))

    def answered_by(self, user):
        """The summonses `user` answers or follows: section staff, their department's; other
        staff, every summons of their work (those they issued, in their territory)."""
        from gridgov.accounts import policy

        qs = self.visible_to(user)
        if policy.holds(user, "department") or policy.holds(user, "property"):
            return qs.filter(department=user.department) if user.department else qs.none()
        return qs


class Summons(models.Model):
    """吹哨报到: a grid or community summons a department, which must report back in time."""

    objects = SummonsQuerySet.as_manager()

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="summons")
    department = models.CharField(max_length=100)
    summoned_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()
    due_at = models.DateTimeField()
    note = models.TextField(blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    reported_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    report = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]


class ClockKind(models.TextChoices):
    # (in English, nouns: "Acceptance 2h left"; the same Chinese words are also actions)
    ACCEPT = "accept", pgettext_lazy("time limit", "受理")
    ARRIVE = "arrive", pgettext_lazy("time limit", "到场")
    RESOLVE = "resolve", pgettext_lazy("time limit", "处置")
    SUMMON = "summon", pgettext_lazy("time limit", "报到")


class ClockState(models.TextChoices):
    RUNNING = "running", _("计时中")
    WARNED = "warned", _("已预警")
    BREACHED = "breached", _("已超时")
    STOPPED = "stopped", _("已停止")


#: a case's own limits (the others are summonses')
CASE_CLOCK_KINDS = (ClockKind.ACCEPT, ClockKind.ARRIVE, ClockKind.RESOLVE)


class ClockQuerySet(models.QuerySet):
    def current(self):
        """The limits of each case's current assignment: of its own clocks (accept, arrive,
        resolve; not summonses'), the latest of each kind (every assignment starts new ones)."""
        newer = Clock.objects.filter(case=OuterRef("case"), kind=OuterRef("kind"), summons__isnull=True, pk__gt=OuterRef("pk"))
        return self.filter(kind__in=CASE_CLOCK_KINDS, summons__isnull=True).exclude(Exists(newer))

    def late(self, now=None):
        """Current limits (`current`) that are late: breached, or running past due at `now`."""
        from django.utils import timezone

        now = now or timezone.now()
        return self.current().filter(
            Q(state=ClockState.BREACHED) | Q(state__in=[ClockState.RUNNING, ClockState.WARNED], due_at__lte=now))


class Clock(models.Model):
    """One time limit of a case. The sweep moves running → warned at `warn_at` and
    running/warned → breached at `due_at`, each with a compare-and-set, so it acts once."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="clocks")
    kind = models.CharField(max_length=10, choices=ClockKind.choices)
    summons = models.ForeignKey(Summons, null=True, blank=True, on_delete=models.CASCADE, related_name="clocks")
    handler_level = models.CharField(max_length=24, blank=True)
    handler_user = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    department = models.CharField(max_length=100, blank=True)
    basis = models.CharField(max_length=10)  # wall (minutes), working (working hours) or workdays (working days)
    limit = models.FloatField(help_text="minutes (wall) or hours (working)")  # days (workdays)
    started_at = models.DateTimeField()
    warn_at = models.DateTimeField(db_index=True)
    due_at = models.DateTimeField(db_index=True)
    state = models.CharField(max_length=10, choices=ClockState.choices, default=ClockState.RUNNING, db_index=True)
    stopped_at = models.DateTimeField(null=True, blank=True)

    objects = ClockQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["state", "due_at"])]


class Breach(models.Model):
    """A limit that was not met, kept for assessment (按期处置率 and the like)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="breaches")
    clock = models.OneToOneField(Clock, on_delete=models.CASCADE, related_name="breach")
    kind = models.CharField(max_length=10, choices=ClockKind.choices)
    handler_level = models.CharField(max_length=24, blank=True)
    handler_user = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    department = models.CharField(max_length=100, blank=True)
    due_at = models.DateTimeField()
    detected_at = models.DateTimeField()
    escalated_to = models.CharField(max_length=24, blank=True)

    class Meta:
        ordering = ["id"]


class Correction(models.Model):
    """A staff correction of a case's item or handler: training signal for recognition."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="corrections")
    text = models.TextField()
    old_item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    new_item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.SET_NULL, related_name="corrections")
    old_handler = models.CharField(max_length=200, blank=True)
    new_handler = models.CharField(max_length=200, blank=True)
    user = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["id"]


class CalendarOverride(models.Model):
    """A local exception to the national calendar: a day that is (not) a working day."""

    date = models.DateField(unique=True)
    is_workday = models.BooleanField()
    note = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["date"]

    def __str__(self):
        return f"{self.date.isoformat()} {'工作日' if self.is_workday else '休息日'}"


# --- delivery ---------------------------------------------------------------------------------


class Subscription(models.Model):
    """Where a user receives messages on a channel that needs an address (WeChat openid)."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="subscriptions")
    channel = models.CharField(max_length=20)
    address = models.CharField(max_length=200)

    class Meta:
        unique_together = [("user", "channel")]


class Notification(models.Model):
    """The outbox: written in the transaction of the change it reports, delivered after commit."""

    STATES = [("pending", "待发送"), ("sending", "发送中"), ("sent", "已发送"), ("failed", "失败")]

    recipient = models.ForeignKey(USER, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    channel = models.CharField(max_length=20)
    kind = models.CharField(max_length=30)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=STATES, default="pending", db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]


class SensitiveWord(models.Model):
    """A word or phrase that holds a public post for moderation. Matched after normalising
    both sides (NFKC, case-folded, everything but letters and digits removed), so spaces,
    punctuation or full-width forms inserted between the characters do not evade it."""

    word = models.CharField(max_length=60, unique=True)
    category = models.CharField(max_length=20, default="abuse", help_text="abuse, spam, other")
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    KEEP_ON_DEMO_RESET = True  # configuration, not demo data

    class Meta:
        ordering = ["word"]

    def __str__(self):
        return self.word

