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


def test_workbench_pages_and_searches_with_htmx(page, street):
    from gridgov.web.tests.test_workbench_paging import make_cases

    make_cases(street["c1g1m1"], 120)
    make_user("lead", Role.LEADER)
    login(page, "lead")
    expect(page.locator("#work .count")).to_contain_text("共 120 件")
    expect(page.locator("#work tbody tr")).to_have_count(50)
    assert axe_violations(page) == []
    page.locator("#work a[rel=next]").click()
    expect(page.locator("#work .pager")).to_contain_text("第 2 / 3 页")
    page.wait_for_url(re.compile(r".*[?&]page=2"))
    expect(page.locator("#work tbody tr")).to_have_count(50)
    # a number's prefix: the matching cases, counted, from the first page
    page.fill("#q", "2025093000011")
    expect(page.locator("#work .count")).to_contain_text("共 10 件")
    expect(page.locator("#work tbody tr")).to_have_count(10)
    page.wait_for_url(re.compile(r".*q=2025093000011"))
    page.fill("#q", "20250930000042")
    expect(page.locator("#work tbody tr")).to_have_count(1)
    assert axe_violations(page) == []


def test_department_reports_back_on_its_summons_page(page, street):
    from gridgov.accounts.models import Duty
    from gridgov.cases import services
    from gridgov.cases.models import Summons
    from gridgov.cases.taxonomy import seed_taxonomy

    seed_taxonomy()
    sec = make_user("sec", Role.COMMUNITY_SECRETARY, [street["c1"]], duty=Duty.SECRETARY)
    section = make_user("section", Role.SECTION_STAFF, [street["street"]], duty=Duty.STAFF)
    section.department = "城市管理办公室"
    section.save()
    case, _ = services.submit_case(reporter=make_user("resident", Role.RESIDENT), channel="resident",
                                   text="小区门口的路灯坏了，晚上一片漆黑", lon=116.383, lat=39.787)
    s = services.summon(case, sec, ["城市管理办公室"], "需更换灯杆")[0]
    login(page, "section")
    page.click("header nav a[href='/summons/']")
    page.wait_for_url("**/summons/")
    item = page.locator(f"#summons-{s.pk}")
    expect(item).to_contain_text("需更换灯杆")
    assert axe_violations(page) == []
    item.locator("textarea").fill("已派人更换灯杆")
    item.locator("button[data-action=report_back]").click()
    expect(page.locator(f"#summons-{s.pk}")).to_contain_text("已派人更换灯杆")
    expect(page.locator(f"#summons-{s.pk} [role=status]")).to_contain_text("已报到")
    assert Summons.objects.get(pk=s.pk).reported_by == section
