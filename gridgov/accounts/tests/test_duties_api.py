"""The duties API (/api/accounts/duties) and what a duty gives: scope while in force, nothing once
ended (seen through the residents API)."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from gridgov.accounts.models import Duty, GridAssignment, Role
from gridgov.testing import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def client(user):
    c = Client()
    c.force_login(user)
    return c


def post(c, url, body):
    return c.post(url, json.dumps(body), content_type="application/json")


@pytest.fixture
def w(street):
    from gridgov.registry.models import Resident

    Resident.objects.create(name="居民甲", grid=street["c1g1m1"])
    Resident.objects.create(name="居民乙", grid=street["c2g1m1"])
    return {
        "admin": make_user("adm", Role.ADMIN),
        "sec": make_user("sec", Role.COMMUNITY_SECRETARY, [street["c1"]], duty=Duty.SECRETARY),
        "gl": make_user("gl", Role.GRID_LEADER, [street["c1g1"]], duty=Duty.LEADER),
        "worker": make_user("gw", Role.GRID_WORKER),
    }


def residents(user):
    resp = client(user).get("/api/registry/residents")
    assert resp.status_code == 200
    return sorted(r["name"] for r in resp.json()["items"])


def test_assign_list_end_and_scope(street, w):
    today = timezone.localdate()
    sec = client(w["sec"])
    assert residents(w["worker"]) == []
    resp = post(sec, "/api/accounts/duties", {"user": w["worker"].pk, "grid": street["c1g1"].code, "duty": "worker",
                                              "since": (today - timedelta(days=10)).isoformat()})
    assert resp.status_code == 201, resp.content
    duty_id = resp.json()["id"]
    assert residents(w["worker"]) == ["居民甲"]

    listed = sec.get(f"/api/accounts/duties?grid={street['c1g1'].code}").json()
    assert {(d["user"]["username"], d["duty"]) for d in listed} == {("gl", "leader"), ("gw", "worker")}
    assert [d["user"]["username"] for d in sec.get(f"/api/accounts/duties?grid={street['c1g1'].code}&duty=worker").json()] == ["gw"]
    assert [d["grid"]["code"] for d in sec.get(f"/api/accounts/duties?user={w['worker'].pk}").json()] == [street["c1g1"].code]
    before = (today - timedelta(days=11)).isoformat()
    assert [d["user"]["username"] for d in sec.get(f"/api/accounts/duties?grid={street['c1g1'].code}&at={before}").json()] == ["gl"]

    resp = post(sec, f"/api/accounts/duties/{duty_id}/end", {"until": (today - timedelta(days=1)).isoformat()})
    assert resp.status_code == 200, resp.content
    assert resp.json()["until"] == (today - timedelta(days=1)).isoformat()
    assert residents(w["worker"]) == []  # an ended duty gives no scope
    # today: the leader only; yesterday: both served
    assert [d["user"]["username"] for d in sec.get(f"/api/accounts/duties?grid={street['c1g1'].code}").json()] == ["gl"]
    yesterday = (today - timedelta(days=1)).isoformat()
    assert len(sec.get(f"/api/accounts/duties?grid={street['c1g1'].code}&at={yesterday}").json()) == 2
    detail = sec.get(f"/api/accounts/duties/{duty_id}").json()
    assert [h["action"] for h in detail["history"]] == ["create", "end"] and detail["ended_by"]["username"] == "sec"
    # ended once: 409
    assert post(sec, f"/api/accounts/duties/{duty_id}/end", {"until": yesterday}).status_code == 409


def test_end_with_successor_over_the_api(street, w):
    from gridgov.cases.models import Case, CaseEvent

    a = GridAssignment.objects.create(user=w["worker"], node=street["c1g1"], duty=Duty.WORKER)
    now = timezone.now()
    case = Case.objects.create(channel="patrol", text="井盖缺失", grid=street["c1g1m1"], grid_path=street["c1g1m1"].path,
                               state="accepted", handler_user=w["worker"], number="A0001", created_at=now, updated_at=now)
    succ = make_user("succ", Role.GRID_WORKER)
    resp = post(client(w["admin"]), f"/api/accounts/duties/{a.pk}/end", {"until": timezone.localdate().isoformat(),
                                                                        "successor": succ.pk, "note": "调岗"})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["handed_over"] == 1 and body["successor_duty"]["user"]["username"] == "succ"
    case.refresh_from_db()
    assert case.handler_user == succ
    assert CaseEvent.objects.filter(case=case, action="hand_over").count() == 1


def test_refusals(street, w):
    sec, gl = client(w["sec"]), client(w["gl"])
    body = {"user": w["worker"].pk, "grid": street["c2g1"].code, "duty": "worker"}
    assert post(sec, "/api/accounts/duties", body).status_code == 403  # another community
    assert post(gl, "/api/accounts/duties", {**body, "grid": street["c1g1"].code}).status_code == 403  # a grid leader
    assert post(sec, "/api/accounts/duties", {**body, "grid": "nope"}).status_code == 400
    assert post(sec, "/api/accounts/duties", {**body, "grid": street["c1g1"].code, "duty": "king"}).status_code == 400
    assert post(sec, "/api/accounts/duties", {**body, "user": 10**9}).status_code == 400
    other = GridAssignment.objects.create(user=make_user("gw2", Role.GRID_WORKER), node=street["c2g1"], duty=Duty.WORKER)
    # a duty outside the scope is not there for them
    assert sec.get(f"/api/accounts/duties/{other.pk}").status_code == 404
    assert post(sec, f"/api/accounts/duties/{other.pk}/end", {}).status_code == 404
    assert sec.get(f"/api/accounts/duties?grid={street['c2g1'].code}").json() == []
    resident = make_user("res", Role.RESIDENT)
    assert client(resident).get("/api/accounts/duties").status_code == 403
    mine = GridAssignment.objects.get(user=w["gl"])
    later = (timezone.localdate() + timedelta(days=1)).isoformat()
    resp = post(sec, f"/api/accounts/duties/{mine.pk}/end", {"until": later})
    assert resp.status_code == 400 and resp.json()["code"] == "bad_date"
    assert Client().get("/api/accounts/duties").status_code == 401
