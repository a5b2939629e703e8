"""Periods and who served when: the two things every figure of grid work is computed over.

A period is named like the command line names it: "2026-Q3" (a quarter: 季度考核), "2026-H1" (a
half-year: 半年通报), "2026" (a year: 年度评比), "2026-07" (a month: 月汇总), "2026-W27" (an ISO
week: 周亮点). `Period.first` and `.last` are dates (both days included); `.start` and `.end`
are the aware datetimes bounding it in local time (end excluded).

A `Span` is one duty (accounts.GridAssignment) clipped to a period: a person serving a grid
from one day to another. A worker who changed grids mid-quarter has two spans, and every
figure is counted per span: what the worker did on the days they served a grid counts for that
grid. `spans(period)` reads the duty history, so an old period has the same spans whatever
happened to the duties after it (ended duties are kept, never deleted)."""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone


class PeriodError(ValueError):
    pass


class _Days:
    """Days `first`..`last` (both included) and their bounds as aware datetimes (end exclusive)."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.first, time.min))

    @property
    def end(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.last + timedelta(days=1), time.min))


@dataclass(frozen=True)
class Period(_Days):
    key: str
    kind: str  # quarter, half, year, month, week
    first: date
    last: date


    def __str__(self):
        return self.key

    def previous(self) -> "Period":
        return period_of(self.first - timedelta(days=1), self.kind)

    def contains(self, day: date) -> bool:
        return self.first <= day <= self.last


_RE = re.compile(r"^(\d{4})(?:-(Q[1-4]|H[12]|W\d{2}|\d{2}))?$")


def parse(text: str) -> Period:
    """The period a name gives; PeriodError (with the accepted forms) for anything else."""
    m = _RE.match((text or "").strip().upper())
    if not m:
        raise PeriodError(f"无法识别的考核期 {text!r}：应为 2026-Q3、2026-H1、2026、2026-07 或 2026-W27")
    year, part = int(m.group(1)), m.group(2)
    if part is None:
        return Period(f"{year}", "year", date(year, 1, 1), date(year, 12, 31))
    if part[0] == "Q":
        q = int(part[1])
        first = date(year, 3 * q - 2, 1)
        return Period(f"{year}-Q{q}", "quarter", first, _month_end(year, 3 * q))
    if part[0] == "H":
        h = int(part[1])
        return Period(f"{year}-H{h}", "half", date(year, 6 * h - 5, 1), _month_end(year, 6 * h))
    if part[0] == "W":
        w = int(part[1:])
        try:
            first = date.fromisocalendar(year, w, 1)
        except ValueError:
            raise PeriodError(f"{year} 年没有第 {w} 周") from None
        return Period(f"{year}-W{w:02d}", "week", first, first + timedelta(days=6))
    month = int(part)
    if not 1 <= month <= 12:
        raise PeriodError(f"无法识别的月份 {text!r}")
    return Period(f"{year}-{month:02d}", "month", date(year, month, 1), _month_end(year, month))


def _month_end(year: int, month: int) -> date:
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return nxt - timedelta(days=1)


def period_of(day: date, kind: str = "quarter") -> Period:
    """The period of `kind` that `day` lies in."""
    if kind == "year":
        return parse(f"{day.year}")
    if kind == "half":
        return parse(f"{day.year}-H{1 if day.month <= 6 else 2}")
    if kind == "month":
        return parse(f"{day.year}-{day.month:02d}")
    if kind == "week":
        y, w, _ = day.isocalendar()
        return parse(f"{y}-W{w:02d}")
    return parse(f"{day.year}-Q{(day.month - 1) // 3 + 1}")


def week_of(day: date) -> date:
    """The Monday of `day`'s week."""
    return day - timedelta(days=day.weekday())


# --- who served when --------------------------------------------------------------------------


@dataclass(frozen=True)
class Span(_Days):
    """A duty clipped to a period: `user_id` served `node` (path `path`) from `first` to `last`."""

    user_id: int
    node_id: int
    path: str
    duty: str
    first: date
    last: date


    def covers(self, day: date) -> bool:
        return self.first <= day <= self.last


def assessed_duties() -> list[str]:
    from . import conf

    return [d.strip() for d in str(conf.get("GRIDWORK_ASSESSED_DUTIES")).split("|") if d.strip()]


def spans(period: Period, *, duties=None, users=None, under: str = "") -> list[Span]:
    """Every duty of `duties` (default: the assessed ones) in force on some day of `period`,
    clipped to it; `users` (ids) and `under` (a grid path prefix) narrow them. Ordered by user,
    then first day, then path."""
    from django.db.models import Q

    from gridgov.accounts.models import GridAssignment

    qs = GridAssignment.objects.filter(duty__in=duties or assessed_duties()).filter(
        Q(since__isnull=True) | Q(since__lte=period.last)).filter(Q(until__isnull=True) | Q(until__gte=period.first))
    if users is not None:
        qs = qs.filter(user_id__in=list(users))
    if under:
        qs = qs.filter(node__path__startswith=under)
    out = []
    for user_id, node_id, path, duty, since, until in qs.values_list(
            "user_id", "node_id", "node__path", "duty", "since", "until"):
        first = max(since or period.first, period.first)
        last = min(until or period.last, period.last)
        if first <= last:
            out.append(Span(user_id, node_id, path, duty, first, last))
    out.sort(key=lambda s: (s.user_id, s.first, s.path))
    return out


def span_at(user_spans: list[Span], day: date, grid_path: str = "") -> Span | None:
    """Which of one user's spans an act of theirs on `day` counts for: the span covering the day
    (of the grid holding `grid_path`, when several cover it; else the first); None outside them."""
    covering = [s for s in user_spans if s.covers(day)]
    if not covering:
        return None
    if grid_path and len(covering) > 1:
        for s in covering:
            if grid_path.startswith(s.path):
                return s
    return covering[0]


def serving(user, day: date | None = None):
    """The grid node `user` serves on `day` (default today) as a worker or leader: their duty
    in force on the finest node (None without one)."""
    from gridgov.accounts.models import GridAssignment

    a = (GridAssignment.objects.in_force(day).filter(user=user, duty__in=assessed_duties())
         .select_related("node").order_by("-node__level", "node__path").first())
    return a.node if a else None
