"""Each clock of an item optional, in minutes, working hours or working days; an edit applies to
clocks started after it, never to running ones; edits keep their history; only administrators."""

import json
from unittest import mock

import pytest

from gridgov.accounts.models import Department, Role
from gridgov.cases.models import Clock, Item
from gridgov.core.models import ChangeRecord
from gridgov.testing import make_user

from .test_sla import at, clock, submit_at


@pytest.fixture
def admin(people):
    return make_user("adm", Role.ADMIN)


def _put(client, user, code, body):
    client.force_login(user)
    return client.put(f"/api/cases/taxonomy/items/{code}", json.dumps(body), content_type="application/json")


def test_a_new_limit_never_rewrites_running_clocks(people, admin, client):
    first = submit_at("2025-09-30T10:00", people)
    running = clock(first, "resolve")
    assert (running.limit, running.due_at) == (8, at("2025-10-09T11:00"))  # 8 working hours, then the holiday
    code = first.item.code
    with mock.patch("django.utils.timezone.now", return_value=at("2025-09-30T10:05")):
        r = _put(client, admin, code, {"resolve_limit": 4})
    assert r.status_code == 200 and r.json()["resolve_limit"] == 4
    running.refresh_from_db()
    assert (running.limit, running.due_at, running.state) == (8, at("2025-10-09T11:00"), "running")
    second = submit_at("2025-09-30T10:10", people)
    assert second.item.code == code
    fresh = clock(second, "resolve")
    assert (fresh.limit, fresh.due_at) == (4, at("2025-09-30T15:40"))  # 1 h 50 before lunch, 2 h 10 after
    h = ChangeRecord.objects.get(kind="taxonomy", object_id=str(first.item_id))
    assert h.changes["resolve_limit"] == ["8.00", "4.00"] and h.actor_name == "adm"


def test_an_item_without_an_arrive_clock_never_starts_one(people, admin, client):
    code = submit_at("2025-09-30T09:00", people).item.code
    assert _put(client, admin, code, {"arrive_limit": None}).status_code == 200
    assert Item.objects.get(code=code).limit("arrive") is None
    case = submit_at("2025-09-30T10:00", people)
    assert set(Clock.objects.filter(case=case).values_list("kind", flat=True)) == {"accept", "resolve"}
    from gridgov.cases import services

    services.accept(case, case.handler_user)
    # an hour later nobody is on site, and nothing breaches or escalates for it
    services.sweep(at("2025-09-30T11:00"))
    case.refresh_from_db()
    assert case.state == "accepted" and not case.breaches.exists()
    assert not Clock.objects.filter(case=case, kind="arrive").exists()


def test_working_days_run_on_the_working_calendar(people, admin, client):
    code = submit_at("2025-09-26T09:00", people).item.code
    assert _put(client, admin, code, {"resolve_limit": 2, "resolve_unit": "working_days"}).status_code == 200
    # Friday 10:00 + 2 working days (14 working hours, 7 a day): 6 h on Friday, Saturday off,
    # Sunday 28 September is a make-up working day (7 h), then 1 h on Monday
    case = submit_at("2025-09-26T10:00", people)
    c = clock(case, "resolve")
    assert (c.basis, c.limit, c.due_at) == ("workdays", 2, at("2025-09-29T10:00"))
    # a local holiday on Monday (the calendar page's API) moves the next case's limit, not this one
    client.force_login(admin)
    r = client.post("/api/cases/calendar/days", json.dumps({"date": "2025-09-29", "is_workday": False, "note": "本地调休"}),
                    content_type="application/json")
    assert r.status_code == 201
    later = clock(submit_at("2025-09-26T10:00", people), "resolve")
    assert later.due_at == at("2025-09-30T10:00")
    c.refresh_from_db()
    assert c.due_at == at("2025-09-29T10:00")
    assert client.delete("/api/cases/calendar/days/2025-09-29").status_code == 204
    assert ChangeRecord.objects.filter(kind="settings", object_id="calendar:2025-09-29").count() == 2


def test_only_administrators_edit_items_and_departments_are_records(people, admin, client):
    code = Item.objects.order_by("id").first().code
    for user in (people["lic"], people["sec"], people["gl"]):
        assert _put(client, user, code, {"resolve_limit": 1}).status_code == 403
    assert _put(client, admin, code, {"department": "不存在的科室"}).status_code == 400
    Department.objects.create(name="城管执法队", kind="unit")
    r = _put(client, admin, code, {"department": "城管执法队", "accept_limit": "0"})
    assert r.status_code == 400  # a limit must be positive (empty: no clock)
    assert _put(client, admin, code, {"department": "城管执法队"}).json()["department"] == "城管执法队"
    # create, deactivate; every edit in the history
    client.force_login(admin)
    scenario = Item.objects.get(code=code).scenario.code
    r = client.post("/api/cases/taxonomy/items", json.dumps({
        "scenario": scenario, "code": "ZX01", "name": "政策咨询", "department": "城管执法队",
        "accept_limit": 30, "resolve_limit": 1, "resolve_unit": "working_days"}), content_type="application/json")
    assert r.status_code == 201 and r.json()["arrive_limit"] is None
    assert _put(client, admin, "ZX01", {"active": False}).json()["active"] is False
    hist = client.get("/api/cases/taxonomy/items/ZX01/history").json()
    assert [h["action"] for h in hist] == ["deactivate", "create"]


def test_the_rating_reopen_count_is_a_setting(people, report, admin):
    from gridgov.cases import services
    from gridgov.core import settings_rows

    from .test_workflow import _done

    settings_rows.set_values(admin, {"CASES_RATING_REOPENS": 2}, note="两次重办")
    p = people
    case = report()
    for n in (1, 2):  # two unsatisfied ratings reopen it with the same handler
        _done(case, p)
        services.rate(case, p["resident"], "unsatisfied", "灯还是不亮")
        assert (case.state, case.reopen_count, case.handler_user) == ("reopened", n, p["gl"])
    _done(case, p)
    services.rate(case, p["resident"], "unsatisfied", "还是不亮")
    assert (case.state, case.handler_user) == ("escalated", p["sec"])
