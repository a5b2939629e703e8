"""The rules pages: taxonomy, routing, calendar, settings (server side and in Chromium)."""

import pytest

from gridgov.accounts.models import Role
from gridgov.cases.models import CalendarOverride, Clock, Item, RoutingPath, RoutingRule
from gridgov.core.models import SettingValue
from gridgov.testing import make_user


@pytest.fixture
def rules(street, settings):
    from gridgov.cases.taxonomy import seed_taxonomy

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    seed_taxonomy()
    return {"admin": make_user("adm", Role.ADMIN), "lead": make_user("lead", Role.LEADER),
            "gl": make_user("gl", Role.GRID_LEADER, [street["c1g1"]])}


def test_pages_render_and_only_administrators_edit(rules, client):
    client.force_login(rules["admin"])
    code = Item.objects.order_by("id").first().code
    for url in ("/taxonomy/", f"/taxonomy/items/{code}/", "/routing/", f"/routing/rules/{RoutingRule.objects.first().pk}/",
                "/routing/paths/grid_only/", "/calendar/", "/settings/"):
        assert client.get(url).status_code == 200, url
    r = client.post(f"/taxonomy/items/{code}/", {"name": "路灯不亮", "department": Item.objects.get(code=code).department,
                                               "default_urgency": "normal", "accept_limit": "5", "accept_unit": "minutes",
                                               "arrive_limit": "", "arrive_unit": "minutes", "resolve_limit": "2",
                                               "resolve_unit": "working_days", "active": "on"})
    assert r.status_code == 200
    item = Item.objects.get(code=code)
    assert (item.name, item.limit("arrive"), item.limit("resolve")) == ("路灯不亮", None, (2, "working_days"))
    assert "路灯不亮" in client.get(f"/taxonomy/items/{code}/").content.decode()  # the history shows it
    # a grid leader reads the taxonomy but cannot change it; the settings page is not theirs
    client.force_login(rules["gl"])
    assert client.get("/taxonomy/").status_code == 200
    assert client.post(f"/taxonomy/items/{code}/", {"name": "x", "department": item.department}).status_code == 403
    assert client.get("/settings/").status_code == 403 and client.get("/calendar/").status_code == 403


def test_routing_calendar_and_settings_forms(rules, client):
    client.force_login(rules["lead"])  # leaders edit routing (the table's routing × update)
    r = client.post("/routing/", {"path": "grid_only", "priority": "50", "note": "页面规则", "active": "on"})
    assert r.status_code == 302
    rule = RoutingRule.objects.get(note="页面规则")
    assert client.post(f"/routing/rules/{rule.pk}/", {"delete": "1"}).status_code == 302
    assert not RoutingRule.objects.filter(pk=rule.pk).exists()
    assert "页面规则" in client.get(f"/routing/rules/{rule.pk}/").content.decode()  # its history stays
    r = client.post("/routing/paths/grid_only/", {"name": "网格自办", "steps": "grid_leader\ncommunity_secretary + section"})
    assert r.status_code == 200
    assert RoutingPath.objects.get(code="grid_only").steps == [["grid_leader"], ["community_secretary", "section"]]
    assert client.post("/routing/paths/grid_only/", {"name": "x", "steps": "volunteer"}).status_code == 400
    assert client.post("/settings/", {"key": "CASES_RATING_REOPENS", "v_CASES_RATING_REOPENS": "2"}).status_code == 403
    client.force_login(rules["admin"])
    assert client.post("/calendar/", {"date": "2026-05-06", "is_workday": "0", "note": "街道调休"}).status_code == 302
    assert CalendarOverride.objects.get().is_workday is False
    assert client.post("/calendar/", {"date": "2026-05-06", "remove": "1"}).status_code == 302
    assert not CalendarOverride.objects.exists()
    r = client.post("/settings/", {"key": "CASES_RATING_REOPENS", "v_CASES_RATING_REOPENS": "2", "valid_from": "", "note": "试行"})
    assert r.status_code == 302 and SettingValue.objects.get().value == "2"
    r = client.post("/settings/", {"key": "CASES_RATING_REOPENS", "v_CASES_RATING_REOPENS": "9"})
    assert r.status_code == 400


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_admin_changes_a_resolve_limit_on_the_page_and_the_next_case_gets_it(page, street):
    from gridgov.browser import axe_violations, login
    from gridgov.cases import services
    from gridgov.cases.taxonomy import seed_taxonomy
    from gridgov.accounts.models import Duty

    seed_taxonomy()
    make_user("adm", Role.ADMIN)
    make_user("gl", Role.GRID_LEADER, [street["c1g1"]], duty=Duty.LEADER)
    resident = make_user("res", Role.RESIDENT)
    first, _ = services.submit_case(reporter=resident, channel="resident", text="小区门口的路灯坏了", lon=116.383, lat=39.787)
    running = Clock.objects.get(case=first, kind="resolve")
    due = running.due_at
    login(page, "adm")
    page.goto("/taxonomy/")
    page.click(f"a[href='/taxonomy/items/{first.item.code}/']")
    page.wait_for_load_state()
    assert axe_violations(page) == []
    page.fill("#f-resolve", "3")
    page.select_option("select[name=resolve_unit]", "working_days")
    page.click("form.project-form button[type=submit]")
    page.wait_for_selector("p.ok")
    assert "resolve_limit" in page.locator("#history-h + table").inner_text()
    second, _ = services.submit_case(reporter=resident, channel="resident", text="路灯坏了，晚上很黑", lon=116.383, lat=39.787)
    assert second.item_id == first.item_id
    fresh = Clock.objects.get(case=second, kind="resolve")
    assert (fresh.basis, fresh.limit) == ("workdays", 3)
    running.refresh_from_db()
    assert (running.basis, running.limit, running.due_at) == ("working", 8, due)
    page.goto("/settings/")
    assert axe_violations(page) == []


def test_rules_pages_in_english(rules, client):
    from gridgov.cases.models import Scenario
    from gridgov.core import settings_rows
    from gridgov.web.tests.test_i18n import leftover_chinese

    settings_rows.set_values(rules["admin"], {"CASES_RATING_REOPENS": 2}, note="试行")
    client.force_login(rules["admin"])
    item = Item.objects.order_by("id").first()
    data = ([i.name for i in Item.objects.all()] + [i.department for i in Item.objects.all()]
            + [s.name for s in Scenario.objects.all()] + [p.name for p in RoutingPath.objects.all()]
            + [r.note for r in RoutingRule.objects.all()] + ["试行", "adm"])
    for url in ("/taxonomy/", f"/taxonomy/items/{item.code}/", "/routing/", f"/routing/rules/{RoutingRule.objects.first().pk}/",
                "/routing/paths/grid_only/", "/calendar/", "/settings/"):
        html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert leftover_chinese(html, data) == [], url
