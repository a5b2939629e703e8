"""Points administration through its doors: the staff pages under /volunteers/points/ (an
account's statement, corrections, rewards, merchants, finding a volunteer) and the API under
/api/volunteers/points/; the phone page shows what expires next. Chinese by default, English
on request."""

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from gridgov.accounts.models import Duty, Role
from gridgov.core.models import ChangeRecord
from gridgov.registry.models import Volunteer
from gridgov.testing import make_user
from gridgov.volunteers import services
from gridgov.volunteers.models import Account, Reward, Transfer
from gridgov.web.tests.test_i18n import EN, leftover_chinese

pytestmark = pytest.mark.django_db


def _client(user):
    c = Client()
    c.force_login(user)
    return c


def _json(c, method, url, body):
    return getattr(c, method)(url, json.dumps(body), content_type="application/json")


@pytest.fixture
def steward(street):
    return Volunteer.objects.create(name="王楼长", kind="steward", grid=street["c1g1"])


def test_account_page_and_correction_by_an_administrator(points):
    admin = _client(points["admin"])
    acc = points["account"]
    page = admin.get(f"/volunteers/points/accounts/{acc.pk}/")
    html = page.content.decode()
    assert page.status_code == 200 and "开户测试" in html and 'name="amount"' in html
    key = "0123456789abcdef"
    r = admin.post(f"/volunteers/points/accounts/{acc.pk}/correct/", {"amount": "-20", "reason": "重复记分", "key": key})
    assert r.status_code == 302
    r = admin.post(f"/volunteers/points/accounts/{acc.pk}/correct/", {"amount": "-20", "reason": "重复记分", "key": key})
    assert r.status_code == 302  # the second click books nothing
    assert Account.objects.get(pk=acc.pk).balance == 80
    assert Transfer.objects.filter(kind="correct", reason="重复记分").count() == 1
    page = admin.get(f"/volunteers/points/accounts/{acc.pk}/").content.decode()
    assert "已更正 20 积分" in page and "重复记分" in page
    bad = admin.post(f"/volunteers/points/accounts/{acc.pk}/correct/", {"amount": "-500", "reason": "太多"})
    assert bad.status_code == 400 and "积分不足" in bad.content.decode()
    bad = admin.post(f"/volunteers/points/accounts/{acc.pk}/correct/", {"amount": "abc", "reason": "x"})
    assert bad.status_code == 400


def test_staff_read_accounts_in_scope_only(points):
    street = points["street"]
    own = _client(make_user("cs", Role.COMMUNITY_STAFF, [street["c1"]], duty=Duty.STAFF))
    far = _client(make_user("cs2", Role.COMMUNITY_STAFF, [street["c2"]], duty=Duty.STAFF))
    station = points["station"]
    page = own.get(f"/volunteers/points/accounts/{station.pk}/")
    assert page.status_code == 200 and "矿泉水" in page.content.decode()
    assert 'name="price"' not in page.content.decode()  # read only
    assert own.post(f"/volunteers/points/rewards/{points['reward'].pk}/", {"price": 1}).status_code == 403
    assert far.get(f"/volunteers/points/accounts/{station.pk}/").status_code == 404
    assert _client(points["vol"]).get(f"/volunteers/points/accounts/{station.pk}/").status_code == 403
    assert _client(points["vol"]).get("/volunteers/points/find/?q=vol").status_code == 403


def test_rewards_and_merchants_on_the_pages(points, street):
    admin = _client(points["admin"])
    make_user("shopkeeper", Role.RESIDENT)
    html = admin.get("/volunteers/points/").content.decode()
    assert "添加商户" in html
    r = admin.post("/volunteers/points/merchants/", {"name": "好邻居超市", "node": street["c1"].pk, "username": "shopkeeper"})
    assert r.status_code == 302
    m = Account.objects.get(name="好邻居超市")
    assert r["Location"] == f"/volunteers/points/accounts/{m.pk}/" and m.user.username == "shopkeeper" and m.node == street["c1"]
    assert admin.post("/volunteers/points/merchants/", {"name": "坏的", "username": "nobody"}).status_code == 400
    r = admin.post(f"/volunteers/points/accounts/{m.pk}/rewards/", {"name": "洗衣液", "price": "80", "stock": "3"})
    assert r.status_code == 302
    reward = Reward.objects.get(name="洗衣液")
    page = admin.get(f"/volunteers/points/accounts/{m.pk}/").content.decode()
    assert "洗衣液" in page and 'name="version" value="1"' in page
    form = {"version": "1", "name": "洗衣液", "description": "2kg", "price": "90", "add_stock": "5", "active": "on"}
    assert admin.post(f"/volunteers/points/rewards/{reward.pk}/", form).status_code == 302
    reward.refresh_from_db()
    assert (reward.price, reward.stock, reward.description) == (90, 8, "2kg")
    stale = admin.post(f"/volunteers/points/rewards/{reward.pk}/", {**form, "price": "99"})
    assert stale.status_code == 409 and "已被他人修改" in stale.content.decode()
    page = admin.get(f"/volunteers/points/accounts/{m.pk}/").content.decode()
    assert "修改历史" in page and "price" in page
    assert ChangeRecord.objects.filter(kind="points_rewards", object_id=str(reward.pk)).count() == 2
    # who accepts the codes
    make_user("shop2", Role.RESIDENT)
    assert admin.post(f"/volunteers/points/accounts/{m.pk}/station/", {"name": "好邻居", "username": "shop2"}).status_code == 302
    m.refresh_from_db()
    assert (m.name, m.user.username) == ("好邻居", "shop2")


def test_find_and_correct_a_registry_volunteer_without_a_login(points, steward):
    admin = _client(points["admin"])
    html = admin.get("/volunteers/points/find/?q=王").content.decode()
    assert "王楼长" in html and f"/volunteers/points/registry/{steward.pk}/correct/" in html
    r = admin.post(f"/volunteers/points/registry/{steward.pk}/correct/",
                   {"amount": "30", "reason": "补录巡逻", "key": "00000000000000aa", "q": "王"})
    acc = Account.objects.get(volunteer=steward)
    assert r.status_code == 302 and r["Location"] == f"/volunteers/points/accounts/{acc.pk}/"
    assert acc.balance == 30 and acc.user is None
    page = admin.get(r["Location"]).content.decode()
    assert "尚未登录" in page
    bad = admin.post(f"/volunteers/points/registry/{steward.pk}/correct/", {"amount": "5", "reason": ""})
    assert bad.status_code == 400
    # they sign in: the phone page shows the points
    user = make_user("wang", Role.STEWARD)
    steward.user = user
    steward.save()
    assert ">30<" in _client(user).get("/m/points/").content.decode()


def test_phone_page_shows_what_expires_next(points, settings):
    settings.VOLUNTEERS_POINTS_EXPIRE_MONTHS = 1
    issuer = services.issuing_account(points["street"]["c1"])
    old = timezone.now() - dt.timedelta(days=75)
    services.post("award", "t:old", [(issuer, -25), (points["account"], 25)], at=old)
    # the fixture's 100 came this month; the 25 of two or three months ago expire on the 1st
    html = _client(points["vol"]).get("/m/points/").content.decode()
    assert 'id="expiring"' in html and "其中 25 分将于" in html
    me = _client(points["vol"]).get("/api/volunteers/me/points").json()
    assert me["expiring"] == 25 and me["expires_on"].endswith("-01")
    settings.VOLUNTEERS_POINTS_EXPIRE_MONTHS = 0
    assert 'id="expiring"' not in _client(points["vol"]).get("/m/points/").content.decode()


def test_api_administration(points, steward, street):
    admin = _client(points["admin"])
    acc = points["account"]
    r = _json(admin, "post", f"/api/volunteers/points/accounts/{acc.pk}/corrections", {"amount": 5, "reason": "补", "key": "r1"})
    assert r.status_code == 201 and r.json()["account"]["balance"] == 105
    r = _json(admin, "post", f"/api/volunteers/points/accounts/{acc.pk}/corrections", {"amount": 5, "reason": "补", "key": "r1"})
    assert r.status_code == 201 and r.json()["account"]["balance"] == 105  # the retry moved nothing
    r = _json(admin, "post", f"/api/volunteers/points/accounts/{acc.pk}/corrections", {"amount": -1000, "reason": "x"})
    assert r.status_code == 400 and r.json()["code"] == "insufficient_points"
    # a refused correction opens no account for the volunteer
    r = _json(admin, "post", f"/api/volunteers/points/registry-volunteers/{steward.pk}/corrections", {"amount": 12, "reason": " "})
    assert r.status_code == 400 and not Account.objects.filter(volunteer=steward).exists()
    r = _json(admin, "post", f"/api/volunteers/points/registry-volunteers/{steward.pk}/corrections", {"amount": 0, "reason": "补录"})
    assert r.status_code == 400 and not Account.objects.filter(volunteer=steward).exists()
    r = _json(admin, "post", f"/api/volunteers/points/registry-volunteers/{steward.pk}/corrections", {"amount": 12, "reason": "补录"})
    assert r.status_code == 201 and r.json()["account"]["registry_volunteer_id"] == steward.pk
    assert admin.get("/api/volunteers/points/find?q=王").json()["accounts"][0]["balance"] == 12
    make_user("shopkeeper", Role.RESIDENT)
    r = _json(admin, "post", "/api/volunteers/points/merchants", {"name": "好邻居超市", "node_id": street["c1"].pk, "username": "shopkeeper"})
    assert r.status_code == 201 and r.json()["user"] == "shopkeeper"
    mid = r.json()["id"]
    assert _json(admin, "post", "/api/volunteers/points/merchants", {"name": "好邻居超市"}).status_code == 409
    r = _json(admin, "post", f"/api/volunteers/points/accounts/{mid}/rewards", {"name": "洗衣液", "price": 80, "stock": 3})
    assert r.status_code == 201 and r.json()["version"] == 1
    rid = r.json()["id"]
    r = _json(admin, "put", f"/api/volunteers/points/rewards/{rid}", {"version": 1, "price": 85, "add_stock": 2})
    assert r.status_code == 200 and (r.json()["price"], r.json()["stock"], r.json()["version"]) == (85, 5, 2)
    r = _json(admin, "put", f"/api/volunteers/points/rewards/{rid}", {"version": 1, "active": False})
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    r = _json(admin, "put", f"/api/volunteers/points/accounts/{mid}", {"username": ""})
    assert r.status_code == 200 and r.json()["user"] is None
    detail = admin.get(f"/api/volunteers/points/accounts/{mid}").json()
    assert [x["name"] for x in detail["rewards"]] == ["洗衣液"] and detail["rewards"][0]["version"] == 2
    detail = admin.get(f"/api/volunteers/points/accounts/{acc.pk}").json()
    assert detail["balance"] == 105 and detail["movements"][0]["amount"] == 5
    assert {x["name"] for x in admin.get("/api/volunteers/points/rewards").json()} == {"矿泉水", "洗衣液"}
    # community staff read in scope, never change
    # (the fixture's volunteer has no grid: only staff who see everything see their account)
    sacc = Account.objects.get(volunteer=steward)
    staff = _client(make_user("cs", Role.COMMUNITY_STAFF, [street["c1"]]))
    assert staff.get(f"/api/volunteers/points/accounts/{sacc.pk}").status_code == 200
    assert staff.get(f"/api/volunteers/points/accounts/{acc.pk}").status_code == 404
    assert _json(staff, "post", f"/api/volunteers/points/accounts/{sacc.pk}/corrections", {"amount": 5, "reason": "x"}).status_code == 403
    assert _json(staff, "put", f"/api/volunteers/points/rewards/{rid}", {"version": 2, "price": 1}).status_code in (403, 404)
    far = _client(make_user("cs2", Role.COMMUNITY_STAFF, [street["c2"]]))
    assert far.get(f"/api/volunteers/points/accounts/{sacc.pk}").status_code == 404
    assert _client(points["vol"]).get(f"/api/volunteers/points/accounts/{acc.pk}").status_code == 403


def test_new_pages_in_english(points, steward):
    services.correct(points["admin"], services.registry_volunteer_account(steward), 5, "补录")
    data = ["矿泉水", "苑苑驿站", "第1社区", "第2社区", "vol", "开户测试", "王楼长", "补录"]
    admin = _client(points["admin"])
    for url in (f"/volunteers/points/accounts/{points['account'].pk}/", f"/volunteers/points/accounts/{points['station'].pk}/",
                "/volunteers/points/find/?q=王", "/volunteers/points/"):
        html = admin.get(url, **EN).content.decode()
        assert leftover_chinese(html, data) == [], (url, leftover_chinese(html, data))
