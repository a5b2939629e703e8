"""Every change of base data goes through here, each in one transaction.

Create functions take the fields as keyword arguments (the model's field names; `id_number` and
`phone` in plaintext, which are validated, encrypted, indexed and masked here). Update functions
take the object and the fields to change. The grid of a record follows from what it hangs on
(a house's grid is its address's grid, a resident's is their house's) unless given.

Plaintext personal data leaves the database only through `reveal`, which checks role and scope
(`accounts.scope.may_see_personal_data`) and appends an audit entry."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from gridgov.accounts.scope import may_see_personal_data
from gridgov.core import audit, crypto
from gridgov.core.validators import id_number_error, phone_error

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


def _save(obj, fields: dict, m2m: dict | None = None):
    _apply(obj, fields)
    obj.full_clean(validate_unique=True)
    obj.save()
    for name, values in (m2m or {}).items():
        if values is not None:
            getattr(obj, name).set(values)
    return obj


def _pop_m2m(fields: dict, *names):
    return {n: fields.pop(n) for n in names if n in fields}


# ---- compounds and buildings -------------------------------------------------------------


@transaction.atomic
def create_compound(**fields) -> Compound:
    return _save(Compound(), fields)


@transaction.atomic
def update_compound(obj: Compound, **fields) -> Compound:
    return _save(obj, fields)


def _building_defaults(fields: dict):
    compound = fields.get("compound")
    if compound is not None and "grid" not in fields:
        fields["grid"] = compound.grid


@transaction.atomic
def create_building(**fields) -> Building:
    _building_defaults(fields)
    return _save(Building(), fields)


@transaction.atomic
def update_building(obj: Building, **fields) -> Building:
    return _save(obj, fields)


# ---- standard addresses and houses --------------------------------------------------------


@transaction.atomic
def create_address(**fields) -> Address:
    return _save(Address(), fields)


@transaction.atomic
def update_address(obj: Address, **fields) -> Address:
    """A change of an address's grid moves its house and the residents living there with it."""
    old_grid = obj.grid_id
    _save(obj, fields)
    if obj.grid_id != old_grid:
        House.objects.filter(address=obj).update(grid=obj.grid)
        Resident.objects.filter(house__address=obj).update(grid=obj.grid)
    return obj


@transaction.atomic
def create_house(**fields) -> House:
    address = fields["address"]
    fields.setdefault("grid", address.grid)
    fields.setdefault("building", address.building)
    return _save(House(), fields)


@transaction.atomic
def update_house(obj: House, **fields) -> House:
    if "address" in fields and "grid" not in fields:
        fields["grid"] = fields["address"].grid
    old_grid = obj.grid_id
    _save(obj, fields)
    if obj.grid_id != old_grid:
        Resident.objects.filter(house=obj).update(grid=obj.grid)
    return obj


# ---- residents ----------------------------------------------------------------------------


def _resident_defaults(fields: dict):
    house = fields.get("house")
    if house is not None:
        fields["grid"] = house.grid  # a resident's grid is their house's grid
    if fields.get("id_number"):
        from gridgov.core.validators import id_birth_date, id_gender

        _check_personal("id_number", fields["id_number"])
        fields.setdefault("birth_date", id_birth_date(fields["id_number"]))
        fields.setdefault("gender", id_gender(fields["id_number"]))


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
    _resident_defaults(fields)
    _check_id_unique(fields.get("id_number"))
    return _save(Resident(), fields)


@transaction.atomic
def update_resident(obj: Resident, **fields) -> Resident:
    if "house" in fields and fields["house"] is not None:
        fields["grid"] = fields["house"].grid
    if fields.get("id_number"):
        _check_personal("id_number", fields["id_number"])
        _check_id_unique(fields["id_number"], exclude_pk=obj.pk)
    return _save(obj, fields)


# ---- organizations, places ----------------------------------------------------------------


@transaction.atomic
def create_organization(**fields) -> Organization:
    address = fields.get("address")
    if address is not None:
        fields.setdefault("grid", address.grid)
        fields.setdefault("address_text", address.text)
    return _save(Organization(), fields)


@transaction.atomic
def update_organization(obj: Organization, **fields) -> Organization:
    return _save(obj, fields)


@transaction.atomic
def create_place(**fields) -> Place:
    return _save(Place(), fields)


@transaction.atomic
def update_place(obj: Place, **fields) -> Place:
    return _save(obj, fields)


# ---- party organizations, volunteers, property projects ----------------------------------


@transaction.atomic
def create_party_org(**fields) -> PartyOrganization:
    """`grids`: the grid nodes the organization is set on (支部建在网格上)."""
    m2m = _pop_m2m(fields, "grids")
    return _save(PartyOrganization(), fields, m2m)


@transaction.atomic
def update_party_org(obj: PartyOrganization, **fields) -> PartyOrganization:
    m2m = _pop_m2m(fields, "grids")
    return _save(obj, fields, m2m)


@transaction.atomic
def create_volunteer_team(**fields) -> VolunteerTeam:
    return _save(VolunteerTeam(), fields)


@transaction.atomic
def update_volunteer_team(obj: VolunteerTeam, **fields) -> VolunteerTeam:
    return _save(obj, fields)


def _volunteer_defaults(fields: dict):
    if "grid" not in fields:
        for source in ("building", "resident", "team"):
            if fields.get(source) is not None and fields[source].grid_id:
                fields["grid"] = fields[source].grid
                break


@transaction.atomic
def create_volunteer(**fields) -> Volunteer:
    _volunteer_defaults(fields)
    return _save(Volunteer(), fields)


@transaction.atomic
def update_volunteer(obj: Volunteer, **fields) -> Volunteer:
    return _save(obj, fields)


@transaction.atomic
def create_property_project(**fields) -> PropertyProject:
    m2m = _pop_m2m(fields, "compounds")
    return _save(PropertyProject(), fields, m2m)


@transaction.atomic
def update_property_project(obj: PropertyProject, **fields) -> PropertyProject:
    m2m = _pop_m2m(fields, "compounds")
    return _save(obj, fields, m2m)


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
