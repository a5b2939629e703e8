"""The points API: the catalogue, my points, redeem (201 / 400 / 409), a station verifying a code
once, cancelling, and the staff's accounts and rules."""

import json

import pytest
from django.test import Client

from gridgov.accounts.models import Role
from gridgov.testing import make_user
from gridgov.volunteers import services
from gridgov.volunteers.models import Redemption, Reward

pytestmark = pytest.mark.django_db


def _client(user):
    c = Client()
    c.force_login(user)
    return c


def _post(c, url, body=None):
    return c.post(url, json.dumps(body or {}), content_type="application/json")


def test_redeem_gives_a_code_once_and_the_station_uses_it_once(points):
    c = _client(points["vol"])
    r = _post(c, f"/api/volunteers/rewards/{points['reward'].pk}/redeem")
    assert r.status_code == 201, r.content
    body = r.json()
    code = body["code"]
    assert len(code) == 10 and body["balance"] == 70
    red = Redemption.objects.get(pk=body["id"])
    assert code not in red.code_hash and red.state == "issued"
    me = c.get("/api/volunteers/me/points").json()
    assert me["balance"] == 70 and code not in json.dumps(me)
    assert [m["amount"] for m in me["movements"]][:2] == [-30, 100]
    # only the station's own user verifies it
    other = make_user("other_station", Role.RESIDENT)
    assert _post(_client(other), "/api/volunteers/redemptions/verify", {"code": code}).status_code == 403
    st = _client(points["station_user"])
    assert _post(st, "/api/volunteers/redemptions/verify", {"code": "WRONGCODE1"}).status_code == 400
    ok = _post(st, "/api/volunteers/redemptions/verify", {"code": code.lower()})
    assert ok.status_code == 200 and ok.json()["state"] == "used"
    again = _post(st, "/api/volunteers/redemptions/verify", {"code": code})
    assert again.status_code == 400 and again.json()["code"] == "bad_code"
    red.refresh_from_db()
    assert red.verified_by == points["station_user"] and red.verified_at
    points["station"].refresh_from_db()
    assert points["station"].balance == 30


def test_redeem_400_when_the_balance_is_short(points):
    pricey = services.add_reward(points["admin"], points["station"], "电饭煲", price=500, stock=3)
    r = _post(_client(points["vol"]), f"/api/volunteers/rewards/{pricey.pk}/redeem")
    assert r.status_code == 400 and r.json()["code"] == "insufficient_points"
    pricey.refresh_from_db()
    assert pricey.stock == 3
    # a user without any points account
    r = _post(_client(make_user("newbie", Role.VOLUNTEER)), f"/api/volunteers/rewards/{points['reward'].pk}/redeem")
    assert r.status_code == 400


def test_redeem_409_when_out_of_stock(points):
    Reward.objects.filter(pk=points["reward"].pk).update(stock=0)
    r = _post(_client(points["vol"]), f"/api/volunteers/rewards/{points['reward'].pk}/redeem")
    assert r.status_code == 409 and r.json()["code"] == "out_of_stock"
    points["account"].refresh_from_db()
    assert points["account"].balance == 100


def test_redeem_needs_a_login(points):
    assert Client().post(f"/api/volunteers/rewards/{points['reward'].pk}/redeem").status_code == 401


def test_cancel_refunds_points_and_stock(points):
    c = _client(points["vol"])
    rid = _post(c, f"/api/volunteers/rewards/{points['reward'].pk}/redeem").json()["id"]
    assert _post(_client(make_user("x", Role.VOLUNTEER)), f"/api/volunteers/redemptions/{rid}/cancel").status_code == 403
    r = _post(c, f"/api/volunteers/redemptions/{rid}/cancel")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert _post(c, f"/api/volunteers/redemptions/{rid}/cancel").status_code == 400
    points["account"].refresh_from_db()
    points["reward"].refresh_from_db()
    assert points["account"].balance == 100 and points["reward"].stock == 5


def test_catalogue_lists_active_rewards(points):
    Reward.objects.create(account=points["station"], name="下架", price=1, stock=1, active=False)
    names = [r["name"] for r in _client(points["vol"]).get("/api/volunteers/rewards").json()]
    assert names == ["矿泉水"]


def test_staff_list_accounts_of_their_grids(points):
    street = points["street"]
    own = make_user("cs1", Role.COMMUNITY_STAFF, [street["c1"]])
    far = make_user("cs2", Role.COMMUNITY_STAFF, [street["c2"]])
    got = {a["name"] for a in _client(own).get("/api/volunteers/points/accounts").json()}
    assert "苑苑驿站" in got and "第1社区积分发放" in got
    got2 = {a["name"] for a in _client(far).get("/api/volunteers/points/accounts").json()}
    assert "苑苑驿站" not in got2
    assert _client(points["vol"]).get("/api/volunteers/points/accounts").status_code == 403
    r = points["admin"]
    assert _client(r).put("/api/volunteers/points/rules/grab", json.dumps({"points": 15}), content_type="application/json").json()["points"] == 15
    assert _client(own).put("/api/volunteers/points/rules/grab", json.dumps({"points": 16}), content_type="application/json").status_code == 403
