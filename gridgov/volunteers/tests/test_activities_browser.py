"""Activities in a real browser (Debian's Chromium via Playwright): a volunteer on a WeChat phone
(positions in GCJ-02) signs up and checks in by location; another opens the organiser's QR link
and is checked in at once; the organiser's page refreshes its code. axe-core on every page."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from gridgov.accounts.models import Duty, Role
from gridgov.browser import axe_violations
from gridgov.geo.coords import wgs84_to_gcj02
from gridgov.testing import make_user
from gridgov.volunteers import activities as act
from gridgov.volunteers.models import SignUp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-test-password-1"
LAT, LON = 39.7845, 116.3860


def phone_login(page, username):
    page.goto("/m/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/m/")


def test_sign_up_and_check_in_by_location_and_by_the_qr_link(browser, live_server, phone, street):
    staff = make_user("cs", Role.COMMUNITY_STAFF, [street["c1"]], duty=Duty.STAFF)
    make_user("v1", Role.VOLUNTEER)
    v2 = make_user("v2", Role.VOLUNTEER)
    start = timezone.now() + timedelta(minutes=10)
    a = act.publish(staff, title="清理楼道堆物", node=street["c1g1"], lat=LAT, lon=LON, place_name="3号楼前",
                    starts_at=start, ends_at=start + timedelta(hours=2), places=5, kind="environment", radius_m=100)
    act.sign_up(v2, a)

    # v1 on a WeChat phone, standing about 30 m from the place (its position comes as GCJ-02)
    gx, gy = wgs84_to_gcj02(LON, LAT + 0.0003)
    phone.context.grant_permissions(["geolocation"])
    phone.context.set_geolocation({"longitude": gx, "latitude": gy})
    phone_login(phone, "v1")
    phone.goto("/m/volunteer/activities/")
    phone.click("button[data-locate]")
    expect(phone.locator("main")).to_contain_text("清理楼道堆物")
    assert axe_violations(phone) == []
    phone.click("text=清理楼道堆物")
    phone.click("button:has-text('报名')")
    expect(phone.locator("main")).to_contain_text("报名成功")
    phone.wait_for_load_state()
    assert axe_violations(phone) == []
    phone.click("text=现场签到")
    expect(phone.locator("button[data-locate]")).to_be_visible()  # the check-in page, loaded
    phone.wait_for_load_state()
    assert axe_violations(phone) == []
    phone.click("button[data-locate]")
    expect(phone.locator("main")).to_contain_text("签到成功")
    s = SignUp.objects.get(user__username="v1")
    assert s.state == "checked_in" and s.checkin_method == "gps" and s.checkin_distance_m < 40  # GCJ-02 converted

    # the organiser's page shows the code and its QR code, and fetches the fragment again
    org = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 390, "height": 844})
    op = org.new_page()
    phone_login(op, "cs")
    op.goto(f"/m/volunteer/activities/{a.pk}/run/")
    assert op.locator("#code svg").count() == 1
    assert axe_violations(op) == []
    with op.expect_response(re.compile(r"/run/code/$"), timeout=10000):
        pass
    code = op.locator("[data-code]").inner_text().strip()
    assert re.fullmatch(r"\d{6}", code)
    # stop every page polling the server before the next one writes (on SQLite the test server
    # shares one in-memory database: two requests saving sessions at once lock its table)
    op.goto("about:blank")
    phone.goto("about:blank")
    org.close()

    # v2 scans it: opening the link checks them in
    other = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 390, "height": 844})
    p2 = other.new_page()
    phone_login(p2, "v2")
    code = act.code_at(a, timezone.now().timestamp())  # (no database read from this thread: SQLite)
    p2.goto(f"/m/volunteer/activities/{a.pk}/checkin/?code={code}")
    expect(p2.locator("main")).to_contain_text("签到成功")
    assert SignUp.objects.get(user=v2).checkin_method == "code"
    other.close()


def test_staff_pages_pass_axe(browser, live_server, street):
    from gridgov.browser import login

    staff = make_user("cs", Role.COMMUNITY_STAFF, [street["c1"]], duty=Duty.STAFF)
    start = timezone.now() + timedelta(days=1)
    a = act.publish(staff, title="社区义诊", node=street["c1g1"], lat=LAT, lon=LON, place_name="卫生服务站",
                    starts_at=start, ends_at=start + timedelta(hours=2), places=5)
    act.sign_up(make_user("v", Role.VOLUNTEER), a)
    ctx = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 1280, "height": 860})
    page = ctx.new_page()
    login(page, "cs")
    for url in ("/volunteers/activities/", "/volunteers/activities/new/", f"/volunteers/activities/{a.pk}/"):
        page.goto(url)
        assert axe_violations(page) == [], url
    ctx.close()
