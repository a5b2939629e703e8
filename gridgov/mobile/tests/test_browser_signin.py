"""Issue 10 in a real browser (Debian's Chromium): an anonymous resident opens the report page,
types the number, then the SMS code, and files a report — no registration, no password."""

import pytest
from playwright.sync_api import expect

from gridgov.accounts.models import Role, User
from gridgov.browser import axe_violations
from gridgov.cases.models import Case
from gridgov.core.crypto import blind_index
from gridgov.geo.coords import wgs84_to_gcj02_np
from gridgov.testing import sent_code

from .conftest import P_C1G1

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = "13912345678"


def test_number_then_code_then_report(phone, people):
    phone.goto("/m/")
    assert axe_violations(phone) == []
    phone.fill("#id_phone", PHONE)
    phone.click("button[type=submit]")
    phone.wait_for_url("**/m/signin/")
    expect(phone.locator("[role=status]")).to_contain_text("139****5678")
    assert axe_violations(phone) == []
    phone.fill("#id_code", sent_code(PHONE, kind="login_code"))
    phone.click("button[type=submit]")
    phone.wait_for_url("**/m/")
    phone.wait_for_selector("body[data-ready='1']")

    gx, gy = wgs84_to_gcj02_np(P_C1G1[0], P_C1G1[1])
    phone.context.grant_permissions(["geolocation"])
    phone.context.set_geolocation({"longitude": float(gx), "latitude": float(gy)})
    phone.fill("#text", "小区门口的路灯坏了，晚上一片漆黑")
    phone.click("#locate")
    expect(phone.locator("#loc-status")).to_contain_text("已定位")
    phone.click("#send")
    expect(phone.locator("#status")).to_contain_text("已提交", timeout=15000)
    user = User.objects.get(phone_hash=blind_index(PHONE))
    assert user.role == Role.RESIDENT and not user.has_usable_password()
    assert Case.objects.get().reporter == user
