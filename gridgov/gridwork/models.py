"""Grid work (网格工作): the grid worker's day and its assessment.

* The day (日纪实): `Patrol`s (巡查, the route as `PatrolPoint`s while the phone page is open, the
  grids covered, the distance), `Visit`s (入户走访: a house, who was met, the special-care
  residents checked — `VisitResident` — and the `Need`s heard, each turned into a case or a
  service item), and the `DailyLog` that gathers them with the day's reports and cases, completed
  by the worker with notes and `LogPhoto`s.
* Disputes (矛盾纠纷排查化解): a `Dispute` between `DisputeParty`s, mediated in
  `MediationSession`s, ending in an agreement, a referral or a failure, then followed up;
  `DisputeEvent` is its history.
* The week and the month: `Highlight`s (周亮点; the community picks the week's best) and
  `SummaryNote`s annotating a generated monthly summary (月汇总).
* The quarter (季度考核): the `Scheme` of indicators (`SchemeIndicator`: a formula from
  gridwork.formulas, a weight) valid from a date, the leaders' own marks (`LeaderMark`) and the
  published results (`AssessmentSnapshot`).

Every record lies on a grid path (`grid_path`, the grid served when it was made) and is read
through `.visible_to(user)`: the access table's kind `gridwork` (list by grid path) for leaders,
community staff and the street, plus the worker's own records (a relation: `worker`). Disputes
are kind `disputes`, which grid workers hold in their own grids. Every write goes through the
app's services (one transaction, one history row, notifications on commit)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.querysets import within_reach

USER = settings.AUTH_USER_MODEL
#: the access table's kinds (accounts.policy)
POLICY_KIND = "gridwork"
DISPUTES_KIND = "disputes"


class ScopedByPath(models.QuerySet):
    """Rows of grid work: by grid path for the kind's list reach (leaders, community staff, the
    street), and always the user's own (`worker_lookup`)."""

    policy_kind = POLICY_KIND
    worker_lookup = "worker"

    def visible_to(self, user):
        qs = within_reach(self, user, self.policy_kind, "list", "grid_path")
        if self.worker_lookup and getattr(user, "is_authenticated", False) and user.is_active:
            return qs | self.filter(**{self.worker_lookup: user})
        return qs


def photo_path(instance, filename):
    import uuid

    ext = (filename.rsplit(".", 1)[-1] if "." in filename else "jpg").lower()[:5]
    return f"gridwork/{uuid.uuid4().hex}.{ext}"


# --- the day ----------------------------------------------------------------------------------


class Patrol(models.Model):
    """A patrol (网格巡查): started and ended on the phone; the page posts check-in points while
    it is open. `grid_paths` are the grids its points fell in; `distance_m` the route's length."""

    class State(models.TextChoices):
        ACTIVE = "active", _("巡查中")
        ENDED = "ended", _("已结束")
        CANCELLED = "cancelled", _("已作废")

    worker = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="patrols")
    #: the grid the worker served when starting (their duty's node)
    grid = models.ForeignKey("geo.GridNode", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    grid_path = models.CharField(max_length=400, blank=True, db_index=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE, db_index=True)
    started_at = models.DateTimeField(db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    #: the local date it started (the day it counts in)
    day = models.DateField(db_index=True)
    distance_m = models.FloatField(default=0)
    point_count = models.PositiveIntegerField(default=0)
    #: the paths of the finest grids the route passed through
    grid_paths = models.JSONField(default=list, blank=True)
    note = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)

    objects = ScopedByPath.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["worker", "day"])]
        constraints = [
            models.UniqueConstraint(fields=["worker"], condition=Q(state="active"), name="one_active_patrol"),
        ]

    def __str__(self):
        return f"{self.worker} {self.day}"


class PatrolPoint(models.Model):
    """A check-in point of a patrol (WGS-84), in the order posted."""

    patrol = models.ForeignKey(Patrol, on_delete=models.CASCADE, related_name="points")
    at = models.DateTimeField()
    lon = models.FloatField()
    lat = models.FloatField()
    accuracy_m = models.FloatField(null=True, blank=True)
    grid = models.ForeignKey("geo.GridNode", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["patrol", "at", "id"]


class Visit(models.Model):
    """A household visit (入户走访): the house, who was met, the special-care residents checked and
    the needs heard."""

    class Outcome(models.TextChoices):
        MET = "met", _("见面走访")
        NOBODY = "nobody", _("无人在家")
        PHONE = "phone", _("电话联系")

    worker = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="visits")
    house = models.ForeignKey("registry.House", null=True, blank=True, on_delete=models.PROTECT, related_name="visits")
    grid = models.ForeignKey("geo.GridNode", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    grid_path = models.CharField(max_length=400, blank=True, db_index=True)
    at = models.DateTimeField(db_index=True)
    day = models.DateField(db_index=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.MET)
    #: who was met, as told (names as the worker wrote them, masked like free text)
    met = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    patrol = models.ForeignKey(Patrol, null=True, blank=True, on_delete=models.SET_NULL, related_name="visits")
    created_at = models.DateTimeField()

    objects = ScopedByPath.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["worker", "day"])]

    def __str__(self):
        return f"{self.house} {self.day}" if self.house_id else f"{self.worker} {self.day}"


class VisitResident(models.Model):
    """A resident checked on a visit, with the special-care groups they were in at the time (the
    visit plan and the coverage indicator count these rows)."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="residents")
    resident = models.ForeignKey("registry.Resident", on_delete=models.PROTECT, related_name="+")
    groups = models.JSONField(default=list, blank=True)
    #: a worry noted about this person (health, safety); empty when all was well
    concern = models.CharField(max_length=200, blank=True)
    #: copies of the visit's, for the plan's "last visited" look-ups without a join
    at = models.DateTimeField(db_index=True)
    worker = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-at", "id"]
        indexes = [models.Index(fields=["resident", "at"])]
        unique_together = [("visit", "resident")]


class Need(models.Model):
    """A need heard (问题需求清单): turned into a case (a problem to handle) or a service item
    (服务事项清单: help the community arranges), or closed with a reply."""

    class State(models.TextChoices):
        HEARD = "heard", _("待转办")
        CASE = "case", _("已转事件")
        SERVICE = "service", _("服务中")
        DONE = "done", _("已办结")
        CLOSED = "closed", _("已答复")

    class Kind(models.TextChoices):
        LIVING = "living", _("生活照料")
        HEALTH = "health", _("医疗健康")
        ASSISTANCE = "assistance", _("困难救助")
        ENVIRONMENT = "environment", _("环境设施")
        SAFETY = "safety", _("安全隐患")
        POLICY = "policy", _("政策咨询")
        OTHER = "other", _("其他")

    visit = models.ForeignKey(Visit, null=True, blank=True, on_delete=models.CASCADE, related_name="needs")
    worker = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="needs")
    resident = models.ForeignKey("registry.Resident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    grid_path = models.CharField(max_length=400, blank=True, db_index=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.OTHER)
    text = models.TextField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.HEARD, db_index=True)
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    #: who provides the service item (the community, a volunteer team, a unit), and what was done
    provider = models.CharField(max_length=100, blank=True)
    result = models.TextField(blank=True)
    heard_at = models.DateTimeField(db_index=True)
    done_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    objects = ScopedByPath.as_manager()

    class Meta:
        ordering = ["-heard_at", "-id"]


class DailyLog(models.Model):
    """The day's record (日纪实) of one worker: what the data says of the day is gathered live
    (gridwork.day.gathered); the worker adds notes and photos and submits it."""

    class State(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("已提交")

    worker = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="daily_logs")
    day = models.DateField(db_index=True)
    grid_path = models.CharField(max_length=400, blank=True, db_index=True)
    notes = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    #: the gathered figures as they were when submitted
    figures = models.JSONField(default=dict, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)

    objects = ScopedByPath.as_manager()

    class Meta:
        ordering = ["-day", "-id"]
        unique_together = [("worker", "day")]


class LogPhoto(models.Model):
    log = models.ForeignKey(DailyLog, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(upload_to=photo_path, max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    at = models.DateTimeField()

    class Meta:
        ordering = ["id"]


# --- disputes ---------------------------------------------------------------------------------


class DisputeQuerySet(ScopedByPath):
    policy_kind = DISPUTES_KIND
    worker_lookup = "recorded_by"

    def open(self):
        return self.filter(state__in=Dispute.OPEN_STATES)


class Dispute(models.Model):
    """A dispute between parties (矛盾纠纷), from its recording to its follow-up."""

    class Kind(models.TextChoices):
        NEIGHBOUR = "neighbour", _("邻里纠纷")
        FAMILY = "family", _("婚姻家庭")
        PROPERTY = "property", _("物业纠纷")
        LABOUR = "labour", _("劳动争议")
        HOUSING = "housing", _("房屋租赁")
        CONSUMER = "consumer", _("消费纠纷")
        DEBT = "debt", _("债务纠纷")
        TRAFFIC = "traffic", _("交通事故")
        OTHER = "other", _("其他")

    class Risk(models.TextChoices):
        LOW = "low", _("低")
        MEDIUM = "medium", _("中")
        HIGH = "high", _("高")

    class State(models.TextChoices):
        RECORDED = "recorded", _("已登记")
        MEDIATING = "mediating", _("调解中")
        AGREED = "agreed", _("调解成功")
        REFERRED = "referred", _("已移交")
        FAILED = "failed", _("调解不成")
        CLOSED = "closed", _("已回访")

    OPEN_STATES = (State.RECORDED, State.MEDIATING)
    ENDED_STATES = (State.AGREED, State.REFERRED, State.FAILED, State.CLOSED)

    number = models.CharField(max_length=20, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.NEIGHBOUR)
    risk = models.CharField(max_length=8, choices=Risk.choices, default=Risk.LOW, db_index=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RECORDED, db_index=True)
    summary = models.TextField()
    place = models.CharField(max_length=200, blank=True)
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    grid = models.ForeignKey("geo.GridNode", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    grid_path = models.CharField(max_length=400, blank=True, db_index=True)
    recorded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="recorded_disputes")
    recorded_at = models.DateTimeField(db_index=True)
    #: the outcome: agreement text, where it was referred to, why it failed
    outcome = models.TextField(blank=True)
    referred_to = models.CharField(max_length=100, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True, db_index=True)
    #: when to follow up (回访) after it ended; set on ending, cleared when followed up
    follow_up_on = models.DateField(null=True, blank=True, db_index=True)
    followed_up_at = models.DateTimeField(null=True, blank=True)
    #: the case it came from or was turned into, if any
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    version = models.PositiveIntegerField(default=1)

    objects = DisputeQuerySet.as_manager()

    class Meta:
        ordering = ["-recorded_at", "-id"]

    def __str__(self):
        return self.number


class DisputeParty(models.Model):
    """A party to a dispute: a name and a phone (encrypted, masked; kind `disputes` × personal)."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="parties")
    name = models.CharField(max_length=50)
    resident = models.ForeignKey("registry.Resident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    phone_enc = models.TextField(blank=True)
    phone_masked = models.CharField(max_length=20, blank=True)
    role = models.CharField(max_length=40, blank=True, help_text="e.g. 申请人 / 被申请人 / 业主 / 物业")

    class Meta:
        ordering = ["id"]


class MediationSession(models.Model):
    """One mediation session: when, who mediated (grid worker, 人民调解员, police, lawyer, ...)."""

    class MediatorKind(models.TextChoices):
        GRID_WORKER = "grid_worker", _("网格员")
        MEDIATOR = "mediator", _("人民调解员")
        POLICE = "police", _("民警")
        LAWYER = "lawyer", _("律师")
        COMMUNITY = "community", _("社区干部")
        OTHER = "other", _("其他")

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="sessions")
    at = models.DateTimeField()
    #: [{"kind": MediatorKind, "name": "...", "user": id or null}, ...]
    mediators = models.JSONField(default=list)
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["at", "id"]


class DisputeEvent(models.Model):
    """The history of a dispute: one row per change (record, session, agree, refer, fail, follow
    up, risk change)."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=12)
    from_state = models.CharField(max_length=10, blank=True)
    to_state = models.CharField(max_length=10)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]


# --- the week and the month -------------------------------------------------------------------


class Highlight(models.Model):
    """A weekly highlight (周亮点) of a worker's work, marked by the worker or a leader; the
    community picks the week's best (`picked_at`, one per community and week)."""

    worker = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="highlights")
    author = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    #: the Monday of the week
    week = models.DateField(db_index=True)
    grid_path = models.CharField(max_length=400, blank=True, db_index=True)
    #: the community's path (the picking is per community)
    community_path = models.CharField(max_length=400, blank=True, db_index=True)
    title = models.CharField(max_length=100)
    text = models.TextField(blank=True)
    #: what it points at, optional: ("case", id), ("visit", id), ("dispute", id), ("patrol", id)
    ref_kind = models.CharField(max_length=10, blank=True)
    ref_id = models.BigIntegerField(null=True, blank=True)
    picked_at = models.DateTimeField(null=True, blank=True)
    picked_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()

    objects = ScopedByPath.as_manager()

    class Meta:
        ordering = ["-week", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["community_path", "week"], condition=Q(picked_at__isnull=False),
                                    name="one_best_highlight"),
        ]


class NoteQuerySet(ScopedByPath):
    """Notes belong to no worker: by grid path only."""

    worker_lookup = ""


class SummaryNote(models.Model):
    """A note on a generated monthly summary (月汇总) of a worker, a grid or a community."""

    class Subject(models.TextChoices):
        WORKER = "worker", _("网格员")
        GRID = "grid", _("网格")
        COMMUNITY = "community", _("社区")

    subject = models.CharField(max_length=10, choices=Subject.choices)
    #: the worker's user id, or the node's path
    subject_key = models.CharField(max_length=400)
    month = models.DateField(help_text="the first day of the month")
    grid_path = models.CharField(max_length=400, blank=True, db_index=True)
    text = models.TextField()
    author = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)

    objects = NoteQuerySet.as_manager()

    class Meta:
        ordering = ["-month", "subject", "subject_key"]
        unique_together = [("subject", "subject_key", "month")]


# --- the quarter ------------------------------------------------------------------------------


class Scheme(models.Model):
    """An assessment scheme (考核方案): its indicators and weights, in force from `valid_from`
    (the scheme of a period is the latest one valid on the period's first day). Frozen once a
    period assessed under it is published: a change is a new scheme from a later date."""

    name = models.CharField(max_length=100)
    valid_from = models.DateField(unique=True)
    note = models.TextField(blank=True)
    frozen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-valid_from"]

    def __str__(self):
        return f"{self.valid_from} {self.name}"


class SchemeIndicator(models.Model):
    """An indicator of a scheme: a formula (gridwork.formulas.FORMULAS by code) and its weight in
    the score (the weights of a scheme sum to 100)."""

    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="indicators")
    formula = models.CharField(max_length=30)
    name = models.CharField(max_length=60)
    weight = models.DecimalField(max_digits=6, decimal_places=2)
    #: the value counted as full marks (e.g. a visit coverage of 0.95 is enough); 1 = 100 %
    target = models.DecimalField(max_digits=6, decimal_places=3, default=1)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["scheme", "position", "id"]
        unique_together = [("scheme", "formula")]


class LeaderMark(models.Model):
    """A leader's own mark (0–100) of a worker for a period (the scheme's `leader_mark`)."""

    worker = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="leader_marks")
    #: "2026-Q3" (the assessment period)
    period = models.CharField(max_length=10, db_index=True)
    mark = models.DecimalField(max_digits=5, decimal_places=2)
    note = models.CharField(max_length=200, blank=True)
    grid_path = models.CharField(max_length=400, blank=True, db_index=True)
    by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()

    objects = ScopedByPath.as_manager()

    class Meta:
        unique_together = [("worker", "period")]


class AssessmentSnapshot(models.Model):
    """A period's published assessment (as announced): the whole result of
    gridwork.assess.assess as JSON."""

    period = models.CharField(max_length=10, unique=True)
    scheme = models.ForeignKey(Scheme, on_delete=models.PROTECT, related_name="+")
    data = models.JSONField()
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-period"]


class PointsTerm(models.Model):
    """A non-salaried worker (兼职网格员, a volunteer holding a grid duty) paid by points (岗位津贴
    by points): publishing a period's assessment pays them GRIDWORK_POINTS_PER_SCORE × their score
    into their volunteers' points account, once per period."""

    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="points_terms")
    since = models.DateField()
    until = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["user", "-since"]
