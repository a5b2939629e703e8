"""The taxonomy (scenario → item) and the seeded routing paths and rules.

`seed_taxonomy()` loads the packaged `data/taxonomy.csv` (five scenarios, twenty must-handle
items after Nanyuan's list) and the eleven routing paths with their default rules; it is what
`gridgov seed-taxonomy` and the tests run. `import_taxonomy(file)` loads a staff-edited CSV of
the same shape, all or nothing, reporting every bad cell by row and column.

National codes: `national_code` is the GB/T 30428.2 sub-class ("01-10" 暴露垃圾, "04-06" 占道经营)
where we have it from the standard's text, and only the class ("01" 公用设施, "04" 街面秩序) where
we have only that; fill the rest from the standard with `import-taxonomy`."""

import csv
import hashlib
import io
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction

from gridgov.core.i18n import source_text

from .models import HandlerLevel, Item, RoutingPath, RoutingRule, Scenario, Urgency

DATA = Path(__file__).resolve().parent / "data" / "taxonomy.csv"

REQUIRED = ["scenario", "item", "code", "department", "accept_minutes", "arrive_minutes", "resolve_hours", "volunteer_grabbable"]
OPTIONAL = ["scenario_code", "keywords", "urgency", "national_kind", "national_code", "national_name"]
TRUE = {"1", "true", "yes", "y", "是", "可", "√"}
FALSE = {"0", "false", "no", "n", "否", "", "×"}


def urgency_by_label() -> dict[str, str]:
    """Urgency codes by code or by Chinese label (the file's words, whatever the active language)."""
    return {**{u.value: u.value for u in Urgency}, **{source_text(u.label): u.value for u in Urgency}}


G, C, S, L, P = (
    HandlerLevel.GRID_LEADER.value,
    HandlerLevel.COMMUNITY_SECRETARY.value,
    HandlerLevel.SECTION.value,
    HandlerLevel.LEADER_IN_CHARGE.value,
    HandlerLevel.PRINCIPAL_LEADER.value,
)

#: the eleven seeded paths: code, name, steps (each step: handler first, then those informed)
PATHS = [
    ("grid_only", "网格自办", [[G]]),
    ("grid_community", "网格→社区", [[G], [C]]),
    ("grid_community_section", "网格→社区→科室", [[G], [C], [S]]),
    ("grid_community_section_leader", "网格→社区→科室→分管领导", [[G], [C], [S], [L]]),
    ("full_chain", "网格→社区→科室→分管领导→主要领导", [[G], [C], [S], [L], [P]]),
    ("community_only", "社区自办", [[C]]),
    ("community_section", "社区→科室", [[C], [S]]),
    ("community_section_leader", "社区→科室→分管领导", [[C], [S], [L]]),
    ("section_leader", "科室→分管领导", [[S], [L]]),
    ("section_leader_principal", "科室→分管领导→主要领导", [[S], [L], [P]]),
    ("emergency", "紧急：科室+分管领导→主要领导", [[S, L], [P]]),
]

#: default rules: (item code, scenario code, urgency, start, end, path code, note)
RULES = [
    (None, None, "", None, None, "grid_community", "默认：网格办理，超时升级社区"),
    (None, None, Urgency.MINOR, None, None, "grid_only", "小事不出网格"),
    (None, None, Urgency.NORMAL, None, None, "grid_community", "一般事项网格办理，社区兜底"),
    (None, None, Urgency.MAJOR, None, None, "grid_community_section", "大事不出社区，必要时科室"),
    (None, None, Urgency.EMERGENCY, None, None, "emergency", "紧急事项直达科室和分管领导"),
    (None, "emergency", "", None, None, "emergency", "突发事件直达科室和分管领导"),
    (None, "public_safety", Urgency.MAJOR, None, None, "grid_community_section_leader", "重大安全隐患"),
    ("EM01", None, "", None, None, "emergency", "燃气泄漏一律按紧急处理"),
    ("WG02", None, "", None, None, "community_section_leader", "违建由社区牵头、执法队处置"),
    ("WG03", None, "", "22:00", "06:00", "community_section", "夜间噪音由社区和平安办处理"),
    ("MS01", None, "", None, None, "community_section", "供水故障由社区联系科室"),
]


class TaxonomyImportError(ValueError):
    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("; ".join(errors[:20]) + (f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""))


def _parse_rows(text: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    urgencies = urgency_by_label()
    if missing:
        raise TaxonomyImportError([f"row 1: missing column(s) {', '.join(missing)}; required: {', '.join(REQUIRED)}"])
    errors, rows, seen = [], [], {}
    for n, raw in enumerate(reader, start=2):
        r = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(r.values()):
            continue
        row = {"_row": n}
        for col in ("scenario", "item", "code", "department"):
            if not r.get(col):
                errors.append(f"row {n}, column {col}: empty")
            row[col] = r.get(col, "")
        if row["code"]:
            if row["code"] in seen:
                errors.append(f"row {n}, column code: {row['code']} already on row {seen[row['code']]}")
            seen[row["code"]] = n
        for col in ("accept_minutes", "arrive_minutes"):
            v = r.get(col, "")
            if not v.isdigit() or int(v) <= 0:
                errors.append(f"row {n}, column {col}: {v!r} is not a positive whole number of minutes")
            else:
                row[col] = int(v)
        try:
            hours = Decimal(r.get("resolve_hours", ""))
            if hours <= 0 or hours >= Decimal("100000"):
                raise InvalidOperation
            row["resolve_hours"] = hours
        except InvalidOperation:
            errors.append(f"row {n}, column resolve_hours: {r.get('resolve_hours')!r} is not a positive number of working hours")
        g = r.get("volunteer_grabbable", "").lower()
        if g in TRUE:
            row["volunteer_grabbable"] = True
        elif g in FALSE:
            row["volunteer_grabbable"] = False
        else:
            errors.append(f"row {n}, column volunteer_grabbable: {g!r}; use 是/否 or yes/no")
        u = r.get("urgency", "")
        if u and u not in urgencies:
            errors.append(f"row {n}, column urgency: {u!r}; use one of {', '.join(urgencies)}")
        row["urgency"] = urgencies.get(u, Urgency.NORMAL.value)
        kind = r.get("national_kind", "")
        if kind not in ("", "event", "component"):
            errors.append(f"row {n}, column national_kind: {kind!r}; use event or component")
        for col in ("scenario_code", "keywords", "national_kind", "national_code", "national_name"):
            row[col] = r.get(col, "")
        rows.append(row)
    if errors:
        raise TaxonomyImportError(errors)
    if not rows:
        raise TaxonomyImportError(["the file holds no rows"])
    return rows


def _scenario_code(name: str, given: str) -> str:
    if given:
        return given
    existing = Scenario.objects.filter(name=name).values_list("code", flat=True).first()
    return existing or "s" + hashlib.sha1(name.encode()).hexdigest()[:10]


@transaction.atomic
def import_taxonomy(source, replace: bool = False) -> dict:
    """Load items from a CSV (path, file object or text). Items are matched by code and updated;
    with `replace`, items missing from the file are deactivated (cases keep pointing at them).
    All or nothing: any bad cell raises TaxonomyImportError listing every problem."""
    from gridgov.core.tabular import TableError, check_size

    try:
        if isinstance(source, (str, Path)) and Path(str(source)).exists():
            with open(source, "rb") as fh:
                check_size(fh)
                text = fh.read().decode("utf-8-sig")
        elif hasattr(source, "read"):
            check_size(source)  # the bytes limit of every import (GRIDGOV_IMPORT_MAX_BYTES), before reading
            text = source.read()
            text = text.decode("utf-8-sig") if isinstance(text, bytes) else text
        else:
            text = str(source)
    except TableError as exc:
        raise TaxonomyImportError([str(exc)]) from None
    rows = _parse_rows(text)
    created = updated = 0
    scenarios = {}
    for order, row in enumerate(rows):
        key = row["scenario"]
        if key not in scenarios:
            code = _scenario_code(key, row["scenario_code"])
            sc, _ = Scenario.objects.update_or_create(code=code, defaults={"name": key, "order": len(scenarios)})
            scenarios[key] = sc
        _, was_created = Item.objects.update_or_create(
            code=row["code"],
            defaults=dict(
                scenario=scenarios[key],
                name=row["item"],
                keywords=row["keywords"],
                default_urgency=row["urgency"],
                department=row["department"],
                accept_minutes=row["accept_minutes"],
                arrive_minutes=row["arrive_minutes"],
                resolve_hours=row["resolve_hours"],
                volunteer_grabbable=row["volunteer_grabbable"],
                national_kind=row["national_kind"],
                national_code=row["national_code"],
                national_name=row["national_name"],
                active=True,
            ),
        )
        created += was_created
        updated += not was_created
    # the departments the items name exist as records (a new name: a section, or a unit by its name)
    from gridgov.accounts.departments import ensure

    ensure({r["department"] for r in rows})
    deactivated = 0
    if replace:
        deactivated = Item.objects.exclude(code__in=[r["code"] for r in rows]).filter(active=True).update(active=False)
    return {"created": created, "updated": updated, "deactivated": deactivated}


@transaction.atomic
def seed_routing(user=None) -> dict:
    """Create the eleven paths and the default rules when absent (idempotent)."""
    from datetime import time

    from . import routing

    paths = {}
    for code, name, steps in PATHS:
        paths[code], _ = RoutingPath.objects.get_or_create(code=code, defaults={"name": name, "steps": steps})
    made = 0
    if not RoutingRule.objects.exists():
        for item_code, scenario_code, urgency, start, end, path_code, note in RULES:
            rule = RoutingRule(
                item=Item.objects.get(code=item_code) if item_code else None,
                scenario=Scenario.objects.get(code=scenario_code) if scenario_code else None,
                urgency=urgency,
                start_time=time.fromisoformat(start) if start else None,
                end_time=time.fromisoformat(end) if end else None,
                path=paths[path_code],
                priority=200 if not (item_code or scenario_code or urgency) else 100,
                note=note,
            )
            routing.save_rule(rule, user)
            made += 1
    return {"paths": len(paths), "rules": made}


def seed_taxonomy() -> dict:
    """The packaged taxonomy and routing (what `gridgov seed-taxonomy` runs); idempotent."""
    result = import_taxonomy(DATA)
    result.update(seed_routing())
    return result
