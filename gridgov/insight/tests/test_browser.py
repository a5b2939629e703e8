"""The map and the dashboards in a real browser (Debian's Chromium via Playwright), offline."""

import pytest
from playwright.sync_api import expect

from gridgov.accounts.models import Duty, GridAssignment, Role, User
from gridgov.browser import axe_violations, login, screenshot
from gridgov.cases.demo import build_demo_cases
from gridgov.cases.models import OPEN_STATES, Case
from gridgov.testing import make_user


def staff(username, role, nodes=(), duty=Duty.WORKER):
    """A user who never logs in here (no password hashing: it is slow on purpose)."""
    u = User.objects.create(username=username, role=role, display_name=username)
    for n in nodes:
        GridAssignment.objects.create(user=u, node=n, duty=duty)
    return u

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(street):
    for g in ("c1g1", "c1g2", "c2g1", "c2g2"):
        staff(f"gl_{g}", Role.GRID_LEADER, [street[g]], duty=Duty.LEADER)
    for c in ("c1", "c2"):
        staff(f"sec_{c}", Role.COMMUNITY_SECRETARY, [street[c]], duty=Duty.SECRETARY)
        staff(f"staff_{c}", Role.COMMUNITY_STAFF, [street[c]], duty=Duty.STAFF)
    staff("res1", Role.RESIDENT)
    staff("vol1", Role.VOLUNTEER)
    build_demo_cases(seed=11, months=6, scale=0.04)
    if not Case.objects.filter(state__in=OPEN_STATES).exists():  # make sure a live case is on the map
        c = Case.objects.order_by("-created_at").first()
        Case.objects.filter(pk=c.pk).update(state="dispatched")
    make_user("lead", Role.LEADER)
    return street


def test_map_offline_shows_a_case_and_its_card(page, demo):
    case = Case.objects.filter(state__in=OPEN_STATES).order_by("-created_at").first()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, "lead", next_url="/map/")
    page.goto("/map/")
    page.wait_for_selector("#map[data-ready='1']")
    # grids drawn with no basemap; no tile requests at all
    assert page.locator("#map path.leaflet-interactive").count() >= 6
    assert page.locator("#map .leaflet-tile").count() == 0
    markers = page.locator("#map path.case-marker")
    expect(markers.first).to_be_visible()
    assert markers.count() == Case.objects.filter(state__in=OPEN_STATES).count()
    # search the case by number, fly to it, its card opens
    page.fill("#q", case.number)
    page.click("#search button[type=submit]")
    page.locator("#results button.result").first.click()
    expect(page.locator("#card h2")).to_have_text(case.number)
    expect(page.locator("#card")).to_contain_text(case.item.name)
    # a click on a marker opens that case's card
    page.locator("#card .close").click()
    page.locator("#map path.case-marker").first.dispatch_event("click")
    expect(page.locator("#card")).to_be_visible()
    expect(page.locator("#card dl")).to_contain_text("时限")
    assert Case.objects.filter(number=page.locator("#card h2").inner_text(), state__in=OPEN_STATES).exists()
    # switch a layer on: service stations / workers
    page.check("input[data-layer=workers]")
    page.wait_for_selector("#map path[fill='#ce93d8']")
    assert page.locator("#map path.case-marker").first.get_attribute("fill") in ("#2e7d32", "#c77700", "#d84315", "#b71c1c", "#546e7a")
    assert axe_violations(page) == []
    screenshot(page, "map")
    assert errors == []  # nothing broke under the content security policy
    page.wait_for_selector("#map[data-busy='0']")  # no request left running into the teardown's flush


def test_map_edit_a_grid_boundary(page, demo):
    from gridgov.geo.models import GridNode

    login(page, "lead", next_url="/map/")
    page.goto("/map/")
    page.wait_for_selector("#map[data-ready='1']")
    page.uncheck("input[data-layer=cases]")
    page.uncheck("input[data-layer=grids][data-level='community']")
    page.locator("#map path.leaflet-interactive").first.dispatch_event("click")
    expect(page.locator("#card #edit-grid")).to_be_visible()
    code = page.locator("#card dd").first.inner_text()
    page.click("#edit-grid")
    page.wait_for_selector("#map .marker-icon")  # geoman's vertex handles
    before = GridNode.objects.get(code=code).updated_at
    page.click("#save-grid")
    expect(page.locator("#card .problems")).to_contain_text("拼接检查无问题")
    assert GridNode.objects.get(code=code).updated_at > before
    page.wait_for_selector("#map[data-busy='0']")


def test_dashboard_cross_filter_and_screen(page, demo):
    from django.utils import timezone

    from gridgov.hotline.tests.test_topics_projects import LEAK
    from gridgov.hotline.tests.util import ticket

    # this month: six near-identical 12345 tickets in one micro-grid and a resident's report of the same leak there
    month, g = timezone.localtime().strftime("%Y-%m"), demo["c1g1m1"]
    for i, text in enumerate(LEAK * 2):
        ticket(f"B{i}", month, g, content=text, category=("城乡建设", "房屋修缮", ""), day=1, hour=0)
    now = timezone.now()
    Case.objects.create(channel="resident", text="3号楼顶层漏雨严重，屋顶防水层坏了，请尽快维修", grid=g, grid_path=g.path,
                        lon=g.center_lon, lat=g.center_lat, state="submitted", created_at=now, updated_at=now)
    login(page, "lead", next_url="/dashboard/")
    page.goto("/dashboard/")
    page.wait_for_selector("#dash[data-loaded='1']")
    for cid in ("c-month", "c-hour", "c-channel", "c-item", "c-community", "c-grid", "c-compliance", "c-satisfaction", "c-tickets"):
        assert page.locator(f"#{cid} canvas").count() == 1, cid
    # the month's topics come after the figures: tickets and cases counted apart, two examples
    page.wait_for_selector("#dash[data-topics='1']")
    expect(page.locator("#topics-month")).to_contain_text(month)
    first = page.locator("#topics tbody tr").first.locator("td")
    assert first.nth(0).inner_text() == "城乡建设/房屋修缮" and first.nth(1).inner_text() == "6"
    assert int(first.nth(2).inner_text()) >= 1
    assert first.nth(4).locator(".ex").count() == 2
    expect(first.nth(4).locator(".tag.case")).to_have_count(1)
    expect(page.locator("#recurring tbody tr")).not_to_have_count(0)
    total = int(page.locator("#kpis .kpi b").first.inner_text().replace(",", ""))
    assert total == Case.objects.count()
    # click the "patrol" bar of the channel chart: the other charts and the figures narrow down
    pos = page.evaluate(
        """() => { const c = window.gridgovDashboard.charts['c-channel'];
                   const opt = c.getOption(); const i = opt.series[0].data.findIndex(d => d.key === 'patrol');
                   const p = c.convertToPixel({seriesIndex: 0}, [i, 0]); const top = c.convertToPixel({seriesIndex: 0}, [i, opt.series[0].data[i].value]);
                   return [p[0], (p[1] + top[1]) / 2]; }"""
    )
    box = page.locator("#c-channel").bounding_box()
    page.mouse.click(box["x"] + pos[0], box["y"] + pos[1])
    page.wait_for_selector("#dash[data-loaded='2']")
    assert "channel=patrol" in page.url
    patrol = Case.objects.filter(channel="patrol").count()
    assert int(page.locator("#kpis .kpi b").first.inner_text().replace(",", "")) == patrol
    months = page.evaluate("() => window.gridgovDashboard.charts['c-month'].getOption().series[0].data.reduce((a, d) => a + d.value, 0)")
    assert months == patrol
    expect(page.locator("#chips .chip")).to_have_count(1)
    assert "channel=patrol" in page.locator("#export").get_attribute("href")
    assert axe_violations(page) == []
    screenshot(page, "dashboard", full_page=True)
    # the chip clears the filter
    page.locator("#chips .chip").click()
    page.wait_for_selector("#dash[data-loaded='3']")
    assert "channel" not in page.url
    # the big screen: dark, with the 12345 trend
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto("/screen/")
    page.wait_for_selector("#dash[data-loaded='1']")
    assert page.locator("#c-tickets canvas").count() == 1
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == "rgb(7, 17, 31)"
    assert axe_violations(page) == []
    screenshot(page, "screen")
