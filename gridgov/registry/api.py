"""Registry API (mounted at /api/registry/, session auth).

Every list and detail goes through `.visible_to(request.user)`; a record outside the user's
scope answers 404 like a missing one. ID numbers and phones are masked; the plaintext comes only
from POST /residents/{id}/reveal, which checks role and scope and is audited. Records are
created, edited (with the version read: 409 when someone saved first) and ended one at a time
(the end of this module); lists leave ended records out unless `ended=true`."""

from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from ninja import Field, File, Form, Query, Router, Schema
from ninja.errors import HttpError
from ninja.files import UploadedFile
from ninja.responses import Status

from gridgov.accounts.policy import api_require
from gridgov.core import crypto
from gridgov.geo.models import GridNode

from . import services
from .importers import SPECS, run_import
from .importers import RowInvalid
from .models import (
    Address,
    Building,
    House,
    Organization,
    PartyOrganization,
    Place,
    PropertyProject,
    Resident,
    Volunteer,
    VolunteerTeam,
)

router = Router(tags=["registry"])

MAX_PAGE_SIZE = 200


class Page(Schema):
    page: int = Field(1, le=10**7)  # bounded: a huge page overflows the SQL OFFSET
    page_size: int = Field(50, le=10**6)
    q: str = ""
    grid: str = ""  # a grid code: the node and its subtree
    ended: bool = False  # also the ended records (moved out, died, demolished, ...)


def _grid_filter(qs, code: str):
    if not code:
        return qs
    node = GridNode.objects.filter(code=code).only("path").first()
    if node is None:
        return qs.none()
    return qs.filter(grid__path__startswith=node.path)


def _paginate(qs, p: Page, item):
    if not p.ended:
        qs = qs.filter(ended_on__isnull=True)
    size = max(1, min(p.page_size, MAX_PAGE_SIZE))
    page = max(1, p.page)
    total = qs.count()
    rows = qs[(page - 1) * size : page * size]
    return {"count": total, "page": page, "page_size": size, "items": [item(o) for o in rows]}


def _grid(o):
    return {"code": o.grid.code, "name": o.grid.name} if o.grid_id else None


# ---- residents ----------------------------------------------------------------------------


class ResidentFilters(Page):
    tag: str = ""
    household_no: str = ""
    party_member: bool | None = None
    special_care: bool | None = None
    residence_type: str = ""


def _resident(o: Resident) -> dict:
    return {
        "id": o.id,
        "name": o.name,
        "id_number": o.id_number_masked,
        "phone": o.phone_masked,
        "gender": o.gender,
        "birth_date": o.birth_date.isoformat() if o.birth_date else None,
        "household_no": o.household_no,
        "relation": o.relation,
        "residence_type": o.residence_type,
        "address": o.house.address.text if o.house_id else "",
        "grid": _grid(o),
        "tags": o.tags,
        "tag_labels": o.tag_labels,
        "party_member": o.party_member,
    }


@router.get("/residents")
def list_residents(request, f: Query[ResidentFilters]):
    api_require(request, "residents", "list")
    qs = Resident.objects.visible_to(request.user).select_related("grid", "house__address")
    qs = _grid_filter(qs, f.grid)
    if f.q:
        q = f.q.strip()
        h = crypto.blind_index(q)
        qs = qs.filter(Q(name__icontains=q) | Q(id_number_hash=h) | Q(phone_hash=h) | Q(household_no=q))
    if f.tag:
        # tags is a JSON list; match the quoted code, which works on SQLite and PostgreSQL alike
        qs = qs.filter(tags__icontains=f'"{f.tag}"')
    if f.special_care:
        cond = Q()
        for t in Resident.SPECIAL_CARE:
            cond |= Q(tags__icontains=f'"{t}"')
        qs = qs.filter(cond)
    if f.household_no:
        qs = qs.filter(household_no=f.household_no)
    if f.party_member is not None:
        qs = qs.filter(party_member=f.party_member)
    if f.residence_type:
        qs = qs.filter(residence_type=f.residence_type)
    return _paginate(qs.order_by("id"), f, _resident)


def _resident_detail(o: Resident) -> dict:
    data = _resident(o)
    data.update(
        ethnicity=o.ethnicity,
        registered_address=o.registered_address,
        party_org=o.party_org.name if o.party_org_id else None,
        house_id=o.house_id,
    )
    return data


@router.get("/residents/{record_id}")
def get_resident(request, record_id: int):
    o = get_object_or_404(
        Resident.objects.visible_to(request.user).select_related("grid", "house__address", "party_org"), pk=record_id
    )
    return _record(o, _resident_detail(o))


class RevealIn(Schema):
    field: str


@router.post("/residents/{resident_id}/reveal")
def reveal_resident(request, resident_id: int, body: RevealIn):
    o = get_object_or_404(Resident.objects.visible_to(request.user).select_related("grid"), pk=resident_id)
    if body.field not in services.PERSONAL_FIELDS:
        raise HttpError(400, f"field must be one of {', '.join(services.PERSONAL_FIELDS)}")
    try:
        value = services.reveal(request.user, o, body.field)
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from None
    return {"id": o.id, "field": body.field, "value": value}


# ---- houses, addresses, organizations, places, party organizations ------------------------


class HouseFilters(Page):
    use: str = ""
    occupancy: str = ""


@router.get("/houses")
def list_houses(request, f: Query[HouseFilters]):
    api_require(request, "houses", "list")
    qs = House.objects.visible_to(request.user).select_related("grid", "address")
    qs = _grid_filter(qs, f.grid)
    if f.q:
        qs = qs.filter(Q(address__text__icontains=f.q) | Q(address__code=f.q))
    if f.use:
        qs = qs.filter(use=f.use)
    if f.occupancy:
        qs = qs.filter(occupancy=f.occupancy)
    return _paginate(
        qs.order_by("id"),
        f,
        lambda o: {
            "id": o.id,
            "address_code": o.address.code,
            "address": o.address.text,
            "use": o.use,
            "area_m2": float(o.area_m2) if o.area_m2 is not None else None,
            "occupancy": o.occupancy,
            "grid": _grid(o),
        },
    )


class AddressFilters(Page):
    level: str = ""


@router.get("/addresses")
def list_addresses(request, f: Query[AddressFilters]):
    api_require(request, "addresses", "list")
    qs = Address.objects.visible_to(request.user).select_related("grid")
    qs = _grid_filter(qs, f.grid)
    if f.q:
        qs = qs.filter(Q(text__icontains=f.q) | Q(code__startswith=f.q))
    if f.level:
        qs = qs.filter(level=f.level)
    return _paginate(
        qs.order_by("id"),
        f,
        lambda o: {"id": o.id, "code": o.code, "text": o.text, "level": o.level, "lat": o.lat, "lon": o.lon, "grid": _grid(o)},
    )


class KindFilters(Page):
    kind: str = ""


@router.get("/organizations")
def list_organizations(request, f: Query[KindFilters]):
    api_require(request, "organizations", "list")
    qs = Organization.objects.visible_to(request.user).select_related("grid")
    qs = _grid_filter(qs, f.grid)
    if f.q:
        qs = qs.filter(Q(name__icontains=f.q) | Q(credit_code=f.q.upper()))
    if f.kind:
        qs = qs.filter(kind=f.kind)
    return _paginate(
        qs.order_by("id"),
        f,
        lambda o: {
            "id": o.id,
            "name": o.name,
            "kind": o.kind,
            "credit_code": o.credit_code,
            "address": o.address_text,
            "contact_name": o.contact_name,
            "phone": o.phone_masked,
            "employees": o.employees,
            "grid": _grid(o),
        },
    )


@router.get("/places")
def list_places(request, f: Query[KindFilters]):
    api_require(request, "places", "list")
    qs = Place.objects.visible_to(request.user).select_related("grid")
    qs = _grid_filter(qs, f.grid)
    if f.q:
        qs = qs.filter(Q(name__icontains=f.q) | Q(address_text__icontains=f.q))
    if f.kind:
        qs = qs.filter(kind=f.kind)
    return _paginate(
        qs.order_by("id"),
        f,
        lambda o: {
            "id": o.id, "name": o.name, "kind": o.kind, "address": o.address_text,
            "lat": o.lat, "lon": o.lon, "open_hours": o.open_hours, "grid": _grid(o),
        },
    )


@router.get("/party-orgs")
def list_party_orgs(request, f: Query[KindFilters]):
    api_require(request, "party_orgs", "list")
    qs = PartyOrganization.objects.visible_to(request.user).select_related("grid").prefetch_related("grids")
    qs = _grid_filter(qs, f.grid)
    if f.q:
        qs = qs.filter(name__icontains=f.q)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    return _paginate(
        qs.order_by("id"),
        f,
        lambda o: {
            "id": o.id, "name": o.name, "kind": o.kind, "secretary_name": o.secretary_name,
            "member_count": o.member_count, "grid": _grid(o), "grids": [g.code for g in o.grids.all()],
        },
    )


# ---- imports ------------------------------------------------------------------------------


@router.post("/import/{kind}", response={200: dict, 400: dict})
def import_file(request, kind: str, file: File[UploadedFile], update: Form[bool] = False):
    """Upload an .xlsx or .csv; 200 with counts, or 400 with the error report (nothing written)."""
    if kind not in SPECS:
        raise HttpError(404, f"unknown kind; kinds are {', '.join(SPECS)}")
    api_require(request, kind, "create")
    if update:
        api_require(request, kind, "update")
    result = run_import(kind, file, filename=file.name, update=update, user=request.user)
    if not result.ok:
        return Status(400, result.as_dict())
    return Status(200, result.as_dict())


# ---- exports (jobs) -----------------------------------------------------------------------


class ExportIn(Schema):
    kind: str
    grid: str = ""  # a grid code: only the rows under it


def _export_job(job) -> dict:
    from . import exporters

    expires = exporters.expires_at(job)
    return {
        "id": str(job.pk), "kind": job.kind, "filters": job.filters, "state": job.state,
        "rows_done": job.rows_done, "rows_total": job.rows_total, "revealed_rows": job.revealed_rows,
        "error": job.error, "error_message": exporters.error_message(job),
        "requested_by": job.requested_by.username,
        "created_at": job.created_at.isoformat(), "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "expires_at": expires.isoformat() if expires else None,
        "file": f"/api/registry/exports/{job.pk}/file" if job.state == job.DONE else None,
    }


def _visible_export(request, job_id):
    from .models import ExportJob

    return get_object_or_404(ExportJob.objects.visible_to(request.user).select_related("requested_by"), pk=job_id)


@router.post("/exports", response={202: dict})
def start_export(request, body: ExportIn):
    """Start an export job (the staff page's, registry.exporters): 202 with the job; poll
    GET /exports/{id} for progress, then GET /exports/{id}/file. 404 for an unknown kind or a
    grid the user does not see, 403 without the export right."""
    from . import exporters

    if body.kind not in SPECS:
        raise HttpError(404, f"unknown kind; kinds are {', '.join(SPECS)}")
    api_require(request, body.kind, "export")
    try:
        job = exporters.start_export(request.user, body.kind, body.grid.strip())
    except GridNode.DoesNotExist:
        raise HttpError(404, "没有这个网格") from None
    return Status(202, _export_job(job))


@router.get("/exports/{uuid:job_id}")
def export_status(request, job_id: UUID):
    """An export job's state and progress; someone else's job answers 404 like a missing one
    (an administrator sees every job)."""
    return _export_job(_visible_export(request, job_id))


@router.get("/exports/{uuid:job_id}/file")
def export_file(request, job_id: UUID):
    """The finished export's .xlsx; 404 while it is not done and once it has expired."""
    from django.http import FileResponse

    from . import exporters

    job = _visible_export(request, job_id)
    try:
        fh = exporters.open_for(request.user, job)
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from None
    if fh is None:
        raise HttpError(404, "导出文件不存在或已过期")
    return FileResponse(fh, as_attachment=True, filename=f"{job.kind}.xlsx",
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# ---- volunteers, and one record of any kind -----------------------------------------------


def _volunteer(o: Volunteer) -> dict:
    return {
        "id": o.id, "name": o.name, "kind": o.kind, "team": o.team.name if o.team_id else None,
        "phone": o.phone_masked, "duties": o.duties, "grid": _grid(o),
    }


@router.get("/volunteers")
def list_volunteers(request, f: Query[KindFilters]):
    api_require(request, "volunteers", "list")
    qs = Volunteer.objects.visible_to(request.user).select_related("grid", "team")
    qs = _grid_filter(qs, f.grid)
    if f.q:
        qs = qs.filter(Q(name__icontains=f.q) | Q(duties__icontains=f.q) | Q(phone_hash=crypto.blind_index(f.q)))
    if f.kind:
        qs = qs.filter(kind=f.kind)
    return _paginate(qs.order_by("id"), f, _volunteer)


def _house(o):
    return {"id": o.id, "address_code": o.address.code, "address": o.address.text, "use": o.use,
            "area_m2": float(o.area_m2) if o.area_m2 is not None else None, "occupancy": o.occupancy, "grid": _grid(o),
            "residents": [r.id for r in Resident.objects.filter(house=o).order_by("id")]}


def _organization(o):
    return {"id": o.id, "name": o.name, "kind": o.kind, "credit_code": o.credit_code, "address": o.address_text,
            "contact_name": o.contact_name, "phone": o.phone_masked, "employees": o.employees, "grid": _grid(o)}


#: url segment → (model, serializer) for GET /{segment}/{id}; personal data only masked
DETAIL = {
    "houses": (House, _house),
    "addresses": (Address, lambda o: {"id": o.id, "code": o.code, "text": o.text, "level": o.level, "lat": o.lat,
                                      "lon": o.lon, "grid": _grid(o)}),
    "organizations": (Organization, _organization),
    "places": (Place, lambda o: {"id": o.id, "name": o.name, "kind": o.kind, "address": o.address_text, "lat": o.lat,
                                 "lon": o.lon, "open_hours": o.open_hours, "note": o.note, "grid": _grid(o)}),
    "party-orgs": (PartyOrganization, lambda o: {"id": o.id, "name": o.name, "kind": o.kind,
                                                 "secretary_name": o.secretary_name, "member_count": o.member_count,
                                                 "grid": _grid(o), "grids": [g.code for g in o.grids.all()]}),
    "volunteers": (Volunteer, _volunteer),
    "buildings": (Building, lambda o: {"id": o.id, "name": o.name, "compound": o.compound.name if o.compound_id else None,
                                       "floors": o.floors, "units": o.units, "year_built": o.year_built,
                                       "lat": o.lat, "lon": o.lon, "grid": _grid(o)}),
    "volunteer-teams": (VolunteerTeam, lambda o: {"id": o.id, "name": o.name, "kind": o.kind, "grid": _grid(o)}),
    "property-projects": (PropertyProject, lambda o: {"id": o.id, "name": o.name, "company": o.company.name,
                                                      "compounds": [c.name for c in o.compounds.all()],
                                                      "manager_name": o.manager_name,
                                                      "contract_end": o.contract_end.isoformat() if o.contract_end else None,
                                                      "grid": _grid(o)}),
}


@router.get("/{segment}/{record_id}")
def get_record(request, segment: str, record_id: int):
    """One house, address, organization, place, party organization or volunteer; a record
    outside the user's scope answers 404 exactly like a missing one."""
    if segment not in DETAIL:
        raise Http404("no such kind")
    model, out = DETAIL[segment]
    o = get_object_or_404(model.objects.visible_to(request.user).select_related("grid"), pk=record_id)
    return _record(o, out(o))


@router.post("/{segment}/{record_id}/reveal")
def reveal_record(request, segment: str, record_id: int, body: RevealIn):
    """The plaintext phone of an organization or volunteer (audited), like residents' reveal."""
    if segment not in ("organizations", "volunteers"):
        raise Http404("no such kind")
    model, _ = DETAIL[segment]
    o = get_object_or_404(model.objects.visible_to(request.user).select_related("grid"), pk=record_id)
    if body.field != "phone":
        raise HttpError(400, "field must be phone")
    try:
        value = services.reveal(request.user, o, body.field)
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from None
    return {"id": o.id, "field": body.field, "value": value}


# ---- one record at a time: create, edit, end, history ---------------------------------------
#
# POST /{kind} creates, PATCH /{kind}/{id} edits (with the `version` read: 409 with what changed
# when someone saved first), POST /{kind}/{id}/end ends (never deletes), GET /{kind}/{id}/history
# lists the changes (personal fields masked). Kinds: services.RECORD_KINDS (residents, houses,
# buildings, organizations, places, party-orgs, volunteer-teams, volunteers, property-projects).
# A row is validated with the kind's import rules: 400 {"errors": {field: reason}}.


def _record(o, data: dict) -> dict:
    data.update(version=o.version, ended_on=o.ended_on.isoformat() if o.ended_on else None, end_reason=o.end_reason)
    return data


def _record_out(kind, o) -> dict:
    if kind.segment == "residents":
        o = Resident.objects.select_related("grid", "house__address", "party_org").get(pk=o.pk)
        return _record(o, _resident_detail(o))
    model, out = DETAIL[kind.segment]
    return _record(o, out(model.objects.select_related("grid").get(pk=o.pk)))


def _kind(segment: str):
    kind = services.RECORD_KINDS.get(segment)
    if kind is None:
        raise Http404("no such kind")
    return kind


def _body(request) -> dict:
    import json

    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        raise HttpError(400, "the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise HttpError(400, "the body must be a JSON object")
    return data


def _refusal(exc):
    if isinstance(exc, RowInvalid):
        return Status(400, {"detail": "记录不符合登记规则", "errors": exc.errors})
    if isinstance(exc, services.Conflict):
        return Status(409, {"detail": str(exc), "version": exc.version, "changed": exc.fields, "by": exc.by,
                            "other_change": exc.other})
    raise HttpError(403, str(exc))


def _visible(request, kind, record_id):
    return get_object_or_404(kind.model.objects.visible_to(request.user).select_related("grid"), pk=record_id)


def _create_view(segment):
    def create_record(request):
        kind = _kind(segment)
        try:
            obj = services.save_record(request.user, kind, _body(request))
        except (RowInvalid, PermissionDenied) as exc:
            return _refusal(exc)
        return Status(201, _record_out(kind, obj))

    return create_record


def _update(request, segment: str, record_id: int):
    kind = _kind(segment)
    obj = _visible(request, kind, record_id)
    data = _body(request)
    if "version" not in data:
        return Status(400, {"detail": "记录不符合登记规则", "errors": {"version": "必填：请带上读取时的版本号"}})
    version = data.pop("version")
    if not isinstance(version, int) or isinstance(version, bool):
        return Status(400, {"detail": "记录不符合登记规则", "errors": {"version": "应为整数"}})
    try:
        obj = services.save_record(request.user, kind, data, obj=obj, version=version)
    except (RowInvalid, PermissionDenied, services.Conflict) as exc:
        return _refusal(exc)
    return Status(200, _record_out(kind, obj))


_RESPONSES = {200: dict, 201: dict, 400: dict, 403: dict, 404: dict, 409: dict}
for _segment in services.RECORD_KINDS:
    router.add_api_operation(f"/{_segment}", ["POST"], _create_view(_segment), response=_RESPONSES,
                             operation_id=f"registry_create_{_segment.replace('-', '_')}",
                             summary=f"Create one {_segment} record")
# /residents/{record_id} is a path of its own (GET above): its PATCH joins it; the other kinds'
# join the generic /{segment}/{record_id}


def update_resident(request, record_id: int):
    """Edit one resident (as PATCH /{segment}/{record_id})."""
    return _update(request, "residents", record_id)


router.add_api_operation("/residents/{record_id}", ["PATCH"], update_resident, response=_RESPONSES,
                         operation_id="registry_update_residents", summary="Edit one resident (optimistic lock)")


@router.patch("/{segment}/{record_id}", response=_RESPONSES)
def update_other_record(request, segment: str, record_id: int):
    """Edit one record: JSON of the changed fields (as the kind's import columns) and the
    `version` read. 409 {changed, by, version} when someone saved after that version."""
    return _update(request, segment, record_id)


@router.post("/{segment}/{record_id}/end", response=_RESPONSES)
def end_record(request, segment: str, record_id: int):
    """End a record: JSON {reason, on (date, default today), version (optional)}."""
    kind = _kind(segment)
    obj = _visible(request, kind, record_id)
    data = _body(request)
    try:
        obj = services.end_record(request.user, kind, obj, str(data.get("reason") or ""), data.get("on"),
                                  version=data.get("version"), note=str(data.get("note") or "")[:255])
    except (RowInvalid, PermissionDenied, services.Conflict) as exc:
        return _refusal(exc)
    return Status(200, _record_out(kind, obj))


@router.get("/{segment}/{record_id}/history")
def record_history(request, segment: str, record_id: int):
    """The record's changes, newest first: who, when, what (old → new; personal fields masked)."""
    from gridgov.core import history

    kind = _kind(segment)
    obj = _visible(request, kind, record_id)
    return {
        "id": obj.pk, "version": obj.version,
        "items": [
            {"at": h.at.isoformat(), "actor": h.actor_name, "action": h.action, "changes": h.changes, "note": h.note}
            for h in history.for_object(kind.name, obj.pk)[:500]
        ],
    }
