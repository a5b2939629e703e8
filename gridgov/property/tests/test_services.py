"""The core of the alliance: the indicator rules, an inspection's score, the ledger's loop and
clock, and who sees what."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from gridgov.property import indicators, services
from gridgov.property.models import Indicator, Inspection, Problem

from .world import inspection, photo

pytestmark = pytest.mark.django_db

TZ = timezone.get_current_timezone()


def at(*args):
    return timezone.make_aware(datetime(*args), TZ)


def test_default_set_has_5_categories_25_indicators_100_points(w):
    s = indicators.set_for(2026)
    cats = list(s.categories.all())
    assert len(cats) == 5 and Indicator.objects.filter(category__indicator_set=s).count() == 25
    assert sum(c.weight for c in cats) == 100
    assert {"内业管理", "服务规范"} <= {c.name for c in cats}
    indicators.check_set(s)


def test_full_marks_score_100_and_a_deduction_lowers_it_by_its_points(w):
    now = at(2026, 4, 7, 10)
    clean = inspection(w, now=now)
    assert clean.score == Decimal("100.00") and clean.problems.count() == 0
    dirty = inspection(w, deductions=[("C1", 2, "3号楼楼道堆放纸箱"), ("E2", None, "消防通道停车")], now=now)
    # C1 loses 2 points; E2's step is 2
    assert dirty.score == Decimal("96.00")
    assert dirty.problems.count() == 2


def test_an_indicator_never_loses_more_than_its_full_marks(w):
    now = at(2026, 4, 7, 10)
    insp = inspection(w, deductions=[("B1", 3, "热线无人接"), ("B1", 3, "服务中心关门")] + [("A4", None, "未公开")],
                      now=now)
    # B1 full 3: two findings of 3 take 3 in all; A4 pass/fail takes its 3
    assert insp.score == Decimal("94.00")


def test_last_years_inspection_keeps_last_years_rules(w):
    old = inspection(w, deductions=[("C1", 1, "楼道脏")], now=at(2025, 11, 3, 10))
    old.indicator_set.refresh_from_db()
    assert old.indicator_set.year == 2025 and old.indicator_set.frozen_at is not None
    with pytest.raises(indicators.IndicatorError):
        ind = Indicator.objects.get(category__indicator_set=old.indicator_set, code="C1")
        indicators.update_indicator(w["admin"], ind, criteria="新标准")
    new = indicators.set_for(2026)
    c1, c2 = (Indicator.objects.get(category__indicator_set=new, code=c) for c in ("C1", "C2"))
    indicators.update_indicators(w["admin"], new, {c1.pk: {"full_marks": 6}, c2.pk: {"full_marks": 4}})
    assert Indicator.objects.get(pk=c1.pk).full_marks == 6
    with pytest.raises(indicators.IndicatorError):  # the set would total 101
        indicators.update_indicators(w["admin"], new, {c1.pk: {"full_marks": 7}})
    old.refresh_from_db()
    assert old.score == Decimal("99.00")


def test_recheck_loop_failed_reopens_passed_closes(w):
    now = at(2026, 4, 7, 10)
    insp = inspection(w, deductions=[("C2", None, "垃圾桶满溢")], now=now)
    p = insp.problems.get()
    assert p.state == Problem.State.OPEN and p.due_at > now
    with pytest.raises(services.NotFound):  # another company's user does not even see it
        services.answer_problem(w["pm_c2"], p, note="已清理", photos=[photo()], now=now + timedelta(hours=2))
    with pytest.raises(services.NotFound):
        services.get_problem(w["pm_c2"], p.pk)
    p = services.answer_problem(w["pm_c1"], p, note="已清理", photos=[photo()], now=now + timedelta(hours=2))
    assert p.state == Problem.State.ANSWERED and not p.was_late
    with pytest.raises(services.Forbidden):  # the company cannot re-check itself
        services.recheck_problem(w["pm_c1"], p, passed=True, now=now + timedelta(hours=3))
    p = services.recheck_problem(w["staff_c1"], p, passed=False, note="仍有满溢", now=now + timedelta(days=1))
    assert p.state == Problem.State.OPEN and p.reopen_count == 1 and p.due_at > now + timedelta(days=1)
    p = services.answer_problem(w["pm_c1"], p, note="增加清运", photos=[photo()], now=now + timedelta(days=2))
    p = services.recheck_problem(w["staff_c1"], p, passed=True, now=now + timedelta(days=3))
    assert p.state == Problem.State.PASSED and p.closed_at is not None
    assert [e.action for e in p.events.all()] == ["open", "answer", "fail", "answer", "pass"]


def test_late_problem_escalates_once_then_to_the_street(w):
    from gridgov.cases.models import Notification

    now = at(2026, 4, 7, 10)
    p = inspection(w, deductions=[("C2", None, "垃圾桶满溢")], now=now).problems.get()
    assert services.escalate_late(now + timedelta(hours=1)) == 0
    late = p.due_at + timedelta(hours=1)
    assert services.escalate_late(late) == 1
    assert services.escalate_late(late) == 0  # a rerun changes nothing
    p.refresh_from_db()
    assert p.escalation == 1 and p.was_late
    assert Notification.objects.filter(kind="property_late", recipient=w["pm_c1"]).exists()
    assert services.escalate_late(late + timedelta(days=10)) == 1
    p.refresh_from_db()
    assert p.escalation == 2
    assert Notification.objects.filter(kind="property_late", recipient=w["section"]).exists()
    answered = services.answer_problem(w["pm_c1"], p, note="已清理", photos=[photo()], now=late + timedelta(days=11))
    assert answered.was_late


def test_scope_company_sees_its_own_staff_per_community(w):
    now = at(2026, 4, 7, 10)
    inspection(w, "c1", deductions=[("C1", 1, "脏")], now=now)
    inspection(w, "c2", deductions=[("C1", 1, "脏")], now=now)
    mine = lambda u: set(Problem.objects.visible_to(u).values_list("project__name", flat=True))  # noqa: E731
    assert mine(w["pm_c1"]) == {w["project_c1"].name}
    assert mine(w["staff_c2"]) == {w["project_c2"].name}
    assert mine(w["section"]) == mine(w["leader"]) == {w["project_c1"].name, w["project_c2"].name}
    assert mine(w["worker_c1"]) == set()  # the project's grid is the community, above the grid worker's grid
    assert set(services.projects_visible_to(w["pm_c2"])) == {w["project_c2"]}
    assert Inspection.objects.visible_to(w["pm_c1"]).count() == 1
    with pytest.raises(services.Forbidden):
        services.plan_inspection(w["pm_c1"], w["project_c1"], planned_on=now.date())
    with pytest.raises(services.Forbidden):
        services.plan_inspection(w["staff_c2"], w["project_c1"], planned_on=now.date())


def test_quarters():
    assert services.quarter_key("2026-q3") == "2026Q3"
    start, end = services.quarter_bounds("2026Q4")
    assert (start.month, end.year, end.month) == (10, 2027, 1)
    assert services.previous_quarter("2026Q1") == "2025Q4"
    with pytest.raises(services.PropertyError):
        services.parse_quarter("2026-5")
