"""One record at a time in a real browser (Debian's Chromium via Playwright): a grid worker
corrects a resident's phone on the page and sees the change in the history, masked."""

import pytest

from gridgov.accounts.models import Role
from gridgov.browser import axe_violations, login
from gridgov.core.models import ChangeRecord
from gridgov.registry import services
from gridgov.testing import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_grid_worker_edits_a_phone_and_sees_it_masked_in_the_history(page, street):
    from gridgov.registry.tests.conftest import make_id

    community, grid = street["c1"], street["c1g1m1"]
    compound = services.create_compound(name="阳光小区", community=community, grid=community)
    building = services.create_building(compound=compound, name="1号楼", grid=grid)
    addr = services.create_address(code="ADDR0001", level="house", community=community, compound=compound,
                                   building=building, unit="1单元", room="101", text="阳光小区1号楼1单元101", grid=grid)
    r = services.create_resident(name="王芳", id_number=make_id("19550505", 7), phone="13900000007",
                                 house=services.create_house(address=addr))
    make_user("gw", Role.GRID_WORKER, [street["c1g1"]])
    login(page, "gw")
    page.goto("/records/residents/")
    page.click("text=王芳")
    page.wait_for_url(f"**/residents/{r.pk}/")
    page.click("#edit-record")
    page.wait_for_url(f"**/records/residents/{r.pk}/edit/")
    assert page.input_value("#r-phone") == ""  # never the plaintext in the form
    assert "139****0007" in page.get_attribute("#r-phone", "placeholder")
    assert axe_violations(page) == []
    page.fill("#r-phone", "13700002222")
    page.click("#record-form button[type=submit]")
    page.wait_for_url(f"**/residents/{r.pk}/")
    history = page.locator("#history tbody tr").first.inner_text()
    assert "139****0007" in history and "137****2222" in history and "13700002222" not in page.content()
    assert "gw" in history
    assert axe_violations(page) == []
    assert all("13700002222" not in str(h.changes) for h in ChangeRecord.objects.all())
