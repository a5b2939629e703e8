"""Open311 GeoReport v2: API keys and the Open311 side of a case.

* `ApiKey` — a client allowed to POST service requests. Only a SHA-256 of the key is kept; the
  key is shown once, when made (`gridgov apikey create NAME`).
* `Open311Request` — what a POST brought beyond the case itself: the token, the key that filed
  it, the media URL, the address id, the attributes, and the submitter's contact details,
  encrypted (`*_enc`, Fernet) with a blind index (`*_hash`) and a mask for the phone. The case
  (text, place, item, workflow) lives in `gridgov.cases`; nothing here changes its state."""

import uuid

from django.conf import settings
from django.db import models


class ApiKey(models.Model):
    name = models.CharField(max_length=100, unique=True)
    prefix = models.CharField(max_length=16, unique=True, help_text="public part of the key, shown in lists")
    secret_hash = models.CharField(max_length=64, help_text="sha256 hex of the whole key")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    can_submit = models.BooleanField(default=True, help_text="may POST service requests")
    rate_per_minute = models.PositiveIntegerField(default=60, help_text="POSTs per minute; 0 = no limit")

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.name} ({self.prefix})"


class Open311Request(models.Model):
    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, related_name="open311")
    token = models.UUIDField(default=uuid.uuid4, unique=True)
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="requests")
    service_code = models.CharField(max_length=30, help_text="as requested (the case's item may be corrected later)")
    media_url = models.URLField(max_length=500, blank=True)
    address_id = models.CharField(max_length=40, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    # the submitter's contact details: personal data, never in a public response
    email_enc = models.TextField(blank=True)
    email_hash = models.CharField(max_length=40, blank=True, db_index=True)
    phone_enc = models.TextField(blank=True)
    phone_hash = models.CharField(max_length=40, blank=True, db_index=True)
    phone_masked = models.CharField(max_length=20, blank=True)
    name_enc = models.TextField(blank=True, help_text="first and last name, encrypted together as JSON")
    device_id_enc = models.TextField(blank=True)
    account_id_enc = models.TextField(blank=True)
    account_id_hash = models.CharField(max_length=40, blank=True, db_index=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
