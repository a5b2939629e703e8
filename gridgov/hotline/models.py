"""12345 hotline tickets (接诉即办), the rate settings, and proactive projects (主动治理).

A ticket comes from the city's export or the API; it is classified, placed in its grid (by its
coordinates, else by matching its address text to the standard-address registry) and counted in
the three rates (see `rates.py` and docs/hotline.md)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.querysets import ScopedQuerySet


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASIC = "basic", _("基本满意")
    UNSATISFIED = "unsatisfied", _("不满意")
    EMPTY = "", _("未评价")


class CategorySource(models.TextChoices):
    NONE = "", _("未分类")
    IMPORT = "import", _("导入")
    CLASSIFIER = "classifier", _("自动分类")
    STAFF = "staff", _("人工")


class AddressMatch(models.TextChoices):
    NONE = "none", _("无地址")
    COORDS = "coords", _("按坐标定位")
    MATCHED = "matched", _("自动匹配")
    PENDING = "pending", _("待确认")
    CONFIRMED = "confirmed", _("人工确认")


class Ticket(models.Model):
    """One 12345 ticket. `grid` is the finest grid node it was placed in (a grid or micro-grid,
    or the community when only the community is known); `community` is its level-1 node.

    `valid` says whether the ticket counts in the rates (the city's exports mark consultations,
    repeats and tickets outside the street's duty as not assessed: 不考核/无效)."""

    ticket_id = models.CharField(max_length=64, unique=True)
    received_at = models.DateTimeField(db_index=True)
    month = models.CharField(max_length=7, db_index=True, editable=False)  # local YYYY-MM of received_at
    content = models.TextField()
    category_l1 = models.CharField(max_length=100, blank=True, db_index=True)
    category_l2 = models.CharField(max_length=100, blank=True)
    category_l3 = models.CharField(max_length=100, blank=True)
    category_source = models.CharField(max_length=12, choices=CategorySource.choices, blank=True)
    category_confidence = models.FloatField(null=True, blank=True)
    address_text = models.CharField(max_length=255, blank=True)
    community_text = models.CharField(max_length=100, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    grid = models.ForeignKey("geo.GridNode", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    community = models.ForeignKey(
        "geo.GridNode", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    valid = models.BooleanField(default=True)
    contacted = models.BooleanField(default=False)
    solved = models.BooleanField(default=False)
    satisfaction = models.CharField(max_length=12, choices=Satisfaction.choices, blank=True)
    address_match = models.CharField(max_length=10, choices=AddressMatch.choices, default=AddressMatch.NONE)
    matched_address = models.ForeignKey(
        "registry.Address", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    address_score = models.FloatField(null=True, blank=True)
    #: best candidates when the match was not certain: [{"id", "text", "score", "grid_id"}, ...]
    address_candidates = models.JSONField(default=list, blank=True)
    #: the case this ticket opened in the cases app (channel "hotline"); None until intake opened it
    #: (the worker may do it after the import). Its state is read through (`case_state`).
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="hotline_tickets")
    imported_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    policy_kind = "tickets"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "id"]
        indexes = [
            models.Index(fields=["month", "community"]),
            models.Index(fields=["month", "grid"]),
            models.Index(fields=["address_match"]),
            models.Index(fields=["updated_at"]),  # the topic rollups' watermark
        ]

    def __str__(self):
        return self.ticket_id

    @property
    def case_state(self) -> str | None:
        """The state of the ticket's case in the loop (submitted … closed), or None without one."""
        return self.case.state if self.case_id else None

    @property
    def category(self) -> str:
        return "/".join(c for c in (self.category_l1, self.category_l2, self.category_l3) if c)


class RateSettings(models.Model):
    """Policy numbers of the rates, one row (pk=1) edited by administrators.

    Defaults: response 0.1, resolution 0.5, satisfaction 0.4 and 基本满意 counted at 0.9, as one
    public analytics implementation of Beijing's 12345 assessment computes them (not an official
    text; other places weight 30/35/35). See docs/hotline.md."""

    basic_weight = models.FloatField(default=0.9, help_text="基本满意 counts as this fraction of 满意")
    response_weight = models.FloatField(default=0.1)
    resolution_weight = models.FloatField(default=0.5)
    satisfaction_weight = models.FloatField(default=0.4)
    min_sample = models.PositiveIntegerField(default=10, help_text="valid tickets a unit needs to be ranked")
    address_threshold = models.FloatField(default=0.8, help_text="score from which an address match is taken")
    address_margin = models.FloatField(default=0.05, help_text="lead the best candidate needs over the next")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "rate settings"
        verbose_name_plural = "rate settings"

    def __str__(self):
        return (
            f"response {self.response_weight:g}, resolution {self.resolution_weight:g}, "
            f"satisfaction {self.satisfaction_weight:g} (基本满意 × {self.basic_weight:g}), min sample {self.min_sample}"
        )

    @classmethod
    def current(cls) -> "RateSettings":
        """The numbers in force: the setting rows (core.settings_rows, keys HOTLINE_*) over this
        table's row (kept as the fallback: the values before setting rows existed) or the
        defaults. Not saved: change them through `services.update_rate_settings`."""
        from gridgov.core import settings_rows

        obj = cls.objects.filter(pk=1).first() or cls(pk=1)
        for field, key in RATE_KEYS.items():
            if settings_rows.row_value(key) is not None:
                setattr(obj, field, settings_rows.value(key))
        return obj


#: RateSettings field → its setting key (core.settings_rows)
RATE_KEYS = {
    "basic_weight": "HOTLINE_BASIC_WEIGHT",
    "response_weight": "HOTLINE_RESPONSE_WEIGHT",
    "resolution_weight": "HOTLINE_RESOLUTION_WEIGHT",
    "satisfaction_weight": "HOTLINE_SATISFACTION_WEIGHT",
    "min_sample": "HOTLINE_MIN_SAMPLE",
    "address_threshold": "HOTLINE_ADDRESS_THRESHOLD",
    "address_margin": "HOTLINE_ADDRESS_MARGIN",
}


def rate_fallback(key: str) -> str:
    """A HOTLINE_* setting without a row: the RateSettings table's row, else the model default."""
    field = {v: k for k, v in RATE_KEYS.items()}[key]
    obj = RateSettings.objects.filter(pk=1).first() or RateSettings(pk=1)
    return str(getattr(obj, field))


class ProactiveProject(models.Model):
    """A proactive project (主动治理 / 未诉先办) answering a recurring problem: a place (grid, and
    optionally a compound) and a category, with the tickets that made it visible."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("已提出")
        APPROVED = "approved", _("已立项")
        IN_PROGRESS = "in_progress", _("实施中")
        COMPLETED = "completed", _("已完成")
        CANCELLED = "cancelled", _("已取消")

    FUNDING = [
        ("hotline_fund", _("区级接诉即办专项经费")),
        ("party_fund", _("党组织服务群众经费")),
        ("public_welfare", _("公益金")),
        ("maintenance_fund", _("公共维修基金")),
        ("other", _("其他")),
    ]

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    grid = models.ForeignKey("geo.GridNode", on_delete=models.PROTECT, related_name="+")
    compound = models.ForeignKey("registry.Compound", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    category_l1 = models.CharField(max_length=100, blank=True)
    category_l2 = models.CharField(max_length=100, blank=True)
    owner = models.CharField(max_length=100, blank=True, help_text="responsible person or department")
    funding_source = models.CharField(max_length=20, choices=FUNDING, blank=True)
    budget = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PROPOSED)
    started_on = models.DateField(null=True, blank=True)
    completed_on = models.DateField(null=True, blank=True)
    tickets = models.ManyToManyField(Ticket, related_name="projects", blank=True)
    cluster_key = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "id"]

    def __str__(self):
        return self.title

    @property
    def progress(self) -> int:
        ms = list(self.milestones.all())
        if not ms:
            return 100 if self.status == self.Status.COMPLETED else 0
        return round(sum(m.progress for m in ms) / len(ms))


class Milestone(models.Model):
    project = models.ForeignKey(ProactiveProject, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(max_length=200)
    due_on = models.DateField(null=True, blank=True)
    done_on = models.DateField(null=True, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)  # 0..100

    class Meta:
        ordering = ["due_on", "id"]

    def __str__(self):
        return self.title


class HotlineEvent(models.Model):
    """One row of history per staff change made through the services: a ticket's category
    corrected, its address confirmed or its grid chosen; a project proposed, a milestone added or
    moved on, a project's status changed. Shown on the ticket's and the project's pages."""

    class Action(models.TextChoices):
        CATEGORY = "category", _("更正分类")
        ADDRESS = "address", _("确认地址")
        GRID = "grid", _("指定网格")
        PROJECT = "project", _("提出项目")
        MILESTONE = "milestone", _("新增节点")
        PROGRESS = "progress", _("更新进度")
        STATUS = "status", _("变更状态")

    at = models.DateTimeField(db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=12, choices=Action.choices)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    project = models.ForeignKey(ProactiveProject, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    #: what changed, e.g. {"from": "城乡建设/物业管理", "to": "交通运输"}
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.get_action_display()} {self.ticket_id or self.project_id}"
