import datetime as dt
import io
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone

from gridgov.cases import services
from gridgov.cases.models import Breach, CaseEvent, Clock, Notification, State

from .conftest import P_C1G1


def at(s):
    return timezone.make_aware(dt.datetime.fromisoformat(s))


def submit_at(when, people, **kw):
    kw.setdefault("text", "小区门口的路灯坏了")
    with mock.patch("django.utils.timezone.now", return_value=at(when)):
        case, _ = services.submit_case(reporter=people["resident"], channel="resident", lon=P_C1G1[0], lat=P_C1G1[1], **kw)
    return case


def clock(case, kind, state=None):
    qs = Clock.objects.filter(case=case, kind=kind).order_by("-id")
    return qs.filter(state=state).first() if state else qs.first()


def test_limits_of_a_lamp_report_on_the_eve_of_national_day(people):
    case = submit_at("2025-09-30T10:00", people)
    acc, res = clock(case, "accept"), clock(case, "resolve")
    assert (acc.basis, acc.due_at, acc.warn_at) == ("wall", at("2025-09-30T10:01"), at("2025-09-30T10:00:48"))
    # 8 working hours: 2 h before lunch, 4 h after, then the holiday until Thu 9 Oct 11:00
    assert (res.basis, res.due_at) == ("working", at("2025-10-09T11:00"))
    assert res.warn_at == at("2025-10-09T09:24")  # 80 % = 6.4 working hours


def test_late_acceptance_is_kept_and_nothing_for_15_minutes_escalates_once(people):
    p = people
    case = submit_at("2025-09-30T10:00", people)
    assert services.sweep(at("2025-09-30T10:00:30")) == {"warned": 0, "breached": 0, "escalated": 0}
    assert services.sweep(at("2025-09-30T10:00:50")) == {"warned": 1, "breached": 0, "escalated": 0}
    assert Notification.objects.filter(recipient=p["gl"], kind="warning").exists()
    # a minute without acceptance: kept as a breach, the case is late, still the grid leader's
    assert services.sweep(at("2025-09-30T10:01:30")) == {"warned": 0, "breached": 1, "escalated": 0}
    case.refresh_from_db()
    assert (case.state, case.handler_user) == (State.DISPATCHED, p["gl"])
    assert list(services.late_cases(p["lic"], now=at("2025-09-30T10:02"))) == [case]
    assert list(services.late_cases(p["sec2"], now=at("2025-09-30T10:02"))) == []
    # fifteen minutes and nobody on site: escalates by itself to the community secretary, once
    first = services.sweep(at("2025-09-30T10:15:30"))
    second = services.sweep(at("2025-09-30T10:15:30"))
    assert first == {"warned": 0, "breached": 1, "escalated": 1}
    assert second == {"warned": 0, "breached": 0, "escalated": 0}
    case.refresh_from_db()
    assert (case.state, case.handler_user) == (State.ESCALATED, p["sec"])
    kinds = list(Breach.objects.filter(case=case).values_list("kind", "handler_user__username", "escalated_to"))
    assert kinds == [("accept", "gl", ""), ("arrive", "gl", "community_secretary")]
    ev = CaseEvent.objects.filter(case=case, action="escalate").get()
    assert ev.actor is None and ev.actor_name == "系统" and ev.data["breach"]["kind"] == "arrive"
    # the secretary has fresh limits, on the sweep's clock
    assert clock(case, "arrive", "running").due_at == at("2025-09-30T10:30:30")
    # she does not act either; the path (grid → community) ends, at someone all the same: the
    # duty leader of the street (the top of the grid path)
    assert services.sweep(at("2025-09-30T10:31"))["escalated"] == 1
    case.refresh_from_db()
    assert (case.state, case.handler_user) == (State.ESCALATED, p["principal"])
    assert Breach.objects.filter(case=case).count() == 4
    assert services.sweep(at("2025-09-30T10:32"))["escalated"] == 0  # (her acceptance is late: kept)


def test_accept_breach_escalates_when_configured(people, settings):
    settings.CASES_ESCALATING_CLOCKS = "accept,arrive,resolve"
    case = submit_at("2025-09-30T10:00", people)
    assert services.sweep(at("2025-09-30T10:01:30"))["escalated"] == 1
    case.refresh_from_db()
    assert case.handler_user == people["sec"]


def test_arrive_limit_escalates_from_accepted(people):
    p = people
    case = submit_at("2025-09-30T10:00", people)
    with mock.patch("django.utils.timezone.now", return_value=at("2025-09-30T10:00:30")):
        services.accept(case, p["gl"])
    arrive = clock(case, "arrive")
    assert arrive.due_at == at("2025-09-30T10:15")  # counted from the assignment
    assert services.sweep(at("2025-09-30T10:16"))["escalated"] == 1
    case.refresh_from_db()
    assert case.state == State.ESCALATED and case.handler_level == "community_secretary"
    assert Breach.objects.get(case=case).kind == "arrive"


def test_resolve_limit_in_working_hours(people):
    case = submit_at("2025-09-30T10:00", people)
    with mock.patch("django.utils.timezone.now", return_value=at("2025-09-30T10:00:30")):
        services.accept(case, people["gl"])
        services.arrive(case, people["gl"])
    # during the holiday nothing is due
    assert services.sweep(at("2025-10-08T17:00")) == {"warned": 0, "breached": 0, "escalated": 0}
    assert services.sweep(at("2025-10-09T09:30"))["warned"] == 1
    assert services.sweep(at("2025-10-09T11:01"))["escalated"] == 1
    assert Breach.objects.get(case=case).kind == "resolve"


def test_summons_breach_is_kept_without_escalation(people):
    p = people
    case = submit_at("2025-09-30T10:00", people)
    with mock.patch("django.utils.timezone.now", return_value=at("2025-09-30T10:00:10")):
        services.accept(case, p["gl"])
        services.arrive(case, p["gl"])
        services.summon(case, p["gl"], ["城市管理办公室"], hours=2)
    # 10:00:10 + 2 working hours = 13:30:10 (lunch break skipped)
    assert clock(case, "summon").due_at == at("2025-09-30T13:30:10")
    r = services.sweep(at("2025-09-30T13:31"))
    assert r == {"warned": 0, "breached": 1, "escalated": 0}
    case.refresh_from_db()
    assert case.state == State.ON_SITE
    assert Breach.objects.get(case=case).department == "城市管理办公室"


def test_sweep_command(people):
    submit_at("2025-09-30T10:00", people)
    out = io.StringIO()
    call_command("sla-sweep", "--at", "2025-09-30T10:16", stdout=out)
    assert "2 breached, 1 escalated" in out.getvalue()
    out = io.StringIO()
    call_command("sla-sweep", "--at", "2025-09-30T10:16", stdout=out)
    assert "0 breached" in out.getvalue()
    with pytest.raises(Exception, match="not an ISO time"):
        call_command("sla-sweep", "--at", "tomorrow")
