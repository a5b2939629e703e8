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

Plaintext personal data leaves the database only through `reveal`, which checks role and scope
(`accounts.scope.may_see_personal_data`) and appends an audit entry."""

from collections import defaultdict

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections, router, transaction
from django.utils import timezone

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
            model.objects.filter(**{f"{fk}__in": chunk}).exclude(grid_id=gid).update(grid_id=gid, updated_at=now)


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


def _bulk_update(model, objs, names) -> None:
    """`UPDATE table SET f = %s, … WHERE id = %s` once per object, sent with executemany: what
    QuerySet.bulk_update does, without its CASE WHEN per field and row (whose building in Python
    costs more than the writing). Values are prepared as Django's UPDATE prepares them
    (`get_db_prep_save`)."""
    conn = connections[router.db_for_write(model)]
    fields = [model._meta.get_field(n) for n in names]
    qn = conn.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        qn(model._meta.db_table), ", ".join(f"{qn(f.column)} = %s" for f in fields), qn(model._meta.pk.column)
    )
    params = [[f.get_db_prep_save(getattr(o, f.attname), conn) for f in fields] + [o.pk] for o in objs]
    with conn.cursor() as cursor:
        cursor.executemany(sql, params)


def save_batch(model, creates=(), updates=(), fields=(), *, validate: bool = False, progress=None) -> None:
    """Write records of one kind: `creates` (new instances) and `updates` (instances already in
    the database, changed in memory; `fields`: the names of the fields changed on them).

    Derived fields are set on both (`_derive`); with `validate` every record is full_clean'ed
    (the single-record door; the importer validated its rows already); creates are bulk_create'd
    and updates bulk_update'd in batches; then what hangs below each update whose grid changed
    follows it (`_cascade`), through this same function. Call inside a transaction.
    `progress(done, total)` is called after each batch."""
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
            _bulk_update(model, updates[i : i + BATCH], names)
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
