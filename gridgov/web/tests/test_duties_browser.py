"""Duties through the pages in a real browser (Debian's Chromium via Playwright): an administrator
gives a new grid worker a grid on /duties/, the worker logs in and sees its residents; the
administrator ends the duty: the worker sees nothing and their open case went to the grid leader,
with a line in the case's history."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from gridgov.accounts.models import Duty, Role
from gridgov.browser import axe_violations, login
from gridgov.testing import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_assign_a_grid_then_end_the_duty(browser, live_server, page, street):
    from gridgov.cases.models import Case
    from gridgov.registry.models import Resident

    Resident.objects.create(name="张三丰", grid=street["c1g1m1"])
    Resident.objects.create(name="李四海", grid=street["c2g1m1"])
    make_user("admin1", Role.ADMIN)
    gl = make_user("lead", Role.GRID_LEADER, [street["c1g1"]], duty=Duty.LEADER)
    worker = make_user("newworker", Role.GRID_WORKER)
    worker.display_name = "新网格员"
    worker.save()

    login(page, "admin1")
    page.click("header nav a[href='/duties/']")
    page.wait_for_url("**/duties/")
    assert axe_violations(page) == []
    page.select_option("#a-user", str(worker.pk))
    page.select_option("#a-grid", street["c1g1"].code)
    page.select_option("#a-duty", "worker")
    page.fill("#a-since", (timezone.localdate() - timedelta(days=30)).isoformat())
    page.click("form[action='/duties/assign/'] button[type=submit]")
    expect(page.locator("[role=status]")).to_contain_text("已任命")

    now = timezone.now()
    case = Case.objects.create(channel="patrol", text="楼道堆物堵塞通道", grid=street["c1g1m1"], grid_path=street["c1g1m1"].path,
                               state="accepted", handler_user=worker, number="B0001", created_at=now, updated_at=now)

    ctx = browser.new_context(base_url=live_server.url, locale="zh-CN")
    wpage = ctx.new_page()
    login(wpage, "newworker")
    wpage.goto("/records/residents/")
    expect(wpage.locator("tbody tr")).to_have_count(1)
    expect(wpage.locator("tbody")).to_contain_text("张三丰")

    page.goto(f"/duties/?grid={street['c1g1'].code}")
    page.locator("tr", has_text="新网格员").get_by_role("link", name="结束…").click()
    page.fill("#e-until", (timezone.localdate() - timedelta(days=1)).isoformat())
    page.fill("#e-note", "调离本街道")
    assert axe_violations(page) == []
    page.click("form[action$='/end/'] button[type=submit]")
    expect(page.locator("[role=status]")).to_contain_text("移交在办事件 1 件")

    wpage.goto("/records/residents/")
    expect(wpage.locator("tbody")).not_to_contain_text("张三丰")
    assert wpage.goto(f"/cases/{case.pk}/").status == 404  # no longer theirs
    ctx.close()

    case.refresh_from_db()
    assert case.handler_user == gl
    page.goto(f"/cases/{case.pk}/")
    expect(page.locator("body")).to_contain_text("离岗移交")
    expect(page.locator("body")).to_contain_text("新网格员 的网格员职务")
