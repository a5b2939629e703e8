"""One record at a time on the staff pages: new, edit (the optimistic lock through the form),
end, and the history panel with personal fields masked."""

import json

import pytest
from django.test import Client

from gridgov.accounts.models import Role
from gridgov.core import crypto
from gridgov.core.models import ChangeRecord
from gridgov.registry import services
from gridgov.registry.models import Resident
from gridgov.registry.tests.conftest import make_id
from gridgov.testing import make_user


def login(user):
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def world(street):
    from gridgov.registry.tests.conftest import make_id as _id

    community, grid = street["c1"], street["c1g1m1"]
    compound = services.create_compound(name="阳光小区", community=community, grid=community)
    building = services.create_building(compound=compound, name="1号楼", grid=grid)
    addr = services.create_address(code="ADDR0001", level="house", community=community, compound=compound,
                                   building=building, unit="1单元", room="101", text="阳光小区1号楼1单元101", grid=grid)
    house = services.create_house(address=addr)
    r = services.create_resident(name="王芳", id_number=_id("19550505", 7), phone="13900000007", house=house)
    return {**street, "resident": r, "house": house}


def test_new_resident_form_validates_like_the_import_and_keeps_input(world):
    w = login(make_user("w1", Role.GRID_WORKER, [world["c1g1"]]))
    page = w.get("/records/residents/")
    assert 'id="new-record"' in page.content.decode()
    r = w.post("/records/residents/new/", {"name": "李雷", "id_number": "110106199003071234", "address": "ADDR0001",
                                           "phone": "13800001111"})
    assert r.status_code == 400
    html = r.content.decode()
    assert 'id="err-id_number"' in html and 'value="李雷"' in html and 'value="13800001111"' in html
    r = w.post("/records/residents/new/", {"name": "李雷", "id_number": make_id("19900307", 3), "address": "ADDR0001",
                                           "phone": "13800001111", "tags": "老年人"})
    assert r.status_code == 302
    new = Resident.objects.get(name="李雷")
    assert r["Location"] == f"/residents/{new.pk}/" and new.tags == ["elderly"] and new.grid_id == world["c1g1m1"].pk


def test_edit_form_race_second_save_refused_with_what_changed(world):
    res = world["resident"]
    a = login(make_user("w1", Role.GRID_WORKER, [world["c1g1"]]))
    b = login(make_user("gl", Role.GRID_LEADER, [world["c1g1"]]))
    form_a = a.get(f"/records/residents/{res.pk}/edit/").content.decode()
    form_b = b.get(f"/records/residents/{res.pk}/edit/").content.decode()
    assert 'name="version" value="1"' in form_a and 'name="version" value="1"' in form_b
    assert "13900000007" not in form_a  # the form never carries the plaintext
    r = a.post(f"/records/residents/{res.pk}/edit/", {"version": "1", "name": "王芳", "ethnicity": "回族",
                                                      "phone": "13700002222", "address": "ADDR0001"})
    assert r.status_code == 302
    r = b.post(f"/records/residents/{res.pk}/edit/", {"version": "1", "name": "王芳", "ethnicity": "满族",
                                                      "relation": "户主", "address": "ADDR0001"})
    assert r.status_code == 409
    html = r.content.decode()
    assert 'id="conflict"' in html and "民族" in html and "联系电话" in html and "w1" in html
    assert 'value="满族"' in html and 'value="户主"' in html  # nothing lost
    assert 'name="version" value="2"' in html
    res.refresh_from_db()
    assert res.ethnicity == "回族" and res.relation == "" and res.version == 2
    # saving again (after a look) applies the second editor's input
    r = b.post(f"/records/residents/{res.pk}/edit/", {"version": "2", "name": "王芳", "ethnicity": "满族",
                                                      "relation": "户主", "address": "ADDR0001"})
    assert r.status_code == 302
    res.refresh_from_db()
    assert res.ethnicity == "满族" and res.relation == "户主" and crypto.decrypt(res.phone_enc) == "13700002222"


def test_history_panel_masks_phone_and_end_hides_from_lists_and_counts(world):
    res = world["resident"]
    w = login(make_user("w1", Role.GRID_WORKER, [world["c1g1"]]))
    w.post(f"/records/residents/{res.pk}/edit/", {"version": "1", "name": "王芳", "phone": "13700002222",
                                                  "address": "ADDR0001"})
    page = w.get(f"/residents/{res.pk}/").content.decode()
    assert "139****0007" in page and "137****2222" in page and "13700002222" not in page
    assert all("13700002222" not in json.dumps(h.changes) for h in ChangeRecord.objects.all())
    assert w.get("/territory/").context["counts"]["residents"] == 1
    r = w.post(f"/records/residents/{res.pk}/end/", {"version": "2", "reason": "died", "on": "2026-03-01"})
    assert r.status_code == 302
    assert "王芳" not in w.get("/records/residents/").content.decode()
    assert "王芳" in w.get("/records/residents/?ended=1").content.decode()
    assert w.get("/territory/").context["counts"]["residents"] == 0
    assert w.get(f"/grids/{world['c1g1'].code}/").context["counts"]["residents"] == 0
    page = w.get(f"/residents/{res.pk}/").content.decode()
    assert 'id="ended"' in page and "死亡" in page
    # a stale end form is refused
    r = w.post(f"/records/residents/{res.pk}/end/", {"version": "2", "restore": "1"})
    assert r.status_code == 409
    r = w.post(f"/records/residents/{res.pk}/end/", {"version": "3", "restore": "1"})
    assert r.status_code == 302 and Resident.objects.get(pk=res.pk).ended_on is None


def test_other_kinds_on_the_pages(world):
    w = login(make_user("w1", Role.GRID_WORKER, [world["c1g1"]]))
    r = w.post("/records/places/new/", {"name": "驿站", "kind": "service_station", "lon": "116.385", "lat": "39.785",
                                        "grid": world["c1g1m1"].code})
    assert r.status_code == 302, r.content.decode()[:2000]
    detail = w.get(r["Location"]).content.decode()
    assert "驿站" in detail and 'id="history"' in detail and 'id="end-form"' in detail
    house = world["house"]
    r = w.post(f"/records/houses/{house.pk}/end/", {"reason": "demolished"})
    assert r.status_code == 302
    assert "阳光小区1号楼1单元101" not in w.get("/records/houses/").content.decode()
    # outside the scope: 404; a section member reads but may not edit
    other = login(make_user("w2", Role.GRID_WORKER, [world["c1g2"]]))
    assert other.get(f"/records/houses/{house.pk}/").status_code == 404
    assert other.get(f"/records/residents/{world['resident'].pk}/edit/").status_code == 404
    section = login(make_user("s1", Role.SECTION_STAFF, [world["c1"]]))
    assert section.get(f"/records/residents/{world['resident'].pk}/edit/").status_code == 403
    assert section.get("/records/residents/new/").status_code == 403
    assert 'id="edit-record"' not in section.get(f"/residents/{world['resident'].pk}/").content.decode()
