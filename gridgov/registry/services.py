"""Every change of base data goes through here, each in one transaction.

ONE write path per kind: `save_batch(model, creates, updates, fields)` writes records of one
kind (bulk_create / bulk_update in batches), after setting the fields that follow from what a
record hangs on (`_derive`), and then makes what hangs below an updated record follow it when
its grid changed (`_cascade`). The single-record functions (`create_*`, `update`) and the
spreadsheet importer (`registry.importers.run_import`) both write through it, so a change has
the same effect whichever door it came through.

The rules (docs/architecture.md, "Writes"):
- derived on every write: an address's community is its grid's; a house's grid and building are
  its address's; a resident with a house has the house's grid; an organization with an address
  has the address's grid (and its text when none is given); a compound's community is its grid's
  community; a building without a grid takes its compound's, a volunteer without one its
  building's, resident's or team's.
- when a record's grid changes, what hangs below follows: the buildings and addresses of a
  compound, and the addresses of a building, move to the new grid unless already inside it (a
  finer grid within the new one is kept); the house of an address, the organizations at it and
  the residents of a house take its grid exactly.

Create functions take the fields as keyword arguments (the model's field names; `id_number` and
`phone` in plaintext, which are validated, encrypted, indexed and masked here). `update` takes
the object and the fields to change.

One record at a time (the pages and the API): `save_record` (create, or edit with the optimistic
lock on `version`), `end_record` / `restore_record` (a record is ended, never deleted), each
validated as one row of the kind's import and kept in the history (core.history); see the section
at the end of this module.

Plaintext personal data leaves the database only through `reveal`, which checks role and scope
(`accounts.scope.may_see_personal_data`) and appends an audit entry."""

from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections, router, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from gridgov.accounts.scope import may_see_personal_data
from gridgov.core import audit, crypto
from gridgov.core.validators import id_number_error, phone_error
from gridgov.geo.models import GridNode

from .models import (
    Address,
    Building,
    Compound,
    House,
    Organization,
    PartyOrganization,
    Place,
    PropertyProject,
    Resident,
    Volunteer,
    VolunteerTeam,
)

PERSONAL_FIELDS = ("id_number", "phone")
BATCH = 2000
CHUNK = 900  # ids per IN (...) query (SQLite's variable limit)
M2M = {PartyOrganization: ("grids",), PropertyProject: ("compounds",)}


def _check_personal(name: str, value) -> None:
    if not value:
        return
    err = id_number_error(value) if name == "id_number" else phone_error(value)
    if err:
        raise ValidationError({name: err})


def _apply(obj, fields: dict):
    """Set plain fields with setattr and personal ones (validated) with set_personal."""
    for name, value in fields.items():
        if name in PERSONAL_FIELDS and hasattr(obj, f"{name}_enc"):
            _check_personal(name, value)
            obj.set_personal(name, value)
        else:
            setattr(obj, name, value)
    return obj


def _chunks(items, size=CHUNK):
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _values(model, ids, *names) -> dict:
    """{pk: (values of names)} for the given primary keys, read in chunks."""
    out = {}
    for chunk in _chunks(sorted({i for i in ids if i is not None})):
        for pk, *vals in model.objects.filter(pk__in=chunk).values_list("pk", *names):
            out[pk] = tuple(vals)
    return out


def _paths(grid_ids) -> dict:
    return {pk: v[0] for pk, v in _values(GridNode, grid_ids, "path").items()}


def _communities(grid_ids) -> dict:
    """{grid id: id of the community (level 1) above or at it} for grids inside a community."""
    paths = _paths(grid_ids)
    codes = {gid: p.strip("/").split("/")[1] for gid, p in paths.items() if len(p.strip("/").split("/")) > 1}
    by_code = {}
    for chunk in _chunks(sorted(set(codes.values()))):
        by_code.update(GridNode.objects.filter(code__in=chunk).values_list("code", "pk"))
    return {gid: by_code[c] for gid, c in codes.items() if c in by_code}


# ---- derived fields ----------------------------------------------------------------------


def _derive(model, objs) -> list[str]:
    """Set on `objs` the fields that follow from what they hang on; the names of those fields."""
    if model in (Address, Compound):
        community = _communities(o.grid_id for o in objs)
        for o in objs:
            if o.grid_id in community:
                o.community_id = community[o.grid_id]
        return ["community"]
    if model is House:
        addr = _values(Address, (o.address_id for o in objs), "grid_id", "building_id")
        for o in objs:
            if o.address_id in addr:
                o.grid_id, o.building_id = addr[o.address_id]
        return ["grid", "building"]
    if model is Resident:
        house = _values(House, (o.house_id for o in objs), "grid_id")
        for o in objs:
            if o.house_id in house:
                o.grid_id = house[o.house_id][0]
        return ["grid"]
    if model is Organization:
        addr = _values(Address, (o.address_id for o in objs), "grid_id", "text")
        for o in objs:
            if o.address_id in addr:
                o.grid_id = addr[o.address_id][0]
                o.address_text = o.address_text or addr[o.address_id][1]
        return ["grid", "address_text"]
    if model is Building:
        compound = _values(Compound, (o.compound_id for o in objs if o.grid_id is None), "grid_id")
        for o in objs:
            if o.grid_id is None and o.compound_id in compound:
                o.grid_id = compound[o.compound_id][0]
        return ["grid"]
    if model is Volunteer:
        sources = ((Building, "building_id"), (Resident, "resident_id"), (VolunteerTeam, "team_id"))
        grids = {m: _values(m, (getattr(o, f) for o in objs if o.grid_id is None), "grid_id") for m, f in sources}
        for o in objs:
            for m, f in sources:
                if o.grid_id is None and grids[m].get(getattr(o, f), (None,))[0] is not None:
                    o.grid_id = grids[m][getattr(o, f)][0]
        return ["grid"]
    return []


# ---- what follows a record to another grid -----------------------------------------------

#: fields whose change moves what hangs below a record, by kind
_WATCH = {Compound: ("grid_id",), Building: ("grid_id",), Address: ("grid_id", "building_id"), House: ("grid_id",)}


def _within(model, fk: str, parents) -> None:
    """Children of `parents` (through the foreign key `fk`) outside their parent's new grid move
    into it; those already inside it (a finer grid) stay."""
    by_grid = defaultdict(list)
    for p in parents:
        if p.grid_id is not None:
            by_grid[p.grid_id].append(p.pk)
    paths = _paths(by_grid)
    moved = []
    for gid, pks in by_grid.items():
        for chunk in _chunks(pks):
            for child in model.objects.filter(**{f"{fk}__in": chunk}).exclude(grid__path__startswith=paths[gid]):
                child.grid_id = gid
                moved.append(child)
    save_batch(model, updates=moved, fields=["grid"])


def _rederive(model, fk: str, parents) -> None:
    """Children of `parents` (through the foreign key `fk`) derive their fields again, through
    the one write path (so what hangs below them follows in turn)."""
    children = []
    for chunk in _chunks(p.pk for p in parents):
        children += list(model.objects.filter(**{f"{fk}__in": chunk}))
    save_batch(model, updates=children, fields=[])


def _follow(model, fk: str, parents) -> None:
    """Children of `parents` (through the foreign key `fk`) take their parent's grid exactly. For
    kinds with nothing below them (residents, organizations), whose only derived field is that
    grid: one UPDATE per new grid and chunk, rather than loading every row."""
    by_grid = defaultdict(list)
    for p in parents:
        by_grid[p.grid_id].append(p.pk)
    now = timezone.now()
    for gid, pks in by_grid.items():
        for chunk in _chunks(pks):
            model.objects.filter(**{f"{fk}__in": chunk}).exclude(grid_id=gid).update(
                grid_id=gid, updated_at=now, version=F("version") + 1
            )


def _cascade(model, moved) -> None:
    if not moved:
        return
    if model is Compound:
        _within(Building, "compound", moved)
        _within(Address, "compound", moved)
    elif model is Building:
        _within(Address, "building", moved)
    elif model is Address:
        _rederive(House, "address", moved)
        _follow(Organization, "address", moved)
    elif model is House:
        _follow(Resident, "house", moved)


# ---- the one write path --------------------------------------------------------------------


def _bulk_update(model, objs, names, bump: bool = True) -> None:
    """`UPDATE table SET f = %s, …, version = version + 1 WHERE id = %s` once per object, sent
    with executemany: what QuerySet.bulk_update does, without its CASE WHEN per field and row
    (whose building in Python costs more than the writing). Values are prepared as Django's
    UPDATE prepares them (`get_db_prep_save`). With `bump` (and a model with a `version`: the
    base data) every written row's version goes up by one, so that a form opened before this
    write is refused (the optimistic lock, `save_record`)."""
    conn = connections[router.db_for_write(model)]
    names = [n for n in names if n != "version"]
    fields = [model._meta.get_field(n) for n in names]
    qn = conn.ops.quote_name
    sets = [f"{qn(f.column)} = %s" for f in fields]
    bump = bump and any(f.name == "version" for f in model._meta.concrete_fields)
    if bump:
        sets.append(f"{qn('version')} = {qn('version')} + 1")
    sql = "UPDATE {} SET {} WHERE {} = %s".format(qn(model._meta.db_table), ", ".join(sets), qn(model._meta.pk.column))
    params = [[f.get_db_prep_save(getattr(o, f.attname), conn) for f in fields] + [o.pk] for o in objs]
    with conn.cursor() as cursor:
        cursor.executemany(sql, params)
    if bump:
        for o in objs:
            o.version = (o.version or 0) + 1


def save_batch(model, creates=(), updates=(), fields=(), *, validate: bool = False, progress=None,
               bump: bool = True) -> None:
    """Write records of one kind: `creates` (new instances) and `updates` (instances already in
    the database, changed in memory; `fields`: the names of the fields changed on them).

    Derived fields are set on both (`_derive`); with `validate` every record is full_clean'ed
    (the single-record door; the importer validated its rows already); creates are bulk_create'd
    and updates bulk_update'd in batches; then what hangs below each update whose grid changed
    follows it (`_cascade`), through this same function. Call inside a transaction.
    `progress(done, total)` is called after each batch. Every updated record's `version` goes up
    by one (the optimistic lock), unless `bump` is False (`save_record`, which has set it by its
    compare-and-set already)."""
    creates, updates = list(creates), list(updates)
    if not creates and not updates:
        return
    derived = _derive(model, creates + updates)
    if validate:
        for o in creates + updates:
            o.full_clean(validate_unique=True)
    watch = _WATCH.get(model, ())
    before = _values(model, (o.pk for o in updates), *watch) if watch and updates else {}
    total, done = len(creates) + len(updates), 0
    for i in range(0, len(creates), BATCH):
        made = model.objects.bulk_create(creates[i : i + BATCH])
        if made and made[0].pk is None:
            raise RuntimeError("the database did not return primary keys from bulk_create")
        done += len(made)
        if progress:
            progress(done, total)
    if updates:
        now = timezone.now()
        for o in updates:
            o.updated_at = now
        names = list(dict.fromkeys([*fields, *derived, "updated_at"]))
        for i in range(0, len(updates), BATCH):
            _bulk_update(model, updates[i : i + BATCH], names, bump=bump)
            done += len(updates[i : i + BATCH])
            if progress:
                progress(done, total)
    if before:
        _cascade(model, [o for o in updates if before.get(o.pk) != tuple(getattr(o, f) for f in watch)])


def _personal_names(model, names) -> list[str]:
    out = []
    for n in names:
        if n in PERSONAL_FIELDS and hasattr(model, f"{n}_enc"):
            out += [f"{n}_enc", f"{n}_hash", f"{n}_masked"]
        else:
            out.append(n)
    return out


def _pop_m2m(model, fields: dict) -> dict:
    return {n: fields.pop(n) for n in M2M.get(model, ()) if n in fields}


def _set_m2m(obj, m2m: dict) -> None:
    for name, values in m2m.items():
        if values is not None:
            getattr(obj, name).set(values)


@transaction.atomic
def create(model, **fields):
    """One new record of `model` through the one write path (validated)."""
    m2m = _pop_m2m(model, fields)
    obj = _apply(model(), fields)
    save_batch(model, creates=[obj], validate=True)
    _set_m2m(obj, m2m)
    return obj


@transaction.atomic
def update(obj, **fields):
    """Change one record of any kind through the one write path (validated): what follows from
    its fields is derived again, and what hangs below it follows it to a new grid."""
    model = type(obj)
    if model is Resident and fields.get("id_number"):
        _check_personal("id_number", fields["id_number"])
        _check_id_unique(fields["id_number"], exclude_pk=obj.pk)
    m2m = _pop_m2m(model, fields)
    _apply(obj, fields)
    save_batch(model, updates=[obj], fields=_personal_names(model, fields), validate=True)
    _set_m2m(obj, m2m)
    return obj


# ---- the kinds' creates ------------------------------------------------------------------


def create_compound(**fields) -> Compound:
    return create(Compound, **fields)


def create_building(**fields) -> Building:
    return create(Building, **fields)


def create_address(**fields) -> Address:
    return create(Address, **fields)


def create_house(**fields) -> House:
    return create(House, **fields)


def _check_id_unique(id_number: str | None, exclude_pk=None):
    if not id_number:
        return
    qs = Resident.objects.filter(id_number_hash=crypto.blind_index(id_number))
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    if qs.exists():
        raise ValidationError({"id_number": "该身份证号已登记"})


@transaction.atomic
def create_resident(**fields) -> Resident:
    """Birth date and gender follow from the ID number when not given; the grid from the house."""
    if fields.get("id_number"):
        from gridgov.core.validators import id_birth_date, id_gender

        _check_personal("id_number", fields["id_number"])
        fields.setdefault("birth_date", id_birth_date(fields["id_number"]))
        fields.setdefault("gender", id_gender(fields["id_number"]))
    _check_id_unique(fields.get("id_number"))
    return create(Resident, **fields)


def create_organization(**fields) -> Organization:
    return create(Organization, **fields)


def create_place(**fields) -> Place:
    return create(Place, **fields)


def create_party_org(**fields) -> PartyOrganization:
    """`grids`: the grid nodes the organization is set on (支部建在网格上)."""
    return create(PartyOrganization, **fields)


def create_volunteer_team(**fields) -> VolunteerTeam:
    return create(VolunteerTeam, **fields)


def create_volunteer(**fields) -> Volunteer:
    return create(Volunteer, **fields)


def create_property_project(**fields) -> PropertyProject:
    return create(PropertyProject, **fields)


# ---- personal data ------------------------------------------------------------------------


def reveal(user, obj, field: str) -> str:
    """The plaintext ID number or phone of `obj`, for a user whose role and scope allow it.

    Raises PermissionDenied otherwise, ValueError for a field that is not personal data.
    Every successful read appends one audit entry (action "reveal")."""
    if field not in PERSONAL_FIELDS or not hasattr(obj, f"{field}_enc"):
        raise ValueError(f"{obj._meta.label_lower} has no personal field {field!r}")
    grid_path = obj.grid.path if obj.grid_id else None
    if not may_see_personal_data(user, grid_path, kind=obj.policy_kind):
        raise PermissionDenied("无权查看该人员的个人信息")
    with transaction.atomic():
        audit.record(user, "reveal", obj, fields=field)
        return crypto.decrypt(getattr(obj, f"{field}_enc"))


def find_resident_by_id_number(user, value: str):
    """The resident with this ID number among those `user` may see, or None (blind index)."""
    value = (value or "").strip().upper()
    if not value:
        return None
    return Resident.objects.visible_to(user).filter(id_number_hash=crypto.blind_index(value)).first()


# ---- one record at a time: create, edit (optimistic lock), end; each with its history row ----
#
# A record created or edited on a page or through the API is validated as one row of its import
# (importers.check_row: the same parsers, cross-column checks and duplicate keys) and written as
# the import writes (importers.write_row → save_batch). An edit is a compare-and-set on `version`:
# `UPDATE … SET version = read + 1 WHERE id = … AND version = read`; when someone saved first
# nothing is written and `Conflict` says what they changed. Each change keeps one history row
# (core.history; personal fields masked). A record is ended (moved out, died, demolished, …),
# never deleted.

#: reasons a record ends, by record kind (codes stored in `end_reason`)
END_REASONS = {
    "residents": [("moved_out", gettext_noop("迁出")), ("died", gettext_noop("死亡")),
                  ("duplicate", gettext_noop("重复登记")), ("other", gettext_noop("其他"))],
    "houses": [("demolished", gettext_noop("拆除")), ("merged", gettext_noop("合并")),
               ("duplicate", gettext_noop("重复登记")), ("other", gettext_noop("其他"))],
    "buildings": [("demolished", gettext_noop("拆除")), ("duplicate", gettext_noop("重复登记")),
                  ("other", gettext_noop("其他"))],
    "organizations": [("closed", gettext_noop("注销或歇业")), ("moved_out", gettext_noop("迁出")),
                      ("duplicate", gettext_noop("重复登记")), ("other", gettext_noop("其他"))],
    "places": [("closed", gettext_noop("关闭")), ("duplicate", gettext_noop("重复登记")), ("other", gettext_noop("其他"))],
    "party_orgs": [("dissolved", gettext_noop("撤销")), ("merged", gettext_noop("合并")), ("other", gettext_noop("其他"))],
    "volunteer_teams": [("dissolved", gettext_noop("解散")), ("other", gettext_noop("其他"))],
    "volunteers": [("left", gettext_noop("退出")), ("moved_out", gettext_noop("迁出")), ("died", gettext_noop("死亡")),
                   ("other", gettext_noop("其他"))],
    "property_projects": [("contract_ended", gettext_noop("合同终止")), ("other", gettext_noop("其他"))],
}


@dataclass(frozen=True)
class RecordKind:
    """A kind of base record kept one at a time. `name`: its import spec (importers.RECORD_SPECS)
    and the `kind` of its history rows; `segment`: its URL part (API and pages); `policy`: the
    access table's kind asked for create / update (its `model.policy_kind` scopes the reads)."""

    name: str
    segment: str
    model: type
    policy: str
    label: str

    @property
    def end_reasons(self):
        return END_REASONS[self.name]


RECORD_KINDS: dict[str, RecordKind] = {
    k.segment: k
    for k in (
        RecordKind("residents", "residents", Resident, "residents", gettext_noop("实有人口")),
        RecordKind("houses", "houses", House, "houses", gettext_noop("实有房屋")),
        RecordKind("buildings", "buildings", Building, "buildings", gettext_noop("楼栋")),
        RecordKind("organizations", "organizations", Organization, "organizations", gettext_noop("实有单位")),
        RecordKind("places", "places", Place, "places", gettext_noop("场所")),
        RecordKind("party_orgs", "party-orgs", PartyOrganization, "party_orgs", gettext_noop("党组织")),
        RecordKind("volunteer_teams", "volunteer-teams", VolunteerTeam, "volunteers", gettext_noop("志愿服务队")),
        RecordKind("volunteers", "volunteers", Volunteer, "volunteers", gettext_noop("楼门长与志愿者")),
        # a project is its property company's (an organization): the access table's
        # organizations rows govern it (compounds' create/update are never)
        RecordKind("property_projects", "property-projects", PropertyProject, "organizations", gettext_noop("物业项目")),
    )
}


class Conflict(Exception):
    """Someone saved the record after the version the editor read: nothing was written.
    `fields`: what changed since (from the history rows), `by`: who, `version`: the version now,
    `other`: True when a change without a history row of its own (an import) came between."""

    def __init__(self, version: int, fields: list[str], by: list[str], other: bool):
        super().__init__("该记录已被他人修改")
        self.version, self.fields, self.by, self.other = version, fields, by, other


def _history_fields(kind: RecordKind) -> list[str]:
    from .importers import RECORD_SPECS

    spec = RECORD_SPECS[kind.name]
    names = {f.name for f in kind.model._meta.get_fields()}
    return [f for f in spec.plain_fields if f in names] + list(spec.personal_fields) + list(M2M.get(kind.model, ()))


def record_snapshot(kind: RecordKind, obj) -> dict:
    """The record's fields for its history: personal ones masked (core.history.snapshot), a
    linked record by its text, many-to-many links as a sorted list."""
    from gridgov.core import history

    m2m = M2M.get(kind.model, ())
    out = history.snapshot(obj, [f for f in _history_fields(kind) if f not in m2m])
    for name in m2m:
        out[name] = sorted(str(x) for x in getattr(obj, name).all()) if obj.pk else []
    return out


def changes_since(kind: RecordKind, obj_id, version: int) -> Conflict:
    """What was changed on the record after `version` (for the refusal of a stale save)."""
    from gridgov.core import history

    now = kind.model.objects.filter(pk=obj_id).values_list("version", flat=True).first() or version
    fields, by, explained = set(), [], version
    for row in history.for_object(kind.name, obj_id).order_by("at", "id"):
        v = (row.changes or {}).get("version")
        if not v or v[1] is None or v[1] <= version:
            continue
        fields.update(k for k in row.changes if k != "version")
        if row.actor_name and row.actor_name not in by:
            by.append(row.actor_name)
        explained = max(explained, v[1])
    return Conflict(now, sorted(fields), by, other=explained < now)


def _grid_path(node) -> str | None:
    return node.path if node is not None else None


def _claim(kind: RecordKind, obj, version) -> int:
    """The compare-and-set: version read → read + 1, or Conflict. Inside the write's transaction."""
    read = obj.version if version in (None, "") else int(version)
    if not kind.model.objects.filter(pk=obj.pk, version=read).update(version=read + 1):
        raise changes_since(kind, obj.pk, read)
    return read


def save_record(user, kind: RecordKind, values: dict, obj=None, version=None):
    """Create (`obj` None) or edit one record: `values` are cells by field name as in the
    kind's import (an edit gives only the changed ones). Raises PermissionDenied (role, or a grid
    outside the user's scope: the record's and, when it moves, the new one), importers.RowInvalid
    ({field: reason}) and, for an edit, Conflict when the record's version is no longer `version`
    (the one the editor read). One history row: create with the values set, update with old → new.
    A key held by a record the user may not see is refused with the import's neutral message and
    the import's audit entry (`import_conflict`), as a spreadsheet row would be."""
    from . import importers

    try:
        return _save_record(user, kind, values, obj, version)
    except importers.RowInvalid as exc:
        if exc.hidden is not None and user is not None:
            import json

            audit.record(user, "import_conflict", object_type=kind.model._meta.label_lower,
                         object_id=str(exc.hidden.pk),
                         detail=json.dumps({"kind": kind.name, "count": 1, "ids": [exc.hidden.pk], "door": "record"}))
        raise


def _save_record(user, kind: RecordKind, values: dict, obj, version):
    from gridgov.accounts import policy
    from gridgov.core import history

    from . import importers

    if obj is None:
        policy.require(user, kind.policy, "create")
        spec, ctx, row = importers.check_row(kind.name, values, user=user)
        policy.require(user, kind.policy, "create", _grid_path(row.get("grid")))
        with transaction.atomic():
            obj = importers.write_row(spec, ctx, row)
            obj = kind.model.objects.get(pk=obj.pk)
            snap = record_snapshot(kind, obj)
            created = {f: [None, v] for f, v in snap.items() if v not in (None, "", [], False)}
            history.record(user, kind.name, obj, "create", created, grid_path=_grid_path(obj.grid) or "")
        return obj
    policy.require(user, kind.policy, "update", _grid_path(obj.grid) if obj.grid_id else None)
    with transaction.atomic():
        read = _claim(kind, obj, version)
        fresh = kind.model.objects.get(pk=obj.pk)
        before = record_snapshot(kind, fresh)
        spec, ctx, row = importers.check_row(kind.name, values, user=user, obj=fresh)
        target = row.get("grid")
        if target is not None and target.id != fresh.grid_id:
            policy.require(user, kind.policy, "update", target.path)
        importers.write_row(spec, ctx, row, fresh, bump=False)
        fresh = kind.model.objects.get(pk=obj.pk)
        changes = history.diff(before, record_snapshot(kind, fresh))
        if not changes:  # nothing changed: the version stays (no one's form goes stale)
            kind.model.objects.filter(pk=obj.pk).update(version=read)
            fresh.version = read
            return fresh
        changes["version"] = [read, read + 1]
        history.record(user, kind.name, fresh, "update", changes, grid_path=_grid_path(fresh.grid) or "")
    return fresh


def end_record(user, kind: RecordKind, obj, reason: str, on=None, version=None, note: str = ""):
    """End a record (a person moved out or died, a house was demolished, ...): `ended_on` and
    `end_reason` are set, nothing is deleted; lists and counts of current records leave it out.
    Same checks as an edit (update right on its grid, the optimistic lock)."""
    from gridgov.accounts import policy
    from gridgov.core import history

    from .importers import CellError, RowInvalid, p_date

    policy.require(user, kind.policy, "update", _grid_path(obj.grid) if obj.grid_id else None)
    if reason not in dict(kind.end_reasons):
        raise RowInvalid({"reason": "应为以下之一：" + "、".join(code for code, _ in kind.end_reasons)})
    try:
        on = p_date(on, None) if on not in (None, "") else timezone.localdate()
    except CellError as exc:
        raise RowInvalid({"on": str(exc)}) from None
    if on > timezone.localdate():
        raise RowInvalid({"on": "不能晚于今天"})
    if obj.ended_on is not None:
        raise RowInvalid({"reason": "该记录已注销"})
    with transaction.atomic():
        read = _claim(kind, obj, version)
        fresh = kind.model.objects.get(pk=obj.pk)
        fresh.ended_on, fresh.end_reason = on, reason
        save_batch(kind.model, updates=[fresh], fields=["ended_on", "end_reason"], bump=False)
        fresh.version = read + 1
        history.record(user, kind.name, fresh, "end",
                       {"ended_on": [None, on.isoformat()], "end_reason": ["", reason], "version": [read, read + 1]},
                       grid_path=_grid_path(fresh.grid) or "", note=note)
    return fresh


def restore_record(user, kind: RecordKind, obj, version=None, note: str = ""):
    """Undo an end recorded by mistake (the history keeps both)."""
    from gridgov.accounts import policy
    from gridgov.core import history

    policy.require(user, kind.policy, "update", _grid_path(obj.grid) if obj.grid_id else None)
    if obj.ended_on is None:
        return obj
    with transaction.atomic():
        read = _claim(kind, obj, version)
        fresh = kind.model.objects.get(pk=obj.pk)
        old = [fresh.ended_on.isoformat(), fresh.end_reason]
        fresh.ended_on, fresh.end_reason = None, ""
        save_batch(kind.model, updates=[fresh], fields=["ended_on", "end_reason"], bump=False)
        fresh.version = read + 1
        history.record(user, kind.name, fresh, "restore",
                       {"ended_on": [old[0], None], "end_reason": [old[1], ""], "version": [read, read + 1]},
                       grid_path=_grid_path(fresh.grid) or "", note=note)
    return fresh
