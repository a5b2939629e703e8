"""The dashboards' rollups: the cases' figures summed per month and grid, kept beside the cases
so that a dashboard reads a few thousand rows, not every case (gridgov.insight.rollup)."""

from django.db import models


class CaseRollup(models.Model):
    """The cases created in `month` (local time) in the grid at `grid_path` (the path cut at the
    grid level: micro-grids sum into their grid; '' for cases with no grid), of one item and one
    channel: counts by outcome, time limits kept and missed per kind, ratings per score."""

    month = models.CharField(max_length=7)
    grid_path = models.CharField(max_length=400, blank=True)
    item_id = models.BigIntegerField(null=True, blank=True)
    channel = models.CharField(max_length=12)
    n = models.PositiveIntegerField(default=0)
    open = models.PositiveIntegerField(default=0)
    closed = models.PositiveIntegerField(default=0)
    escalated = models.PositiveIntegerField(default=0)
    accept_total = models.PositiveIntegerField(default=0)
    accept_late = models.PositiveIntegerField(default=0)
    arrive_total = models.PositiveIntegerField(default=0)
    arrive_late = models.PositiveIntegerField(default=0)
    resolve_total = models.PositiveIntegerField(default=0)
    resolve_late = models.PositiveIntegerField(default=0)
    summon_total = models.PositiveIntegerField(default=0)
    summon_late = models.PositiveIntegerField(default=0)
    satisfied = models.PositiveIntegerField(default=0)
    basic = models.PositiveIntegerField(default=0)
    unsatisfied = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["month", "grid_path"])]


class GridMonthRollup(models.Model):
    """CaseRollup summed over items and channels: one row per month and grid, what a dashboard
    without an item or channel filter reads (a district's year: twelve rows per grid)."""

    month = models.CharField(max_length=7)
    grid_path = models.CharField(max_length=400, blank=True)
    n = models.PositiveIntegerField(default=0)
    open = models.PositiveIntegerField(default=0)
    closed = models.PositiveIntegerField(default=0)
    escalated = models.PositiveIntegerField(default=0)
    accept_total = models.PositiveIntegerField(default=0)
    accept_late = models.PositiveIntegerField(default=0)
    arrive_total = models.PositiveIntegerField(default=0)
    arrive_late = models.PositiveIntegerField(default=0)
    resolve_total = models.PositiveIntegerField(default=0)
    resolve_late = models.PositiveIntegerField(default=0)
    summon_total = models.PositiveIntegerField(default=0)
    summon_late = models.PositiveIntegerField(default=0)
    satisfied = models.PositiveIntegerField(default=0)
    basic = models.PositiveIntegerField(default=0)
    unsatisfied = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["month", "grid_path"])]


class HourRollup(models.Model):
    """Cases created in `month` at local `hour` in the grid at `grid_path` (cut at the grid level)."""

    month = models.CharField(max_length=7)
    grid_path = models.CharField(max_length=400, blank=True)
    hour = models.PositiveSmallIntegerField()
    n = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["month", "grid_path"])]


class SpotRollup(models.Model):
    """Cases created in `month` in the finest grid `grid_id` (the map's hot spots)."""

    month = models.CharField(max_length=7)
    grid_id = models.BigIntegerField()
    grid_path = models.CharField(max_length=400, blank=True)
    n = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["month", "grid_path"])]


class RollupState(models.Model):
    """How far the rollups have read: the last case and case event folded in. A refresh
    recomputes the months of every case created or changed (an event) since."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_case = models.BigIntegerField(default=0)
    last_event = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)


class TopicRollup(models.Model):
    """The month's topics, hot spots and recurring problems (gridgov.hotline.clusters) over one
    part of the install: one street's tickets and cases (`part` its path), or '' for those placed
    in no street (the whole install when it has one street). Rows keep the TOPICS_KEEP largest of
    each list with their samples by kind; a dashboard merges the parts it may see.

    `stale`: a ticket or case of the month or of the five months before it (the recurring
    problems' window) changed after `computed_at`; `version` counts the marks, so that a
    computation that read older rows never clears a newer mark (compare-and-set)."""

    month = models.CharField(max_length=7)
    part = models.CharField(max_length=400, blank=True)
    data = models.JSONField(default=dict)
    size = models.PositiveIntegerField(default=0)  # tickets and cases read to compute it
    stale = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["month", "part"], name="topic_rollup_month_part")]
        indexes = [models.Index(fields=["stale", "month"])]


class TopicState(models.Model):
    """How far the topic rollups have looked for changes: the last case, case event and ticket
    update (tickets write no events; `Ticket.updated_at`) marked."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_case = models.BigIntegerField(default=0)
    last_event = models.BigIntegerField(default=0)
    tickets_at = models.DateTimeField(null=True, blank=True)
