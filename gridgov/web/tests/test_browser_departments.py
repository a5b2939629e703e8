"""Departments on the pages in a real browser (issue 10): an administrator creates a department
and adds a member; a grid leader summons it from the case page, choosing it from a select; the
member sees the summons on /summons/."""

import pytest
from playwright.sync_api import expect

from gridgov.accounts.models import Department, Duty, Role, User
from gridgov.browser import axe_violations, login
from gridgov.testing import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_creates_a_department_a_grid_leader_summons_it_the_member_sees_it(page, street):
    from gridgov.cases import services
    from gridgov.cases.models import Summons
    from gridgov.cases.taxonomy import seed_taxonomy

    seed_taxonomy()
    make_user("boss", Role.ADMIN)
    make_user("gl", Role.GRID_LEADER, [street["c1g1"]], duty=Duty.LEADER)
    make_user("officer", Role.SECTION_STAFF, [street["street"]], duty=Duty.STAFF)
    case, _ = services.submit_case(reporter=make_user("resident", Role.RESIDENT), channel="resident",
                                   text="小区门口有人占道摆摊卖水果", lon=116.383, lat=39.787, item="CC02")

    login(page, "boss")
    page.click("header nav a[href='/departments/']")
    page.wait_for_url("**/departments/")
    assert axe_violations(page) == []
    page.click("#new-department")
    page.fill("#dep-name", "南苑派出所")
    page.select_option("#dep-kind", "unit")
    page.fill("#dep-contact", "张所长")
    page.fill("#dep-phone", "010-67990110")
    page.click("form.project-form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("南苑派出所")
    assert axe_violations(page) == []
    page.fill("#member-username", "officer")
    page.click("#add-member button[type=submit]")
    expect(page.locator("ul.members")).to_contain_text("officer")
    assert User.objects.get(username="officer").department == "南苑派出所"
    page.goto("/departments/")
    row = page.locator("table.departments tr", has_text="南苑派出所")
    expect(row).to_contain_text("张所长")
    expect(row.locator("td").nth(2)).to_have_text("1")
    page.click("header form[action='/logout/'] button")

    login(page, "gl")
    page.goto(f"/cases/{case.pk}/")
    options = page.locator("#summon-dep option").all_inner_texts()
    assert any(o.startswith("南苑派出所") for o in options)
    page.select_option("#summon-dep", "南苑派出所")
    page.fill("#summon-note", "请派出所协助劝离")
    page.click("form[hx-post$='/act/summon/'] button[type=submit]")
    expect(page.locator("h2", has_text="吹哨")).to_be_visible()
    assert Summons.objects.get(case=case).department == "南苑派出所"
    page.click("header form[action='/logout/'] button")

    login(page, "officer")
    page.click("header nav a[href='/summons/']")
    page.wait_for_url("**/summons/")
    expect(page.locator("ul.summons-list")).to_contain_text("请派出所协助劝离")
    assert Department.objects.get(name="南苑派出所").kind == "unit"
