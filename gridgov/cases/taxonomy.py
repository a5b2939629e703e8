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

from .models import HandlerLevel, Item, LimitUnit, RoutingPath, RoutingRule, Scenario, Urgency

DATA = Path(__file__).resolve().parent / "data" / "taxonomy.csv"

REQUIRED = ["scenario", "item", "code", "department", "accept_minutes", "arrive_minutes", "resolve_hours", "volunteer_grabbable"]
OPTIONAL = ["scenario_code", "keywords", "urgency", "national_kind", "national_code", "national_name",
            "accept_unit", "arrive_unit", "resolve_unit"]
#: the column of each clock's amount (named after its default unit; an empty cell: no such clock,
#: a `*_unit` column, when given, says the amount's unit: minutes, working_hours, working_days)
LIMIT_COLUMNS = {"accept": "accept_minutes", "arrive": "arrive_minutes", "resolve": "resolve_hours"}
DEFAULT_UNITS = {"accept": LimitUnit.MINUTES.value, "arrive": LimitUnit.MINUTES.value, "resolve": LimitUnit.WORKING_HOURS.value}
UNITS = tuple(LimitUnit.values)
LIMIT_MAX = Decimal("1000000")  # the column holds 9 digits with 2 decimals
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
        for kind, col in LIMIT_COLUMNS.items():
            unit = r.get(f"{kind}_unit", "") or DEFAULT_UNITS[kind]
            if unit not in UNITS:
                errors.append(f"row {n}, column {kind}_unit: {unit!r}; use one of {', '.join(UNITS)}")
            row[f"{kind}_unit"] = unit
            v = r.get(col, "")
            if v == "":  # no such clock (a consultation has no on-site clock)
                row[f"{kind}_limit"] = None
                continue
            try:
                amount = Decimal(v)
                if not amount.is_finite() or amount <= 0 or amount >= LIMIT_MAX:
                    raise InvalidOperation
                row[f"{kind}_limit"] = amount
            except InvalidOperation:
                errors.append(f"row {n}, column {col}: {v!r} is not a positive number (leave it empty for no {kind} limit)")
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
                **{f"{kind}_{part}": row[f"{kind}_{part}"] for kind in LIMIT_COLUMNS for part in ("limit", "unit")},
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


# --- editing one scenario or item on the pages and the API, with history ------------------------

#: the fields of an item the pages edit (and its history shows)
ITEM_FIELDS = ("scenario", "code", "name", "keywords", "default_urgency", "department",
               "accept_limit", "accept_unit", "arrive_limit", "arrive_unit", "resolve_limit", "resolve_unit",
               "volunteer_grabbable", "national_kind", "national_code", "national_name", "active")
SCENARIO_FIELDS = ("code", "name", "order", "active")


def may_edit(user) -> bool:
    """Create, change or deactivate scenarios and items: the policy table's taxonomy × update."""
    from gridgov.accounts import policy

    return policy.allows(user, "taxonomy", "update")


def _require_editor(user):
    from django.core.exceptions import PermissionDenied

    if not may_edit(user):
        raise PermissionDenied("only administrators edit the taxonomy")


def _clean_limit(kind: str, amount, unit):
    if unit not in UNITS:
        raise ValueError(f"{kind}_unit: one of {', '.join(UNITS)}")
    if amount in (None, ""):
        return None, unit
    try:
        amount = Decimal(str(amount))
        if not amount.is_finite() or amount <= 0 or amount >= LIMIT_MAX:
            raise InvalidOperation
    except InvalidOperation:
        raise ValueError(f"{kind}_limit: a positive number below {LIMIT_MAX} (empty: no {kind} clock)") from None
    return amount.quantize(Decimal("0.01")), unit


@transaction.atomic
def save_item(actor, item: Item | None = None, **fields) -> Item:
    """Create an item (item None) or change one: the given fields only. The department is the
    name of a Department record (an item may keep a name it already has). Limits: an amount
    (None or "": that clock is never started) and a unit. The change applies to clocks started
    from now on; running clocks keep their due times. One history row (kind "taxonomy")."""
    from gridgov.accounts.models import Department
    from gridgov.core import history

    _require_editor(actor)
    unknown = set(fields) - set(ITEM_FIELDS)
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
    creating = item is None
    if creating:
        item = Item(default_urgency=Urgency.NORMAL.value)
        for kind in LIMIT_COLUMNS:
            setattr(item, f"{kind}_unit", DEFAULT_UNITS[kind])
    else:
        item = Item.objects.select_for_update().get(pk=item.pk)
    before = history.snapshot(item, ITEM_FIELDS) if not creating else {}
    if "scenario" in fields:
        sc = fields.pop("scenario")
        if not isinstance(sc, Scenario):
            sc = Scenario.objects.filter(code=sc).first()
            if sc is None:
                raise ValueError("scenario: no scenario with that code")
        item.scenario = sc
    if creating and not item.scenario_id:
        raise ValueError("scenario: required")
    for key in ("code", "name", "department"):
        if key in fields:
            fields[key] = str(fields[key] or "").strip()
            if not fields[key]:
                raise ValueError(f"{key}: required")
    if "code" in fields and not creating and fields["code"] != item.code:
        raise ValueError("code: an item's code never changes (cases and rules keep it); create a new item")
    if creating and not fields.get("code"):
        raise ValueError("code: required")
    if "code" in fields and creating and Item.objects.filter(code=fields["code"]).exists():
        raise ValueError(f"code: {fields['code']} is taken")
    if "department" in fields and fields["department"] != item.department:
        if not Department.objects.filter(name=fields["department"], active=True).exists():
            raise ValueError(f"department: no active department named {fields['department']!r}")
    if creating and not fields.get("department"):
        raise ValueError("department: required")
    if "default_urgency" in fields and fields["default_urgency"] not in Urgency.values:
        raise ValueError(f"default_urgency: one of {', '.join(Urgency.values)}")
    if "national_kind" in fields and fields["national_kind"] not in ("", "event", "component"):
        raise ValueError("national_kind: event, component or empty")
    for kind in LIMIT_COLUMNS:
        if f"{kind}_limit" in fields or f"{kind}_unit" in fields:
            amount = fields.pop(f"{kind}_limit", getattr(item, f"{kind}_limit"))
            unit = fields.pop(f"{kind}_unit", getattr(item, f"{kind}_unit"))
            amount, unit = _clean_limit(kind, amount, unit)
            setattr(item, f"{kind}_limit", amount)
            setattr(item, f"{kind}_unit", unit)
    for key, value in fields.items():
        if key in ("volunteer_grabbable", "active"):
            value = bool(value)
        setattr(item, key, value)
    for key in ("name", "keywords", "national_code", "national_name"):
        limit = Item._meta.get_field(key).max_length
        if limit and len(getattr(item, key) or "") > limit:
            raise ValueError(f"{key}: at most {limit} characters")
    item.save()
    after = history.snapshot(item, ITEM_FIELDS)
    changes = history.diff(before, after)
    if creating or changes:
        action = "create" if creating else ("deactivate" if changes.get("active") == [True, False] else "update")
        history.record(actor, "taxonomy", item, action, changes)
    return item


@transaction.atomic
def save_scenario(actor, scenario: Scenario | None = None, **fields) -> Scenario:
    """Create a scenario or change its name, order or active flag; history under kind
    "taxonomy", object "scenario:<id>". Deactivating a scenario deactivates its items (they are
    offered no more; reactivate them one by one)."""
    from gridgov.core import history

    _require_editor(actor)
    unknown = set(fields) - set(SCENARIO_FIELDS)
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
    creating = scenario is None
    scenario = Scenario() if creating else Scenario.objects.select_for_update().get(pk=scenario.pk)
    before = history.snapshot(scenario, SCENARIO_FIELDS) if not creating else {}
    for key in ("code", "name"):
        if key in fields:
            fields[key] = str(fields[key] or "").strip()
            if not fields[key]:
                raise ValueError(f"{key}: required")
    if not creating and "code" in fields and fields["code"] != scenario.code:
        raise ValueError("code: a scenario's code never changes")
    if creating and not (fields.get("code") and fields.get("name")):
        raise ValueError("code and name: required")
    if "code" in fields and creating and Scenario.objects.filter(code=fields["code"]).exists():
        raise ValueError(f"code: {fields['code']} is taken")
    if "name" in fields and Scenario.objects.filter(name=fields["name"]).exclude(pk=scenario.pk).exists():
        raise ValueError(f"name: {fields['name']} is taken")
    if creating and "order" not in fields:
        fields["order"] = Scenario.objects.count()
    for key, value in fields.items():
        setattr(scenario, key, bool(value) if key == "active" else int(value) if key == "order" else value)
    scenario.save()
    changes = history.diff(before, history.snapshot(scenario, SCENARIO_FIELDS))
    if creating or changes:
        action = "create" if creating else ("deactivate" if changes.get("active") == [True, False] else "update")
        history.record(actor, "taxonomy", scenario, action, changes, object_id=f"scenario:{scenario.pk}")
    if changes.get("active") == [True, False]:  # its items go with it (each with its history row)
        for item in scenario.items.filter(active=True):
            save_item(actor, item, active=False)
    return scenario


def item_history(item):
    from gridgov.core import history

    return history.for_object("taxonomy", item.pk)
