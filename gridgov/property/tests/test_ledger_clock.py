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


def test_level_two_is_due_at_escalate_at_set_on_level_one_and_cleared_by_a_new_round(w):
    p = problem(w, now=at(2026, 7, 8, 10))
    assert p.escalate_at is None
    just_late = p.due_at + timedelta(minutes=5)
    assert services.escalate_late(now=just_late) == 1
    p.refresh_from_db()
    expected = WorkCalendar().add_working_days(p.due_at, 3)  # PROPERTY_ESCALATE_DAYS
    assert (p.escalation, p.escalate_at) == (1, expected)
    # the clock reads the stored time: not a minute early, at once when it has come
    assert services.escalate_late(now=expected - timedelta(minutes=1)) == 0
    Problem.objects.filter(pk=p.pk).update(escalate_at=just_late + timedelta(minutes=1))
    assert services.escalate_late(now=just_late + timedelta(minutes=2)) == 1
    p.refresh_from_db()
    assert (p.escalation, p.escalate_at) == (2, just_late + timedelta(minutes=1))
    assert services.escalate_late(now=expected + timedelta(days=30)) == 0
    # answered, the re-check fails: a new round at level 0 without a level-2 time
    t = expected + timedelta(days=1)
    p = services.answer_problem(w["pm_c1"], p, note="已清理", photos=[photo()], now=t)
    p = services.recheck_problem(w["staff_c1"], p, passed=False, note="仍有满溢", now=t + timedelta(hours=2))
    assert (p.escalation, p.escalate_at) == (0, None)


def test_a_sweep_costs_the_same_whatever_the_number_of_waiting_late_problems(w, django_assert_max_num_queries):
    """Level-1 problems not yet due for level 2 cost the sweep nothing (no deadline worked out per
    problem, no calendar built): one query finds that nothing is due."""
    start = timezone.now() - timedelta(days=3)
    late = [problem(w, now=start, code=c, note="检查发现") for c in ("C1", "C3", "D1", "D3", "E1")]  # 3 days each
    sweep = max(p.due_at for p in late) + timedelta(minutes=1)
    assert services.escalate_late(now=sweep) == 5
    assert Problem.objects.filter(escalation=1, escalate_at__gt=sweep).count() == 5
    with django_assert_max_num_queries(2):
        assert services.escalate_late(now=sweep + timedelta(minutes=10)) == 0


def test_a_sweep_looks_up_the_recipients_once_per_path(w, monkeypatch):
    from gridgov.cases.models import Notification

    calls = {"company_users": 0, "community_staff": 0, "street_staff": 0}
    for name in calls:
        real = getattr(services, name)

        def counted(*args, _real=real, _name=name):
            calls[_name] += 1
            return _real(*args)

        monkeypatch.setattr(services, name, counted)
    late = [problem(w, now=timezone.now() - timedelta(days=30), code=c, note="检查发现") for c in ("C1", "C2", "C3")]
    assert len({p.grid_path for p in late}) == 1
    calls.update(dict.fromkeys(calls, 0))  # (submitting the inspections told the company)
    assert services.escalate_late() == 3
    assert calls == {"company_users": 1, "community_staff": 1, "street_staff": 0}
    assert services.escalate_late() == 3
    assert calls == {"company_users": 2, "community_staff": 2, "street_staff": 1}
    assert services.escalate_late() == 0
    told = Notification.objects.filter(kind="property_late", recipient=w["section"])
    assert told.count() == 3 * told.values("channel").distinct().count()


def test_the_migration_fills_escalate_at_of_level_one_problems(w):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("gridgov.property.migrations.0002_problem_escalate_at")
    one = problem(w, now=at(2026, 7, 8, 10))
    zero = problem(w, now=at(2026, 7, 8, 10), code="C1", note="楼道堆物")
    Problem.objects.filter(pk=one.pk).update(escalation=1)
    migration.fill(apps, None)
    one.refresh_from_db()
    zero.refresh_from_db()
    assert one.escalate_at == WorkCalendar().add_working_days(one.due_at, 3) and zero.escalate_at is None
