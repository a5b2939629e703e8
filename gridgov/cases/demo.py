"""About a year of demo cases on the demo street, written with bulk inserts.

`build_demo_cases(seed, months=12, scale=1.0)` simulates each case along the workflow of
`gridgov.cases.services` (submit → dispatch → accept → arrive → resolve → verify → close →
rate, with late limits, sweep warnings and breaches, escalations, reopenings after an
"unsatisfied", volunteers grabbing tasks, rejections) and writes the rows the services would
have written: `Case` (state and derived fields), one `CaseEvent` per act, `Clock` rows started
and stopped as the services do (accept/arrive on the wall clock, resolve in working hours),
`Breach` rows, `CaseFollower` for reporters and `Rating`s. The services themselves are far too
slow per case at this volume (~40,000 cases, ~340,000 events).

The resident, volunteer, patrol and API channels are drawn at random over `months`; hotline
cases are not: each is an `Intake` — a 12345 ticket as `submit_case` received it (its text,
place, key and the item recognised at intake, see gridgov.hotline.demo.case_intakes), of any
age — played along the same workflow to the outcome its ticket records: resolved when the
ticket is solved, handed back and rejected (or still open) when it is not.

Cases whose next act would fall after `until` (default: now) stay open in the state they
reached, with their clocks running, warned or breached as the sweep would have left them.
Same seed and `until` → same cases."""

import json
import math
import operator
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import shapely
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone

from gridgov.geo import levels as gl
from gridgov.accounts.models import Duty, GridAssignment, Role, User
from gridgov.geo.models import GridNode

from . import conf, routing
from .models import (
    RATABLE_STATES,
    Breach,
    Case,
    CaseEvent,
    CaseFollower,
    Channel,
    Clock,
    ClockKind,
    ClockState,
    HandlerLevel,
    Item,
    Rating,
    Score,
    State,
    Urgency,
)
from gridgov.core.i18n import source_text

from .services import BASIS, NOBODY, SYSTEM, TOP_REACHED, TRANSITIONS
from .workcal import WorkCalendar

#: cases a year at scale 1 from the channels below; the hotline's cases are the 12345 tickets'
#: own (`intakes`, see gridgov.hotline.demo), about 11,000 in the last year
BASE_CASES_PER_YEAR = 16_000
BATCH = 5000

#: channel → (share, hour-of-day weights 0..23)
CHANNELS = {
    Channel.RESIDENT: (0.34, [1, 1, 1, 1, 1, 2, 4, 8, 12, 12, 10, 8, 6, 6, 7, 7, 7, 8, 10, 12, 12, 9, 5, 2]),
    # volunteers report on their morning and evening rounds
    Channel.VOLUNTEER: (0.16, [0, 0, 0, 0, 0, 1, 6, 16, 18, 10, 4, 3, 2, 2, 3, 4, 9, 16, 18, 10, 3, 1, 0, 0]),
    Channel.PATROL: (0.26, [0, 0, 0, 0, 0, 0, 1, 2, 8, 12, 12, 8, 2, 6, 11, 12, 10, 6, 1, 0, 0, 0, 0, 0]),
    Channel.API: (0.04, [2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 7, 6, 7, 7, 7, 7, 6, 5, 4, 4, 3, 3, 2]),
}
#: share of cases per calendar month (summer: more noise, water, greenery, e-bike charging)
MONTH_WEIGHT = {1: 0.8, 2: 0.7, 3: 0.9, 4: 1.0, 5: 1.1, 6: 1.2, 7: 1.3, 8: 1.3, 9: 1.1, 10: 1.0, 11: 0.9, 12: 0.8}
DETAILS = ["，请尽快处理", "，已经好几天了", "，影响居民出行", "，麻烦派人看看", "，存在安全隐患", "，居民反映强烈", ""]


@dataclass
class Intake:
    """A report that came in elsewhere and is played from its own time, place and text: a 12345
    ticket (gridgov.hotline.demo.case_intakes). The fields are what `submit_case` was given and
    decided at intake; `solved` is the outcome the ticket records, which the case reaches."""

    ref: int  # the caller's id of the report (the ticket's pk)
    key: uuid.UUID  # the case's idempotency key
    created: datetime
    text: str
    address: str
    lon: float
    lat: float
    grid_id: int
    item: Item | None  # recognised (or named) at intake; None: the case waits for a person...
    item_source: str
    item_confidence: float
    item_reason: dict  # routing_reason["item"] as submit_case wrote it
    staff_item: Item  # ...who classifies it as this
    solved: bool
    case_id: int | None = None  # set when its case is written


class _Row:
    """A row to insert, its attributes named as the model's attnames: what `_flush` writes of a
    clock, breach, follower or rating (far cheaper than a model instance at this volume)."""

    def __init__(self, **values):
        self.__dict__.update(values)


class _CaseRow:
    """A case as `_flush` writes it (the model's attnames, its defaults) that the simulation
    changes as it would a model instance: setting a foreign key by object (`handler_user=u`)
    also sets its id (`handler_user_id`)."""

    _defaults: dict = {}
    _fks: frozenset = frozenset()

    def __init__(self, **values):
        if not _CaseRow._defaults:
            fields = Case._meta.concrete_fields
            _CaseRow._fks = frozenset(f.name for f in fields if f.is_relation)
            _CaseRow._defaults = {f.attname: None if f.is_relation else f.get_default() for f in fields}
            _CaseRow._defaults.update(dict.fromkeys(_CaseRow._fks))
        d = self.__dict__
        d.update(self._defaults)
        d.update(values)
        for k in self._fks.intersection(values):
            d[k + "_id"] = None if values[k] is None else values[k].pk

    def __setattr__(self, name, value):
        self.__dict__[name] = value
        if name in self._fks:
            self.__dict__[name + "_id"] = None if value is None else value.pk

    @property
    def pk(self):
        return self.id


class _Sim:
    """The acts of one case, in time order, as the services and the sweep write them."""

    def __init__(self, b, case, item, path, grid, now):
        self.b, self.case, self.item, self.path, self.grid, self.now = b, case, item, path, grid, now
        self.events, self.clocks = [], []

    # --- rows
    def event(self, at, action, actor, from_state, to_state, note="", data=None):
        # a row of EVENT_FIELDS (far cheaper than a model instance at this volume)
        self.events.append((
            self.case.pk, at, actor.pk if actor else None, (actor.display_name or actor.username) if actor else SYSTEM,
            action, from_state, to_state, note, data or {},
        ))

    def last_at(self):
        return self.events[-1][1]

    def move(self, at, action, actor, note="", data=None, **fields):
        sources, target = TRANSITIONS[action]
        assert self.case.state in sources, (action, self.case.state)
        before = self.case.state
        for k, v in fields.items():
            setattr(self.case, k, v)
        self.case.state, self.case.updated_at = target, at
        self.event(at, action, actor, before, target, note, data)

    def start_clock(self, kind, at):
        item, ratio = self.item, self.b.warn_ratio
        lim = item.limit(kind)
        if lim is None:  # the item has no such clock
            return None
        amount, unit = lim
        basis, limit = BASIS[unit], amount
        if unit == "minutes":
            warn_at, due_at = at + timedelta(minutes=amount * ratio), at + timedelta(minutes=amount)
        else:
            warn_at, due_at = self.b.cal.add(at, amount * ratio, unit), self.b.cal.add(at, amount, unit)
        c = self.case
        clock = _Row(
            id=self.b.next_clock_id(), case_id=c.pk, kind=kind, summons_id=None, handler_level=c.handler_level,
            handler_user_id=c.handler_user_id, department=c.handler_department, basis=basis, limit=limit, started_at=at,
            warn_at=warn_at, due_at=due_at, state=ClockState.RUNNING, stopped_at=None,
        )
        self.clocks.append(clock)
        return clock

    def live(self, kinds=None):
        return [k for k in self.clocks if k.state in (ClockState.RUNNING, ClockState.WARNED) and (kinds is None or k.kind in kinds)]

    def stop(self, kinds, at):
        for k in self.live(kinds):
            k.state, k.stopped_at = ClockState.STOPPED, at

    # --- the sweep, run up to `until` (each minute in reality: a few seconds after the limit)
    def sweep_until(self, until) -> bool:
        """Warn and breach the clocks due before `until`; True when the case escalated."""
        while True:
            live = self.live()
            due = sorted(
                [(k.warn_at, 0, k) for k in live if k.state == ClockState.RUNNING and k.warn_at <= until and k.due_at > k.warn_at]
                + [(k.due_at, 1, k) for k in live if k.due_at <= until],
                key=lambda t: (t[0], t[1], t[2].id),
            )
            if not due:
                return False
            at, what, k = due[0]
            # the sweep runs every minute: it acts a few seconds after the limit, in order
            at = max(min(at + timedelta(seconds=self.b.rng.randint(1, 9)), until), self.last_at())
            if what == 0:
                k.state = ClockState.WARNED
                label = source_text(ClockKind(k.kind).label)
                self.event(at, "warn", None, self.case.state, self.case.state, f"{label}时限即将届满", {"clock": k.id, "due_at": k.due_at.isoformat()})
                continue
            if self.breach(k, at):
                return True

    def breach(self, k, at) -> bool:
        k.state, k.stopped_at = ClockState.BREACHED, at
        label = source_text(ClockKind(k.kind).label)
        c = self.case
        escalated_to = ""
        if k.kind in self.b.escalating and c.state in TRANSITIONS["escalate"][0] and c.state not in RATABLE_STATES:
            if self.assign(c.path_step + 1, at, "escalate", None, f"{label}超时，自动升级", {"breach": {"clock": k.id, "kind": k.kind}}):
                escalated_to = c.handler_level
            else:
                why = source_text(TOP_REACHED) % {"number": c.number}
                self.event(at, "breach", None, c.state, c.state, f"{label}超时；{why}", {"clock": k.id, "stuck": True})
        else:
            self.event(at, "breach", None, c.state, c.state, f"{label}超时（{c.number}）", {"clock": k.id})
        self.b.breaches.append(_Row(
            case_id=c.pk, clock_id=k.id, kind=k.kind, handler_level=k.handler_level, handler_user_id=k.handler_user_id,
            department=k.department, due_at=k.due_at, detected_at=at, escalated_to=escalated_to,
        ))
        return bool(escalated_to)

    def assign(self, step, at, action, actor, note="", data=None) -> bool:
        """As services._plan: the first filled level of the path from `step`, else the
        community, then the duty leader of the top (an escalation only moves up, to someone
        else); False when nobody is left (the case is at the top)."""
        c = self.case
        escalating = action == "escalate"
        h = self.b.handler(self.path, step, self.grid, self.item,
                           above=c.handler_level if escalating else "", exclude=c.handler_user if escalating else None)
        if h is None:
            return False
        s, level, user, department, via = h
        decision = {
            "at": at.isoformat(),
            "path": {"code": self.path.code, "name": self.path.name, "step": s + 1, "of": len(self.path.steps),
                     "fallback": s >= len(self.path.steps)},
            "handler": {"level": level, "user": _ref(user), "department": department, "via": via},
            "skipped": [], "informed": [],
        }
        reason = self.case.routing_reason
        reason.setdefault("decisions", []).append(decision)
        reason["current"] = decision
        self.move(at, action, actor, note, {**(data or {}), "decision": decision},
                  path=self.path, path_step=s, handler_level=level, handler_user=user, handler_department=department,
                  grabbable=bool(self.item.volunteer_grabbable and s == 0), grabbed_by=None)
        self.stop((ClockKind.ACCEPT, ClockKind.ARRIVE, ClockKind.RESOLVE), at)
        for kind in (ClockKind.ACCEPT, ClockKind.ARRIVE, ClockKind.RESOLVE):
            self.start_clock(kind, at)
        return True

    def step(self, at) -> bool:
        """Advance the sweep to `at`; False when the act cannot happen (escalated meanwhile, or
        `at` lies after `until`: the case stays as it is)."""
        if at > self.now:
            while self.sweep_until(self.now):
                pass
            return False
        return not self.sweep_until(at)


def _ref(u):
    return {"id": u.pk, "username": u.username, "name": str(u)} if u else None


class _Builder:
    def __init__(self, seed, until):
        self.rng = random.Random(seed)
        self.until = until
        self.cal = WorkCalendar()
        self.warn_ratio = conf.get_float("CASES_WARN_RATIO")
        self.escalating = set(conf.get_list("CASES_ESCALATING_CLOCKS")) - {ClockKind.SUMMON}
        self.breaches = []
        self._handlers = {}
        self._rules = {}
        from .models import RoutingRule

        self.windowed = list(RoutingRule.objects.filter(active=True).exclude(start_time=None).order_by("id"))
        days = {}
        is_workday = self.cal.is_workday
        self.cal.is_workday = lambda day: days[day] if day in days else days.setdefault(day, is_workday(day))
        periods = {}  # and each day's working periods, built once
        periods_on = self.cal._periods_on
        self.cal._periods_on = lambda day: periods[day] if day in periods else periods.setdefault(day, tuple(periods_on(day)))
        self.assigned = {}
        for a in GridAssignment.objects.in_force().filter(duty__in=[Duty.LEADER, Duty.SECRETARY], user__is_active=True).select_related("user").order_by("-id"):
            self.assigned[(a.node_id, a.duty)] = a.user  # the first by id wins, as in routing
        self._clock_id = (Clock.objects.order_by("-id").values_list("id", flat=True).first() or 0)

    def next_clock_id(self):
        self._clock_id += 1
        return self._clock_id

    def handler(self, path, step, grid, item, above="", exclude=None):
        """routing.handler_for_step, with each level resolved once per grid or department; past
        the path, routing.fallback_handler (once per grid, rung and person left)."""
        for s in range(step, len(path.steps)):
            h = self._level(path.steps[s][0], grid, item)
            if h["user"] or h["department"]:
                return s, h["level"], h["user"], h["department"], h["via"]
        key = ("fallback", grid.pk, above, getattr(exclude, "pk", None))
        if key not in self._handlers:
            self._handlers[key] = routing.fallback_handler(grid, above=above, exclude=exclude)
        h = self._handlers[key]
        if h is None:
            return None
        return len(path.steps), h["level"], h["user"], h["department"], h["via"]

    def _level(self, level, grid, item):
        by_grid = level in (HandlerLevel.GRID_LEADER, HandlerLevel.COMMUNITY_SECRETARY)
        # the other levels per department, and per street under a district (its own leaders)
        key = (level, grid.pk if by_grid else gl.street_path(grid.path), None if by_grid else item.department)
        if key not in self._handlers:
            if by_grid:  # as routing.resolve_handler, from assignments read once
                duty = Duty.LEADER if level == HandlerLevel.GRID_LEADER else Duty.SECRETARY
                chain = [n for n in reversed(grid.chain) if level == HandlerLevel.GRID_LEADER or gl.street_level() <= n.level <= gl.community_level()]
                node = next((n for n in chain if (n.pk, duty) in self.assigned), None)
                user = self.assigned[(node.pk, duty)] if node else None
                if level == HandlerLevel.GRID_LEADER:
                    via = f"网格长：{node.name}（{node.code}）" if user else "该网格及上级均未指定网格长"
                else:
                    via = f"社区书记：{node.name}（{node.code}）" if user else "所在社区未指定书记"
                self._handlers[key] = {"level": level, "user": user, "department": "", "via": via}
            else:
                self._handlers[key] = routing.resolve_handler(level, grid, item)
        return self._handlers[key]

    def path_for(self, item, urgency, grid, at):
        local = timezone.localtime(at, self.cal.tz).time()
        key = (item.pk, urgency, grid.level, tuple(routing._in_window(r, local) for r in self.windowed))
        if key not in self._rules:
            rule = routing.choose_rule(item, urgency, grid.level, at)
            self._rules[key] = (rule.path if rule else routing.default_path(), rule)
        return self._rules[key]


def _weighted_hours(rng, weights, n):
    return rng.choices(range(24), weights=weights, k=n)


def build_demo_cases(seed: int = 2024, months: int = 12, scale: float = 1.0, progress=None, until=None, intakes=()) -> dict:
    """Write about `months` months of cases ending at `until` (default now) from the resident,
    volunteer, patrol and API channels, and one hotline case for each of `intakes` (`Intake`,
    any age; those from `until` on are left out) whose `case_id` is then set; returns counts.
    Case ids follow time within each day."""
    from .taxonomy import seed_taxonomy

    progress = progress or (lambda msg: None)
    if not Item.objects.exists():
        seed_taxonomy()
    until = until or timezone.now()
    start = until - timedelta(days=round(months * 30.44))
    b = _Builder(seed, until)
    rng = b.rng

    nodes = list(GridNode.objects.exclude(geom_wkt="").order_by("path"))
    if not nodes:
        raise ValueError("no grids in the database: build the demo street first")
    parents = {n.parent_id for n in nodes}
    leaves = [n for n in nodes if n.pk not in parents and n.level > gl.street_level()]
    by_id = {n.pk: n for n in nodes}
    geoms = shapely.from_wkt([n.geom_wkt for n in leaves])
    weights_leaf = np.array([max(n.area_m2 or 1.0, 1.0) for n in leaves]) ** 0.5  # denser where it is built up
    # points in each leaf: buildings when the registry has them, else random points inside
    from gridgov.registry.models import Building

    buildings: dict[int, list] = {}
    for bid, gid, name, cname, lon, lat in Building.objects.filter(lat__isnull=False, grid__isnull=False).order_by("id").values_list(
        "id", "grid_id", "name", "compound__name", "lon", "lat"
    ):
        buildings.setdefault(gid, []).append((f"{cname or ''}{name}", lon, lat))
    for n in leaves:
        chain, m = [], n
        while m is not None:
            chain.append(m)
            m = by_id.get(m.parent_id)
        n.chain = chain[::-1]
    for i, n in enumerate(leaves):
        if buildings.get(n.pk):
            weights_leaf[i] *= 1 + min(len(buildings[n.pk]), 60) / 10

    def point_in(i):
        n, g = leaves[i], geoms[i]
        for _ in range(50):
            x, y = rng.uniform(n.min_lon, n.max_lon), rng.uniform(n.min_lat, n.max_lat)
            if shapely.contains_xy(g, x, y):
                return x, y
        p = g.representative_point()
        return p.x, p.y

    # the street's own channels draw from the items a grid or section handles; 物业 items (the
    # compound's property company: routing.PROPERTY) are filed through intake by the demo
    items = list(Item.objects.filter(active=True).exclude(department=routing.PROPERTY).select_related("scenario"))
    # common items are common: lamps, litter, parking, noise more than gas leaks
    item_w = [0.4 if i.default_urgency == "emergency" else 0.8 if i.default_urgency == "major" else 2.0 if i.default_urgency == "minor" else 1.4 for i in items]
    leaders = {}  # grid leaders and workers per grid (by nearest ancestor)
    people = {"worker": {}, "staff": {}}
    for a in GridAssignment.objects.in_force().filter(duty__in=[Duty.WORKER, Duty.STAFF, Duty.SECRETARY]).select_related("user").order_by("id"):
        key = "worker" if a.duty == Duty.WORKER else "staff"
        people[key].setdefault(a.node_id, []).append(a.user)
    residents = list(User.objects.filter(role=Role.RESIDENT, is_active=True).order_by("id"))
    volunteers = list(User.objects.filter(role__in=[Role.VOLUNTEER, Role.STEWARD], is_active=True).order_by("id"))
    grabbers = [u for u in volunteers if u.role == Role.VOLUNTEER]
    leaders_street = list(User.objects.filter(role__in=[Role.LEADER, Role.ADMIN], is_active=True).order_by("id"))
    del leaders

    def nearest(kind, grid):
        n = grid
        while n is not None:
            if people[kind].get(n.pk):
                return people[kind][n.pk]
            n = by_id.get(n.parent_id)
        return []

    def community_staff(grid):
        return nearest("staff", grid) or leaders_street

    # how many cases: per day, weighted by month and weekday
    days = []
    d = start
    while d < until:
        w = MONTH_WEIGHT[timezone.localtime(d).month] * (0.75 if timezone.localtime(d).weekday() >= 5 else 1.0)
        days.append((d, w))
        d += timedelta(days=1)
    total = max(1, round(BASE_CASES_PER_YEAR * scale * months / 12))
    wsum = sum(w for _, w in days)
    channel_names = list(CHANNELS)
    channel_w = [CHANNELS[c][0] for c in channel_names]

    next_id = (Case.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    cases, events, clocks, followers, ratings = [], [], [], [], []
    counts = {"cases": 0, "events": 0, "clocks": 0, "breaches": 0, "ratings": 0, "hotline_cases": 0}
    leaf_idx = list(range(len(leaves)))
    leaf_cum = list(np.cumsum(weights_leaf))
    item_cum = list(np.cumsum(item_w))
    channel_cum = list(np.cumsum(channel_w))
    day0 = timezone.localtime(start).replace(hour=0, minute=0, second=0, microsecond=0)

    def node(pk):
        n = by_id[pk]
        if not hasattr(n, "chain"):
            chain, m = [], n
            while m is not None:
                chain.append(m)
                m = by_id.get(m.parent_id)
            n.chain = chain[::-1]
        return n

    # the intakes by day (as days after day0; older ones before the window, all simulated)
    by_day: dict[int, list] = {}
    for i in sorted((i for i in intakes if i.created < until), key=lambda i: i.created):
        local = timezone.localtime(i.created, b.cal.tz)
        by_day.setdefault((local.date() - day0.date()).days, []).append(i)
    last = max([len(days) - 1, *by_day])
    for di in range(min([0, *by_day]), last + 1):
        local_day = day0 + timedelta(days=di)
        todo = []
        if 0 <= di < len(days):
            d, w = days[di]
            n_day = np.random.default_rng(seed * 1000 + di).poisson(total * w / wsum)
            for _ in range(int(n_day)):
                channel = rng.choices(channel_names, cum_weights=channel_cum)[0]
                hour = _weighted_hours(rng, CHANNELS[channel][1], 1)[0]
                created = local_day + timedelta(hours=hour, minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))
                if created >= until or created < start:
                    continue
                li = rng.choices(leaf_idx, cum_weights=leaf_cum)[0]
                grid = leaves[li]
                if buildings.get(grid.pk) and rng.random() < 0.75:
                    name, blon, blat = rng.choice(buildings[grid.pk])
                    lon, lat = blon + rng.gauss(0, 0.00012), blat + rng.gauss(0, 0.0001)
                    if not shapely.contains_xy(geoms[li], lon, lat):
                        lon, lat = blon, blat
                    address = f"{name}附近"
                else:
                    lon, lat = point_in(li)
                    address = f"{grid.name}内"
                item = rng.choices(items, cum_weights=item_cum)[0]
                todo.append((created, channel, item, grid, lon, lat, address, None))
        for i in by_day.get(di, ()):
            todo.append((i.created, Channel.HOTLINE, i.item or i.staff_item, node(i.grid_id), i.lon, i.lat, i.address, i))
        todo.sort(key=lambda c: c[0])  # stable: ids follow time within the day
        for created, channel, item, grid, lon, lat, address, intake in todo:
            _simulate(b, rng, next_id, channel, created, item, grid, lon, lat, address, residents, volunteers, grabbers,
                      nearest, community_staff, cases, events, clocks, followers, ratings, intake)
            if intake is not None:
                intake.case_id = next_id
                counts["hotline_cases"] += 1
            next_id += 1
        if len(cases) >= BATCH or di == last:
            _flush(cases, events, clocks, b.breaches, followers, ratings, counts)
            progress(f"cases: {counts['cases']:,} ({local_day:%Y-%m})")
    with connection.cursor() as cur:
        for sql in connection.ops.sequence_reset_sql(no_style(), [Case, Clock]):
            cur.execute(sql)
    return counts


EVENT_FIELDS = ("case_id", "at", "actor_id", "actor_name", "action", "from_state", "to_state", "note", "data")


def _insert(model, rows, fields):
    """INSERT rows (tuples in the order of `fields`, attnames) with executemany: what
    bulk_create writes, without building and compiling a model instance per row."""
    from django.db import models as m

    meta = model._meta
    cols = [meta.get_field(f.removesuffix("_id") if f.endswith("_id") and f != "id" else f) for f in fields]
    conv = []  # (column index, converter) of the columns whose values the database needs converted
    adapt_datetime = _datetime_adapter()
    sqlite = connection.vendor == "sqlite"
    for i, f in enumerate(cols):
        if isinstance(f, m.DateTimeField):
            conv.append((i, adapt_datetime))
        elif isinstance(f, m.JSONField) and sqlite and f.encoder is None:
            conv.append((i, _json_text))  # what the field writes on SQLite, without its per-value checks
        elif isinstance(f, (m.JSONField, m.DecimalField, m.UUIDField)):
            conv.append((i, lambda v, f=f: f.get_db_prep_save(v, connection)))
    qn = connection.ops.quote_name
    sql = f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in cols)}) VALUES ({', '.join(['%s'] * len(cols))})"
    prepared = []
    for r in rows:
        r = list(r)
        for i, c in conv:
            if r[i] is not None:
                r[i] = c(r[i])
        prepared.append(r)
    with connection.cursor() as cur:
        for i in range(0, len(prepared), 5000):
            cur.executemany(sql, prepared[i : i + 5000])


def _json_text(value):
    return "{}" if value == {} and type(value) is dict else json.dumps(value)


def _datetime_adapter():
    """connection.ops.adapt_datetimefield_value; on SQLite the same text (the UTC time, naive,
    as str) without its per-call settings look-ups, which cost seconds at a million values."""
    from django.conf import settings

    adapt = connection.ops.adapt_datetimefield_value
    if connection.vendor != "sqlite" or not settings.USE_TZ:
        return adapt
    tz = connection.timezone

    def fast(v):
        if isinstance(v, datetime) and v.tzinfo is not None:
            return str(v.astimezone(tz).replace(tzinfo=None))
        return adapt(v)

    return fast


def _rows(objs, fields):
    get = operator.attrgetter(*fields)
    return [get(o) for o in objs] if len(fields) > 1 else [(get(o),) for o in objs]


def _fields(model, with_pk=True):
    return [f.attname for f in model._meta.concrete_fields if with_pk or not f.primary_key]


def _flush(cases, events, clocks, breaches, followers, ratings, counts):
    with transaction.atomic():
        for model, objs, with_pk in ((Case, cases, True), (Clock, clocks, True), (Breach, breaches, False),
                                     (CaseFollower, followers, False), (Rating, ratings, False)):
            fields = _fields(model, with_pk)
            _insert(model, _rows(objs, fields), fields)
        _insert(CaseEvent, events, EVENT_FIELDS)
    counts["cases"] += len(cases)
    counts["events"] += len(events)
    counts["clocks"] += len(clocks)
    counts["breaches"] += len(breaches)
    counts["ratings"] += len(ratings)
    for lst in (cases, events, clocks, breaches, followers, ratings):
        lst.clear()


#: minutes a limit stands for in the simulation when the item has no such clock
_NO_LIMIT_MINUTES = {"accept": 30, "arrive": 120, "resolve": 24 * 60}


def _wall(item, kind) -> float:
    """About how many wall-clock minutes the item's `kind` limit gives (for simulated timing)."""
    lim = item.limit(kind)
    if lim is None:
        return _NO_LIMIT_MINUTES[kind]
    amount, unit = lim
    return amount * {"minutes": 1, "working_hours": 60, "working_days": 7 * 60}[unit]


def _minutes(rng, limit, late_share):
    """A delay in minutes: mostly well within `limit`, `late_share` of the time beyond it."""
    if rng.random() < late_share:
        return limit * rng.uniform(1.05, 3.0)
    return limit * min(0.95, rng.betavariate(2, 5))


def _simulate(b, rng, pk, channel, created, item, grid, lon, lat, address, residents, volunteers, grabbers,
              nearest, community_staff, cases, events, clocks, followers, ratings, intake=None):
    reporter = entered_by = None
    if channel == Channel.RESIDENT and residents:
        reporter = rng.choice(residents)
    elif channel == Channel.VOLUNTEER and volunteers:
        reporter = rng.choice(volunteers)
    elif channel == Channel.PATROL:
        reporter = (nearest("worker", grid) or [None])[0]
    elif channel == Channel.HOTLINE:
        entered_by = (community_staff(grid) or [None])[0]
    entered_by = entered_by or reporter
    chain = grid.chain
    grid_reason = {"method": "locator", "point_wgs84": [lon, lat], "crs_in": "wgs84",
                   "nodes": [{"code": n.code, "name": n.name, "level": n.level} for n in chain]}
    if intake is not None:
        # what submit_case wrote for it: its text, its key, the item recognised at intake (or
        # none: a person classifies it as `staff_item`), urgency of that item (else normal)
        text, classified = intake.text, intake.item is not None
        urgency = item.default_urgency if classified else Urgency.NORMAL
        reason = {"grid": grid_reason, "item": dict(intake.item_reason), "urgency": "item default"}
        source, confidence = intake.item_source, intake.item_confidence
    else:
        kw = item.keyword_list()
        text = f"{address}{rng.choice(kw[:4]) if kw else item.name}{'' if rng.random() < 0.5 else '，' + item.name}{rng.choice(DETAILS)}"
        urgency = item.default_urgency
        classified = channel in (Channel.PATROL, Channel.VOLUNTEER) or rng.random() < 0.9
        reason = {
            "grid": grid_reason,
            "item": ({"code": item.code, "name": item.name, "source": "reporter" if channel in (Channel.PATROL, Channel.VOLUNTEER) else "classifier",
                      "confidence": 1.0 if channel in (Channel.PATROL, Channel.VOLUNTEER) else round(rng.uniform(0.5, 0.95), 3)}
                     if classified else {"code": None, "source": "classifier", "confidence": round(rng.uniform(0.1, 0.4), 3), "note": "置信度不足，待人工分类"}),
            "urgency": "item default",
        }
        source, confidence = reason["item"]["source"] if classified else "", reason["item"]["confidence"]
    case = _CaseRow(
        id=pk, number=f"{timezone.localtime(created, b.cal.tz):%Y%m%d}{pk:06d}", channel=channel, reporter=reporter, entered_by=entered_by,
        idempotency_key=intake.key if intake is not None else None,
        text=text, item=item if classified else None, item_source=source,
        item_confidence=confidence, urgency=urgency, lon=lon, lat=lat, crs_in="wgs84", address=address,
        grid=grid, grid_path=grid.path, state=State.SUBMITTED, routing_reason=reason, created_at=created, updated_at=created,
    )
    path, _rule = b.path_for(item, item.default_urgency, grid, created)
    sim = _Sim(b, case, item, path, grid, b.until)
    sim.event(created, "submit", entered_by, "", State.SUBMITTED, data={"channel": channel})
    if reporter is not None:
        followers.append(_Row(case_id=pk, user_id=reporter.pk, source="reporter", at=created))
    cases.append(case)
    outcome = None if intake is None else ("solved" if intake.solved else "unsolved")
    try:
        _lifecycle(sim, rng, created, classified, reporter, grabbers, community_staff, ratings, outcome)
    finally:
        events.extend(sim.events)
        clocks.extend(sim.clocks)
    return case


#: states a resolved case is in (or moves on to) unless a rating reopens it
DONE = (State.RESOLVED, State.VERIFIED, State.CLOSED)
#: (return note, reject note) of a hotline case whose ticket the city recorded as not solved
UNSOLVED_NOTES = [
    ("诉求超出街道职权，需市级部门协调，请重新派遣", "经核实不属于街道职责，已向来电人解释说明"),
    ("历史遗留问题，暂不具备解决条件，请重新派遣", "暂不具备解决条件，已向来电人说明情况"),
    ("来电人诉求与现行政策不符，请重新派遣", "诉求不符合相关政策规定，已答复来电人"),
]


def _lifecycle(sim, rng, t, classified, reporter, grabbers, community_staff, ratings, outcome=None):
    """Play the case's acts from `t` until it is closed (and rated) or the next act would come
    after `sim.now`. `outcome` is a known result to reach (a 12345 ticket's): "solved" — no
    rejection, and acts that would come after `now` come sooner until it is resolved;
    "unsolved" — never resolved: the handler returns it and the community rejects it (or it is
    still open at `now`). None: chance decides, as for the other channels."""
    case, item, grid = sim.case, sim.item, sim.grid
    resolver = None
    staff = community_staff(grid)
    manager = staff[0] if staff else None
    solved, unsolved = outcome == "solved", outcome == "unsolved"

    def soon(at, since):
        # the city recorded the ticket as solved, so its case was resolved before `now`
        if solved and at > sim.now and case.state not in DONE:
            return since + (sim.now - since) * rng.uniform(0.2, 0.6)
        return at

    if not classified:
        # waiting for a person to choose the item
        t2 = soon(t + timedelta(minutes=rng.uniform(10, 240)), t)
        if t2 > sim.now:
            case.routing_reason["waiting"] = "未识别事项，待人工分类"
            return
        was = case.item.code if case.item_id else None
        case.item, case.item_source, case.item_confidence, case.urgency = item, "staff", 1.0, item.default_urgency
        case.routing_reason["item"] = {"code": item.code, "name": item.name, "source": "staff", "by": str(manager) if manager else SYSTEM, "was": was}
        if manager and not solved and rng.random() < (0.5 if unsolved else 0.1):
            sim.move(t2, "reject", manager, UNSOLVED_NOTES[0][1] if unsolved else "不属于受理范围", grabbable=False)
            return
        t = t2
        if not sim.assign(0, t, "dispatch", manager):
            case.routing_reason["waiting"] = source_text(NOBODY) % {"number": case.number}
            return
    else:
        if not sim.assign(0, t, "dispatch", None, "自动派遣"):
            case.routing_reason["waiting"] = source_text(NOBODY) % {"number": case.number}
            return
    hour = timezone.localtime(t, sim.b.cal.tz).hour
    late = 0.06 + (0.06 if hour < 7 or hour >= 21 else 0)
    rounds = 0
    while True:
        rounds += 1
        if rounds > (50 if solved else 8):  # (a solved one keeps going until resolved; 50 only guards a loop)
            return
        if case.state in (State.DISPATCHED, State.ESCALATED, State.REOPENED):
            if case.grabbable and grabbers and case.state == State.DISPATCHED and not unsolved and rng.random() < 0.5:
                t = soon(t + timedelta(minutes=rng.uniform(1, 25)), t)
                if not sim.step(t):
                    if t > sim.now:
                        return
                    t = sim.last_at()
                    continue
                v = rng.choice(grabbers)
                sim.move(t, "grab", v, "志愿者接单", grabbed_by=v, handler_user=v, handler_level=HandlerLevel.VOLUNTEER, handler_department="")
                sim.stop((ClockKind.ACCEPT, ClockKind.ARRIVE), t)
                sim.start_clock(ClockKind.ARRIVE, t)
            else:
                t = soon(t + timedelta(minutes=_minutes(rng, _wall(item, 'accept'), late)), t)
                if not sim.step(t):
                    if t > sim.now:
                        return
                    t = sim.last_at()
                    continue
                actor = case.handler_user or manager
                sim.move(t, "accept", actor, handler_user=case.handler_user or actor)
                sim.stop((ClockKind.ACCEPT,), t)
        if case.state == State.ACCEPTED:
            if unsolved or (not solved and rng.random() < 0.015 and case.handler_level != HandlerLevel.VOLUNTEER):
                # not ours to solve: the handler hands it back, the community rejects it
                notes = rng.choice(UNSOLVED_NOTES) if unsolved else ("不属于本网格，请重新派遣", "经核实不属于街道职责")
                # (a ticket not ours is handed back before the arrive limit runs out)
                t = t + timedelta(minutes=_wall(item, 'arrive') * rng.uniform(0.2, 0.9) if unsolved else rng.uniform(5, 60))
                if not sim.step(t):
                    if t > sim.now:
                        return
                    t = sim.last_at()
                    continue
                sim.move(t, "return", case.handler_user, notes[0], handler_user=None, handler_level="", handler_department="", grabbable=False)
                sim.stop((ClockKind.ACCEPT, ClockKind.ARRIVE, ClockKind.RESOLVE), t)
                t = t + timedelta(minutes=rng.uniform(20, 180))
                if not sim.step(t):
                    return
                sim.move(t, "reject", manager, notes[1], grabbable=False)
                return
        if case.state == State.ACCEPTED and sim.live((ClockKind.ARRIVE,)):
            t = soon(t + timedelta(minutes=_minutes(rng, _wall(item, 'arrive'), late)), t)
            if not sim.step(t):
                if t > sim.now:
                    return
                t = sim.last_at()
                continue
            sim.move(t, "arrive", case.handler_user)
            sim.stop((ClockKind.ARRIVE,), t)
        if case.state in (State.ON_SITE, State.ACCEPTED):
            clock = next((k for k in sim.live((ClockKind.RESOLVE,))), None)
            stalled = rng.random() < 0.012  # waiting on a department, a contractor, the owners' committee...
            if stalled:
                t2 = t + timedelta(days=rng.uniform(3, 75))
            elif clock is not None and rng.random() > 0.05:
                # within the limit: somewhere between now and the due time
                span = max((clock.due_at - t).total_seconds(), 600)
                t2 = t + timedelta(seconds=span * min(0.97, rng.betavariate(2, 4)))
            else:
                t2 = t + timedelta(hours=_wall(item, 'resolve') / 60 * rng.uniform(0.5, 4))
            t = soon(t2, t)
            if not sim.step(t):
                if t > sim.now:
                    return
                t = sim.last_at()
                continue
            resolver = case.handler_user
            sim.move(t, "resolve", resolver, "已处置完毕", resolved_by=resolver, resolved_at=t)
            sim.stop((ClockKind.ACCEPT, ClockKind.ARRIVE, ClockKind.RESOLVE), t)
        if case.state == State.RESOLVED:
            verifier = next((u for u in staff if not resolver or u.pk != resolver.pk), None)
            t = t + timedelta(hours=rng.uniform(0.3, 20))
            if verifier is None or not sim.step(t):
                return
            if rng.random() < 0.04 and rounds <= 8:
                sim.move(t, "rework", verifier, "现场复核未通过", resolved_by=None, resolved_at=None)
                sim.start_clock(ClockKind.RESOLVE, t)
                continue
            sim.move(t, "verify", verifier, verified_by=verifier)
        if case.state == State.VERIFIED:
            t = t + timedelta(minutes=rng.uniform(5, 240))
            if not sim.step(t):
                return
            sim.move(t, "close", manager, closed_at=t)
        if case.state == State.CLOSED:
            if reporter is None or rng.random() < 0.15:
                return
            t = t + timedelta(hours=rng.uniform(0.5, 48))
            if not sim.step(t):
                return
            r = rng.random()
            score = Score.SATISFIED if r < 0.82 else Score.BASIC if r < 0.95 else Score.UNSATISFIED
            ratings.append(_Row(case_id=case.pk, user_id=reporter.pk, round=case.reopen_count, score=score, comment="", at=t))
            data = {"rating": {"score": score, "comment": "", "round": case.reopen_count}}
            if score != Score.UNSATISFIED:
                sim.event(t, "rate", reporter, case.state, case.state, "", data)
                return
            if case.reopen_count == 0:
                sim.move(t, "reopen", reporter, "", data, reopen_count=1, resolved_by=None, verified_by=None, closed_at=None)
                sim.stop((ClockKind.ACCEPT, ClockKind.ARRIVE, ClockKind.RESOLVE), t)
                for kind in (ClockKind.ACCEPT, ClockKind.ARRIVE, ClockKind.RESOLVE):
                    sim.start_clock(kind, t)
                continue
            count = case.reopen_count
            if not sim.assign(case.path_step + 1, t, "escalate", reporter, "", data):
                sim.event(t, "rate", reporter, case.state, case.state, "", data)
                return
            case.reopen_count, case.resolved_by, case.verified_by, case.closed_at = count + 1, None, None, None
            continue
        if case.state in (State.REJECTED, State.MERGED, State.RETURNED):
            return
