"""Deferred intake (GRIDGOV_INTAKE=deferred): a report is stored with its history row and
acknowledged; the worker adds its compound, the reporter as follower and their receipt, routes
it and starts its time limits from its filing time, once; a process queues one finishing run per
half second however many reports arrive; the SLA sweep finishes reports whose run was lost; the
API and Open311 doors answer before routing."""

from datetime import timedelta

import pytest

from gridgov.cases import services, tasks
from gridgov.cases.models import Case, CaseEvent, CaseFollower, Clock, Notification, SensitiveWord, State

from .conftest import P_C1G1


@pytest.fixture
def api_key(db):
    from gridgov.open311 import services as open311

    return open311.create_key("city-system", rate_per_minute=0)[1]


@pytest.fixture
def queued(monkeypatch):
    """The finishing runs a process queues (not run: the test runs the worker's part itself)."""
    calls = []
    monkeypatch.setattr(tasks.finish_intake_task, "schedule", lambda *a, **kw: calls.append(kw))
    monkeypatch.setattr(services, "_intake_next", [0.0])
    return calls


def _deferred(people, text="小区门口的路灯坏了，晚上一片漆黑", **kw):
    case, created = services.submit_case(reporter=people["resident"], channel="resident", text=text, lon=P_C1G1[0],
                                         lat=P_C1G1[1], defer=True, **kw)
    assert created
    return case


def test_a_deferred_report_is_stored_then_routed_once_by_the_worker(people, street, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case = _deferred(people)
    case.refresh_from_db()
    assert case.state == State.SUBMITTED and case.intake_pending and case.number
    assert case.grid == street["c1g1m1"] and case.item.code == "PS01"
    assert [e.action for e in case.events.all()] == ["submit"]
    assert not Clock.objects.filter(case=case).exists() and not CaseFollower.objects.filter(case=case).exists()
    assert len(queued) == 1 and queued[0]["delay"] > services.INTAKE_BATCH_SECONDS

    assert tasks.finish_intake_task.call_local() == 1  # the worker's run
    case.refresh_from_db()
    assert case.state == State.DISPATCHED and not case.intake_pending and case.handler_user == people["gl"]
    assert [e.action for e in case.events.order_by("id")] == ["submit", "dispatch"]
    clocks = Clock.objects.filter(case=case)
    assert {c.kind for c in clocks} == {"accept", "arrive", "resolve"}
    assert all(c.started_at == case.created_at for c in clocks), "time limits run from the filing time"
    assert CaseFollower.objects.filter(case=case, user=people["resident"], source="reporter").exists()
    assert Notification.objects.filter(case=case, recipient=people["resident"], kind="received").count() == 1
    assert Notification.objects.filter(case=case, recipient=people["gl"], kind="assigned").exists()

    assert services.finish_intake(case.pk) is False  # a second run, the sweep: nothing twice
    assert tasks.finish_intake_task.call_local() == 0
    assert CaseEvent.objects.filter(case=case).count() == 2 and Clock.objects.filter(case=case).count() == 3


def test_one_run_is_queued_for_many_reports(people, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(20):
            _deferred(people, text=f"小区门口的路灯坏了 {i}")
    assert len(queued) == 1
    assert Case.objects.filter(intake_pending=True).count() == 20
    assert tasks.finish_intake_task.call_local() == 20
    assert not Case.objects.filter(intake_pending=True).exists()
    assert Case.objects.filter(state=State.DISPATCHED).count() == 20


def test_the_sweep_finishes_reports_whose_run_was_lost(people, monkeypatch, django_capture_on_commit_callbacks):
    def down(*a, **kw):
        raise ConnectionError("the queue is down")

    monkeypatch.setattr(tasks.finish_intake_task, "schedule", down)
    monkeypatch.setattr(services, "_intake_next", [0.0])
    with django_capture_on_commit_callbacks(execute=True):
        case = _deferred(people)  # stored and acknowledged all the same
    assert services.finish_pending_intake() == 0  # younger than 30 s: a run may still come
    assert services.finish_pending_intake(now=case.created_at + timedelta(seconds=31)) == 1
    case.refresh_from_db()
    assert case.state == State.DISPATCHED and not case.intake_pending


def test_a_held_report_waits_for_its_moderator(people, queued):
    SensitiveWord.objects.get_or_create(word="代开发票", defaults={"category": "spam"})
    case = _deferred(people, text="代开发票 小区门口的路灯坏了")
    assert case.held
    assert services.finish_intake(case.pk)
    case.refresh_from_db()
    assert case.state == State.SUBMITTED and case.held and not case.intake_pending
    assert not Clock.objects.filter(case=case).exists()
    assert CaseFollower.objects.filter(case=case, user=people["resident"]).exists()


def test_the_api_answers_before_routing(people, client, settings, queued, django_capture_on_commit_callbacks):
    settings.INTAKE_DEFERRED = True
    client.force_login(people["resident"])
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/api/cases/", {"text": "小区门口的路灯坏了", "lon": P_C1G1[0], "lat": P_C1G1[1], "channel": "resident"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["state"] == State.SUBMITTED and body["number"] and body["grid"]["name"]
    assert len(queued) == 1
    tasks.finish_intake_task.call_local()
    assert client.get(f"/api/cases/{body['id']}").json()["state"] == State.DISPATCHED


def test_open311_answers_before_routing(people, client, settings, queued, api_key, django_capture_on_commit_callbacks):
    settings.INTAKE_DEFERRED = True
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/open311/v2/requests.json", {"api_key": api_key, "service_code": "PS01", "lat": str(P_C1G1[1]),
                                                      "long": str(P_C1G1[0]), "description": "小区门口的路灯坏了"})
    assert r.status_code == 201, r.content
    case = Case.objects.get()
    assert case.intake_pending and len(queued) == 1
    tasks.finish_intake_task.call_local()
    case.refresh_from_db()
    assert case.state == State.DISPATCHED
