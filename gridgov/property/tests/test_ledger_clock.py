"""The ledger's clock: the huey task escalates late problems, answering late marks the problem
late for good, a failed re-check starts a new round from the re-check in working days, and the
ledger's `late` filter catches an open problem past its deadline before the sweep ran."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.cases.workcal import WorkCalendar
from gridgov.property import services, tasks
from gridgov.property.models import Problem

from .ledger_helpers import at, problem
from .world import photo

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def scratch_media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def test_the_ledger_clock_task_escalates_a_late_problem(w):
    from gridgov.cases.models import Notification

    late = problem(w, now=timezone.now() - timedelta(days=30))
    fresh = problem(w, now=timezone.now(), code="C1", note="楼道堆物")
    assert late.due_at < timezone.now() < fresh.due_at
    assert tasks.ledger_clock.call_local() == {"escalated": 1}
    late.refresh_from_db()
    fresh.refresh_from_db()
    assert late.escalation == 1 and late.was_late and fresh.escalation == 0 and not fresh.was_late
    assert Notification.objects.filter(kind="property_late", recipient=w["pm_c1"]).exists()
    # 30 days late: the next sweep takes it to the street, and after that nothing changes
    assert tasks.ledger_clock.call_local() == {"escalated": 1}
    assert tasks.ledger_clock.call_local() == {"escalated": 0}
    late.refresh_from_db()
    assert late.escalation == 2 and late.events.filter(action="escalate").count() == 2
    assert Notification.objects.filter(kind="property_late", recipient=w["section"]).exists()


def test_answering_late_sets_was_late(w):
    now = at(2026, 7, 8, 10)
    p = problem(w, now=now)
    assert not p.was_late and p.escalation == 0
    p = services.answer_problem(w["pm_c1"], p, note="已清理", photos=[photo()], now=p.due_at + timedelta(minutes=5))
    assert p.was_late and p.state == Problem.State.ANSWERED
    assert p.events.get(action="answer").data == {"late": True}
    on_time = problem(w, now=now, code="C1", note="楼道堆物")
    on_time = services.answer_problem(w["pm_c1"], on_time, note="已清", photos=[photo()],
                                      now=on_time.due_at - timedelta(minutes=5))
    assert not on_time.was_late


def test_a_failed_recheck_starts_a_new_deadline_in_working_days(w):
    now = at(2026, 7, 8, 10)
    p = problem(w, now=now)
    p = services.answer_problem(w["pm_c1"], p, note="已清理", photos=[photo()], now=now + timedelta(hours=3))
    rechecked_at = at(2026, 7, 10, 16, 30)  # a Friday afternoon: the new round runs over the weekend
    p = services.recheck_problem(w["staff_c1"], p, passed=False, note="仍有满溢", days=3, now=rechecked_at)
    expected = WorkCalendar().add_working_days(rechecked_at, 3)
    assert p.due_at == expected and p.days == 3
    assert expected - rechecked_at > timedelta(days=3)  # the weekend does not count
    assert p.state == Problem.State.OPEN and p.answered_at is None and p.reopen_count == 1
    clock = services.clock_of(p, rechecked_at)
    assert clock["open"] and not clock["late"] and clock["hours_left"] > 0


def test_the_late_filter_catches_an_open_problem_past_due_before_the_sweep(w):
    p = problem(w, now=timezone.now() - timedelta(days=30))
    problem(w, now=timezone.now(), code="C1", note="楼道堆物")
    assert p.escalation == 0 and not p.was_late
    late = services.ledger(w["staff_c1"], late="1")
    assert [x.pk for x in late] == [p.pk]
    assert services.ledger(w["staff_c1"], reopened=True).count() == 0
