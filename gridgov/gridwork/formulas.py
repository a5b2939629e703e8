"""The assessment's formulas: each gives, for every duty span of a period (periods.Span: a person
serving a grid from one day to another), a numerator and a denominator, from the records as they
stood at `as_of` (the period's end, or an earlier moment asked for). Nothing that happened after
`as_of` counts, so an old period computed again gives the same figures whatever happened since.

An act of a person counts for the span covering its day (periods.span_at: a worker who changed
grids mid-quarter has each act counted for the grid they served that day); a figure of a grid
(visits due, disputes) counts the span's grid subtree and its days.

| code | numerator | denominator | value |
| --- | --- | --- | --- |
| valid_reports 有效上报率 | the worker's reports (Case.reporter) of the span not rejected or merged by `as_of` | the worker's reports of the span | num / den |
| on_time 按时办结率 | the worker's time limits (cases.Clock accept, arrive, resolve with handler_user = the worker) met: stopped at or before due | the time limits settled in the span: due, or stopped earlier, by `as_of` | num / den |
| rework 返工率 (low is good) | of the cases the worker resolved in the span (a resolve event by them), those sent back afterwards (rework by the verifier, reopen by the resident) by `as_of` | the cases resolved | 1 − num / den |
| satisfaction 群众满意率 | Σ ratings of the span on cases the worker resolved: satisfied 1, basically satisfied HOTLINE_BASIC_WEIGHT, unsatisfied 0 | the ratings | num / den |
| visit_coverage 重点人群走访覆盖率 (duties that visit: GRIDWORK_FIELD_DUTIES) | Σ over the special-care residents of the span's grids of min(days the worker visited them, visits due) | Σ visits due: the span's days / the resident's interval (the shortest GRIDWORK_VISIT_DAYS_<GROUP> of theirs; living alone: at most _ALONE — day.interval_of) / the workers sharing the grid (1 + the other field spans' days on it in the span / the span's days) | num / den |
| patrol_coverage 巡查覆盖率 (the same duties) | working days of the span with an ended patrol of the worker | working days of the span | num / den |
| disputes 矛盾纠纷化解率 | disputes recorded in the span's grids in the span and agreed by `as_of` | disputes recorded | num / den |
| leader_mark 领导评价 | the leader's mark of the period / 100 (given after it; as it stands, its changes have history) | 1 when marked | num / den |

A denominator of 0 makes the indicator not applicable to that span's person (assess spreads its
weight over the others). Every formula reads all spans at once with a few aggregate queries."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from .periods import Period, Span, span_at


@dataclass
class Context:
    period: Period
    as_of: datetime
    spans: list[Span]
    #: settings in force at the period's end (assess reads them once)
    settings: dict = field(default_factory=dict)
    #: when a dict, the formulas note the records behind each figure: (span index, "num" | "den")
    #: -> [(kind, id), ...] (assess.evidence)
    evidence: dict | None = None

    def __post_init__(self):
        self.by_user: dict[int, list[Span]] = defaultdict(list)
        for s in self.spans:
            self.by_user[s.user_id].append(s)
        self.index = {id(s): i for i, s in enumerate(self.spans)}

    def fields(self, span) -> bool:
        """Whether the span's duty patrols and visits (GRIDWORK_FIELD_DUTIES)."""
        return span.duty in self.settings.get("_field_duties", ("worker",))

    @property
    def users(self) -> list[int]:
        return list(self.by_user)

    @property
    def start(self) -> datetime:
        return self.period.start

    @property
    def stop(self) -> datetime:
        """The end of what counts: the period's end or `as_of`, whichever is first."""
        return min(self.period.end, self.as_of)

    def span_of(self, user_id: int, moment: datetime, grid_path: str = "") -> int | None:
        """The index of the user's span an act at `moment` counts for (None outside them and
        after `as_of`)."""
        if moment is None or moment >= self.stop or moment < self.start:
            return None
        s = span_at(self.by_user.get(user_id, ()), timezone.localtime(moment).date(), grid_path or "")
        return None if s is None else self.index[id(s)]


def _note(ctx, i, kind, pk, counted: bool):
    if ctx.evidence is not None:
        ctx.evidence.setdefault((i, "den"), []).append((kind, pk))
        if counted:
            ctx.evidence.setdefault((i, "num"), []).append((kind, pk))


def _blank(ctx) -> list[list[float]]:
    return [[0.0, 0.0] for _ in ctx.spans]


def _chunks(ids, n=500):
    ids = list(ids)
    for i in range(0, len(ids), n):
        yield ids[i:i + n]


# --- the formulas -----------------------------------------------------------------------------


def valid_reports(ctx: Context) -> list[list[float]]:
    from gridgov.cases.models import Case, CaseEvent, State

    out = _blank(ctx)
    rows = list(Case.objects.filter(reporter_id__in=ctx.users, created_at__gte=ctx.start, created_at__lt=ctx.stop)
                .values_list("pk", "reporter_id", "created_at", "grid_path"))
    invalid = set()
    for chunk in _chunks([r[0] for r in rows]):
        invalid.update(CaseEvent.objects.filter(case_id__in=chunk, to_state__in=[State.REJECTED, State.MERGED],
                                                at__lt=ctx.as_of).values_list("case_id", flat=True))
    for pk, uid, at, path in rows:
        i = ctx.span_of(uid, at, path)
        if i is None:
            continue
        out[i][1] += 1
        if pk not in invalid:
            out[i][0] += 1
        _note(ctx, i, "case", pk, pk not in invalid)
    return out


def on_time(ctx: Context) -> list[list[float]]:
    from gridgov.cases.models import Clock, ClockKind

    out = _blank(ctx)
    # a clock settles when it is due, or when it was stopped before that
    qs = (Clock.objects.filter(handler_user_id__in=ctx.users, kind__in=[ClockKind.ACCEPT, ClockKind.ARRIVE,
                                                                         ClockKind.RESOLVE])
          .filter(Q(due_at__gte=ctx.start) | Q(stopped_at__gte=ctx.start))
          .filter(Q(due_at__lt=ctx.stop) | Q(stopped_at__lt=ctx.stop)))
    for pk, uid, due, stopped, path in qs.values_list("pk", "handler_user_id", "due_at", "stopped_at",
                                                      "case__grid_path"):
        if stopped is not None and stopped >= ctx.as_of:
            stopped = None  # stopped after the moment asked for: not yet then
        settled = min(due, stopped) if stopped is not None else due
        i = ctx.span_of(uid, settled, path)
        if i is None:
            continue
        met = stopped is not None and stopped <= due
        out[i][1] += 1
        out[i][0] += met
        _note(ctx, i, "clock", pk, met)
    return out


def _resolved(ctx):
    """(case id, worker, resolved at, grid path) of every resolve by the assessed in the period."""
    from gridgov.cases.models import CaseEvent

    return list(CaseEvent.objects.filter(actor_id__in=ctx.users, action="resolve", at__gte=ctx.start, at__lt=ctx.stop)
                .values_list("case_id", "actor_id", "at", "case__grid_path"))


def rework(ctx: Context) -> list[list[float]]:
    """Numerator: the resolved cases sent back; assess scores 1 − num/den."""
    from gridgov.cases.models import CaseEvent

    out = _blank(ctx)
    resolved = _resolved(ctx)
    last = {}  # (case, span) -> the first resolve of the worker in the span (a rework after it counts)
    for case_id, uid, at, path in resolved:
        i = ctx.span_of(uid, at, path)
        if i is not None:
            key = (case_id, i)
            last[key] = min(last.get(key, at), at)
    backs = defaultdict(list)
    for chunk in _chunks({c for c, _ in last}):
        for case_id, at in CaseEvent.objects.filter(case_id__in=chunk, action__in=["rework", "reopen"],
                                                    at__lt=ctx.as_of).values_list("case_id", "at"):
            backs[case_id].append(at)
    for (case_id, i), at in last.items():
        back = any(b > at for b in backs.get(case_id, ()))
        out[i][1] += 1
        out[i][0] += back
        _note(ctx, i, "case", case_id, back)
    return out


def satisfaction(ctx: Context) -> list[list[float]]:
    from gridgov.cases.models import CaseEvent, Rating, Score

    out = _blank(ctx)
    basic = float(ctx.settings.get("HOTLINE_BASIC_WEIGHT", 0.9))
    weight = {Score.SATISFIED: 1.0, Score.BASIC: basic, Score.UNSATISFIED: 0.0}
    ratings = list(Rating.objects.filter(at__gte=ctx.start, at__lt=ctx.stop)
                   .values_list("case_id", "at", "score", "case__grid_path", "pk"))
    resolves = defaultdict(list)  # case -> [(at, worker)]
    for chunk in _chunks({r[0] for r in ratings}):
        for case_id, uid, at in CaseEvent.objects.filter(case_id__in=chunk, action="resolve", actor_id__in=ctx.users,
                                                         at__lt=ctx.stop).values_list("case_id", "actor_id", "at"):
            resolves[case_id].append((at, uid))
    for case_id, at, score, path, pk in ratings:
        before = [r for r in resolves.get(case_id, ()) if r[0] <= at]
        if not before:
            continue
        uid = max(before)[1]  # the worker who resolved it last before the rating
        i = ctx.span_of(uid, at, path)
        if i is None:
            continue
        out[i][1] += 1
        out[i][0] += weight.get(score, 0.0)
        _note(ctx, i, "rating", pk, score != Score.UNSATISFIED)
    return out


def interval_table(settings: dict) -> dict:
    """The visit intervals in force (day.interval_of's table) from the settings read."""
    from gridgov.registry.models import Resident

    table = {g: int(settings[f"GRIDWORK_VISIT_DAYS_{g.upper()}"]) for g in Resident.SPECIAL_CARE}
    table["alone"] = int(settings["GRIDWORK_VISIT_DAYS_ALONE"])
    return table


class PathIndex:
    """Which spans' grids hold a path: a look-up by the path's prefixes, not a scan of the spans."""

    def __init__(self, ctx, keep=lambda span: True):
        self.by_path = defaultdict(list)
        for i, s in enumerate(ctx.spans):
            if keep(s):
                self.by_path[s.path].append(i)
        self.depths = sorted({p.count("/") for p in self.by_path})

    def __call__(self, path: str):
        parts = (path or "").split("/")
        for d in self.depths:
            if d < len(parts):
                yield from self.by_path.get("/".join(parts[:d]) + "/", ())


def _special_residents(ctx) -> list[tuple[int, str, list, date | None]]:
    """(id, grid path, tags, ended_on) of the special-care residents in the spans' grids."""
    from gridgov.registry.models import Resident

    paths = sorted({s.path for s in ctx.spans})
    if not paths:
        return []
    cond, care = Q(), Q()
    for p in paths:
        cond |= Q(grid__path__startswith=p)
    for g in Resident.SPECIAL_CARE:
        care |= Q(tags__icontains=f'"{g}"')
    out = []
    qs = (Resident.objects.filter(cond).filter(care).filter(Q(ended_on__isnull=True) | Q(ended_on__gte=ctx.period.first))
          .values_list("pk", "grid__path", "tags", "ended_on"))
    for pk, path, tags, ended in qs.iterator(chunk_size=5000):
        if any(t in Resident.SPECIAL_CARE for t in tags or ()):
            out.append((pk, path or "", tags, ended))
    return out


def visit_coverage(ctx: Context) -> list[list[float]]:
    from .day import interval_of
    from .models import VisitResident

    out = _blank(ctx)
    residents = _special_residents(ctx)
    if not residents:
        return out
    # the days each worker visited each resident (one visit a day counts once)
    visited = defaultdict(set)  # (worker, resident) -> {day}
    for uid, rid, at in (VisitResident.objects.filter(worker_id__in=ctx.users, at__gte=ctx.start, at__lt=ctx.stop)
                         .values_list("worker_id", "resident_id", "at").iterator(chunk_size=5000)):
        visited[(uid, rid)].add(timezone.localtime(at).date())
    index = PathIndex(ctx, ctx.fields)
    share = _shares(ctx, index.by_path)
    table = interval_table(ctx.settings)
    for rid, path, tags, ended in residents:
        every = interval_of(tags, table)
        for i in index(path):
            s = ctx.spans[i]
            last = min(s.last, ended) if ended else s.last
            days = (last - s.first).days + 1
            if days <= 0:
                continue
            due = days / every / share[i]
            done = sum(1 for d in visited.get((s.user_id, rid), ()) if s.first <= d <= last)
            out[i][1] += due
            out[i][0] += min(done, due)
            _note(ctx, i, "resident", rid, done > 0)
    return out


def _shares(ctx, by_path) -> dict[int, float]:
    """How many field workers share each span's grid on average over the span's days (1 alone):
    the visits due in a grid are shared by the workers serving it at the same time."""
    out = {}
    for indexes in by_path.values():
        for i in indexes:
            s = ctx.spans[i]
            overlap = 0
            for j in indexes:
                t = ctx.spans[j]
                if j != i and t.user_id != s.user_id:
                    overlap += max(0, (min(s.last, t.last) - max(s.first, t.first)).days + 1)
            out[i] = 1 + overlap / s.days
    return out


def patrol_coverage(ctx: Context) -> list[list[float]]:
    from gridgov.cases.workcal import WorkCalendar

    from .models import Patrol

    out = _blank(ctx)
    cal = WorkCalendar()
    days = defaultdict(set)
    ids = defaultdict(list)
    for pk, uid, day, ended in (Patrol.objects.filter(worker_id__in=ctx.users, state=Patrol.State.ENDED,
                                                      day__gte=ctx.period.first, day__lte=ctx.period.last)
                                .values_list("pk", "worker_id", "day", "ended_at")):
        if ended is not None and ended < ctx.as_of:
            days[uid].add(day)
            ids[(uid, day)].append(pk)
    last_day = timezone.localtime(ctx.stop - timedelta(microseconds=1)).date()
    workdays = {ctx.period.first + timedelta(days=k) for k in range(ctx.period.days)}
    workdays = {d for d in workdays if cal.is_workday(d)}
    for i, s in enumerate(ctx.spans):
        if not ctx.fields(s):
            continue
        d, end = s.first, min(s.last, last_day)
        while d <= end:
            if d in workdays:
                out[i][1] += 1
                if d in days.get(s.user_id, ()):
                    out[i][0] += 1
                    for pk in ids[(s.user_id, d)]:
                        _note(ctx, i, "patrol", pk, True)
            d += timedelta(days=1)
    return out


def disputes(ctx: Context) -> list[list[float]]:
    from .models import Dispute, DisputeEvent

    out = _blank(ctx)
    paths = sorted({s.path for s in ctx.spans})
    if not paths:
        return out
    cond = Q()
    for p in paths:
        cond |= Q(grid_path__startswith=p)
    rows = list(Dispute.objects.filter(cond, recorded_at__gte=ctx.start, recorded_at__lt=ctx.stop)
                .values_list("pk", "grid_path", "recorded_at"))
    agreed = set()
    for chunk in _chunks([r[0] for r in rows]):
        agreed.update(DisputeEvent.objects.filter(dispute_id__in=chunk, to_state=Dispute.State.AGREED,
                                                  at__lt=ctx.as_of).values_list("dispute_id", flat=True))
    index = PathIndex(ctx)
    for pk, path, at in rows:
        day = timezone.localtime(at).date()
        for i in index(path):
            s = ctx.spans[i]
            if s.covers(day):
                out[i][1] += 1
                out[i][0] += pk in agreed
                _note(ctx, i, "dispute", pk, pk in agreed)
    return out


def leader_mark(ctx: Context) -> list[list[float]]:
    from .models import LeaderMark

    out = _blank(ctx)
    # given after the period (leaders mark a quarter once it is over): the mark as it stands
    marks = dict(LeaderMark.objects.filter(worker_id__in=ctx.users, period=ctx.period.key)
                 .values_list("worker_id", "mark"))
    for uid, spans in ctx.by_user.items():
        if uid in marks:
            # the mark is the person's, once: on their longest span of the period
            s = max(spans, key=lambda x: (x.days, -x.first.toordinal()))
            i = ctx.index[id(s)]
            out[i] = [float(marks[uid]) / 100.0, 1.0]
    return out


#: code -> (function, Chinese name, lower is better)
FORMULAS = {
    "valid_reports": (valid_reports, "有效上报率", False),
    "on_time": (on_time, "按时办结率", False),
    "rework": (rework, "返工率", True),
    "satisfaction": (satisfaction, "群众满意率", False),
    "visit_coverage": (visit_coverage, "重点人群走访覆盖率", False),
    "patrol_coverage": (patrol_coverage, "巡查覆盖率", False),
    "disputes": (disputes, "矛盾纠纷化解率", False),
    "leader_mark": (leader_mark, "领导评价", False),
}
#: the formulas whose denominators make a worker's sample (GRIDWORK_MIN_SAMPLE)
SAMPLE = ("valid_reports", "on_time", "rework")
