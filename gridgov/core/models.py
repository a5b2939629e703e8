from django.conf import settings
from django.db import models


class RateCounter(models.Model):
    """One fixed window of a rate limit (`gridgov.core.ratelimit`), in the database so every
    process counts the same hits (Redis is used instead when REDIS_URL is set)."""

    key = models.CharField(max_length=200, unique=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)


class AuditEntry(models.Model):
    """One read or export of personal data, or another sensitive act.

    Entries are hash-chained: each holds the hash of the previous one, so a deleted or altered
    entry breaks the chain (`gridgov audit verify`)."""

    at = models.DateTimeField(db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40)  # reveal, export, erase, ...
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=40, blank=True)
    fields = models.CharField(max_length=200, blank=True)
    detail = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.object_type}#{self.object_id}"


class ChangeRecord(models.Model):
    """One change of a record kept by a person (a resident, a house, a member of staff, a duty, a
    department, an item, a setting, ...): who, when, what, old → new. Written by the services that
    make the change (core.history.record), in the same transaction; never edited. Personal fields
    appear masked here: their plaintext is read only through the audited reveal."""

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)
    #: the policy kind ("residents", "staff", "duties", ...) or app_label.model of the record
    kind = models.CharField(max_length=40)
    object_id = models.CharField(max_length=40)
    object_repr = models.CharField(max_length=200, blank=True)
    #: the grid path the record lies on when changed (for scoping the history), "" when none
    grid_path = models.CharField(max_length=255, blank=True, db_index=True)
    #: create, update, end (moved out, died, demolished, left), restore, ...
    action = models.CharField(max_length=20)
    #: {field: [old, new]} (personal fields masked)
    changes = models.JSONField(default=dict, blank=True)
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["kind", "object_id", "at"])]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.kind}#{self.object_id}"


class SettingValue(models.Model):
    """A policy number or choice that administrators set on the pages (the rating reopen count,
    the public rate limits, the three rates' weights, ...): one row per edit, never rewritten.
    The value in force at time T is the latest row with `valid_from` <= T, else the setting's
    default (core.conf). `value` is the text form, as an environment variable would give it."""

    key = models.CharField(max_length=80)
    value = models.TextField()
    valid_from = models.DateTimeField()
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField()
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["key", "-valid_from", "-id"]
        indexes = [models.Index(fields=["key", "valid_from"])]

    def __str__(self):
        return f"{self.key}={self.value} from {self.valid_from:%Y-%m-%d %H:%M}"
