"""The English interface in a real browser (Debian's Chromium via Playwright), with axe-core:
the header's switch, the staff pages and the dashboard's script, and the phone's report page
with no signal (its script's strings come from the catalogue the service worker keeps)."""

import pytest
from playwright.sync_api import expect

from gridgov.browser import axe_violations, login
from gridgov.cases.models import Case

from .test_i18n import world  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _context(browser, live_server, **kw):
    return browser.new_context(base_url=live_server.url, locale="en-US", **kw)


def test_staff_pages_in_english_and_the_switch(browser, live_server, world):  # noqa: F811
    ctx = _context(browser, live_server, viewport={"width": 1280, "height": 860})
    page = ctx.new_page()
    page.goto("/login/")  # the browser asks for English
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Log in"
    assert axe_violations(page) == []
    page.click("form.lang button[value=zh-hans]")  # the switch: a POST with CSRF, then back here
    expect(page.locator("h1")).to_have_text("登录")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert axe_violations(page) == []
    page.click("form.lang button[value=en]")
    expect(page.locator("h1")).to_have_text("Log in")

    login(page, "gl")
    assert page.locator("h1").inner_text() == "Workbench"
    assert axe_violations(page) == []
    page.click(f"a[href='/cases/{world['case'].pk}/'] >> nth=0")
    expect(page.locator("h2").first).to_have_text("Handling")
    assert axe_violations(page) == []

    ctx.close()

    page = _context(browser, live_server, viewport={"width": 1280, "height": 860}).new_page()
    login(page, "boss", next_url="/dashboard/")
    page.wait_for_selector("#dash[data-loaded]")
    # drawn by the dashboard's script with the catalogue's words
    expect(page.locator("#kpis .kpi span").first).to_have_text("Cases")
    expect(page.locator("#chips")).to_have_text("Click any bar to filter every chart")
    assert axe_violations(page) == []
    page.context.close()


def test_phone_report_page_in_english_with_no_signal(browser, live_server, world):  # noqa: F811
    phone = _context(browser, live_server, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    phone.goto("/m/login/")
    phone.fill("#id_username", "resident")
    phone.fill("#id_password", "a-long-test-password-1")
    phone.click("button[type=submit]")
    phone.wait_for_url("**/m/")
    phone.wait_for_selector("body[data-ready='1']")
    assert phone.locator("h1").inner_text() == "Report" and phone.locator("html").get_attribute("lang") == "en"
    assert axe_violations(phone) == []
    for _ in range(100):  # the service worker controls /m/ (wait_for_function would need eval)
        if phone.evaluate("navigator.serviceWorker.controller !== null"):
            break
        phone.wait_for_timeout(100)
    assert phone.evaluate("navigator.serviceWorker.controller !== null")
    phone.context.set_offline(True)
    phone.reload()
    phone.wait_for_selector("body[data-ready='1']")
    assert phone.evaluate("typeof window.gettext") == "function"  # the catalogue, from the cache
    phone.fill("#text", "Rubbish blocks the fire exit")
    phone.click("#send")
    expect(phone.locator("#status")).to_contain_text("No network: the report is kept on the phone")
    expect(phone.locator("#outbox li")).to_contain_text("Waiting to send ·")
    assert Case.objects.filter(text="Rubbish blocks the fire exit").count() == 0
    phone.context.set_offline(False)
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    expect(phone.locator("#status")).to_contain_text("Sent: case", timeout=15000)
    assert Case.objects.filter(text="Rubbish blocks the fire exit").count() == 1
    phone.context.close()
