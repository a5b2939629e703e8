"""`gridgov stats`, the property section: inspections by state (submitted ones by kind),
deductions, problems by state with the late, reopened and escalated ones, the quarters published."""

import json
from datetime import datetime, timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from gridgov.property import scores, services

from .world import inspection, photo

AT = timezone.make_aware(datetime(2026, 2, 2, 10, 0))  # a Monday


def stats() -> dict:
    out = StringIO()
    call_command("stats", stdout=out)
    return json.loads(out.getvalue())["property"]


def test_stats_count_inspections_problems_and_publications(w):
    assert stats()["inspections"] == 0 and stats()["problems_by_state"] == {}
    insp = inspection(w, deductions=[("C1", None, "楼道堆物"), ("D3", None, "楼道灯不亮"), ("E2", None, "飞线充电")], now=AT)
    inspection(w, "c2", now=AT, submit=False)  # planned, not yet walked
    a, b, c = insp.problems.order_by("id")
    pm, section = w["pm_c1"], w["section"]
    a = services.answer_problem(pm, a, note="已清理", photos=[photo()], now=AT + timedelta(days=1))
    a = services.recheck_problem(section, a, passed=False, note="仍有堆物", now=AT + timedelta(days=2))
    services.escalate_late(now=AT + timedelta(days=30))  # b and c are late; a's new round too
    services.cancel_problem(section, c, reason="误判", now=AT + timedelta(days=31))
    scores.publish(None, "2026Q1", now=AT + timedelta(days=70))
    s = stats()
    assert s["inspections"] == 2
    assert s["inspections_by_state"] == {"planned": 1, "submitted": 1}
    assert s["submitted_by_kind"] == {"scheduled": 1}
    assert s["deductions"] == 3 and s["problems"] == 3
    assert s["problems_by_state"] == {"cancelled": 1, "open": 2}
    assert s["problems_late"] == 2  # a (its new round) and b, as of today
    assert s["problems_reopened"] == 1
    assert s["problems_escalated"] == 3
    assert s["quarters_published"] == ["2026Q1"]

