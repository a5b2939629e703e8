"""The H5 pages and the workbench in a real browser (Debian's Chromium via Playwright):
a resident reports offline, the report is sent exactly once when the network returns (even
though the first attempt's answer is lost), a grid leader accepts and resolves it on the
workbench (and sees it on the map and the dashboard), the community secretary verifies, the resident rates it on the phone. axe-core
on every page; screenshots for the README."""

import struct
import zlib

import pytest
from playwright.sync_api import expect

from gridgov.accounts.models import Role
from gridgov.browser import axe_violations, login, screenshot
from gridgov.cases.models import Case, Item, Rating, State
from gridgov.geo.coords import wgs84_to_gcj02_np
from gridgov.testing import make_user, sent_code

from .conftest import P_C1G1

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-test-password-1"


def big_png(w=2000, h=1500) -> bytes:
    """A plain PNG larger than the phone's 1280 px limit (no imaging library needed)."""
    row = b"\x00" + bytes([200, 60, 40]) * w
    raw = zlib.compress(row * h, 9)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's start-of-frame marker."""
    i = 2
    while i < len(data):
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return w, h
        i += 2 + length
    raise ValueError("no SOF marker")


def phone_login(phone, username):
    phone.goto("/m/login/")
    phone.fill("#id_username", username)
    phone.fill("#id_password", PASSWORD)
    phone.click("button[type=submit]")
    phone.wait_for_url("**/m/")


def desk(browser, live_server, username):
    ctx = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 1280, "height": 860})
    page = ctx.new_page()
    login(page, username)
    return page


def test_offline_report_is_filed_once_then_handled_verified_and_rated(browser, live_server, phone, people):
    resident = people["resident"]
    phone.goto("/m/login/")
    assert axe_violations(phone) == []
    screenshot(phone, "m-login")
    phone_login(phone, "resident")
    phone.wait_for_selector("body[data-ready='1']")
    assert axe_violations(phone) == []

    # the phone's position; this phone is WeChat (MicroMessenger), so it is sent as GCJ-02
    gx, gy = wgs84_to_gcj02_np(P_C1G1[0], P_C1G1[1])
    phone.context.grant_permissions(["geolocation"])
    phone.context.set_geolocation({"longitude": float(gx), "latitude": float(gy)})
    phone.fill("#text", "小区门口的路灯坏了，晚上一片漆黑")
    expect(phone.locator("#suggest button").first).to_contain_text("路灯")
    phone.click("#locate")
    expect(phone.locator("#loc-status")).to_contain_text("已定位")
    phone.set_input_files("#photos", files=[{"name": "lamp.png", "mimeType": "image/png", "buffer": big_png()}])
    expect(phone.locator("#thumbs img")).to_have_count(1)
    screenshot(phone, "m-report", full_page=True)

    # no signal: the report stays on the phone
    phone.context.set_offline(True)
    phone.click("#send")
    expect(phone.locator("#outbox li")).to_have_count(1)
    expect(phone.locator("#status")).to_contain_text("网络不通")
    assert Case.objects.count() == 0
    screenshot(phone, "m-report-offline", full_page=True)

    # signal returns, but the answer to the first attempt is lost on the way back: the server
    # filed the case, the phone does not know and retries with the same key
    attempts = []

    def flaky(route):
        attempts.append(route.request.headers.get("idempotency-key"))
        if len(attempts) == 1:
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    phone.route("**/api/cases/", flaky)
    phone.context.set_offline(False)
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    expect(phone.locator("#status")).to_contain_text("已提交", timeout=15000)
    expect(phone.locator("#outbox li")).to_have_count(0)
    assert len(attempts) >= 2 and len(set(attempts)) == 1
    case = Case.objects.get()  # exactly one
    assert case.reporter == resident and case.crs_in == "gcj02" and case.grid.code.startswith("110106001001001")
    assert case.state == State.DISPATCHED and case.handler_user == people["gl"]
    photo = case.photos.get()
    with photo.file.open("rb") as f:
        w, h = jpeg_size(f.read())
    assert photo.content_type == "image/jpeg" and max(w, h) == 1280 and (w, h) == (1280, 960)
    phone.unroute("**/api/cases/")

    phone.goto("/m/cases/")
    expect(phone.locator(".list li")).to_have_count(1)
    assert axe_violations(phone) == []
    screenshot(phone, "m-my-cases")

    # the grid leader accepts and resolves on the workbench
    gl = desk(browser, live_server, "gl")
    row = gl.locator(f"#case-{case.pk}")
    expect(row).to_be_visible()
    assert axe_violations(gl) == []
    screenshot(gl, "workbench")
    row.locator("button[data-action=accept]").click()
    expect(gl.locator(f"#case-{case.pk}")).to_contain_text("已受理")
    # the case is on the map (live cases layer) and counted on the dashboard
    gl.goto("/map/")
    gl.wait_for_selector("#map[data-ready='1']")
    expect(gl.locator("#map path.case-marker")).to_have_count(1)
    gl.goto("/dashboard/")
    gl.wait_for_selector("#dash[data-loaded='1']")
    assert gl.locator("#kpis .kpi b").first.inner_text().replace(",", "") == "1"
    gl.goto("/")
    gl.locator(f"#case-{case.pk} input[name=note]").fill("已更换灯泡")  # what was done (not on site: no photo needed)
    gl.locator(f"#case-{case.pk} button[data-action=resolve]").click()
    expect(gl.locator(f"#case-{case.pk}")).to_contain_text("已办结")
    gl.goto(f"/cases/{case.pk}/")
    assert axe_violations(gl) == []
    screenshot(gl, "case-page", full_page=True)
    gl.context.close()

    # the community secretary verifies
    sec = desk(browser, live_server, "sec")
    sec.locator(f"#case-{case.pk} button[data-action=verify]").click()
    expect(sec.locator(f"#case-{case.pk}")).to_contain_text("已核查通过")
    sec.context.close()
    assert Case.objects.get().state == State.VERIFIED

    # the resident rates the result on the phone
    phone.goto(f"/m/cases/{case.pk}/")
    phone.get_by_label("基本满意", exact=True).check()
    phone.fill("#comment", "修得挺快")
    assert axe_violations(phone) == []
    screenshot(phone, "m-rate", full_page=True)
    phone.click("button[type=submit]")
    expect(phone.locator("[role=status]")).to_contain_text("谢谢")
    rating = Rating.objects.get()
    assert rating.user == resident and rating.score == "basic" and rating.comment == "修得挺快"
    assert Case.objects.count() == 1


def test_register_join_a_duplicate_and_volunteer_tasks(phone, people, report):
    Item.objects.update(volunteer_grabbable=True)
    case = report()
    phone.goto("/m/register/")
    assert axe_violations(phone) == []
    screenshot(phone, "m-register")
    phone.fill("#id_phone", "13912345678")
    phone.fill("#id_password", "garden-path-2024")
    phone.fill("#id_password2", "garden-path-2024")
    phone.click("button[type=submit]")
    # a code goes to the phone (the console channel here), never into the page
    expect(phone.locator("[role=status]")).to_contain_text("139****5678")
    code = sent_code("13912345678")
    assert code not in phone.content()
    phone.fill("#id_code", code)
    phone.click("button[type=submit]")
    phone.wait_for_selector("body[data-ready='1']")
    # a similar open case nearby: join it instead of filing again (plain browser: WGS-84)
    phone.context.grant_permissions(["geolocation"])
    phone.context.set_geolocation({"longitude": 116.38301, "latitude": 39.78701})
    phone.evaluate("Object.defineProperty(navigator, 'userAgent', {get: () => 'Mozilla/5.0 Mobile Safari'})")
    phone.fill("#text", "门口路灯坏了")
    phone.click("#locate")
    expect(phone.locator("#dups")).to_be_visible()
    phone.locator("#dup-list button.join").first.click()
    expect(phone.locator("#status")).to_contain_text(f"已加入事件 {case.number}")
    assert case.followers.filter(user__phone_masked="139****5678").exists() and Case.objects.count() == 1
    phone.context.clear_cookies()

    make_user("volunteer1", Role.VOLUNTEER)
    phone_login(phone, "volunteer1")
    phone.goto("/m/tasks/")
    assert axe_violations(phone) == []
    screenshot(phone, "m-tasks")
    phone.click("#near-me")
    phone.wait_for_url("**/m/tasks/?lon=*")
    phone.locator(f"form[action='/m/tasks/{case.pk}/grab/'] button").click()
    phone.wait_for_url("**/m/tasks/")
    assert Case.objects.get(pk=case.pk).grabbed_by.username == "volunteer1"


def test_report_page_opens_without_signal_and_keeps_the_report(phone, people):
    phone_login(phone, "resident")
    phone.wait_for_selector("body[data-ready='1']")
    # the service worker (served as /m/sw.js) controls /m/ and has kept the page
    for _ in range(100):  # (wait_for_function would evaluate a string, which the CSP forbids)
        if phone.evaluate("navigator.serviceWorker.controller !== null"):
            break
        phone.wait_for_timeout(100)
    assert phone.evaluate("navigator.serviceWorker.controller !== null")
    phone.context.set_offline(True)
    phone.reload()
    phone.wait_for_selector("body[data-ready='1']")
    phone.fill("#text", "楼道里堆满杂物，堵住了消防通道")
    phone.click("#send")
    expect(phone.locator("#outbox li")).to_have_count(1)
    assert Case.objects.count() == 0
    phone.context.set_offline(False)
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    expect(phone.locator("#outbox li")).to_have_count(0, timeout=15000)
    assert Case.objects.get().text == "楼道里堆满杂物，堵住了消防通道"


def _fits(phone):
    """Nothing wider than the 390 px screen (no sideways scrolling)."""
    return phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_grid_leader_works_their_cases_on_a_390px_phone(phone, people, report):
    from gridgov.cases.tests.images import jpeg_with_gps

    lamp = report()
    junk = report(text="楼道里堆满杂物，堵住了消防通道")
    phone_login(phone, "gl")
    phone.click(".tabs a[href='/m/work/']")
    phone.wait_for_url("**/m/work/")
    expect(phone.locator(".list.work li")).to_have_count(2)
    assert _fits(phone) and axe_violations(phone) == []
    screenshot(phone, "m-work", full_page=True)

    phone.click(f"a[href='/m/cases/{lamp.pk}/']")
    phone.click("button[data-action=accept]")
    expect(phone.locator("[role=status]")).to_contain_text("已受理")
    phone.click("button[data-action=arrive]")
    expect(phone.locator("[role=status]")).to_contain_text("已到场")
    phone.fill("#resolve-note", "已更换灯泡，恢复照明")
    phone.set_input_files("#resolve-photos", files=[{"name": "done.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps()}])
    assert _fits(phone) and axe_violations(phone) == []
    screenshot(phone, "m-work-case", full_page=True)
    phone.click("button[data-action=resolve]")
    expect(phone.locator("[role=status]")).to_contain_text("已办结")
    lamp.refresh_from_db()
    assert lamp.state == State.RESOLVED and lamp.resolved_by == people["gl"] and lamp.photos.filter(stage="resolve").count() == 1
    assert lamp.events.get(action="resolve").note == "已更换灯泡，恢复照明"

    # the other one is not theirs: returned with a reason
    phone.goto("/m/work/")
    expect(phone.locator(".list.work li")).to_have_count(1)
    phone.click(f"a[href='/m/cases/{junk.pk}/']")
    phone.click("details.return summary")
    phone.fill("#return-note", "消防通道归物业管理")
    phone.click("button[data-action=return]")
    phone.wait_for_url("**/m/work/?done=return")
    expect(phone.locator(".list.work li")).to_have_count(0)
    assert Case.objects.get(pk=junk.pk).state == State.RETURNED
