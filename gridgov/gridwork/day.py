"""The grid worker's day (日纪实): patrols, household visits, the needs heard, the day's record and
the visit plan of the special-care residents.

* A patrol (巡查) is started on the phone (one active patrol per worker: a database constraint);
  while the page is open it posts check-in points (`add_points`, idempotent for a re-sent batch:
  points not later than the last one are ignored); each point is placed in its finest grid by
  the geo locator; `distance_m` sums the great-circle legs between consecutive points, leaving
  out legs faster than MAX_SPEED_MS (GPS noise). `record_patrol` books a whole patrol at once
  (a phone that was offline; the demo).
* A visit (入户走访) records the house, who was met, the residents checked (`VisitResident`, with
  the special-care groups they were in at the time) and the needs heard (`Need`). A need becomes
  a case (`need_to_case`: filed through cases.services.submit_case, channel patrol, reported by
  the worker who heard it; a second tap returns the same case) or a service item (服务事项:
  `need_to_service`, then `complete_service`), or is closed with a reply (`close_need`).
* The day's record: `gathered(worker, day)` computes the day's figures from the data; the worker
  adds notes and photos (`save_log`) and submits it (`submit_log`: the figures are frozen).
* The visit plan: `due_visits(scope, as_of)` lists every special-care resident of the scope with
  their interval (GRIDWORK_VISIT_DAYS_<GROUP>, the shortest of their groups; GRIDWORK_VISIT_DAYS_ALONE
  when living alone), last visit, next due date and days overdue.

Who may do what (accounts.policy kind `gridwork`): create — record one's own patrols, visits and
needs in one's grids; update — turn a need into a service item, complete it, close a need
(leaders, community staff); the worker who heard a need may also turn it into a case. Every
state change: one transaction, one history row (core.history, kind "gridwork"), notifications on
commit. Every service takes `now=` (default the clock) so the demo can backdate."""

import uuid
from datetime import date, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.accounts import policy
from gridgov.core import history

from . import conf, periods
from .errors import Conflict, Forbidden, GridworkError, NotFound  # noqa: F401 (the modules' errors)
from .models import POLICY_KIND, DailyLog, LogPhoto, Need, Patrol, PatrolPoint, Visit, VisitResident

KIND = POLICY_KIND
HISTORY_KIND = "gridwork"
#: a leg between two check-ins faster than this (m/s) is GPS noise, not walked
MAX_SPEED_MS = 15.0
#: at most this many points in one posted batch / one uploaded patrol
MAX_POINTS = 2000
#: the case actions that count as handling a case (the daily log's "cases handled")
HANDLING_ACTIONS = ("accept", "grab", "arrive", "resolve", "verify", "rework", "close", "return")
#: the namespace of the idempotency keys of the cases filed from needs
NEED_CASE_NS = uuid.UUID("6b1f0c2e-4d1a-5e7b-9a3c-0d2e1f4a5b6c")


#: the day's errors are grid work's (gridwork.errors)
DayError = GridworkError


# --- helpers ---------------------------------------------------------------------------------


def _now(now):
    return now or timezone.now()


def local_day(moment) -> date:
    return timezone.localtime(moment).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def _record(actor, obj, action, changes=None, *, grid_path="", note="", at=None):
    return history.record(actor, HISTORY_KIND, obj, action, changes or {}, grid_path=grid_path, note=note, at=at)


def _notify(user, kind, title, body="", at=None):
    from gridgov.cases import notify

    if user is not None:  # outbox rows in this transaction, delivered on commit (cases.notify)
        notify.queue(user, kind, title, body, at=at)


def _require(user, action: str, path: str):
    if not policy.allows(user, KIND, action, path):
        raise Forbidden(_("您没有权限进行此操作"))


def _require_record(user, path: str, day: date):
    """`user` may record on `path` for `day`: gridwork × create over the grid now, or (a record
    booked late: an offline phone, a worker since moved on) a duty on the grid that day."""
    if policy.allows(user, KIND, "create", path):
        return
    if policy.reach(user, KIND, "create") != policy.NEVER:
        one = periods.Period(day.isoformat(), "day", day, day)
        if any(path.startswith(s.path) for s in periods.spans(one, users=[user.pk])):
            return
    raise Forbidden(_("您没有权限进行此操作"))


def _check_version(obj, expected):
    if expected is not None and int(expected) != obj.version:
        raise Conflict(_("记录已被他人修改，请刷新后重试"), code="stale")


def _as_datetime(value, default):
    if value in (None, ""):
        return default
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    if isinstance(value, (int, float)):  # epoch milliseconds (navigator.geolocation's timestamp)
        return datetime.fromtimestamp(value / 1000, tz=timezone.get_current_timezone())
    from django.utils.dateparse import parse_datetime

    parsed = parse_datetime(str(value))
    if parsed is None:
        raise DayError(_("时间格式无效：%(v)s"), code="time", v=value)
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def to_wgs(lon, lat, crs="wgs84") -> tuple[float, float]:
    """(lon, lat) in WGS 84 of a phone's position; DayError for nonsense."""
    from gridgov.geo.coords import to_wgs84

    try:
        x, y = to_wgs84(float(lon), float(lat), crs or "wgs84")
    except (TypeError, ValueError, OverflowError):
        raise DayError(_("位置无效"), code="position") from None
    if not (-180 <= x <= 180 and -90 <= y <= 90):
        raise DayError(_("位置无效"), code="position")
    return x, y


def _node(node_id):
    from gridgov.geo.models import GridNode

    return GridNode.objects.filter(pk=node_id).first() if node_id else None


# --- patrols ---------------------------------------------------------------------------------


def serving_node(worker, day: date):
    node = periods.serving(worker, day)
    if node is None:
        raise Forbidden(_("您当前没有网格员或网格长职责，不能巡查"), code="no_duty")
    return node


def start_patrol(worker, lon=None, lat=None, crs: str = "wgs84", *, accuracy=None, now=None) -> Patrol:
    """Start a patrol of the grid `worker` serves; with a position, its first check-in. Refused
    while the worker has an active patrol (Conflict)."""
    now = _now(now)
    day = local_day(now)
    node = serving_node(worker, day)
    _require(worker, "create", node.path)
    if Patrol.objects.filter(worker=worker, state=Patrol.State.ACTIVE).exists():
        raise Conflict(_("您已有进行中的巡查，请先结束"), code="active")
    try:
        with transaction.atomic():
            patrol = Patrol.objects.create(worker=worker, grid=node, grid_path=node.path, started_at=now, day=day)
            _record(worker, patrol, "start", {"state": [None, "active"]}, grid_path=node.path, at=now)
            if lon is not None and lat is not None:
                _append(patrol, [(lon, lat, crs, now, accuracy)], now)
    except IntegrityError:  # two starts at once: the constraint keeps one
        raise Conflict(_("您已有进行中的巡查，请先结束"), code="active") from None
    return patrol


def _clean_points(points, now) -> list[tuple[datetime, float, float, float | None]]:
    out = []
    pts = list(points or [])
    if len(pts) > MAX_POINTS:
        raise DayError(_("一次最多上传 %(n)s 个点"), code="points", n=MAX_POINTS)
    for p in pts:
        if isinstance(p, dict):
            lon, lat, crs, at, acc = p.get("lon"), p.get("lat"), p.get("crs", "wgs84"), p.get("at"), p.get("accuracy")
        else:
            p = tuple(p) + (None,) * (5 - len(p))
            lon, lat, crs, at, acc = p[:5]
        x, y = to_wgs(lon, lat, crs or "wgs84")
        at = _as_datetime(at, now)
        try:
            acc = float(acc) if acc not in (None, "") else None
        except (TypeError, ValueError):
            acc = None
        out.append((at, x, y, acc))
    out.sort(key=lambda t: t[0])
    return out


def _route(pts, last=None):
    """(point rows without a patrol, grid paths in order, metres) of cleaned points `pts`
    following `last` (at, lon, lat) or nothing: legs faster than MAX_SPEED_MS are GPS noise."""
    from gridgov.geo.locator import get_locator
    from gridgov.geo.spatial import haversine_m

    refs = get_locator().finest_many([p[1] for p in pts], [p[2] for p in pts]) if pts else []
    rows, paths, distance, prev = [], [], 0.0, last
    for (at, x, y, acc), ref in zip(pts, refs):
        rows.append(PatrolPoint(at=at, lon=x, lat=y, accuracy_m=acc, grid_id=ref.id if ref else None))
        if ref is not None and ref.path not in paths:
            paths.append(ref.path)
        if prev is not None:
            dt = (at - prev[0]).total_seconds()
            d = haversine_m(prev[1], prev[2], x, y)
            if dt > 0 and d / dt <= MAX_SPEED_MS:
                distance += d
        prev = (at, x, y)
    return rows, paths, distance


def _new_points(pts, after=None):
    """The points later than `after` (a re-sent batch), one per instant."""
    out, seen = [], set()
    for p in pts:
        if (after is None or p[0] > after) and p[0] not in seen:
            seen.add(p[0])
            out.append(p)
    return out


def _append(patrol: Patrol, points, now) -> int:
    """Append check-ins to `patrol` (locked by the caller): the points later than its last one,
    placed in their finest grids; distance, count and grids updated. Returns how many were kept."""
    last = patrol.points.order_by("-at", "-id").first()
    pts = _new_points(_clean_points(points, now), last.at if last is not None else None)
    if not pts:
        return 0
    rows, new_paths, distance = _route(pts, (last.at, last.lon, last.lat) if last is not None else None)
    for r in rows:
        r.patrol = patrol
    PatrolPoint.objects.bulk_create(rows)
    paths = list(patrol.grid_paths or [])
    paths += [p for p in new_paths if p not in paths]
    patrol.distance_m = round(patrol.distance_m + distance, 1)
    patrol.point_count += len(rows)
    patrol.grid_paths = paths
    patrol.version += 1
    patrol.save(update_fields=["distance_m", "point_count", "grid_paths", "version"])
    return len(rows)


def _locked(patrol) -> Patrol:
    return Patrol.objects.select_for_update().get(pk=patrol.pk)


def add_points(patrol: Patrol, points, actor, *, now=None) -> tuple[Patrol, int]:
    """Append the check-ins a phone posted (lon, lat, crs, at, accuracy each) to an active patrol
    of `actor`'s; returns (patrol, points kept). A re-sent batch keeps nothing new."""
    now = _now(now)
    with transaction.atomic():
        p = _locked(patrol)
        if p.worker_id != actor.pk:
            raise Forbidden(_("只能记录本人的巡查"))
        if p.state != Patrol.State.ACTIVE:
            raise Conflict(_("巡查已结束"), code="ended")
        kept = _append(p, points, now)
    return p, kept


def end_patrol(patrol: Patrol, actor, note: str = "", *, points=(), now=None) -> Patrol:
    """End `actor`'s active patrol (with its last check-ins, if any)."""
    now = _now(now)
    with transaction.atomic():
        p = _locked(patrol)
        if p.worker_id != actor.pk:
            raise Forbidden(_("只能结束本人的巡查"))
        if p.state != Patrol.State.ACTIVE:
            raise Conflict(_("巡查已结束"), code="ended")
        if points:
            _append(p, points, now)
        p.state, p.ended_at, p.note = Patrol.State.ENDED, now, (note or "").strip()
        p.version += 1
        p.save(update_fields=["state", "ended_at", "note", "version"])
        _record(actor, p, "end", {"state": ["active", "ended"], "distance_m": p.distance_m,
                                  "point_count": p.point_count}, grid_path=p.grid_path, at=now)
    return p


def cancel_patrol(patrol: Patrol, actor, reason: str = "", *, now=None) -> Patrol:
    """Void `actor`'s active patrol (started by mistake): it counts nowhere."""
    now = _now(now)
    with transaction.atomic():
        p = _locked(patrol)
        if p.worker_id != actor.pk:
            raise Forbidden(_("只能作废本人的巡查"))
        if p.state != Patrol.State.ACTIVE:
            raise Conflict(_("巡查已结束"), code="ended")
        p.state, p.ended_at, p.note = Patrol.State.CANCELLED, now, (reason or "").strip()
        p.version += 1
        p.save(update_fields=["state", "ended_at", "note", "version"])
        _record(actor, p, "cancel", {"state": ["active", "cancelled"]}, grid_path=p.grid_path, note=reason, at=now)
    return p


def record_patrol(worker, points, started_at, ended_at, note: str = "", *, now=None) -> Patrol:
    """Book a whole patrol at once (a phone that was offline uploads it; the demo's batch path):
    ended, with its points. Uploading the same patrol again (same start) returns the first."""
    now = _now(now)
    started_at = _as_datetime(started_at, None)
    ended_at = _as_datetime(ended_at, None)
    if started_at is None or ended_at is None or ended_at < started_at:
        raise DayError(_("巡查的开始和结束时间无效"), code="times")
    if ended_at > now + timedelta(minutes=5):
        raise DayError(_("巡查的结束时间不能晚于现在"), code="times")
    day = local_day(started_at)
    node = serving_node(worker, day)
    _require_record(worker, node.path, day)
    with transaction.atomic():
        same = Patrol.objects.filter(worker=worker, started_at=started_at).exclude(state=Patrol.State.CANCELLED).first()
        if same is not None:
            return same
        p = Patrol.objects.create(worker=worker, grid=node, grid_path=node.path, started_at=started_at, day=day,
                                  state=Patrol.State.ENDED, ended_at=ended_at, note=(note or "").strip())
        _append(p, [x if isinstance(x, dict) else tuple(x) for x in points], started_at)
        _record(worker, p, "upload", {"state": [None, "ended"], "distance_m": p.distance_m,
                                      "point_count": p.point_count}, grid_path=node.path, at=now)
    return p


def _history_rows(actor, objs, action, changes_of, paths, ats):
    """core.history rows for a batch (one per record, as history.record writes them)."""
    from gridgov.core.models import ChangeRecord

    name = getattr(actor, "display_name", "") or getattr(actor, "username", "")
    ChangeRecord.objects.bulk_create([
        ChangeRecord(at=at, actor=actor, actor_name=name, kind=HISTORY_KIND, object_id=str(o.pk),
                     object_repr=str(o)[:200], grid_path=path, action=action, changes=changes_of(o), note="")
        for o, path, at in zip(objs, paths, ats)], batch_size=1000)


def record_patrols(worker, patrols, *, now=None) -> list[Patrol]:
    """Book many whole patrols of one worker at once (the batch path of `record_patrol`: a phone
    that was offline for days; the demo's year): each {"started_at", "ended_at", "points", "note"},
    in the grid the worker served that day (the duty history). Patrols already booked (same
    start) are skipped. One transaction; one history row per patrol."""
    now = _now(now)
    items = []
    for it in patrols:
        st, en = _as_datetime(it["started_at"], None), _as_datetime(it["ended_at"], None)
        if st is None or en is None or en < st or en > now + timedelta(minutes=5):
            raise DayError(_("巡查的开始和结束时间无效"), code="times")
        items.append((st, en, it.get("note", ""), _new_points(_clean_points(it.get("points") or [], st))))
    if not items:
        return []
    first, last = min(local_day(i[0]) for i in items), max(local_day(i[0]) for i in items)
    spans = [s for s in periods.spans(periods.Period("batch", "batch", first, last), users=[worker.pk])]
    nodes = {}
    with transaction.atomic():
        done = set(Patrol.objects.filter(worker=worker, started_at__in=[i[0] for i in items])
                   .exclude(state=Patrol.State.CANCELLED).values_list("started_at", flat=True))
        objs, point_rows = [], []
        for st, en, note, pts in items:
            if st in done:
                continue
            d = local_day(st)
            span = periods.span_at(spans, d)
            if span is None:
                raise Forbidden(_("您当日没有网格职责"), code="no_duty")
            if span.node_id not in nodes:  # the duty of the day places it
                if policy.reach(worker, KIND, "create") == policy.NEVER:
                    raise Forbidden(_("您没有权限进行此操作"))
                nodes[span.node_id] = span.path
            rows, paths, distance = _route(pts)
            objs.append(Patrol(worker=worker, grid_id=span.node_id, grid_path=span.path, started_at=st, day=d,
                               state=Patrol.State.ENDED, ended_at=en, note=(note or "").strip(),
                               distance_m=round(distance, 1), point_count=len(rows), grid_paths=paths))
            point_rows.append(rows)
            done.add(st)
        Patrol.objects.bulk_create(objs, batch_size=500)
        flat = []
        for p, rows in zip(objs, point_rows):
            for r in rows:
                r.patrol = p
            flat.extend(rows)
        PatrolPoint.objects.bulk_create(flat, batch_size=2000)
        _history_rows(worker, objs, "upload", lambda o: {"state": [None, "ended"], "distance_m": o.distance_m,
                                                          "point_count": o.point_count},
                      [o.grid_path for o in objs], [now] * len(objs))
    return objs


def active_patrol(worker) -> Patrol | None:
    return Patrol.objects.filter(worker=worker, state=Patrol.State.ACTIVE).first()


def patrol_geojson(patrol: Patrol) -> dict:
    """The route as a GeoJSON Feature (a LineString; a Point for one check-in)."""
    coords = [[p.lon, p.lat] for p in patrol.points.order_by("at", "id")]
    if len(coords) == 1:
        geom = {"type": "Point", "coordinates": coords[0]}
    else:
        geom = {"type": "LineString", "coordinates": coords}
    return {"type": "Feature", "geometry": geom,
            "properties": {"id": patrol.pk, "distance_m": patrol.distance_m, "point_count": patrol.point_count}}


def route_svg(patrol: Patrol, width: int = 320, height: int = 220) -> dict:
    """The route as SVG polyline points scaled into a box (no map tiles): {"points": "x,y ...",
    "start": (x, y), "end": (x, y)} or {} without points."""
    import math

    pts = list(patrol.points.order_by("at", "id").values_list("lon", "lat"))
    if not pts:
        return {}
    k = math.cos(math.radians(pts[0][1]))
    xs, ys = [p[0] * k for p in pts], [p[1] for p in pts]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    span = max(x1 - x0, y1 - y0, 1e-6)
    pad = 10
    s = min((width - 2 * pad), (height - 2 * pad)) / span
    out = [(round(pad + (x - x0) * s, 1), round(height - pad - (y - y0) * s, 1)) for x, y in zip(xs, ys)]
    return {"points": " ".join(f"{x},{y}" for x, y in out), "start": out[0], "end": out[-1],
            "width": width, "height": height}


# --- visits and needs ------------------------------------------------------------------------


def _house_point(house):
    a = house.address
    return (a.lon, a.lat) if a.lon is not None and a.lat is not None else (None, None)


def record_visit(worker, house, outcome: str = Visit.Outcome.MET, met: str = "", note: str = "", residents=(),
                 needs=(), lon=None, lat=None, crs: str = "wgs84", patrol=None, *, now=None) -> Visit:
    """Record a household visit by `worker` to `house` (in one of the worker's grids): the
    residents checked [(resident, concern)], the needs heard [(kind, text, resident or None)]."""
    from gridgov.core.freetext import mask_personal

    now = _now(now)
    if house is None:
        raise DayError(_("请选择走访的房屋"), code="house")
    grid = house.grid
    path = grid.path if grid is not None else ""
    _require_record(worker, path, local_day(now))
    if outcome not in Visit.Outcome.values:
        raise DayError(_("走访结果无效"), code="outcome")
    if patrol is not None and patrol.worker_id != worker.pk:
        raise Forbidden(_("只能关联本人的巡查"))
    checked = []
    seen = set()
    for item in residents or ():
        r, concern = (item if isinstance(item, (tuple, list)) else (item, ""))
        if r.house_id != house.pk:
            raise DayError(_("%(name)s 不是该房屋的居民"), code="resident", name=r.name)
        if r.pk not in seen:
            seen.add(r.pk)
            checked.append((r, (concern or "").strip()[:200]))
    heard = []
    for item in needs or ():
        kind, text, resident = (tuple(item) + (None,) * 3)[:3]
        text = (text or "").strip()
        if not text:
            continue
        kind = kind or Need.Kind.OTHER
        if kind not in Need.Kind.values:
            raise DayError(_("需求类别无效：%(k)s"), code="kind", k=kind)
        if resident is not None and resident.house_id != house.pk:
            raise DayError(_("%(name)s 不是该房屋的居民"), code="resident", name=resident.name)
        heard.append((kind, text, resident))
    if lon is not None and lat is not None:
        lon, lat = to_wgs(lon, lat, crs)
    else:
        lon, lat = _house_point(house)
    with transaction.atomic():
        visit = Visit.objects.create(worker=worker, house=house, grid=grid, grid_path=path, at=now, day=local_day(now),
                                     outcome=outcome, met=mask_personal((met or "").strip())[:200],
                                     note=mask_personal((note or "").strip()), lon=lon, lat=lat, patrol=patrol,
                                     created_at=now)
        VisitResident.objects.bulk_create([
            VisitResident(visit=visit, resident=r, groups=list(r.special_care), concern=c, at=now, worker=worker)
            for r, c in checked])
        Need.objects.bulk_create([
            Need(visit=visit, worker=worker, resident=res, grid_path=path, kind=k, text=mask_personal(t), heard_at=now)
            for k, t, res in heard])
        _record(worker, visit, "visit", {"residents": [r.pk for r, _c in checked], "needs": len(heard),
                                         "outcome": outcome}, grid_path=path, at=now)
    return visit


def record_visits(worker, visits, *, now=None) -> list[Visit]:
    """Book many visits of one worker at once (the batch path of `record_visit`: a phone's
    offline queue; the demo's year): each {"house", "at", "outcome", "met", "note", "residents":
    [(resident, concern)], "needs": [(kind, text, resident)]}, checked as `record_visit` checks
    one. One transaction; one history row per visit."""
    from gridgov.core.freetext import mask_personal

    now = _now(now)
    allowed, objs, vrs, needs = set(), [], [], []
    for it in visits:
        house, at = it["house"], _as_datetime(it.get("at"), now)
        path = house.grid.path if house.grid_id else ""
        if (path, local_day(at)) not in allowed:
            _require_record(worker, path, local_day(at))
            allowed.add((path, local_day(at)))
        outcome = it.get("outcome") or Visit.Outcome.MET
        if outcome not in Visit.Outcome.values:
            raise DayError(_("走访结果无效"), code="outcome")
        checked = [(r, c) for r, c in it.get("residents") or ()]
        heard = [(k or Need.Kind.OTHER, (t or "").strip(), r) for k, t, r in it.get("needs") or () if (t or "").strip()]
        for r in [r for r, _c in checked] + [r for _k, _t, r in heard if r is not None]:
            if r.house_id != house.pk:
                raise DayError(_("%(name)s 不是该房屋的居民"), code="resident", name=r.name)
        lon, lat = _house_point(house)
        objs.append(Visit(worker=worker, house=house, grid_id=house.grid_id, grid_path=path, at=at, day=local_day(at),
                          outcome=outcome, met=mask_personal((it.get("met") or "").strip())[:200],
                          note=mask_personal((it.get("note") or "").strip()), lon=lon, lat=lat, created_at=now))
        vrs.append(checked)
        needs.append(heard)
    with transaction.atomic():
        Visit.objects.bulk_create(objs, batch_size=500)
        VisitResident.objects.bulk_create([
            VisitResident(visit=v, resident=r, groups=list(r.special_care), concern=(c or "")[:200], at=v.at, worker=worker)
            for v, checked in zip(objs, vrs) for r, c in checked], batch_size=2000)
        Need.objects.bulk_create([
            Need(visit=v, worker=worker, resident=r, grid_path=v.grid_path, kind=k, text=mask_personal(t), heard_at=v.at)
            for v, heard in zip(objs, needs) for k, t, r in heard], batch_size=1000)
        _history_rows(worker, objs, "visit", lambda o: {"outcome": o.outcome}, [o.grid_path for o in objs],
                      [o.at for o in objs])
    return objs


def _need_locked(need) -> Need:
    return Need.objects.select_for_update().get(pk=need.pk)


def may_turn_into_case(user, need) -> bool:
    return need.worker_id == user.pk or policy.allows(user, KIND, "update", need.grid_path)


def may_manage_need(user, need) -> bool:
    return policy.allows(user, KIND, "update", need.grid_path)


def need_case_key(need) -> uuid.UUID:
    return uuid.uuid5(NEED_CASE_NS, f"need:{need.pk}")


def need_to_case(need: Need, actor, *, now=None):
    """Turn a heard need into a case (one tap): filed through cases.services.submit_case on the
    channel patrol, reported by the worker who heard it, at the visit's house. A second tap (or
    two at once) returns the same case."""
    from gridgov.cases import services as cases

    now = _now(now)
    if not may_turn_into_case(actor, need):
        raise Forbidden(_("您没有权限进行此操作"))
    with transaction.atomic():
        n = _need_locked(need)
        if n.case_id:
            return n.case
        if n.state != Need.State.HEARD:
            raise Conflict(_("该需求已转办或已答复"), code="state")
        visit = n.visit
        lon = lat = None
        grid = None
        address = ""
        if visit is not None and visit.house_id:
            lon, lat = _house_point(visit.house)
            grid = visit.house.grid or visit.grid
            address = visit.house.address.text
        elif visit is not None:
            grid = visit.grid
        text = f"【{Need.Kind(n.kind).label}】{n.text}"
        try:
            case, _created = cases.submit_case(
                reporter=n.worker, entered_by=actor, channel="patrol", text=text, lon=lon, lat=lat, grid=grid,
                address=address, idempotency_key=need_case_key(n), now=now)
        except cases.InvalidInput:
            if lon is None:
                raise
            # the house's point lies outside every grid: the house's grid places it
            case, _created = cases.submit_case(
                reporter=n.worker, entered_by=actor, channel="patrol", text=text, grid=grid, address=address,
                idempotency_key=need_case_key(n), now=now)
        n.case, n.state = case, Need.State.CASE
        n.version += 1
        n.save(update_fields=["case", "state", "version"])
        _record(actor, n, "to_case", {"state": ["heard", "case"], "case": case.number}, grid_path=n.grid_path, at=now)
    need.refresh_from_db()
    return case


def need_to_service(need: Need, actor, provider: str, *, version=None, now=None) -> Need:
    """Turn a heard need into a service item (服务事项: the community arranges help)."""
    now = _now(now)
    if not may_manage_need(actor, need):
        raise Forbidden(_("您没有权限进行此操作"))
    provider = (provider or "").strip()
    if not provider:
        raise DayError(_("请填写服务提供方"), code="provider")
    with transaction.atomic():
        n = _need_locked(need)
        _check_version(n, version)
        if n.state != Need.State.HEARD:
            raise Conflict(_("该需求已转办或已答复"), code="state")
        n.state, n.provider = Need.State.SERVICE, provider[:100]
        n.version += 1
        n.save(update_fields=["state", "provider", "version"])
        _record(actor, n, "to_service", {"state": ["heard", "service"], "provider": provider},
                grid_path=n.grid_path, at=now)
        if n.worker_id != actor.pk:
            _notify(n.worker, "gridwork_need", str(_("您收集的需求已转为服务事项")), n.text[:60], at=now)
    return n


def complete_service(need: Need, actor, result: str, *, version=None, now=None) -> Need:
    """A service item done, with what was done."""
    now = _now(now)
    if not may_manage_need(actor, need):
        raise Forbidden(_("您没有权限进行此操作"))
    result = (result or "").strip()
    if not result:
        raise DayError(_("请填写服务结果"), code="result")
    with transaction.atomic():
        n = _need_locked(need)
        _check_version(n, version)
        if n.state != Need.State.SERVICE:
            raise Conflict(_("该需求不在服务中"), code="state")
        n.state, n.result, n.done_at = Need.State.DONE, result, now
        n.version += 1
        n.save(update_fields=["state", "result", "done_at", "version"])
        _record(actor, n, "done", {"state": ["service", "done"]}, grid_path=n.grid_path, at=now)
        if n.worker_id != actor.pk:
            _notify(n.worker, "gridwork_need", str(_("服务事项已办结")), n.text[:60], at=now)
    return n


def close_need(need: Need, actor, reply: str, *, version=None, now=None) -> Need:
    """Close a heard need (or a service item) with a reply (policy advice, nothing to do)."""
    now = _now(now)
    if not may_manage_need(actor, need):
        raise Forbidden(_("您没有权限进行此操作"))
    reply = (reply or "").strip()
    if not reply:
        raise DayError(_("请填写答复内容"), code="reply")
    with transaction.atomic():
        n = _need_locked(need)
        _check_version(n, version)
        if n.state not in (Need.State.HEARD, Need.State.SERVICE):
            raise Conflict(_("该需求已转办或已答复"), code="state")
        old = n.state
        n.state, n.result, n.done_at = Need.State.CLOSED, reply, now
        n.version += 1
        n.save(update_fields=["state", "result", "done_at", "version"])
        _record(actor, n, "close", {"state": [old, "closed"]}, grid_path=n.grid_path, at=now)
        if n.worker_id != actor.pk:
            _notify(n.worker, "gridwork_need", str(_("需求已答复")), n.text[:60], at=now)
    return n


# --- the day's record ------------------------------------------------------------------------


def gathered(worker, day: date) -> dict:
    """The figures of `worker`'s `day`, live from the data: patrols (distance, points, grids),
    visits (houses, residents and special-care residents checked, by group), needs heard (by
    kind), cases reported that day, cases handled that day (case events by the worker with the
    handling actions)."""
    from gridgov.cases.models import Case, CaseEvent

    start, end = day_bounds(day)
    patrols = Patrol.objects.filter(worker=worker, day=day).exclude(state=Patrol.State.CANCELLED)
    prow = list(patrols.values("id", "distance_m", "point_count", "grid_paths", "state"))
    grids = []
    for r in prow:
        for g in r["grid_paths"] or []:
            if g not in grids:
                grids.append(g)
    visits = Visit.objects.filter(worker=worker, day=day)
    vr = VisitResident.objects.filter(visit__in=visits)
    by_group: dict[str, int] = {}
    special = set()
    for rid, groups in vr.values_list("resident_id", "groups"):
        if groups:
            special.add(rid)
        for g in groups or []:
            by_group[g] = by_group.get(g, 0) + 1
    needs = Need.objects.filter(worker=worker, heard_at__gte=start, heard_at__lt=end)
    reports = Case.objects.filter(reporter=worker, created_at__gte=start, created_at__lt=end)
    handled = CaseEvent.objects.filter(actor=worker, at__gte=start, at__lt=end, action__in=HANDLING_ACTIONS)
    by_action = dict(handled.values_list("action").annotate(n=Count("id")).values_list("action", "n"))
    return {
        "day": day.isoformat(),
        "patrols": {"count": len(prow), "distance_m": round(sum(r["distance_m"] for r in prow), 1),
                    "points": sum(r["point_count"] for r in prow), "grids": grids, "ids": [r["id"] for r in prow]},
        "visits": {"count": visits.count(), "houses": visits.exclude(house=None).values("house").distinct().count(),
                   "residents": vr.values("resident").distinct().count(), "special_care": len(special),
                   "by_group": dict(sorted(by_group.items())),
                   "by_outcome": dict(visits.values_list("outcome").annotate(n=Count("id")).values_list("outcome", "n")),
                   "ids": list(visits.values_list("id", flat=True))},
        "needs": {"count": needs.count(),
                  "by_kind": dict(needs.values_list("kind").annotate(n=Count("id")).values_list("kind", "n")),
                  "to_case": needs.filter(case__isnull=False).count()},
        "reports": {"count": reports.count(), "numbers": list(reports.order_by("id").values_list("number", flat=True)[:200])},
        "handled": {"count": handled.values("case").distinct().count(), "actions": dict(sorted(by_action.items())),
                    "numbers": list(Case.objects.filter(pk__in=handled.values("case")).order_by("id")
                                    .values_list("number", flat=True)[:200])},
    }


def log_of(worker, day: date) -> DailyLog | None:
    return DailyLog.objects.filter(worker=worker, day=day).first()


def _log_path(worker, day) -> str:
    node = periods.serving(worker, day)
    return node.path if node is not None else ""


def _clean_photos(photos) -> list[tuple[bytes, str]]:
    from gridgov.cases.photos import PhotoError, read_photos

    try:
        return read_photos(photos)
    except PhotoError as exc:
        raise DayError(str(exc), code="photos") from None


def save_log(worker, day: date, notes: str = "", photos=(), version=None, *, now=None) -> DailyLog:
    """Save the worker's notes (and add photos) to their record of `day`; refused once submitted
    and on a stale `version` (compare-and-set)."""
    from django.core.files.base import ContentFile

    now = _now(now)
    if day > local_day(now):
        raise DayError(_("不能填写未来日期的日纪实"), code="future")
    path = _log_path(worker, day)
    if not path:
        raise Forbidden(_("您当日没有网格职责"), code="no_duty")
    _require_record(worker, path, day)
    images = _clean_photos(photos)
    with transaction.atomic():
        log = DailyLog.objects.select_for_update().filter(worker=worker, day=day).first()
        created = log is None
        if created:
            try:
                with transaction.atomic():
                    log = DailyLog.objects.create(worker=worker, day=day, grid_path=path, updated_at=now)
            except IntegrityError:
                log = DailyLog.objects.select_for_update().get(worker=worker, day=day)
                created = False
        if not created:
            _check_version(log, version)
        if log.state == DailyLog.State.SUBMITTED:
            raise Conflict(_("日纪实已提交，不能再修改"), code="submitted")
        log.notes = (notes or "").strip()
        log.updated_at = now
        if not created:
            log.version += 1
        log.save(update_fields=["notes", "updated_at", "version"])
        for data, ctype in images:
            ph = LogPhoto(log=log, content_type=ctype, size=len(data), at=now)
            ph.file.save("photo.jpg" if ctype == "image/jpeg" else "photo.png", ContentFile(data), save=False)
            ph.save()
        _record(worker, log, "save", {"photos": len(images)}, grid_path=path, at=now)
    return log


def submit_log(worker, day: date, version=None, *, notes=None, now=None) -> DailyLog:
    """Submit the record of `day`: the gathered figures are frozen into it."""
    now = _now(now)
    if day > local_day(now):
        raise DayError(_("不能提交未来日期的日纪实"), code="future")
    if notes is not None or not DailyLog.objects.filter(worker=worker, day=day).exists():
        log = save_log(worker, day, notes if notes is not None else "", version=version, now=now)
        version = log.version
    with transaction.atomic():
        log = DailyLog.objects.select_for_update().get(worker=worker, day=day)
        _check_version(log, version)
        if log.state == DailyLog.State.SUBMITTED:
            raise Conflict(_("日纪实已提交"), code="submitted")
        log.figures = gathered(worker, day)
        log.state, log.submitted_at, log.updated_at = DailyLog.State.SUBMITTED, now, now
        log.version += 1
        log.save(update_fields=["figures", "state", "submitted_at", "updated_at", "version"])
        _record(worker, log, "submit", {"state": ["draft", "submitted"]}, grid_path=log.grid_path, at=now)
    return log


# --- the visit plan --------------------------------------------------------------------------


def intervals() -> dict[str, int]:
    """Days between two visits by special-care group, and "alone" for those living alone."""
    out = {g: conf.get_int(f"GRIDWORK_VISIT_DAYS_{g.upper()}") for g in _special()}
    out["alone"] = conf.get_int("GRIDWORK_VISIT_DAYS_ALONE")
    return out


def _special():
    from gridgov.registry.models import Resident

    return Resident.SPECIAL_CARE


def interval_of(tags, table=None) -> int | None:
    """The visit interval of a resident with `tags` (None: not special-care)."""
    table = table or intervals()
    groups = [t for t in tags or [] if t in _special()]
    if not groups:
        return None
    days = min(table[g] for g in groups)
    if "living_alone" in (tags or []):
        days = min(days, table["alone"])
    return days


def scope_paths(scope) -> list[str] | None:
    """The grid paths of a scope: a path (str), a grid node, or a user (their grids: everything
    for street-wide reach → None)."""
    if isinstance(scope, str):
        return [scope]
    if hasattr(scope, "path") and hasattr(scope, "level"):
        return [scope.path]
    from gridgov.accounts.scope import scope_of

    if policy.reach(scope, KIND, "list") == policy.ALL or policy.reach(scope, KIND, "create") == policy.ALL:
        return None
    s = scope_of(scope)
    if s.everything:
        return None
    return list(s.paths)


def special_care_residents(scope):
    from gridgov.registry.models import Resident

    qs = Resident.objects.filter(ended_on__isnull=True)
    paths = scope_paths(scope)
    if paths is not None:
        if not paths:
            return qs.none()
        q = Q()
        for p in paths:
            q |= Q(grid__path__startswith=p)
        qs = qs.filter(q)
    care = Q()
    for g in _special():
        care |= Q(tags__icontains=f'"{g}"')
    return qs.filter(care)


def due_visits(scope, as_of: date | None = None, *, within_days: int | None = None) -> list[dict]:
    """Every special-care resident of `scope` (a user's grids, a grid path) with their interval,
    last visit, next due date and days overdue (0 when not late), most overdue first; never
    visited: due at once (`never`). `within_days` keeps those due within that many days of
    `as_of` (0: due or overdue). Two queries: the residents, the last visits."""
    as_of = as_of or timezone.localdate()
    table = intervals()
    residents = special_care_residents(scope)
    rows = list(residents.values_list("id", "name", "tags", "house_id", "house__address__text", "grid__path",
                                      "grid__name"))
    end = day_bounds(as_of)[1]
    last = dict(VisitResident.objects.filter(resident__in=residents.values("id"), at__lt=end)
                .values("resident_id").annotate(last=Max("at")).values_list("resident_id", "last"))
    out = []
    for rid, name, tags, house_id, address, path, grid_name in rows:
        days = interval_of(tags, table)
        if days is None:  # "elderly" inside another word: not really special-care
            continue
        lv = last.get(rid)
        lday = local_day(lv) if lv else None
        due = lday + timedelta(days=days) if lday else as_of
        overdue = max((as_of - due).days, 0) if lday else None
        if within_days is not None and (due - as_of).days > within_days:
            continue
        out.append({"resident_id": rid, "name": name, "groups": [t for t in tags if t in _special()],
                    "living_alone": "living_alone" in tags, "house_id": house_id, "address": address or "",
                    "grid_path": path or "", "grid_name": grid_name or "", "interval_days": days,
                    "last_visit": lday, "next_due": due, "never": lday is None,
                    "overdue_days": overdue, "late": lday is None or due < as_of})
    out.sort(key=lambda r: (not r["never"], -(r["overdue_days"] or 0), r["next_due"], r["resident_id"]))
    return out


def plan_summary(rows) -> dict:
    return {"total": len(rows), "late": sum(1 for r in rows if r["late"]),
            "never": sum(1 for r in rows if r["never"]),
            "overdue": sum(1 for r in rows if not r["never"] and r["late"])}


# --- reading ---------------------------------------------------------------------------------


def get_patrol(user, pk) -> Patrol:
    try:
        return Patrol.objects.visible_to(user).get(pk=pk)
    except Patrol.DoesNotExist:
        raise NotFound(_("巡查不存在或无权查看")) from None


def get_visit(user, pk) -> Visit:
    try:
        return Visit.objects.visible_to(user).select_related("house__address").get(pk=pk)
    except Visit.DoesNotExist:
        raise NotFound(_("走访记录不存在或无权查看")) from None


def get_need(user, pk) -> Need:
    try:
        return Need.objects.visible_to(user).select_related("case", "visit__house__address", "resident").get(pk=pk)
    except Need.DoesNotExist:
        raise NotFound(_("需求不存在或无权查看")) from None


def houses_for(user, q: str = "", limit: int = 20):
    """Houses of the user's grids whose address holds `q` (the visit form's search)."""
    from gridgov.registry.models import House

    paths = scope_paths(user)
    qs = House.objects.filter(ended_on__isnull=True).select_related("address", "grid")
    if paths is not None:
        if not paths:
            return qs.none()
        cond = Q()
        for p in paths:
            cond |= Q(grid__path__startswith=p)
        qs = qs.filter(cond)
    if q:
        qs = qs.filter(address__text__icontains=q.strip())
    return qs.order_by("address__text")[:limit]


def house_for(user, pk):
    """A house of the user's grids (for a visit), or NotFound."""
    from gridgov.registry.models import House

    h = House.objects.filter(pk=pk).select_related("address", "grid").first()
    if h is None:
        raise NotFound(_("房屋不存在"))
    paths = scope_paths(user)
    if paths is not None and not any((h.grid.path if h.grid else "").startswith(p) for p in paths):
        raise NotFound(_("房屋不存在"))
    return h


def totals(qs) -> dict:
    agg = qs.aggregate(n=Count("id"), distance=Sum("distance_m"), points=Sum("point_count"))
    return {"count": agg["n"] or 0, "distance_m": round(agg["distance"] or 0, 1), "points": agg["points"] or 0}
