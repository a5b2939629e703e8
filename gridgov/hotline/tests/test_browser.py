"""The 12345 office's pages in a real browser (Debian's Chromium via Playwright), with axe-core:
confirm a queued address with one click, correct a ticket's category."""

import pytest
from playwright.sync_api import expect

from gridgov.accounts.models import Role
from gridgov.browser import axe_violations, login, screenshot
from gridgov.hotline import services
from gridgov.hotline.models import Ticket
from gridgov.testing import make_user

from .test_topics_projects import LEAK
from .util import ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_office_confirms_an_address_and_corrects_a_category(page, street, places):
    boss = make_user("office", Role.LEADER)
    services.import_records(boss, [
        {"ticket_id": "Q1", "received_at": "2024-06-01 09:00", "content": "楼道灯坏了", "address": "幸福里"},
        {"ticket_id": "Q2", "received_at": "2024-06-02 10:00", "content": "路面塌陷", "address": "人民路100号"},
    ])
    for i, text in enumerate(LEAK * 2):
        ticket(f"L{i}", "2024-06", street["c1g1m1"], content=text, address=places["yg3"], category=("城乡建设", "房屋修缮", ""))
    services.create_project(boss, title="阳光星苑屋顶防水", grid=street["c1g1m1"], category_l1="城乡建设",
                            category_l2="房屋修缮", tickets=Ticket.objects.filter(ticket_id__startswith="L"))
    q1 = Ticket.objects.get(ticket_id="Q1")
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    login(page, "office")
    page.click("header nav a[href='/hotline/tickets/']")
    expect(page.locator("h1")).to_have_text("12345 工单")
    assert axe_violations(page) == []
    page.click(".subnav a[href='/hotline/addresses/']")
    expect(page.locator("h1")).to_have_text("地址待确认")
    assert page.locator("tr[id^='q-']").count() == 2
    assert axe_violations(page) == []
    screenshot(page, "hotline-addresses")
    # one click confirms the first candidate of Q1: its row goes, the status line says where it went
    page.locator(f"#q-{q1.pk} button[data-address='{places['xf1'].id}']").click()
    expect(page.locator(f"#q-{q1.pk}")).to_have_count(0)
    expect(page.locator("#queue-msg")).to_contain_text("第1社区第2网格")
    q1.refresh_from_db()
    assert q1.address_match == "confirmed" and q1.grid == street["c1g2m1"]

    # the ticket's page: correct the category; the box shows it at once
    page.goto(f"/hotline/tickets/{q1.pk}/")
    expect(page.locator("h1")).to_contain_text("Q1")
    assert axe_violations(page) == []
    page.select_option("#cat-l1", "城乡建设")
    page.fill("#cat-l2", "城市建设和市政管理")
    page.click("#category-box button[type=submit]")
    expect(page.locator("#category-box [data-category]")).to_have_text("城乡建设/城市建设和市政管理")
    expect(page.locator("#category-box [role=status]")).to_contain_text("人工")
    expect(page.locator("#history")).to_contain_text("改为「城乡建设/城市建设和市政管理」")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "hotline-ticket")
    q1.refresh_from_db()
    assert (q1.category_l1, q1.category_source) == ("城乡建设", "staff")
    assert ("楼道灯坏了", "城乡建设") in services.staff_labelled_examples()[0]

    # the other pages pass axe too
    for url, heading in (("/hotline/topics/?month=2024-06", "本月话题 · 2024-06"), ("/hotline/projects/", "主动治理项目")):
        page.goto(url)
        expect(page.locator("h1")).to_have_text(heading)
        if "topics" in url:
            page.click("details summary")  # the project form of the first topic
        assert axe_violations(page) == []
        if "topics" in url:
            screenshot(page, "hotline-topics")
    page.click("text=阳光星苑屋顶防水")
    expect(page.locator("h1")).to_contain_text("阳光星苑屋顶防水")
    assert axe_violations(page) == []
    screenshot(page, "hotline-project")
    page.goto("/hotline/tickets/")
    screenshot(page, "hotline-tickets")
    assert errors == []
