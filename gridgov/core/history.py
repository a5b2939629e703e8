"""One way to keep the history of a record kept by a person: `record(...)` writes a ChangeRecord in
the caller's transaction; `diff(...)` says what changed between two snapshots; `snapshot(...)`
takes one. Services call these; pages read `for_object(...)` (scoped by the caller)."""

from django.utils import timezone

from .models import ChangeRecord

#: the mark a masked personal value shows in the history (its plaintext needs the audited reveal)
MASK_FIELDS_SUFFIX = "_masked"


def _plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "pk"):
        return str(value)
    return str(value)


def snapshot(obj, fields) -> dict:
    """{field: plain value} of `obj` for `fields`. For a foreign key the object's text is kept
    (what a reader of the history understands), for an encrypted personal field its masked copy:
    pass "phone" and the snapshot reads `phone_masked`."""
    out = {}
    for name in fields:
        if hasattr(obj, f"{name}{MASK_FIELDS_SUFFIX}"):
            out[name] = getattr(obj, f"{name}{MASK_FIELDS_SUFFIX}")
            continue
        value = getattr(obj, name, None)
        out[name] = _plain(value)
    return out


def diff(old: dict, new: dict) -> dict:
    """{field: [old, new]} for the fields whose value differs."""
    return {k: [old.get(k), new.get(k)] for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}


def record(actor, kind: str, obj, action: str, changes: dict | None = None, *, grid_path: str = "",
           note: str = "", at=None, object_id=None) -> ChangeRecord:
    """Keep one history row for a change of `obj` (of policy kind `kind`) by `actor`."""
    name = ""
    if actor is not None and getattr(actor, "is_authenticated", False):
        name = getattr(actor, "display_name", "") or getattr(actor, "username", "")
    else:
        actor = None
    return ChangeRecord.objects.create(
        at=at or timezone.now(), actor=actor, actor_name=name, kind=kind,
        object_id=str(object_id if object_id is not None else obj.pk), object_repr=str(obj)[:200],
        grid_path=grid_path or "", action=action, changes=_plain(changes or {}), note=(note or "")[:255],
    )


def for_object(kind: str, object_id):
    """The history of one record, newest first."""
    return ChangeRecord.objects.filter(kind=kind, object_id=str(object_id))
