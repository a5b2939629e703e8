"""Personal data at rest, as a whole: key rotation (a resident's rights under PIPL — export,
erase — are gridgov.privacy, above the apps whose records they gather).

Encrypted fields are found, not listed: every concrete model field whose name ends in `_enc`."""

import json

from django.apps import apps
from django.db import transaction

from . import audit, crypto


def encrypted_fields() -> list[tuple[type, list[str]]]:
    """(model, [field names ending in _enc]) for every installed model that has any."""
    out = []
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if f.name.endswith("_enc")]
        if names:
            out.append((model, names))
    return out


def rotate_keys(batch_size: int = 500, progress=None) -> dict:
    """Re-encrypt every encrypted field of every model under the first key of FIELD_KEYS.

    Idempotent (a value already under the first key is re-encrypted again under it, harmlessly);
    one transaction per batch, so an interrupted run can simply be started again. Returns
    {model label: rows rewritten}."""
    done = {}
    for model, names in encrypted_fields():
        label = model._meta.label
        manager = model._base_manager
        total = manager.count()
        count, last_pk = 0, None
        while True:
            qs = manager.order_by("pk").only("pk", *names)
            if last_pk is not None:
                qs = qs.filter(pk__gt=last_pk)
            batch = list(qs[:batch_size])
            if not batch:
                break
            with transaction.atomic():
                changed = []
                for obj in batch:
                    dirty = False
                    for n in names:
                        token = getattr(obj, n)
                        if token:
                            setattr(obj, n, crypto.rotate(token))
                            dirty = True
                    if dirty:
                        changed.append(obj)
                if changed:
                    manager.bulk_update(changed, names, batch_size=batch_size)
            count += len(changed)
            last_pk = batch[-1].pk
            if progress:
                progress(label, min(count, total), total)
        done[label] = count
    audit.record(None, "rotate_keys", object_type="*", detail=json.dumps(done, ensure_ascii=False))
    return done


def check_first_key() -> list[str]:
    """Values that the first key alone cannot decrypt (empty after a complete rotation)."""
    from django.conf import settings
    from cryptography.fernet import Fernet, InvalidToken

    first = Fernet(settings.FIELD_KEYS[0].encode() if isinstance(settings.FIELD_KEYS[0], str) else settings.FIELD_KEYS[0])
    bad = []
    for model, names in encrypted_fields():
        for row in model._base_manager.values_list("pk", *names).iterator(chunk_size=2000):
            for n, token in zip(names, row[1:]):
                if token:
                    try:
                        first.decrypt(token.encode())
                    except InvalidToken:
                        bad.append(f"{model._meta.label}#{row[0]}.{n}")
    return bad
