"""The pages: the volunteer's points and redeeming on the phone (the code shown once), the
station's code check, the staff's points page and the rules' editing; Chinese by default,
English on request."""

import re

import pytest
from django.test import Client

from gridgov.accounts.models import Duty, Role
from gridgov.core.models import ChangeRecord
from gridgov.testing import make_user
from gridgov.volunteers.models import PointRule, Redemption
from gridgov.web.tests.test_i18n import EN, leftover_chinese

pytestmark = pytest.mark.django_db


def _client(user):
    c = Client()
    c.force_login(user)
    return c


def test_volunteer_redeems_on_the_phone_and_the_station_accepts_the_code(points):
    c = _client(points["vol"])
    page = c.get("/m/points/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "矿泉水" in html and 'id="balance"' in html and ">100<" in html
    r = c.post(f"/m/points/rewards/{points['reward'].pk}/redeem/")
    assert r.status_code == 201
    code = re.search(r"data-code>([A-Z0-9]+)<", r.content.decode()).group(1)
    # shown once: the next visit of the page has no code
    assert code not in c.get("/m/points/").content.decode()
    # another user has no station page
    assert c.get("/m/points/station/").status_code == 403
    st = _client(points["station_user"])
    assert st.get("/m/points/station/").status_code == 200
    ok = st.post("/m/points/station/", {"code": code})
    assert ok.status_code == 200 and "核销成功" in ok.content.decode()
    again = st.post("/m/points/station/", {"code": code})
    assert again.status_code == 400
    assert Redemption.objects.get().state == "used"


def test_phone_page_refuses_short_balance(points):
    PointRule.objects.all()  # (rules seeded by the migration)
    from gridgov.volunteers import services

    big = services.add_reward(points["admin"], points["station"], "自行车", price=1000, stock=1)
    r = _client(points["vol"]).post(f"/m/points/rewards/{big.pk}/redeem/")
    assert r.status_code == 400 and "积分不足" in r.content.decode()


def test_staff_page_and_rule_editing_with_history(points):
    street = points["street"]
    staff = make_user("cs", Role.COMMUNITY_STAFF, [street["c1"]], duty=Duty.STAFF)
    page = _client(staff).get("/volunteers/points/")
    html = page.content.decode()
    assert page.status_code == 200 and "苑苑驿站" in html and "积分规则" in html
    assert 'name="points"' not in html  # community staff read the rules, never edit them
    assert _client(staff).post("/volunteers/points/rules/grab/", {"points": 1}).status_code == 403
    assert _client(points["vol"]).get("/volunteers/points/").status_code == 403
    admin = _client(points["admin"])
    assert 'name="points"' in admin.get("/volunteers/points/").content.decode()
    rule = PointRule.objects.get(key="grab")
    r = admin.post("/volunteers/points/rules/grab/", {"points": 12, "daily_cap": 36, "monthly_cap": 0, "active": "on",
                                                       "version": rule.version})
    assert r.status_code == 200 and "积分规则已保存" in r.content.decode()
    rule.refresh_from_db()
    assert (rule.points, rule.daily_cap, rule.monthly_cap, rule.active) == (12, 36, 0, True)
    assert ChangeRecord.objects.filter(kind="points_rules", object_id=str(rule.pk)).count() == 1
    assert "12" in r.content.decode() and "规则、奖品和商户修改记录" in r.content.decode()
    bad = admin.post("/volunteers/points/rules/grab/", {"points": -1, "daily_cap": 0, "monthly_cap": 0, "version": rule.version})
    assert bad.status_code == 400


def test_pages_in_english(points):
    data = ["矿泉水", "苑苑驿站", "第1社区", "第2社区", "vol", "开户测试"] + list(PointRule.objects.values_list("name", flat=True))
    for user, url in ((points["vol"], "/m/points/"), (points["station_user"], "/m/points/station/"),
                      (points["admin"], "/volunteers/points/")):
        html = _client(user).get(url, **EN).content.decode()
        assert leftover_chinese(html, data) == [], (url, leftover_chinese(html, data))
