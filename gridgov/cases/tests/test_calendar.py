import datetime as dt

import pytest
from django.utils import timezone

from gridgov.cases.models import CalendarOverride
from gridgov.cases.workcal import WorkCalendar, parse_periods

PERIODS = parse_periods("09:00-12:00,13:30-17:30")


def at(s):
    return timezone.make_aware(dt.datetime.fromisoformat(s))


def cal(overrides=None):
    return WorkCalendar(PERIODS, overrides or {})


def test_national_day_2025_and_the_working_sunday():
    c = cal()
    assert c.is_workday(dt.date(2025, 9, 28))  # Sunday, a make-up working day (调休)
    assert not c.is_workday(dt.date(2025, 9, 27))  # an ordinary Saturday
    assert all(not c.is_workday(dt.date(2025, 10, d)) for d in range(1, 9))
    assert c.is_workday(dt.date(2025, 10, 11))  # Saturday, make-up working day


def test_limit_started_on_the_eve_of_national_day_runs_past_the_holiday():
    c = cal()
    # 16:30 on Tue 30 Sep: 1 h left that day, then the holiday until Thu 9 Oct
    assert c.add_working_hours(at("2025-09-30T16:30"), 4) == at("2025-10-09T12:00")
    assert c.working_hours_between(at("2025-09-30T16:30"), at("2025-10-09T12:00")) == pytest.approx(4)


def test_limit_started_on_friday_night_runs_on_the_make_up_sunday():
    c = cal()
    assert c.add_working_hours(at("2025-09-26T17:00"), 2) == at("2025-09-28T10:30")


def test_lunch_break_and_exact_period_end():
    c = cal()
    assert c.add_working_hours(at("2025-09-29T11:00"), 1) == at("2025-09-29T12:00")
    assert c.add_working_hours(at("2025-09-29T11:00"), 1.5) == at("2025-09-29T14:00")
    assert c.add_working_hours(at("2025-09-29T07:00"), 0.5) == at("2025-09-29T09:30")


def test_local_override_wins(db):
    CalendarOverride.objects.create(date=dt.date(2025, 9, 29), is_workday=False, note="区里停工")
    c = WorkCalendar(PERIODS)
    assert not c.is_workday(dt.date(2025, 9, 29))
    assert c.add_working_hours(at("2025-09-29T09:00"), 1) == at("2025-09-30T10:00")


def test_years_the_package_does_not_know_fall_back_to_weekdays():
    c = cal()
    assert c.is_workday(dt.date(2031, 1, 6)) and not c.is_workday(dt.date(2031, 1, 5))


def test_bad_working_hours_are_explained():
    with pytest.raises(ValueError, match="HH:MM"):
        parse_periods("9-12")
    with pytest.raises(ValueError, match="overlap"):
        parse_periods("09:00-12:00,11:00-13:00")
