"""The company's answer on a real phone (Debian's Chromium via Playwright, a WeChat user agent:
positions in GCJ-02): the late problem first, the answer with a photo and the phone's position,
then the street's re-check on the phone. axe-core on the pages."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from gridgov.browser import axe_violations
from gridgov.geo.coords import wgs84_to_gcj02
from gridgov.property.models import Problem

from .ledger_helpers import problem
from .world import photo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-test-password-1"
LAT, LON = 39.7845, 116.3860


@pytest.fixture(autouse=True)
def scratch_media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def phone_login(page, username):
    page.goto("/m/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/m/")


def test_company_answers_on_the_phone_and_the_street_rechecks(w, phone, tmp_path):
    late = problem(w, now=timezone.now() - timedelta(days=30), code="C2", note="垃圾桶满溢")
    problem(w, now=timezone.now(), code="C1", note="楼道堆物")
    gx, gy = wgs84_to_gcj02(LON, LAT)
    phone.context.grant_permissions(["geolocation"])
    phone.context.set_geolocation({"longitude": gx, "latitude": gy})
    phone_login(phone, "pm_c1")
    phone.goto("/m/property/")
    first = phone.locator("#problems li").first
    expect(first).to_contain_text(late.number)
    expect(first).to_have_attribute("data-late", "1")
    assert axe_violations(phone) == []
    first.locator("a").click()
    expect(phone.locator("#answer-where")).to_contain_text("已定位")
    assert axe_violations(phone) == []
    img = tmp_path / "after.png"
    img.write_bytes(photo())
    phone.fill("#answer-note", "已清运，加装垃圾桶")
    phone.set_input_files("#answer-photos", str(img))
    phone.click("#answer-form button[type=submit]")
    expect(phone.locator("main")).to_contain_text("已回复整改")
    late.refresh_from_db()
    ph = late.photos.get(stage="answer")
    assert late.state == Problem.State.ANSWERED and late.was_late
    assert abs(ph.lon - LON) < 1e-4 and abs(ph.lat - LAT) < 1e-4  # GCJ-02 from WeChat, stored as WGS 84

    phone.context.clear_cookies()
    phone_login(phone, "cs_c1")
    phone.goto("/m/property/")
    phone.click(f"text={late.number}")
    phone.check("input[name=passed][value='1']")
    phone.fill("#recheck-note", "已整改到位")
    phone.click("#recheck-form button[type=submit]")
    expect(phone.locator("main")).to_contain_text("已记录复查结果")
    assert Problem.objects.get(pk=late.pk).state == Problem.State.PASSED
