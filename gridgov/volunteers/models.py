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
from django.db.models import Q
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
