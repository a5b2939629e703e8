"""The working calendar: China's public holidays and make-up working days (调休), local
overrides, and the working periods of a day.

A day is a working day when a `CalendarOverride` says so; otherwise as `chinese_calendar` says
(official holidays and 调休 days, e.g. Sunday 2025-09-28 worked, 2025-10-01..08 off); for
years that package does not cover yet, Monday to Friday. Working periods come from
`CASES_WORKING_HOURS` (default 09:00-12:00,13:30-17:30), in the project's time zone."""

import datetime as dt
import math

import chinese_calendar
from django.utils import timezone

from . import conf

MAX_DAYS = 3660  # a limit never runs further than this


def parse_periods(text: str) -> list[tuple[dt.time, dt.time]]:
    periods = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            a, b = part.split("-")
            start, end = dt.time.fromisoformat(a.strip()), dt.time.fromisoformat(b.strip())
        except ValueError as exc:
            raise ValueError(f"working hours {part!r}: write HH:MM-HH:MM, comma-separated") from exc
        if end <= start:
            raise ValueError(f"working hours {part!r}: the end must follow the start")
        periods.append((start, end))
    periods.sort()
    for (a1, b1), (a2, b2) in zip(periods, periods[1:]):
        if a2 < b1:
            raise ValueError(f"working hours overlap: {a1}-{b1} and {a2}-{b2}")
    if not periods:
        raise ValueError("no working hours configured")
    return periods


class WorkCalendar:
    def __init__(self, periods=None, overrides: dict | None = None):
        self.periods = parse_periods(conf.get("CASES_WORKING_HOURS")) if periods is None else periods
        if overrides is None:
            from .models import CalendarOverride

            overrides = dict(CalendarOverride.objects.values_list("date", "is_workday"))
        self.overrides = overrides
        self.tz = timezone.get_default_timezone()

    def is_workday(self, day: dt.date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:  # a year the package does not know yet
            return day.weekday() < 5

    def _periods_on(self, day: dt.date):
        if not self.is_workday(day):
            return
        for start, end in self.periods:
            yield (
                timezone.make_aware(dt.datetime.combine(day, start), self.tz),
                timezone.make_aware(dt.datetime.combine(day, end), self.tz),
            )

    def add_working_hours(self, start: dt.datetime, hours: float) -> dt.datetime:
        """The moment `hours` working hours after `start` (ValueError for hours that are not a
        finite number or could not run out within MAX_DAYS days, before any arithmetic)."""
        hours = float(hours)
        if not math.isfinite(hours) or hours > MAX_DAYS * 24:
            raise ValueError(f"{hours} working hours: give a finite number of at most {MAX_DAYS * 24} hours")
        remaining = dt.timedelta(hours=hours)
        cursor = timezone.localtime(start, self.tz)
        if remaining <= dt.timedelta(0):
            return cursor
        day = cursor.date()
        for _ in range(MAX_DAYS):
            for a, b in self._periods_on(day):
                a = max(a, cursor)
                if b <= a:
                    continue
                if remaining <= b - a:
                    return a + remaining
                remaining -= b - a
            day += dt.timedelta(days=1)
        raise ValueError(f"{hours} working hours from {start} run past {MAX_DAYS} days")

    def hours_per_day(self) -> float:
        """The working hours of one working day (7 with the default periods 09:00-12:00, 13:30-17:30)."""
        return sum((dt.datetime.combine(dt.date.min, b) - dt.datetime.combine(dt.date.min, a)).total_seconds()
                   for a, b in self.periods) / 3600

    def add_working_days(self, start: dt.datetime, days: float) -> dt.datetime:
        """The moment `days` working days after `start`: days × the working hours of a day, run on
        the working calendar (so one working day from Friday 10:00 is the next working day at
        10:00, holidays and weekends skipped, a 调休 Sunday counted)."""
        days = float(days)
        if not math.isfinite(days) or days > MAX_DAYS:
            raise ValueError(f"{days} working days: give a finite number of at most {MAX_DAYS} days")
        return self.add_working_hours(start, days * self.hours_per_day())

    def add(self, start: dt.datetime, amount: float, unit: str) -> dt.datetime:
        """`amount` of `unit` (minutes: wall clock; working_hours; working_days) after `start`."""
        if unit == "minutes":
            return start + dt.timedelta(minutes=float(amount))
        if unit == "working_days":
            return self.add_working_days(start, amount)
        if unit == "working_hours":
            return self.add_working_hours(start, amount)
        raise ValueError(f"unknown time unit {unit!r}")

    def working_hours_between(self, a: dt.datetime, b: dt.datetime) -> float:
        """Working hours from a to b (0 when b is before a)."""
        a, b = timezone.localtime(a, self.tz), timezone.localtime(b, self.tz)
        total = dt.timedelta(0)
        day = a.date()
        while day <= b.date():
            for p, q in self._periods_on(day):
                lo, hi = max(p, a), min(q, b)
                if hi > lo:
                    total += hi - lo
            day += dt.timedelta(days=1)
        return total.total_seconds() / 3600


# --- local overrides, edited on /calendar/ ------------------------------------------------------


def set_override(actor, day: dt.date, is_workday: bool, note: str = ""):
    """Make `day` a holiday (is_workday False) or a make-up working day (True) locally, from now:
    clocks started after this count with it, running clocks keep their due times. History kind
    "settings", object "calendar:<date>". Who: settings × update."""
    from django.db import transaction

    from gridgov.accounts import policy
    from gridgov.core import history

    from .models import CalendarOverride

    policy.require(actor, "settings", "update")
    with transaction.atomic():
        old = CalendarOverride.objects.filter(date=day).first()
        before = {"is_workday": old.is_workday, "note": old.note} if old else {}
        row, _ = CalendarOverride.objects.update_or_create(date=day, defaults={"is_workday": bool(is_workday), "note": (note or "")[:100]})
        history.record(actor, "settings", row, "update" if old else "create",
                       history.diff(before, {"is_workday": row.is_workday, "note": row.note}), object_id=f"calendar:{day.isoformat()}")
    return row


def remove_override(actor, day: dt.date) -> bool:
    """Drop the local override of `day` (the national calendar applies again)."""
    from django.db import transaction

    from gridgov.accounts import policy
    from gridgov.core import history

    from .models import CalendarOverride

    policy.require(actor, "settings", "update")
    with transaction.atomic():
        row = CalendarOverride.objects.select_for_update().filter(date=day).first()
        if row is None:
            return False
        history.record(actor, "settings", row, "delete", {"is_workday": [row.is_workday, None], "note": [row.note, None]},
                       object_id=f"calendar:{day.isoformat()}")
        row.delete()
    return True
