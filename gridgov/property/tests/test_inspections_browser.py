"""The phone's walk in a real browser (Debian's Chromium via Playwright): a community worker on a
WeChat phone starts an unannounced visit from the project list (its position taken), records a
deduction with a photo from the camera input, sees the running score and submits."""

import pytest
from playwright.sync_api import expect

from gridgov.browser import axe_violations
from gridgov.geo.coords import wgs84_to_gcj02
from gridgov.property.models import Inspection, Problem

from .world import photo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-test-password-1"
LAT, LON = 39.7845, 116.3860


def test_unannounced_visit_deduct_with_photo_and_submit(phone, w, tmp_path):
    gx, gy = wgs84_to_gcj02(LON, LAT)
    phone.context.grant_permissions(["geolocation"])
    phone.context.set_geolocation({"longitude": gx, "latitude": gy})
    phone.goto("/m/login/")
    phone.fill("#id_username", "cs_c1")
    phone.fill("#id_password", PASSWORD)
    phone.click("button[type=submit]")
    phone.wait_for_url("**/m/")

    phone.goto("/m/property/inspections/")
    expect(phone.locator("#locate-status")).to_contain_text("已获取当前位置")
    assert axe_violations(phone) == []
    phone.locator("#projects form", has_text="c1物业项目").locator("button").click()
    expect(phone.locator("#score")).to_contain_text("100")
    insp = Inspection.objects.get()
    assert insp.state == "in_progress" and insp.kind == "unannounced"
    assert insp.lat == pytest.approx(LAT, abs=1e-4) and insp.lon == pytest.approx(LON, abs=1e-4)
    assert axe_violations(phone) == []

    item = phone.locator("li[data-indicator=C1]")
    item.locator("summary").click()
    expect(phone.locator("#locate-status")).to_contain_text("已获取当前位置")
    item.locator("textarea[name=note]").fill("3号楼楼道堆放纸箱")
    item.locator("input[name=points]").fill("2")
    item.locator("input[name=place]").fill("3号楼2单元")
    picture = tmp_path / "p.png"
    picture.write_bytes(photo())
    item.locator("input[type=file]").set_input_files(str(picture))
    item.locator("button.primary").click()
    expect(phone.locator("main")).to_contain_text("已记录扣分")
    expect(phone.locator("#score")).to_contain_text("98")
    expect(phone.locator("li[data-indicator=C1] img")).to_have_count(1)

    phone.locator("#submit button").click()
    expect(phone.locator("main")).to_contain_text("检查已提交")
    expect(phone.locator("#score")).to_contain_text("98")
    insp.refresh_from_db()
    assert insp.state == "submitted" and insp.score == 98
    p = Problem.objects.get(inspection=insp)
    assert p.place == "3号楼2单元" and p.lat == pytest.approx(LAT, abs=1e-4)
