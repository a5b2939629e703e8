"""The map's layers (GeoJSON), cards, search and grid editing, and the dashboards' figures.

Every layer is filtered by `.visible_to(request.user)` and by the map's bounds (`bbox` =
min_lon,min_lat,max_lon,max_lat) and zoom. Coordinates are WGS-84 in the database; with
`crs=gcj02` (a basemap such as AMap) the layers come shifted to GCJ-02 and the bounds and
edited polygons are taken in GCJ-02 and shifted back (gridgov.geo.coords)."""

import math

import numpy as np
import shapely
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext
from ninja import Router, Schema
from ninja.errors import HttpError
from shapely.geometry import mapping, shape

from gridgov.accounts import policy
from gridgov.accounts.duties import served
from gridgov.accounts.models import Duty, GridAssignment
from gridgov.accounts.policy import api_require
from gridgov.accounts.scope import may_see_personal_data
from gridgov.cases.models import OPEN_STATES, Case, Clock, ClockState
from gridgov.core.dbrouter import reads_from_replica
from gridgov.geo import services as geo_services
from gridgov.geo import tiling
from gridgov.geo.coords import to_wgs84_np, wgs84_to_gcj02_np
from gridgov.geo.levels import level_index
from gridgov.geo.models import GridNode
from gridgov.hotline.rates import MonthError, check_month
from gridgov.registry.models import Building, Place, Resident

from . import stats

router = Router(tags=["insight"])

LIMIT = 3000  # features per layer answer; the map asks again when the user zooms in
CRS = ("wgs84", "gcj02")


def may_edit_grid(user, node=None) -> bool:
    """Whether the map offers `user` to redraw `node` (without a node: to edit any grid at all);
    the policy table decides, as geo.services does when saving."""
    if node is None:
        return policy.allows(user, "grids", "update")
    return policy.allows(user, "grids", "update", geo_services.edit_path(node))


def _staff(request):
    u = request.user
    if not policy.allows(u, "insight", "read"):
        raise HttpError(403, "staff only")
    return u


def _crs(crs: str) -> str:
    if crs not in CRS:
        raise HttpError(422, f"crs: {crs!r}; use wgs84 or gcj02")
    return crs


def _bbox(bbox: str, crs: str):
    """(min_lon, min_lat, max_lon, max_lat) in WGS-84, or None."""
    if not bbox:
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in bbox.split(","))
    except ValueError:
        raise HttpError(422, f"bbox: {bbox!r}; give min_lon,min_lat,max_lon,max_lat") from None
    if not all(map(math.isfinite, (x0, y0, x1, y1))):  # NaN and Infinity parse as floats
        raise HttpError(422, f"bbox：{bbox[:80]!r} 含有非有限数（NaN、Infinity）")
    if crs == "gcj02":
        xs, ys = to_wgs84_np(np.array([x0, x1]), np.array([y0, y1]), "gcj02")
        x0, x1, y0, y1 = float(xs[0]), float(xs[1]), float(ys[0]), float(ys[1])
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def _in_bbox(qs, box, lon="lon", lat="lat"):
    if box is None:
        return qs
    return qs.filter(**{f"{lon}__gte": box[0], f"{lon}__lte": box[2], f"{lat}__gte": box[1], f"{lat}__lte": box[3]})


def _out(lon, lat, crs):
    if crs == "gcj02":
        x, y = wgs84_to_gcj02_np(lon, lat)
        return [round(float(x), 7), round(float(y), 7)]
    return [round(lon, 7), round(lat, 7)]


def _point(lon, lat, crs, props):
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": _out(lon, lat, crs)}, "properties": props}


def _geom_out(geom, crs):
    if crs == "gcj02":
        geom = shapely.transform(geom, lambda xy: np.column_stack(wgs84_to_gcj02_np(xy[:, 0], xy[:, 1])))
    return mapping(geom)


def _collection(features, truncated=False):
    return {"type": "FeatureCollection", "features": features, "truncated": truncated}


def _limited(qs):
    rows = list(qs[: LIMIT + 1])
    return rows[:LIMIT], len(rows) > LIMIT


# --- layers -----------------------------------------------------------------------------------


@router.get("/layers/grids")
def layer_grids(request, level: str = "", bbox: str = "", zoom: int = 16, crs: str = "wgs84"):
    """Grid polygons of one level (name or number; default every level), simplified to the zoom."""
    _staff(request)
    crs = _crs(crs)
    qs = GridNode.objects.visible_to(request.user).exclude(geom_wkt="")
    if level:
        try:
            qs = qs.filter(level=level_index(level))
        except ValueError as e:
            raise HttpError(422, str(e))
    box = _bbox(bbox, crs)
    if box:
        qs = qs.filter(min_lon__lte=box[2], max_lon__gte=box[0], min_lat__lte=box[3], max_lat__gte=box[1])
    rows, truncated = _limited(qs.order_by("level", "code").values("id", "code", "name", "level", "geom_wkt", "area_m2", "parent_id"))
    tolerance = 360 / 2 ** (max(0, min(zoom, 22)) + 9)  # about half a pixel
    geoms = shapely.from_wkt([r["geom_wkt"] for r in rows]) if rows else []
    feats = []
    for r, g in zip(rows, geoms):
        g = g.simplify(tolerance, preserve_topology=True)
        feats.append({"type": "Feature", "geometry": _geom_out(g, crs), "properties": {
            "kind": "grid", "id": r["id"], "code": r["code"], "name": r["name"], "level": r["level"],
            "area_m2": round(r["area_m2"] or 0)}})
    return _collection(feats, truncated)


@router.get("/layers/workers")
def layer_workers(request, bbox: str = "", crs: str = "wgs84"):
    """Grid workers and grid leaders at the centre of the grid they serve."""
    _staff(request)
    crs = _crs(crs)
    nodes = GridNode.objects.visible_to(request.user).filter(center_lon__isnull=False)
    nodes = _in_bbox(nodes, _bbox(bbox, crs), "center_lon", "center_lat")
    qs = (
        GridAssignment.objects.in_force().filter(node__in=nodes, duty__in=[Duty.LEADER, Duty.WORKER], user__is_active=True)
        .select_related("user", "node").order_by("node__code", "duty", "user_id")
    )
    rows, truncated = _limited(qs)
    by_node: dict[int, list] = {}
    for a in rows:
        by_node.setdefault(a.node_id, []).append(a)
    feats = []
    for group in by_node.values():
        n = group[0].node
        people = [{"id": a.user_id, "name": str(a.user), "role": a.user.role_label, "duty": a.get_duty_display()} for a in group]
        feats.append(_point(n.center_lon, n.center_lat, crs, {"kind": "workers", "id": n.pk, "grid": n.name, "code": n.code,
                                                              "people": people, "count": len(people)}))
    return _collection(feats, truncated)


@router.get("/layers/buildings")
def layer_buildings(request, bbox: str = "", crs: str = "wgs84"):
    """Buildings with their house counts (by occupancy)."""
    _staff(request)
    crs = _crs(crs)
    qs = _in_bbox(Building.objects.visible_to(request.user).filter(lat__isnull=False, ended_on__isnull=True), _bbox(bbox, crs))
    current = Q(houses__ended_on__isnull=True)  # a demolished house is no longer counted
    qs = qs.annotate(
        houses_n=Count("houses", filter=current), rented=Count("houses", filter=current & Q(houses__occupancy="rented")),
        vacant=Count("houses", filter=current & Q(houses__occupancy="vacant")),
    ).values("id", "name", "compound__name", "floors", "lon", "lat", "houses_n", "rented", "vacant").order_by("id")
    rows, truncated = _limited(qs)
    return _collection([
        _point(r["lon"], r["lat"], crs, {"kind": "building", "id": r["id"], "name": f"{r['compound__name'] or ''}{r['name']}",
                                         "floors": r["floors"], "houses": r["houses_n"], "rented": r["rented"], "vacant": r["vacant"]})
        for r in rows
    ], truncated)


@router.get("/layers/keypop")
def layer_key_population(request, bbox: str = "", crs: str = "wgs84"):
    """Special-care residents (老弱病残孕 and others tagged) counted per building, by tag; no names."""
    _staff(request)
    crs = _crs(crs)
    tags = list(Resident.TAGS)
    residents = Resident.objects.visible_to(request.user).filter(house__building__isnull=False, ended_on__isnull=True)
    special = Q()
    for t in Resident.SPECIAL_CARE + ("living_alone", "key_person"):
        special |= Q(tags__icontains=f'"{t}"')
    box = _bbox(bbox, crs)
    if box:
        residents = residents.filter(house__building__lon__gte=box[0], house__building__lon__lte=box[2],
                                     house__building__lat__gte=box[1], house__building__lat__lte=box[3])
    agg = {f"t_{t}": Count("id", filter=Q(tags__icontains=f'"{t}"')) for t in tags}
    rows = list(
        residents.filter(special).values("house__building", "house__building__lon", "house__building__lat",
                                         "house__building__name", "house__building__compound__name")
        .annotate(total=Count("id"), **agg).order_by("house__building")[: LIMIT + 1]
    )
    feats = []
    for r in rows[:LIMIT]:
        if r["house__building__lon"] is None:
            continue
        counts = {t: r[f"t_{t}"] for t in tags if r[f"t_{t}"]}
        feats.append(_point(r["house__building__lon"], r["house__building__lat"], crs, {
            "kind": "keypop", "id": r["house__building"],
            "name": f"{r['house__building__compound__name'] or ''}{r['house__building__name']}",
            "total": r["total"], "tags": counts, "labels": {t: gettext(Resident.TAGS[t]) for t in counts}}))
    return _collection(feats, len(rows) > LIMIT)


@router.get("/layers/tickets")
def layer_ticket_hot_spots(request, month: str = "", bbox: str = "", crs: str = "wgs84"):
    """12345 hot spots: a month's hotline tickets counted per grid, with their top categories,
    beside the month's cases from the other channels (resident, volunteer, patrol, API; the
    tickets' own hotline cases are not counted twice) with their top items (default month:
    the latest with tickets the user may see)."""
    from gridgov.hotline import clusters
    from gridgov.hotline.models import Ticket

    user = _staff(request)
    crs = _crs(crs)
    box = _bbox(bbox, crs)
    if month:
        try:
            month = check_month(month)
        except MonthError as e:
            raise HttpError(422, str(e)) from None
    month = month or stats.topics_month(user)
    if not month:
        return _collection([])
    tickets = Ticket.objects.visible_to(user).filter(grid__isnull=False, month=month)
    cases = clusters.counted_cases(Case.objects.visible_to(user).filter(grid__isnull=False), [month])
    if box:
        inside = {"grid__center_lon__gte": box[0], "grid__center_lon__lte": box[2],
                  "grid__center_lat__gte": box[1], "grid__center_lat__lte": box[3]}
        tickets, cases = tickets.filter(**inside), cases.filter(**inside)
    counts = {}
    for kind, qs in (("tickets", tickets), ("cases", cases)):
        for grid, n in qs.values_list("grid").annotate(n=Count("id")).order_by():
            counts.setdefault(grid, {"tickets": 0, "cases": 0})[kind] = n
    top = {}
    for r in tickets.values("grid", "category_l1", "category_l2").annotate(n=Count("id")).order_by("grid", "-n", "category_l1", "category_l2"):
        top.setdefault(r["grid"], [])
        if len(top[r["grid"]]) < 3:
            top[r["grid"]].append({"category": "/".join(c for c in (r["category_l1"], r["category_l2"]) if c) or gettext("未分类"), "tickets": r["n"]})
    top_cases = {}
    for r in cases.values("grid", "item__name").annotate(n=Count("id")).order_by("grid", "-n", "item__name"):
        top_cases.setdefault(r["grid"], [])
        if len(top_cases[r["grid"]]) < 3:
            top_cases[r["grid"]].append({"item": r["item__name"] or clusters.UNCLASSIFIED_CASE, "cases": r["n"]})
    ranked = sorted(counts, key=lambda g: (-(counts[g]["tickets"] + counts[g]["cases"]), g))
    nodes = {n["id"]: n for n in GridNode.objects.filter(pk__in=ranked[:LIMIT]).values("id", "code", "name", "center_lon", "center_lat")}
    feats = [
        _point(nodes[g]["center_lon"], nodes[g]["center_lat"], crs, {
            "kind": "grid", "id": g, "code": nodes[g]["code"], "name": nodes[g]["name"], "month": month,
            "tickets": counts[g]["tickets"], "cases": counts[g]["cases"], "top": top.get(g, []), "top_cases": top_cases.get(g, [])})
        for g in ranked[:LIMIT] if g in nodes and nodes[g]["center_lon"] is not None
    ]
    return _collection(feats, len(ranked) > LIMIT)


@router.get("/layers/places")
def layer_places(request, kind: str = "key_place", bbox: str = "", crs: str = "wgs84"):
    """Places of one kind (key_place, service_station, ...)."""
    _staff(request)
    crs = _crs(crs)
    if kind not in dict(Place.KINDS):
        raise HttpError(422, f"kind: {kind!r}; use one of {', '.join(dict(Place.KINDS))}")
    qs = _in_bbox(Place.objects.visible_to(request.user).filter(kind=kind, ended_on__isnull=True), _bbox(bbox, crs)).order_by("id")
    rows, truncated = _limited(qs.values("id", "name", "kind", "address_text", "open_hours", "lon", "lat"))
    return _collection([
        _point(r["lon"], r["lat"], crs, {"kind": "place", "id": r["id"], "name": r["name"], "place_kind": r["kind"],
                                         "address": r["address_text"], "open_hours": r["open_hours"]})
        for r in rows
    ], truncated)


def clock_status(qs, now=None):
    """Annotate cases with `clock`: breached / overdue / warned / running / none."""
    from django.db.models import Case as When_, CharField, Value, When

    now = now or timezone.now()
    # the limits of the case's current assignment (Clock.objects.current), as CaseQuerySet.overdue
    # counts them: "breached" and "overdue" are exactly the overdue cases
    current = Clock.objects.current().filter(case=OuterRef("pk"))
    live = current.filter(state__in=[ClockState.RUNNING, ClockState.WARNED])
    return qs.annotate(clock=When_(
        When(Exists(current.filter(state=ClockState.BREACHED)), then=Value("breached")),
        When(Exists(live.filter(due_at__lte=now)), then=Value("overdue")),
        When(Exists(live.filter(Q(state=ClockState.WARNED) | Q(warn_at__lte=now))), then=Value("warned")),
        When(Exists(live), then=Value("running")),
        default=Value("none"), output_field=CharField(),
    ))


@router.get("/layers/cases")
def layer_cases(request, bbox: str = "", crs: str = "wgs84"):
    """Open cases, coloured by the state of their limits."""
    _staff(request)
    crs = _crs(crs)
    qs = _in_bbox(Case.objects.visible_to(request.user).filter(state__in=OPEN_STATES, lat__isnull=False), _bbox(bbox, crs))
    qs = clock_status(qs).values("id", "number", "state", "item__name", "lon", "lat", "clock").order_by("-created_at")
    rows, truncated = _limited(qs)
    return _collection([
        _point(r["lon"], r["lat"], crs, {"kind": "case", "id": r["id"], "number": r["number"], "state": r["state"],
                                         "item": r["item__name"] or "", "clock": r["clock"]})
        for r in rows
    ], truncated)


# --- cards ------------------------------------------------------------------------------------


@router.get("/card/{kind}/{pk}")
def card(request, kind: str, pk: int, crs: str = "wgs84"):
    """What a click on the map shows; 404 outside the user's scope."""
    user = _staff(request)
    crs = _crs(crs)
    if kind == "grid" or kind == "workers":
        n = GridNode.objects.visible_to(user).filter(pk=pk).select_related("parent").first()
        if n is None:
            raise Http404("no such grid")
        people = [{"name": str(a.user), "role": a.user.role_label, "duty": a.get_duty_display()}
                  for a in served(n)]
        open_cases = Case.objects.visible_to(user).filter(grid_path__startswith=n.path, state__in=OPEN_STATES).count()
        return {"kind": "grid", "id": n.pk, "title": n.name, "code": n.code, "level": n.level_label,
                "parent": n.parent.name if n.parent_id else "", "area_m2": round(n.area_m2 or 0), "people": people,
                "open_cases": open_cases, "editable": may_edit_grid(user, n),
                "link": f"/grids/{n.code}/"}
    if kind in ("building", "keypop"):
        b = Building.objects.visible_to(user).filter(pk=pk).select_related("compound", "grid").first()
        if b is None:
            raise Http404("no such building")
        residents = Resident.objects.visible_to(user).filter(house__building=b, ended_on__isnull=True)
        tags = {}
        names = []
        allowed = may_see_personal_data(user, b.grid.path if b.grid_id else None)
        for r in residents.only("id", "name", "tags").order_by("id"):
            special = [t for t in r.tags if t in Resident.SPECIAL_CARE or t in ("living_alone", "key_person")]
            for t in special:
                label = gettext(Resident.TAGS[t])
                tags[label] = tags.get(label, 0) + 1
            if special and allowed:
                names.append({"id": r.id, "name": r.name, "tags": [gettext(Resident.TAGS[t]) for t in special]})
        return {"kind": "building", "id": b.pk, "title": str(b), "grid": b.grid.name if b.grid_id else "", "floors": b.floors,
                "houses": b.houses.filter(ended_on__isnull=True).count(), "residents": residents.count(), "key_population": tags,
                "names": names[:50] if allowed else None}
    if kind == "place":
        p = Place.objects.visible_to(user).filter(pk=pk).select_related("grid").first()
        if p is None:
            raise Http404("no such place")
        return {"kind": "place", "id": p.pk, "title": p.name, "type": gettext(p.get_kind_display()), "address": p.address_text,
                "open_hours": p.open_hours, "note": p.note, "grid": p.grid.name if p.grid_id else ""}
    if kind == "case":
        c = clock_status(Case.objects.visible_to(user).filter(pk=pk)).select_related("item", "grid", "handler_user").first()
        if c is None:
            raise Http404("no such case")
        # the case's own deadline (its current limits), and each summons' deadline as such
        due = Clock.objects.current().filter(case=c, state__in=[ClockState.RUNNING, ClockState.WARNED]).order_by("due_at").first()
        summons = [{"department": s.department, "due_at": timezone.localtime(s.due_at).strftime("%Y-%m-%d %H:%M"),
                    "reported": s.reported_at is not None} for s in c.summons.order_by("id")]
        return {"kind": "case", "id": c.pk, "title": c.number, "item": c.item.name if c.item_id else gettext("待分类"),
                "state": c.get_state_display(), "clock": c.clock, "text": c.text, "address": c.address,
                "grid": c.grid.name if c.grid_id else "", "handler": str(c.handler_user or c.handler_department or ""),
                "created_at": timezone.localtime(c.created_at).strftime("%Y-%m-%d %H:%M"),
                "due_at": timezone.localtime(due.due_at).strftime("%Y-%m-%d %H:%M") if due else "",
                "summons": summons, "link": f"/cases/{c.pk}/"}
    raise HttpError(422, f"kind: {kind!r}; use grid, building, place or case")


# --- search -----------------------------------------------------------------------------------


@router.get("/search")
def search(request, q: str, crs: str = "wgs84"):
    """Places (grids, compounds, buildings, places), people (residents and staff, by name, in
    scope) and cases (number or text); each with where to fly to."""
    user = _staff(request)
    crs = _crs(crs)
    q = q.strip()
    if len(q) < 1:
        raise HttpError(422, "q: type something to search")
    out = []

    def add(kind, pk, label, sub, lon, lat):
        if lon is not None and lat is not None:
            out.append({"kind": kind, "id": pk, "label": label, "sub": sub, "point": _out(lon, lat, crs)})

    for n in GridNode.objects.visible_to(user).filter(Q(name__icontains=q) | Q(code=q)).order_by("level", "code")[:5]:
        add("grid", n.pk, n.name, n.level_label, n.center_lon, n.center_lat)
    for b in Building.objects.visible_to(user).select_related("compound").filter(
        Q(compound__name__icontains=q) | Q(name__icontains=q)).order_by("id")[:5]:
        add("building", b.pk, str(b), gettext("楼栋"), b.lon, b.lat)
    for p in Place.objects.visible_to(user).filter(name__icontains=q).order_by("id")[:5]:
        add("place", p.pk, p.name, gettext(p.get_kind_display()), p.lon, p.lat)
    for r in Resident.objects.visible_to(user).filter(name__icontains=q, ended_on__isnull=True).select_related("house__building", "grid").order_by("id")[:5]:
        b = r.house.building if r.house_id and r.house.building_id else None
        lon, lat = (b.lon, b.lat) if b else ((r.grid.center_lon, r.grid.center_lat) if r.grid_id else (None, None))
        add("building" if b else "grid", b.pk if b else r.grid_id, r.name, gettext("居民 · %(where)s") % {"where": b or (r.grid.name if r.grid_id else "")}, lon, lat)
    visible_nodes = GridNode.objects.visible_to(user)
    for a in GridAssignment.objects.in_force().filter(node__in=visible_nodes, user__is_active=True).filter(
        Q(user__display_name__icontains=q) | Q(user__username=q)).select_related("user", "node").order_by("id")[:5]:
        add("grid", a.node_id, str(a.user), f"{a.user.role_label} · {a.node.name}", a.node.center_lon, a.node.center_lat)
    cases = Case.objects.visible_to(user).filter(lat__isnull=False)
    cases = cases.filter(number=q) if q.isdigit() else cases.filter(text__icontains=q)
    for c in cases.select_related("item").order_by("-created_at")[:8]:
        add("case", c.pk, c.number, f"{c.item.name if c.item_id else ''} · {c.get_state_display()}", c.lon, c.lat)
    return {"q": q, "results": out}


# --- grid editing -----------------------------------------------------------------------------


class GeometryIn(Schema):
    geometry: dict
    crs: str = "wgs84"
    name: str = ""


def _polygon_in(body: GeometryIn):
    """The drawn polygon in WGS-84 (made valid); 422 for anything else. Whether it may be saved
    (the policy table, inside the parent, holding the children) is geo.services' decision."""
    crs = _crs(body.crs)
    try:
        geom = shape(body.geometry)
    except Exception as e:  # noqa: BLE001 - shapely raises many kinds
        raise HttpError(422, f"geometry: not a GeoJSON geometry ({e})") from None
    if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
        raise HttpError(422, f"geometry: a Polygon or MultiPolygon is needed, got {geom.geom_type}")
    if not geo_services.in_degrees(geom):
        raise HttpError(422, f"geometry：坐标不是经纬度（范围 {geom.bounds}）")
    if crs == "gcj02":
        geom = shapely.transform(geom, lambda xy: np.column_stack(to_wgs84_np(xy[:, 0], xy[:, 1], "gcj02")))
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
        parts = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("Polygon", "MultiPolygon")]
        if not parts:
            raise HttpError(422, "geometry: the polygon crosses itself and has no area left")
        geom = shapely.union_all(parts)
    return geom


def _grid_edit(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except PermissionDenied as e:
        raise HttpError(403, str(e)) from None
    except geo_services.GridEditError as e:
        raise HttpError(422, str(e)) from None


def _problems(parent_code):
    return [p.as_dict() for p in tiling.check_tiling() if p.parent == parent_code or parent_code in p.grids]


@router.post("/grids/{code}/geometry")
def save_grid_geometry(request, code: str, body: GeometryIn):
    """Replace a grid's polygon (geo.services.redraw: the policy table's grids × update on the
    parent's path; refused with 422 when it leaves its parent or no longer holds its children)
    and return the tiling problems (check-grids) of its parent's children."""
    api_require(request, "grids", "update")
    node = GridNode.objects.visible_to(request.user).filter(code=code).select_related("parent").first()
    if node is None:
        raise Http404("no such grid")
    node = _grid_edit(geo_services.redraw, request.user, node, _polygon_in(body), body.name)
    parent = node.parent.code if node.parent_id else None
    return {"code": node.code, "name": node.name, "area_m2": round(node.area_m2), "parent": parent,
            "problems": _problems(parent) if parent else []}


@router.post("/grids/{parent_code}/children")
def create_grid(request, parent_code: str, body: GeometryIn):
    """Draw a new child grid under `parent_code` (geo.services.draw_child: the policy table's
    grids × create on the parent's path; refused with 422 outside the parent)."""
    api_require(request, "grids", "create")
    parent = GridNode.objects.visible_to(request.user).filter(code=parent_code).first()
    if parent is None:
        raise Http404("no such grid")
    node = _grid_edit(geo_services.draw_child, request.user, parent, body.name, _polygon_in(body))
    return {"code": node.code, "name": node.name, "area_m2": round(node.area_m2), "parent": parent.code,
            "problems": _problems(parent.code)}


# --- dashboards -------------------------------------------------------------------------------


def _filters(request):
    try:
        return stats.Filters.from_query(request.GET)
    except stats.FilterError as e:
        raise HttpError(422, str(e))


@router.get("/stats")
@reads_from_replica
def dashboard_stats(request, screen: bool = False):
    """Every figure of the dashboard under the cross-filter in the query string
    (month=YYYY-MM, hour, item, channel, community, grid); `screen` is accepted for the big
    screen's requests (it has the same figures)."""
    user = _staff(request)
    return stats.dashboard(user, _filters(request), screen=screen)


@router.get("/topics")
@reads_from_replica
def dashboard_topics(request):
    """The month's topics (near-duplicate 12345 tickets and cases of the other channels), hot
    spots and recurring problems, five of each with two examples: the month filter's month,
    else the latest with tickets the user may see; the community and grid filters apply."""
    user = _staff(request)
    return stats.topics(user, _filters(request))


@router.get("/stats.xlsx")
@reads_from_replica
def dashboard_export(request, only: str = ""):
    """The same figures as a workbook, one sheet per chart (or only one: only=by_item, ...;
    only=topics: the month's topics, recurring problems and hot spots)."""
    user = _staff(request)
    f = _filters(request)
    data = stats.dashboard(user, f, screen=True)
    if not only or only == "topics":
        data["topics"] = stats.topics(user, f, limit=20)
    resp = HttpResponse(stats.export_xlsx(data, only), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp["Content-Disposition"] = f'attachment; filename="dashboard-{timezone.localtime():%Y%m%d-%H%M}.xlsx"'
    return resp

