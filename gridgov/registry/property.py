"""Property companies and the compounds they serve: what a property company's staff (物业人员)
may work on, and which compound a reported place lies in.

* `compounds_of_department(name)` — the compounds of the property projects of the company whose
  Department is `name` (Organization.department): a property user's scope.
* `compound_at(...)` — the compound a case lies in, decided once at intake (cases.services
  stores it on the case): the compound named in the address (the longest active compound name of
  the case's community found in the address text); else the compound of the nearest building
  within COMPOUND_RADIUS_M of the point (a compound has no polygon: its buildings are its shape);
  else none. A case outside every compound is never a property company's work.
* `company_department_at(compound)` — the Department of the property company serving a compound
  (through an active property project; else the compound's `property_company`), or None."""

import math

from django.db.models import Q

from .models import Building, Compound, Organization, PropertyProject
from gridgov.geo import levels as gl

#: how far (metres) from a compound's nearest building a point still lies in that compound
COMPOUND_RADIUS_M = 120.0


def compounds_of_department(name: str):
    """Compound ids (a queryset of ids) served by the company whose department is `name`."""
    if not name:
        return Compound.objects.none().values("pk")
    return (Compound.objects.filter(property_projects__company__department__name=name,
                                    property_projects__ended_on__isnull=True)
            .values("pk").distinct())


def company_of_department(name: str) -> Organization | None:
    return Organization.objects.filter(department__name=name, kind="property_company").first() if name else None


def company_department_at(compound) -> str:
    """The department name of the property company serving `compound`, or ''."""
    if compound is None:
        return ""
    project = (PropertyProject.objects.filter(compounds=compound, ended_on__isnull=True,
                                              company__department__active=True)
               .select_related("company__department").order_by("id").first())
    if project is not None:
        return project.company.department.name
    org = compound.property_company
    if org is not None and org.department_id and org.department.active:
        return org.department.name
    return ""


def _community(grid):
    if grid is None:
        return None
    if grid.level <= gl.community_level():
        return grid if grid.level == gl.community_level() else None
    return next((n for n in grid.ancestors() if n.level == gl.community_level()), None)


def _metres(lon1, lat1, lon2, lat2) -> float:
    k = math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot((lon1 - lon2) * k, lat1 - lat2) * 111_320.0


def compound_at(*, lon=None, lat=None, address: str = "", grid=None):
    """The compound a reported place lies in (see the module's text), or None."""
    community = _community(grid)
    compounds = Compound.objects.filter(ended_on__isnull=True)
    if community is not None:
        compounds = compounds.filter(community=community)
    text = (address or "").strip()
    if text:
        named = [c for c in compounds.only("pk", "name") if c.name and c.name in text]
        if named:
            return max(named, key=lambda c: (len(c.name), -c.pk))
    if lon is None or lat is None:
        return None
    box = COMPOUND_RADIUS_M / 111_320.0 * 1.5
    near = Building.objects.filter(compound__in=compounds, ended_on__isnull=True, lat__isnull=False, lon__isnull=False,
                                   lat__range=(lat - box, lat + box), lon__range=(lon - 2 * box, lon + 2 * box))
    best = None
    for b in near.select_related("compound").only("lon", "lat", "compound"):
        d = _metres(lon, lat, b.lon, b.lat)
        if d <= COMPOUND_RADIUS_M and (best is None or d < best[0]):
            best = (d, b.compound)
    if best is None:  # compounds without buildings: their centre
        for c in compounds.filter(~Q(lat=None), ~Q(lon=None), lat__range=(lat - box, lat + box),
                                  lon__range=(lon - 2 * box, lon + 2 * box)):
            d = _metres(lon, lat, c.lon, c.lat)
            if d <= COMPOUND_RADIUS_M and (best is None or d < best[0]):
                best = (d, c)
    return best[1] if best else None


def link_company(actor, department, organization) -> None:
    """Tie a property-company Department to its registry record (Organization of kind
    property_company), so that its members (property staff) work on the compounds of that
    company's projects. One department per company and one company per department: a previous
    link on either side is cleared. One transaction, one history row on the department
    (departments × update: administrators)."""
    from django.core.exceptions import ValidationError
    from django.db import transaction
    from django.utils.translation import gettext as _

    from gridgov.accounts import policy
    from gridgov.accounts.models import Department
    from gridgov.core import history

    policy.require(actor, "departments", "update")
    if department.kind != Department.Kind.PROPERTY or not department.active:
        raise ValidationError(_("只有在用的物业公司类部门可以关联物业公司档案"), code="not_property")
    if organization is not None and organization.kind != "property_company":
        raise ValidationError(_("所选单位不是物业公司"), code="not_property_company")
    with transaction.atomic():
        old = Organization.objects.select_for_update().filter(department=department).first()
        if old is not None and organization is not None and old.pk == organization.pk:
            return
        if old is not None:
            Organization.objects.filter(pk=old.pk).update(department=None)
        if organization is not None:
            Organization.objects.filter(pk=organization.pk).update(department=department)
        history.record(actor, "departments", department, "update",
                       {"company": [old.name if old else None, organization.name if organization else None]})


def compound_ids_for(rows) -> list:
    """The compound of each of many reported places at once (12345 tickets in a quarter), by the
    rules of `compound_at` with one query of compound names and one of buildings (never one per
    row). Each row is a mapping with any of: `compound_id` (known already, e.g. the matched
    standard address's compound: taken as is), `address` (text), `community_id` (the level-1
    grid node when known: names are then looked for among its compounds only, and so are the
    nearest buildings), `lon`, `lat` (WGS-84). Returns a list of compound ids (None where no
    compound), in the order of `rows`."""
    rows = list(rows)
    if not rows:
        return []
    compounds = list(Compound.objects.filter(ended_on__isnull=True).values_list("pk", "name", "community_id", "lon", "lat"))
    by_community: dict = {}
    for c in compounds:
        by_community.setdefault(c[2], []).append(c)
    placed = [r for r in rows if not r.get("compound_id") and r.get("lon") is not None and r.get("lat") is not None]
    buildings: list = []
    if placed:
        lats = [r["lat"] for r in placed]
        lons = [r["lon"] for r in placed]
        box = COMPOUND_RADIUS_M / 111_320.0 * 1.5
        buildings = list(Building.objects.filter(
            compound__ended_on__isnull=True, compound__isnull=False, ended_on__isnull=True, lat__isnull=False,
            lon__isnull=False, lat__range=(min(lats) - box, max(lats) + box),
            lon__range=(min(lons) - 2 * box, max(lons) + 2 * box)).values_list("compound_id", "compound__community_id",
                                                                                 "lon", "lat"))
    out = []
    for r in rows:
        if r.get("compound_id"):
            out.append(r["compound_id"])
            continue
        community = r.get("community_id")
        pool = by_community.get(community, []) if community else compounds
        text = (r.get("address") or "").strip()
        if text:
            named = [c for c in pool if c[1] and c[1] in text]
            if named:
                out.append(max(named, key=lambda c: (len(c[1]), -c[0]))[0])
                continue
        lon, lat = r.get("lon"), r.get("lat")
        if lon is None or lat is None:
            out.append(None)
            continue
        best = None
        for cid, comm, blon, blat in buildings:
            if community and comm != community:
                continue
            d = _metres(lon, lat, blon, blat)
            if d <= COMPOUND_RADIUS_M and (best is None or d < best[0]):
                best = (d, cid)
        if best is None:  # compounds without buildings: their centre
            for cid, _name, _comm, clon, clat in pool:
                if clon is None or clat is None:
                    continue
                d = _metres(lon, lat, clon, clat)
                if d <= COMPOUND_RADIUS_M and (best is None or d < best[0]):
                    best = (d, cid)
        out.append(best[1] if best else None)
    return out
