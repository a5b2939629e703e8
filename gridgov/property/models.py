"""The property alliance (物业联盟): the indicator system, inspections on site, the problem ledger
(立行改, 回头看) and the quarterly scores of the property projects (registry.PropertyProject).

* `IndicatorSet` (one per year): `Category`s with a weight (their weights sum to 100) and their
  `Indicator`s with full marks, how a finding is scored and the evidence asked. Last year's
  inspections keep last year's set: a set is frozen once an inspection of its year is submitted.
* `Inspection` (专家点、现场查): one visit to one project, scheduled or unannounced, by street staff
  or an outside expert, scored indicator by indicator; each `Deduction` (photos, place) opens a
  `Problem` in the ledger.
* `Problem` (立行改): the company's task with a deadline and a clock like a case (escalating when
  late); the company answers with photos (`ProblemPhoto`), the street re-checks (回头看): passed
  closes it, failed reopens it. `ProblemEvent` is its history, one row per change; the scores of a
  past quarter are recomputed from these rows.
* `ScoreSnapshot`: a quarter's published scores of a project (the ranking as it was announced).

Every write goes through the app's services (one transaction, one history row, notifications on
commit)."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.querysets import within_reach

#: the access table's kind (accounts.policy)
POLICY_KIND = "property"
USER = settings.AUTH_USER_MODEL


class IndicatorSet(models.Model):
    """The indicator system of one year (考评指标体系)."""

    year = models.PositiveSmallIntegerField(unique=True)
    name = models.CharField(max_length=100)
    note = models.TextField(blank=True)
    #: set when the first inspection of the year is submitted: from then on the rules are fixed
    frozen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-year"]

    def __str__(self):
        return f"{self.year} {self.name}"


class Category(models.Model):
    """A category of indicators (大类) and its weight in the inspection score (weights sum to 100)."""

    indicator_set = models.ForeignKey(IndicatorSet, on_delete=models.CASCADE, related_name="categories")
    code = models.CharField(max_length=10)
    name = models.CharField(max_length=60)
    weight = models.DecimalField(max_digits=6, decimal_places=2)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["indicator_set", "position", "id"]
        unique_together = [("indicator_set", "code")]

    def __str__(self):
        return self.name


class Indicator(models.Model):
    """A sub-indicator (小类): its full marks within its category and how a finding is scored."""

    class Method(models.TextChoices):
        #: each finding deducts `step` points (the inspector may give more for a worse one), down to 0
        DEDUCT = "deduct", _("逐项扣分")
        #: a finding takes the whole full marks (a requirement met or not)
        PASS_FAIL = "pass_fail", _("达标否决")

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="indicators")
    code = models.CharField(max_length=10)
    name = models.CharField(max_length=100)
    full_marks = models.DecimalField(max_digits=6, decimal_places=2)
    method = models.CharField(max_length=12, choices=Method.choices, default=Method.DEDUCT)
    step = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("1"))
    #: what the inspector looks at and what evidence a deduction needs (shown on the phone)
    criteria = models.TextField(blank=True)
    evidence = models.CharField(max_length=200, blank=True)
    #: working days the company has to put a finding right
    rectify_days = models.PositiveSmallIntegerField(default=5)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["category__position", "position", "id"]
        unique_together = [("category", "code")]

    def __str__(self):
        return f"{self.code} {self.name}"


class ScopedByPath(models.QuerySet):
    """Rows of the property app: street staff by the grid path of the project's community (the
    access table's kind `property`, action list); a property company's users by their company."""

    company_lookup = "project__company__department__name"

    def visible_to(self, user):
        from gridgov.accounts import policy

        qs = within_reach(self, user, POLICY_KIND, "list", "grid_path")
        if policy.holds(user, "property") and getattr(user, "department", ""):
            return qs | self.filter(**{self.company_lookup: user.department})
        return qs


class Inspection(models.Model):
    class Kind(models.TextChoices):
        SCHEDULED = "scheduled", _("定期检查")
        UNANNOUNCED = "unannounced", _("暗访抽查")

    class By(models.TextChoices):
        STAFF = "staff", _("街道人员")
        EXPERT = "expert", _("第三方专家")

    class State(models.TextChoices):
        PLANNED = "planned", _("已计划")
        IN_PROGRESS = "in_progress", _("检查中")
        SUBMITTED = "submitted", _("已提交")
        CANCELLED = "cancelled", _("已取消")

    project = models.ForeignKey("registry.PropertyProject", on_delete=models.PROTECT, related_name="inspections")
    indicator_set = models.ForeignKey(IndicatorSet, on_delete=models.PROTECT, related_name="inspections")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.SCHEDULED)
    by = models.CharField(max_length=8, choices=By.choices, default=By.STAFF)
    #: the user who walks and scores (an expert has an account, or staff enter the expert's scores)
    inspector = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    expert_name = models.CharField(max_length=60, blank=True)
    expert_org = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.PLANNED, db_index=True)
    planned_on = models.DateField()
    started_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    #: "2026Q3": the quarter it counts in (of submitted_at; of planned_on until then)
    quarter = models.CharField(max_length=6, db_index=True)
    #: the inspection score (0..100) by the set's rules, fixed when submitted
    score = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    note = models.TextField(blank=True)
    #: the grid path of the project's community: the street staff's scope
    grid_path = models.CharField(max_length=400, blank=True, db_index=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)

    objects = ScopedByPath.as_manager()

    class Meta:
        ordering = ["-planned_on", "-id"]

    def __str__(self):
        return f"{self.project} {self.planned_on}"


def photo_path(instance, filename):
    import uuid

    ext = (filename.rsplit(".", 1)[-1] if "." in filename else "jpg").lower()[:5]
    return f"property/{uuid.uuid4().hex}.{ext}"


class Deduction(models.Model):
    """One finding (扣分项): points off one indicator, with where and what was seen."""

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="deductions")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="deductions")
    points = models.DecimalField(max_digits=6, decimal_places=2)
    note = models.TextField()
    place = models.CharField(max_length=200, blank=True)
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]


class ProblemQuerySet(ScopedByPath):
    def open(self):
        return self.filter(state__in=Problem.OPEN_STATES)

    def late(self, now):
        return self.filter(state=Problem.State.OPEN, due_at__lt=now)


class Problem(models.Model):
    """A problem of the ledger (问题台账): found on an inspection, put right by the company,
    re-checked by the street."""

    class State(models.TextChoices):
        OPEN = "open", _("待整改")
        ANSWERED = "answered", _("待复查")
        PASSED = "passed", _("复查通过")
        CANCELLED = "cancelled", _("已撤销")

    OPEN_STATES = (State.OPEN, State.ANSWERED)

    project = models.ForeignKey("registry.PropertyProject", on_delete=models.PROTECT, related_name="problems")
    compound = models.ForeignKey("registry.Compound", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    inspection = models.ForeignKey(Inspection, null=True, blank=True, on_delete=models.PROTECT, related_name="problems")
    deduction = models.OneToOneField(Deduction, null=True, blank=True, on_delete=models.PROTECT, related_name="problem")
    indicator = models.ForeignKey(Indicator, null=True, blank=True, on_delete=models.PROTECT, related_name="problems")
    number = models.CharField(max_length=20, unique=True)
    description = models.TextField()
    place = models.CharField(max_length=200, blank=True)
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.OPEN, db_index=True)
    #: working days given (the indicator's rectify_days, or what the inspector set)
    days = models.PositiveSmallIntegerField(default=5)
    opened_at = models.DateTimeField(db_index=True)
    #: the deadline of the current round (a failed re-check starts a new round)
    due_at = models.DateTimeField(db_index=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    #: 0 in time; 1 late (the company's manager and the community told); 2 later still (the street)
    escalation = models.PositiveSmallIntegerField(default=0)
    #: when a level-1 problem rises to level 2 (PROPERTY_ESCALATE_DAYS working days after `due_at`):
    #: set when it reaches level 1, cleared when a failed re-check starts a new round; the clock
    #: filters on it
    escalate_at = models.DateTimeField(null=True, blank=True)
    #: whether any round went past its deadline before it was answered (counts against the project)
    was_late = models.BooleanField(default=False)
    reopen_count = models.PositiveSmallIntegerField(default=0)
    grid_path = models.CharField(max_length=400, blank=True, db_index=True)
    version = models.PositiveIntegerField(default=1)

    objects = ProblemQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [models.Index(fields=["state", "due_at"])]

    def __str__(self):
        return self.number


class ProblemEvent(models.Model):
    """The history of a problem: one row per change (open, answer, pass, fail, escalate, cancel)."""

    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=12)
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]


class ProblemPhoto(models.Model):
    """A photo of a problem: as found (`found`), the company's answer (`answer`), the re-check (`recheck`).

    A deduction's photos (`found`) are stored here before its problem exists: `problem` null and
    `deduction` set while the inspection runs; submitting it opens the problem and sets `problem`
    (the deduction stays set)."""

    problem = models.ForeignKey(Problem, null=True, blank=True, on_delete=models.CASCADE, related_name="photos")
    deduction = models.ForeignKey(Deduction, null=True, blank=True, on_delete=models.CASCADE, related_name="photos")
    stage = models.CharField(max_length=8, default="found")
    file = models.FileField(upload_to=photo_path, max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    taken_at = models.DateTimeField()
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    uploaded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["id"]


class ScoreSnapshot(models.Model):
    """One project's published scores of one quarter (the ranking as announced). The figures are
    those `scores.compute(quarter)` gives; `detail` keeps the counts behind them."""

    quarter = models.CharField(max_length=6, db_index=True)
    project = models.ForeignKey("registry.PropertyProject", on_delete=models.PROTECT, related_name="score_snapshots")
    inspection_score = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    data_score = models.DecimalField(max_digits=6, decimal_places=2)
    composite = models.DecimalField(max_digits=6, decimal_places=2)
    rank = models.PositiveSmallIntegerField()
    detail = models.JSONField(default=dict)
    grid_path = models.CharField(max_length=400, blank=True, db_index=True)
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = ScopedByPath.as_manager()

    class Meta:
        ordering = ["quarter", "rank"]
        unique_together = [("quarter", "project")]
