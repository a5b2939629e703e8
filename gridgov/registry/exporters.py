"""Exports of base data to .xlsx, in the import templates' columns (so an export can be edited
and imported back with --update).

Rows are `.visible_to(user)`. ID numbers and phones are masked unless the user may see
personal data of the row (`may_see_personal_data`: role and scope); then they are decrypted.
Every export appends ONE audit entry (action "export", detail: kind, row count and whether
personal data was revealed). Text that a spreadsheet would run as a formula is escaped."""

import json

from django.db import transaction

from gridgov.accounts import policy
from gridgov.accounts.scope import may_see_personal_data
from gridgov.core import audit, crypto

from gridgov.core.tabular import Workbook

from .importers import get_spec


def _cell(value):
    if value is None:
        return ""
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()[:10]
    if isinstance(value, (list, tuple)):
        return "、".join(str(v) for v in value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if hasattr(value, "as_tuple"):  # Decimal
        return float(value)
    return str(value)  # made safe (formulas escaped) by the writer, gridgov.core.tabular


def export_rows(kind: str, user):
    """(headers, iterator of rows, stats dict) for `user`; decrypts only where allowed."""
    spec = get_spec(kind)
    policy.require(user, spec.kind, "export")
    qs = spec.queryset().visible_to(user).order_by("pk")
    headers = [c.header for c in spec.columns]
    stats = {"count": 0, "revealed": 0}

    def gen():
        for obj in qs.iterator(chunk_size=2000) if not _has_prefetch(qs) else qs:
            allowed = None
            out = []
            for c in spec.columns:
                if c.personal:
                    if allowed is None:
                        allowed = may_see_personal_data(user, obj.grid.path if obj.grid_id else None, kind=spec.kind)
                    if c.out is not None:
                        value = c.out(obj)
                    elif allowed:
                        value = crypto.decrypt(getattr(obj, f"{c.field}_enc"))
                    else:
                        value = getattr(obj, f"{c.field}_masked")
                elif c.out is not None:
                    value = c.out(obj)
                else:
                    value = getattr(obj, c.field, "")
                out.append(_cell(value))
            stats["count"] += 1
            if allowed:
                stats["revealed"] += 1
            yield out

    return headers, gen(), stats


def _has_prefetch(qs) -> bool:
    return bool(qs._prefetch_related_lookups)


def export_xlsx(kind: str, user, out) -> dict:
    """Write the export to `out` (a path or a binary file); return {"count", "revealed"}."""
    spec = get_spec(kind)
    headers, rows, stats = export_rows(kind, user)
    wb = Workbook(write_only=True)
    ws = wb.sheet("数据")
    ws.append(headers, bold=True)
    for row in rows:
        ws.append(row)
    with transaction.atomic():
        wb.save(out)
        audit.record(
            user,
            "export",
            object_type=spec.model._meta.label_lower,
            fields=",".join(c.field for c in spec.columns if c.personal) if stats["revealed"] else "",
            detail=json.dumps(
                {"kind": kind, "count": stats["count"], "personal_data": "revealed" if stats["revealed"] else "masked",
                 "revealed_rows": stats["revealed"]},
                ensure_ascii=False,
            ),
        )
    return stats
