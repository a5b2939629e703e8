"""The staff pages in a real browser (Debian's Chromium via Playwright), with axe-core."""

import re

import pytest
from playwright.sync_api import expect

from gridgov.accounts.models import Role
from gridgov.browser import axe_violations, login, screenshot
from gridgov.testing import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_and_grid_map_render_offline(page, street):
    make_user("gw", Role.GRID_LEADER, [street["c1"]])
    page.goto("/login/")
    assert axe_violations(page) == []
    login(page, "gw")
    assert page.locator("h1").inner_text() == "工作台"
    page.click("nav a[href='/territory/']")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "辖区总览"
    assert axe_violations(page) == []
    page.click(f"text={street['c1'].name}")
    page.wait_for_selector("#gridmap .leaflet-interactive")
    # the community and its two grids are drawn (no basemap, no network)
    assert page.locator("#gridmap path.leaflet-interactive").count() == 3
    assert axe_violations(page) == []
    screenshot(page, "grid-detail")
    # a child polygon leads to that grid
    page.locator("#gridmap path.leaflet-interactive").nth(1).dispatch_event("click")
    # a child grid's code (the community's own, …001000, matches a looser pattern at once, and the
    # navigation would then outlive the test)
    page.wait_for_url(re.compile(r".*/grids/11010600100100[12]/$"))


def test_resident_list_search_with_htmx(page, street):
    from gridgov.registry.models import Resident

    for i, name in enumerate(["王小明", "王大力", "赵六"]):
        r = Resident(name=name, grid=street["c1g1m1"])
        r.set_personal("phone", f"1381234567{i}")
        r.save()
    make_user("lead", Role.LEADER)
    login(page, "lead")
    page.goto("/records/residents/")
    assert page.locator("tbody tr").count() == 3
    page.fill("#q", "王")
    expect(page.locator("#rows tbody tr")).to_have_count(2)
    assert "赵六" not in page.locator("#rows").inner_text()
    assert axe_violations(page) == []
