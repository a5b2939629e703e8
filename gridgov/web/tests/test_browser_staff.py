"""Staff management in a real browser (Debian's Chromium via Playwright): an administrator
creates a grid worker, who signs in with the temporary password and must change it first."""

import re

import pytest
from playwright.sync_api import expect

from gridgov.accounts.models import GridAssignment, Role, User
from gridgov.browser import axe_violations, login
from gridgov.testing import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_creates_a_grid_worker_who_must_change_the_temporary_password(page, street):
    make_user("admin1", Role.ADMIN)
    login(page, "admin1")
    page.click("nav a[href='/staff/']")
    page.wait_for_load_state()
    assert axe_violations(page) == []
    page.click("a[href='/staff/new/']")
    page.fill("#username", "newworker")
    page.fill("#display_name", "新网格员")
    page.select_option("#role", "grid_worker")
    page.select_option("#grid", street["c1g1"].code)
    assert axe_violations(page) == []
    page.click("main button[type=submit]")
    temp = page.locator("#temp-password").inner_text().strip()
    assert len(temp) >= 10
    assert axe_violations(page) == []
    user = User.objects.get(username="newworker")
    assert user.must_change_password and GridAssignment.objects.get(user=user).node_id == street["c1g1"].pk

    page.context.clear_cookies()
    login(page, "newworker", temp)
    page.wait_for_url(re.compile(r".*/account/password/"))
    assert axe_violations(page) == []
    page.goto("/records/residents/")  # any page leads back to the change
    page.wait_for_url(re.compile(r".*/account/password/\?next="))
    page.fill("#id_old_password", temp)
    page.fill("#id_new_password1", "Worker-pass-2026")
    page.fill("#id_new_password2", "Worker-pass-2026")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/records/residents/$"))
    expect(page.locator("h1")).to_contain_text("实有人口")
    user.refresh_from_db()
    assert not user.must_change_password and user.check_password("Worker-pass-2026")
