"""The audit log: append-only, hash-chained."""

import hashlib
import json

from django.db import connection, transaction
from django.utils import timezone

from .models import AuditEntry

GENESIS = "0" * 64


def _digest(prev_hash: str, at, username: str, action: str, object_type: str, object_id: str, fields: str, detail: str) -> str:
    payload = json.dumps(
        [prev_hash, at.isoformat(), username, action, object_type, object_id, fields, detail],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _lock_chain():
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(727001)")


def record(user, action: str, obj=None, *, object_type: str = "", object_id="", fields="", detail="") -> AuditEntry:
    """Append one entry; joins the caller's transaction."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    if isinstance(fields, (list, tuple)):
        fields = ",".join(fields)
    username = getattr(user, "username", "") or ""
    with transaction.atomic():
        _lock_chain()
        last = AuditEntry.objects.order_by("-id").values_list("hash", flat=True).first()
        prev = last or GENESIS
        at = timezone.now()
        h = _digest(prev, at, username, action, object_type, str(object_id), fields, detail)
        return AuditEntry.objects.create(
            at=at,
            user=user if getattr(user, "pk", None) else None,
            username=username,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            fields=fields,
            detail=detail,
            prev_hash=prev,
            hash=h,
        )


def verify() -> list[str]:
    """Problems found in the chain (empty when intact)."""
    problems = []
    prev = GENESIS
    for e in AuditEntry.objects.order_by("id").iterator(chunk_size=2000):
        if e.prev_hash != prev:
            problems.append(f"entry {e.id}: previous hash does not match (an entry before it was removed or altered)")
        expected = _digest(e.prev_hash, e.at, e.username, e.action, e.object_type, e.object_id, e.fields, e.detail)
        if expected != e.hash:
            problems.append(f"entry {e.id}: content does not match its hash (altered)")
        prev = e.hash
    return problems
