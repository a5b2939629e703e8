"""Every change of the grid hierarchy goes through here."""

import json
import statistics
from dataclasses import dataclass, field

import numpy as np
import shapely
from django.conf import settings
from django.db import transaction
from shapely import STRtree
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from .coords import CRS_NAMES, to_wgs84_np
from .levels import level_index, level_names, street_level
from .locator import invalidate_locator
from .models import GeoVersion, GridNode
from .signals import grid_path_moved, levels_shifted
from .spatial import area_m2
from .tiling import DEFAULT_TOLERANCE_M2

KINDS_BY_LEVEL_NAME = {"street": "street", "community": "community", "grid": "grid", "microgrid": "microgrid"}


@transaction.atomic
def save_node(node: GridNode, geom: BaseGeometry | None = None) -> GridNode:
    """Create or update a node with its polygon; keeps bbox, centre, area and the index version."""
    if geom is not None:
        if geom.is_empty:
            raise ValueError(f"grid {node.code}: empty geometry")
        node.geom_wkt = geom.wkt
        node.min_lon, node.min_lat, node.max_lon, node.max_lat = geom.bounds
        c = geom.representative_point()
        node.center_lon, node.center_lat = c.x, c.y
        node.area_m2 = area_m2(geom)
    old_path = None
    if node.pk:
        old_path = GridNode.objects.filter(pk=node.pk).values_list("path", flat=True).first()
    node.save()
    if old_path and old_path != node.path:
        for child in GridNode.objects.filter(path__startswith=old_path).exclude(pk=node.pk).order_by("level"):
            child.save()
        # records that copy a grid path (cases, tickets' places, patrols, history) follow their grid
        repath(old_path, node.path)
        grid_path_moved.send(sender=GridNode, old_prefix=old_path, new_prefix=node.path)
    GeoVersion.bump()
    invalidate_locator()
    transaction.on_commit(invalidate_locator)
    return node


def in_degrees(geom: BaseGeometry) -> bool:
    """Whether every coordinate is a finite longitude/latitude in degrees (NaN fails too: a
    geometry's bounds skip NaN, so the coordinates themselves are checked)."""
    xy = shapely.get_coordinates(geom)
    return bool(len(xy)) and bool(((xy[:, 0] >= -180) & (xy[:, 0] <= 180) & (xy[:, 1] >= -90) & (xy[:, 1] <= 90)).all())


# --- the map's editor ---------------------------------------------------------------------


class GridEditError(ValueError):
    """A grid drawn or redrawn on the map was refused (the message says why); nothing was saved."""


def _outside_m2(inner: BaseGeometry, outer: BaseGeometry) -> float:
    out = inner.difference(outer)
    return 0.0 if out.is_empty else area_m2(out)


def _check_polygon(geom: BaseGeometry, what: str) -> None:
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise GridEditError(f"geometry：{what}需要一个多边形（Polygon 或 MultiPolygon）")
    if not in_degrees(geom):
        raise GridEditError(f"geometry：{what}的坐标不是经纬度（范围 {geom.bounds}）")


def _check_inside_parent(geom: BaseGeometry, parent: GridNode, what: str, tolerance_m2: float) -> None:
    """Refuse a polygon that sticks out of `parent` by more than the tiling tolerance (check-grids)."""
    parent_geom = parent.geometry()
    if parent_geom is None or parent_geom.is_empty:
        raise GridEditError(f"上级网格 {parent.code}（{parent.name}）没有边界，无法确认{what}在其内；请先导入上级网格的边界")
    a = _outside_m2(geom, parent_geom)
    if a > tolerance_m2:
        raise GridEditError(
            f"{what}超出上级网格 {parent.code}（{parent.name}）约 {a:,.0f} m²（允许 {tolerance_m2:g} m²，与 check-grids 相同）；"
            "请把边界画在上级网格之内"
        )


def edit_path(node: GridNode) -> str:
    """The path a grid edit is checked against: a polygon is its parent's business (it tiles the
    parent with its siblings); a top-level grid's, its own."""
    return node.parent.path if node.parent_id else node.path


@transaction.atomic
def draw_child(user, parent: GridNode, name: str, geom: BaseGeometry,
               tolerance_m2: float = DEFAULT_TOLERANCE_M2) -> GridNode:
    """A new child of `parent` drawn on the map: the policy table must grant the user grids ×
    create on the parent's path (PermissionDenied), and the polygon must lie inside the parent
    (GridEditError). Its code is the parent's next free one (`child_code`)."""
    from gridgov.accounts.policy import require

    require(user, "grids", "create", parent.path)
    name = (name or "").strip()
    if not name:
        raise GridEditError("name：请为新网格命名")
    _check_polygon(geom, "新网格")
    _check_inside_parent(geom, parent, "新网格", tolerance_m2)
    level = parent.level + 1
    taken = set(GridNode.objects.filter(parent=parent).values_list("code", flat=True))
    code = None
    for seq in range(1, 1000):
        try:
            c = child_code(parent, level, seq)
        except ValueError as e:
            raise GridEditError(str(e)) from None
        if c not in taken and not GridNode.objects.filter(code=c).exists():
            code = c
            break
    if code is None:
        raise GridEditError(f"上级网格 {parent.code} 的下级编码已用完（001–999）")
    names = level_names()
    kind = KINDS_BY_LEVEL_NAME.get(names[level], "") if level < len(names) else ""
    return save_node(GridNode(code=code, name=name[:100], level=level, parent=parent, kind=kind), geom)


@transaction.atomic
def redraw(user, node: GridNode, geom: BaseGeometry, name: str = "",
           tolerance_m2: float = DEFAULT_TOLERANCE_M2) -> GridNode:
    """Replace a grid's polygon (and optionally its name) from the map: the policy table must
    grant the user grids × update on the parent's path (PermissionDenied); the new polygon must
    stay inside the parent and still hold every child (GridEditError). Overlaps and gaps with
    siblings are allowed (the editor reports them: redrawing two neighbours takes two saves)."""
    from gridgov.accounts.policy import require

    require(user, "grids", "update", edit_path(node))
    _check_polygon(geom, "新边界")
    if node.parent_id:
        _check_inside_parent(geom, node.parent, "新边界", tolerance_m2)
    children = list(GridNode.objects.filter(parent=node).exclude(geom_wkt="").order_by("code").values_list("code", "name", "geom_wkt"))
    left_out = []
    for (code, child_name, _), child_geom in zip(children, shapely.from_wkt([c[2] for c in children]) if children else []):
        a = _outside_m2(child_geom, geom)
        if a > tolerance_m2:
            left_out.append(f"{code}（{child_name}）约 {a:,.0f} m²")
    if left_out:
        shown = "、".join(left_out[:10]) + (f" 等 {len(left_out)} 个" if len(left_out) > 10 else "")
        raise GridEditError(f"新边界不再包含下级网格：{shown}（允许 {tolerance_m2:g} m²）；请先改下级网格，或放大边界")
    if (name or "").strip():
        node.name = name.strip()[:100]
    return save_node(node, geom)


# --- import -------------------------------------------------------------------------------


class GridImportError(ValueError):
    """The file was rejected; `errors` lists every problem found (nothing was saved)."""

    MAX_SHOWN = 30

    def __init__(self, errors: list[str]):
        self.errors = errors
        shown = errors[: self.MAX_SHOWN]
        more = f"\n… and {len(errors) - len(shown)} more" if len(errors) > len(shown) else ""
        super().__init__(f"{len(errors)} error(s), nothing imported:\n" + "\n".join(shown) + more)


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Feature:
    index: int
    name: str
    code: str | None
    geom: BaseGeometry
    parent: GridNode | None = None


def read_geojson(path) -> dict:
    try:
        with open(path, encoding="utf-8-sig") as fh:
            return json.load(fh)
    except json.JSONDecodeError as e:
        raise GridImportError([f"{path}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})"]) from e


def _polygonal(geom):
    """The polygonal part of a geometry (make_valid may return a collection with lines)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def reading_order(points: list[tuple[float, float]], heights: list[float]) -> list[int]:
    """Indices of `points` (lon, lat) in the numbering order of docs/architecture.md: west→east
    along a row, rows north→south. A point starts a new row when it lies more than half the
    median feature height south of the first point of the current row."""
    if not points:
        return []
    tol = 0.5 * statistics.median(heights) if heights else 0.0
    by_lat = sorted(range(len(points)), key=lambda i: (-points[i][1], points[i][0]))
    rows, row, top = [], [], None
    for i in by_lat:
        if top is not None and top - points[i][1] > tol:
            rows.append(row)
            row, top = [], None
        if top is None:
            top = points[i][1]
        row.append(i)
    rows.append(row)
    return [i for r in rows for i in sorted(r, key=lambda i: (points[i][0], -points[i][1]))]


def child_code(parent: GridNode | None, level: int, seq: int) -> str:
    """The code of the `seq`-th (1-based) child of `parent` at `level` (docs/architecture.md): the
    national administrative division codes (6-digit county, 3-digit street or town, 3-digit
    community or village) and the grid's sequence after them; finer levels append 3 digits."""
    if not 1 <= seq <= 999:
        raise ValueError(f"sequence {seq} out of 001..999")
    street = street_level()
    if level < street:
        raise ValueError("the codes of the levels above the streets are given, not generated; give a code field")
    if level == street:
        county = parent.code[:6] if parent is not None else settings.GRID_DISTRICT_CODE
        return f"{county}{seq:03d}000000"
    if level in (street + 1, street + 2):
        if len(parent.code) != 15 or not parent.code.isdigit():
            raise ValueError(
                f"parent {parent.code} does not follow the 15-digit code scheme, so codes cannot be generated; give a code field"
            )
        return parent.code[:9] + f"{seq:03d}000" if level == street + 1 else parent.code[:12] + f"{seq:03d}"
    return f"{parent.code}{seq:03d}"


# --- a root above the streets ---------------------------------------------------------------


class RootError(ValueError):
    pass


def path_fields():
    """(model, field name) of every stored copy of a grid path in the project: the character
    fields named `path` or `*_path` (GridNode's own `path` aside), found from the models so that
    a new app's copies follow their grids without registering anywhere."""
    from django.apps import apps
    from django.db import models

    out = []
    for model in apps.get_models():
        if model is GridNode or model._meta.proxy or not model._meta.managed:
            continue
        for f in model._meta.concrete_fields:
            if isinstance(f, models.CharField) and not f.choices and (f.name == "path" or f.name.endswith("_path")):
                out.append((model, f.name))
    return out


def path_list_fields():
    """(model, field name) of the JSON lists of grid paths (`*_paths`)."""
    from django.apps import apps
    from django.db import models

    return [(m, f.name) for m in apps.get_models() for f in m._meta.concrete_fields
            if isinstance(f, models.JSONField) and f.name.endswith("_paths")]


def repath(old_prefix: str, new_prefix: str) -> int:
    """Every stored copy of a path under `old_prefix` now reads `new_prefix` instead (inside the
    caller's transaction); returns the rows changed."""
    from django.db.models import CharField, F, Value
    from django.db.models.functions import Concat, Substr

    n = 0
    for model, name in path_fields():
        n += model._base_manager.filter(**{f"{name}__startswith": old_prefix}).update(
            **{name: Concat(Value(new_prefix), Substr(F(name), len(old_prefix) + 1), output_field=CharField())})
    for model, name in path_list_fields():
        batch = []
        for obj in model._base_manager.exclude(**{name: []}).exclude(**{f"{name}__isnull": True}).only("pk", name).iterator(2000):
            paths = getattr(obj, name)
            if isinstance(paths, list) and any(isinstance(p, str) and p.startswith(old_prefix) for p in paths):
                setattr(obj, name, [new_prefix + p[len(old_prefix):] if isinstance(p, str) and p.startswith(old_prefix) else p
                                    for p in paths])
                batch.append(obj)
        model._base_manager.bulk_update(batch, [name], batch_size=1000)
        n += len(batch)
    return n


def add_root(*, code: str, name: str, kind: str = "district", actor=None) -> GridNode:
    """Put a district (or a city) above the streets of a one-street install, in one transaction:
    the new root's code is the county's 6 digits followed by zeros; every node moves one level
    down and every stored grid path gains the root's code in front; the leaders and
    administrators who served the street with no duty get a duty on it (their scope stays the
    street: accounts.scope); the scheme's level names record the new level. Refused when the
    install already has a root above its streets or a street lies outside the county."""
    from django.db.models import F, Value
    from django.db.models.functions import Concat

    from gridgov.accounts.models import STREET_WIDE_ROLES, Duty, GridAssignment, User
    from gridgov.core import history

    code, name, kind = (code or "").strip(), (name or "").strip(), (kind or "district").strip()
    if len(code) == 6 and code.isdigit():
        code += "0" * 9
    if len(code) != 15 or not code.isdigit() or code[6:] != "0" * 9:
        raise RootError(f"code {code!r}: give the county's 6-digit administrative division code (e.g. 110106)")
    if not name:
        raise RootError("name: give the district's or city's name")
    if kind not in ("district", "city"):
        raise RootError(f"kind {kind!r}: district or city")
    with transaction.atomic():
        GeoVersion.objects.get_or_create(pk=1)
        gv = GeoVersion.objects.select_for_update().get(pk=1)
        if gv.above:
            raise RootError(f"the grids already have a root above the streets ({', '.join(gv.above)})")
        roots = list(GridNode.objects.filter(parent__isnull=True).order_by("code"))
        if not roots:
            raise RootError("there are no grids to put under a root; import the streets first")
        outside = [r.code for r in roots if not r.code.startswith(code[:6])]
        if outside:
            raise RootError(f"streets {', '.join(outside)} do not lie in county {code[:6]}")
        if GridNode.objects.filter(code=code).exists():
            raise RootError(f"code {code} is taken")
        street_ids = [r.pk for r in roots]
        GridNode.objects.update(level=F("level") + 1)
        repath("/", f"/{code}/")
        GridNode.objects.update(path=Concat(Value(f"/{code}"), F("path")))
        geoms = [g for g in shapely.from_wkt([r.geom_wkt for r in roots if r.geom_wkt]) if g is not None]
        root = GridNode(code=code, name=name[:100], level=0, kind=kind, parent=None)
        root = save_node(root, shapely.union_all(geoms) if geoms else None)
        GridNode.objects.filter(pk__in=street_ids).update(parent=root)
        levels_shifted.send(sender=GridNode, shift=1)
        served = set(GridAssignment.objects.in_force().values_list("user_id", flat=True))
        if len(roots) == 1:
            for u in User.objects.filter(role__in=STREET_WIDE_ROLES, is_active=True).exclude(pk__in=served):
                GridAssignment.objects.create(user=u, node=roots[0], duty=Duty.STAFF)
        gv.above = [kind]
        gv.save(update_fields=["above"])
        GeoVersion.bump()
        history.record(actor, "grids", root, "create", {"root": code, "streets": [r.code for r in roots]},
                       grid_path=root.path, note="a root above the streets")
        from gridgov.core import levels as core_levels

        core_levels.forget()
        transaction.on_commit(core_levels.forget)
        transaction.on_commit(invalidate_locator)
    return root


def _parse_features(data, name_field, code_field, crs, errors, warnings) -> list[_Feature]:
    if isinstance(data, dict) and data.get("type") == "Feature":
        raw = [data]
    elif isinstance(data, dict) and data.get("type") == "FeatureCollection" and isinstance(data.get("features"), list):
        raw = data["features"]
    else:
        errors.append("the file is not a GeoJSON FeatureCollection (no 'features' list)")
        return []
    if not raw:
        errors.append("the FeatureCollection has no features")
    out = []
    for i, feat in enumerate(raw):
        where = f"features[{i}]"
        if not isinstance(feat, dict):
            errors.append(f"{where}: not a GeoJSON Feature")
            continue
        props = feat.get("properties") or {}
        name = props.get(name_field)
        if name is None:
            errors.append(f"{where}: field {name_field!r} missing (fields: {', '.join(sorted(props)) or 'none'})")
        elif not str(name).strip():
            errors.append(f"{where}: field {name_field!r} is empty")
        elif len(str(name).strip()) > 100:
            errors.append(f"{where}: field {name_field!r} longer than 100 characters")
        name = str(name).strip() if name is not None else ""
        code = None
        if code_field:
            value = props.get(code_field)
            if value is None or not str(value).strip():
                errors.append(f"{where} ({name}): field {code_field!r} missing or empty")
            elif len(str(value).strip()) > 30:
                errors.append(f"{where} ({name}): field {code_field!r} longer than 30 characters")
            else:
                code = str(value).strip()
        gj = feat.get("geometry")
        if not gj:
            errors.append(f"{where} ({name}): no geometry")
            continue
        try:
            geom = shape(gj)
        except Exception as e:  # shapely raises several types on malformed coordinates
            errors.append(f"{where} ({name}): unreadable geometry ({e})")
            continue
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            errors.append(f"{where} ({name}): geometry is a {geom.geom_type}, expected Polygon or MultiPolygon")
            continue
        if geom.is_empty:
            errors.append(f"{where} ({name}): empty geometry")
            continue
        if not in_degrees(geom):
            errors.append(f"{where} ({name}): coordinates are not longitude/latitude degrees (bounds {geom.bounds})")
            continue
        if crs != "wgs84":
            geom = shapely.transform(geom, lambda xy: np.column_stack(to_wgs84_np(xy[:, 0], xy[:, 1], crs)))
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            fixed = _polygonal(shapely.make_valid(geom))
            if fixed.is_empty:
                errors.append(f"{where} ({name}): invalid geometry ({reason}) and make_valid leaves no area")
                continue
            warnings.append(
                f"{where} ({name}): invalid geometry ({reason}) fixed with make_valid; "
                f"area {area_m2(geom):,.1f} → {area_m2(fixed):,.1f} m²"
            )
            geom = fixed
        out.append(_Feature(i, name, code, geom))
    return out


def _containing(nodes: list[GridNode], geoms, points) -> list[GridNode | None]:
    """For each point the node covering it, lowest code first (the locator's tie-break)."""
    order = sorted(range(len(nodes)), key=lambda i: nodes[i].code)
    nodes = [nodes[i] for i in order]
    tree = STRtree([geoms[i] for i in order])
    result = [None] * len(points)
    if not nodes or not points:
        return result
    inp, idx = tree.query(shapely.points(points), predicate="covered_by")
    for p, n in sorted(zip(inp.tolist(), idx.tolist())):
        if result[p] is None:
            result[p] = nodes[n]
    return result


def import_grids(
    data,
    level,
    name_field: str,
    code_field: str | None = None,
    parent_code: str | None = None,
    crs: str = "wgs84",
    progress=None,
) -> ImportResult:
    """Import the polygons of a GeoJSON FeatureCollection as grids of one level, all or nothing.

    Without `parent_code`, each feature's parent is the node of the level above covering its
    representative point. Without `code_field`, codes are generated per parent in reading order
    (see `reading_order`, `child_code`). A feature whose code exists is updated. Raises
    GridImportError listing every problem (feature index and field) before anything is saved."""
    level = level_index(level)
    names = level_names()
    crs_key = (crs or "").lower()
    if crs_key not in CRS_NAMES:
        raise ValueError(f"unknown coordinate system {crs!r}; use one of {', '.join(CRS_NAMES)}")
    errors: list[str] = []
    result = ImportResult()
    features = _parse_features(data, name_field, code_field, crs_key, errors, result.warnings)

    # parents
    if parent_code and level == 0:
        errors.append(f"--parent {parent_code}: the street level (0) has no parent")
    elif parent_code:
        parent = GridNode.objects.filter(code=parent_code).first()
        if parent is None:
            errors.append(f"--parent {parent_code}: no such grid")
        elif parent.level != level - 1:
            errors.append(
                f"--parent {parent_code} is a {names[parent.level] if parent.level < len(names) else parent.level}, "
                f"but {names[level]} grids need a parent of level {level - 1}"
            )
        for f in features:
            f.parent = parent
    elif level > 0:
        above = list(GridNode.objects.filter(level=level - 1).exclude(geom_wkt=""))
        if not above:
            errors.append(f"no {names[level - 1]} grids with polygons exist to find parents in; import them first or give --parent")
        else:
            geoms = shapely.from_wkt([n.geom_wkt for n in above])
            points = [f.geom.representative_point().coords[0] for f in features]
            for f, parent in zip(features, _containing(above, geoms, points)):
                if parent is None:
                    p = f.geom.representative_point()
                    errors.append(
                        f"features[{f.index}] ({f.name}): no {names[level - 1]} contains its point "
                        f"({p.x:.6f}, {p.y:.6f}); give --parent or fix the polygon"
                    )
                f.parent = parent

    # codes
    if code_field:
        seen: dict[str, int] = {}
        for f in features:
            if f.code in seen:
                errors.append(f"features[{f.index}] ({f.name}): code {f.code} repeats features[{seen[f.code]}]")
            else:
                seen[f.code] = f.index
    elif not errors:
        groups: dict[int | None, list[_Feature]] = {}
        for f in features:
            groups.setdefault(f.parent.pk if f.parent else None, []).append(f)
        for group in groups.values():
            pts = [f.geom.representative_point().coords[0] for f in group]
            heights = [f.geom.bounds[3] - f.geom.bounds[1] for f in group]
            for seq, i in enumerate(reading_order(pts, heights), start=1):
                try:
                    group[i].code = child_code(group[i].parent, level, seq)
                except ValueError as e:
                    errors.append(f"features[{group[i].index}] ({group[i].name}): {e}")

    existing = {n.code: n for n in GridNode.objects.filter(code__in=[f.code for f in features if f.code])}
    for f in features:
        node = existing.get(f.code)
        if node is not None and node.level != level:
            errors.append(f"features[{f.index}] ({f.name}): code {f.code} already belongs to a grid of level {node.level} ({node.name})")
    if errors:
        raise GridImportError(errors)

    kind = KINDS_BY_LEVEL_NAME.get(names[level], "")
    with transaction.atomic():
        for done, f in enumerate(features, start=1):
            node = existing.get(f.code)
            if node is None:
                node = GridNode(code=f.code, level=level, kind=kind)
                result.created.append(f.code)
            else:
                if node.name != f.name:
                    result.warnings.append(f"features[{f.index}]: grid {f.code} renamed {node.name!r} → {f.name!r}")
                result.updated.append(f.code)
            node.name = f.name
            node.parent = f.parent
            save_node(node, f.geom)
            if progress:
                progress(done, len(features))
    return result


# --- export -------------------------------------------------------------------------------


def node_feature(node: GridNode, parent_code: str | None = None) -> dict:
    geom = node.geometry()
    if parent_code is None and node.parent_id:
        parent_code = node.parent.code
    return {
        "type": "Feature",
        "geometry": mapping(geom) if geom is not None else None,
        "properties": {
            "code": node.code,
            "name": node.name,
            "level": node.level,
            "level_name": node.level_name,
            "parent_code": parent_code,
            "area_m2": round(node.area_m2, 1) if node.area_m2 is not None else None,
        },
    }


def export_grids(queryset=None, level=None) -> dict:
    """A GeoJSON FeatureCollection (WGS-84) of the grids in `queryset` (default all), optionally of one level."""
    qs = GridNode.objects.all() if queryset is None else queryset
    if level is not None:
        qs = qs.filter(level=level_index(level))
    qs = qs.select_related("parent").order_by("level", "code")
    return {
        "type": "FeatureCollection",
        "features": [node_feature(n, n.parent.code if n.parent_id else None) for n in qs],
    }
