"""The foundation: periods, duty spans, the world, scope of the records."""

from datetime import date

import pytest

from gridgov.accounts import duties
from gridgov.gridwork import periods
from gridgov.gridwork.models import Patrol

from . import world


def test_periods_parse():
    q = periods.parse("2026-Q1")
    assert (q.first, q.last, q.days) == (date(2026, 1, 1), date(2026, 3, 31), 90)
    assert periods.parse("2026-h2").first == date(2026, 7, 1)
    assert periods.parse("2026").days == 365
    assert periods.parse("2026-02").last == date(2026, 2, 28)
    assert periods.parse("2026-W01").first == date(2025, 12, 29)
    assert periods.parse("2026-Q1").previous().key == "2025-Q4"
    with pytest.raises(periods.PeriodError):
        periods.parse("2026-Q5")


def test_spans_follow_the_duty_history(street):
    w = world.build(street)
    gw = w["gw_c1g1"]
    a = gw.assignments.get()
    duties.end_duty(w["admin"], a, until=date(2026, 2, 14))
    duties.assign_duty(w["admin"], gw, street["c2g2"], "worker", since=date(2026, 2, 15))
    mine = periods.spans(periods.parse("2026-Q1"), users=[gw.pk])
    assert [(s.path, s.first, s.last, s.days) for s in mine] == [
        (street["c1g1"].path, date(2026, 1, 1), date(2026, 2, 14), 45),
        (street["c2g2"].path, date(2026, 2, 15), date(2026, 3, 31), 45),
    ]
    assert periods.span_at(mine, date(2026, 3, 1)).path == street["c2g2"].path
    assert periods.span_at(mine, date(2026, 4, 1)) is None


def test_a_worker_sees_their_own_patrols_a_leader_their_grid(street):
    w = world.build(street)
    now = world.when(2026, 1, 5)
    mine = Patrol.objects.create(worker=w["gw_c1g1"], grid=street["c1g1"], grid_path=street["c1g1"].path,
                                 started_at=now, day=now.date(), state="ended")
    other = Patrol.objects.create(worker=w["gw_c2g1"], grid=street["c2g1"], grid_path=street["c2g1"].path,
                                  started_at=now, day=now.date(), state="ended")
    assert list(Patrol.objects.visible_to(w["gw_c1g1"])) == [mine]
    assert list(Patrol.objects.visible_to(w["gl_c1g1"])) == [mine]
    assert set(Patrol.objects.visible_to(w["leader"])) == {mine, other}
    assert not Patrol.objects.visible_to(w["resident"]).exists()
