"""One write path per kind: what hangs below a record follows it to another grid, whichever door
changed it (a spreadsheet import with --update, the API / page upload, or a service call).

The base street: a1/a1b at c1g1m1 (community 1, building "a1小区 1号楼"), a2/a2b at c1g2m1,
a3/a3b at c2g1m2 (community 2); houses at a1, a2, a3."""

from contextlib import contextmanager

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import transaction
from django.test import Client

from gridgov.accounts.models import Role
from gridgov.registry import services
from gridgov.registry.importers import run_import
from gridgov.registry.models import Address, Building, Compound, House, Organization, Resident
from gridgov.testing import make_user

from .conftest import make_id, write_csv

ADDR_HEAD = ["标准地址编码", "地址全称", "所属网格"]
BLD_HEAD = ["所属社区", "小区名称", "楼栋名称", "所属网格"]


@pytest.fixture
def lived_in(base):
    """Two residents at a1 (one house), a shop at a1, and the staff of both communities."""
    out = dict(base)
    out["r1"] = services.create_resident(name="张三", id_number=make_id("19700101", 1), phone="13800000001", house=base["house_a1"])
    out["r2"] = services.create_resident(name="李四", id_number=make_id("19700101", 3), house=base["house_a1"])
    out["shop"] = services.create_organization(name="小店", kind="shop", address=base["a1"], phone="13800000009")
    out["sec1"] = make_user("sec1", Role.COMMUNITY_SECRETARY, [base["c1"]])
    out["sec2"] = make_user("sec2", Role.COMMUNITY_SECRETARY, [base["c2"]])
    out["w_g1"] = make_user("w_g1", Role.GRID_WORKER, [base["c1g1"]])
    out["w_g2"] = make_user("w_g2", Role.GRID_WORKER, [base["c1g2"]])
    return out


def _move_a1_file(tmp_path, grid):
    return write_csv(tmp_path / "a.csv", [ADDR_HEAD, ["AA10001", "第1社区a1小区1号楼1单元101", grid.code]])


def _sees(user, w):
    return {
        "residents": set(Resident.objects.visible_to(user).filter(pk__in=[w["r1"].pk, w["r2"].pk]).values_list("name", flat=True)),
        "house": House.objects.visible_to(user).filter(pk=w["house_a1"].pk).exists(),
        "shop": Organization.objects.visible_to(user).filter(pk=w["shop"].pk).exists(),
    }


NOTHING = {"residents": set(), "house": False, "shop": False}
EVERYTHING = {"residents": {"张三", "李四"}, "house": True, "shop": True}


def _assert_moved_to_c2g1(w):
    g = w["c2g1"]
    a1 = Address.objects.get(pk=w["a1"].pk)
    assert (a1.grid_id, a1.community_id) == (g.id, w["c2"].id)
    assert House.objects.get(pk=w["house_a1"].pk).grid_id == g.id
    assert set(Resident.objects.filter(house=w["house_a1"]).values_list("grid_id", flat=True)) == {g.id}
    assert Organization.objects.get(pk=w["shop"].pk).grid_id == g.id
    # the new community's staff see what lives there; the old community's no longer do
    assert _sees(w["sec2"], w) == EVERYTHING
    assert _sees(w["sec1"], w) == NOTHING


def test_import_update_moving_an_address_to_another_community_moves_what_hangs_below(lived_in, tmp_path):
    w = lived_in
    assert _sees(w["sec1"], w) == EVERYTHING and _sees(w["sec2"], w) == NOTHING
    result = run_import("addresses", _move_a1_file(tmp_path, w["c2g1"]), update=True)
    assert result.ok and result.updated == 1, [str(e) for e in result.errors]
    _assert_moved_to_c2g1(w)


def test_command_import_update_moves_what_hangs_below(lived_in, tmp_path):
    call_command("import", "addresses", str(_move_a1_file(tmp_path, lived_in["c2g1"])), "--update")
    _assert_moved_to_c2g1(lived_in)


def test_api_import_update_moves_what_hangs_below(lived_in, tmp_path):
    c = Client()
    c.force_login(make_user("leader", Role.LEADER))
    data = _move_a1_file(tmp_path, lived_in["c2g1"]).read_bytes()
    resp = c.post("/api/registry/import/addresses", {"file": SimpleUploadedFile("a.csv", data), "update": "true"})
    assert resp.status_code == 200 and resp.json()["updated"] == 1, resp.content
    _assert_moved_to_c2g1(lived_in)


def test_page_import_update_moves_what_hangs_below(lived_in, tmp_path):
    c = Client()
    c.force_login(make_user("leader", Role.LEADER))
    data = _move_a1_file(tmp_path, lived_in["c2g1"]).read_bytes()
    resp = c.post("/imports/", {"kind": "addresses", "file": SimpleUploadedFile("a.csv", data), "update": "1"})
    assert resp.status_code in (200, 302)
    _assert_moved_to_c2g1(lived_in)


def test_import_update_moving_a_building_moves_its_addresses_houses_and_residents(lived_in, tmp_path):
    w = lived_in
    assert _sees(w["w_g1"], w) == EVERYTHING and _sees(w["w_g2"], w) == NOTHING
    path = write_csv(tmp_path / "b.csv", [BLD_HEAD, [w["c1"].code, "a1小区", "1号楼", w["c1g2"].code]])
    result = run_import("buildings", path, update=True)
    assert result.ok and result.updated == 1, [str(e) for e in result.errors]
    g = w["c1g2"]
    building = Building.objects.get(pk=w["a1"].building_id)
    assert building.grid_id == g.id
    assert set(Address.objects.filter(building=building).values_list("grid_id", flat=True)) == {g.id}
    assert House.objects.get(pk=w["house_a1"].pk).grid_id == g.id
    assert _sees(w["w_g2"], w) == EVERYTHING and _sees(w["w_g1"], w) == NOTHING


def test_a_dependant_already_inside_the_new_grid_keeps_its_finer_grid(lived_in, tmp_path):
    """Moving building 1号楼 (c1g1m1) up to its grid c1g1: its addresses in micro-grid c1g1m1 are
    inside c1g1 already and stay where they are."""
    w = lived_in
    path = write_csv(tmp_path / "b.csv", [BLD_HEAD, [w["c1"].code, "a1小区", "1号楼", w["c1g1"].code]])
    assert run_import("buildings", path, update=True).ok
    assert Building.objects.get(pk=w["a1"].building_id).grid_id == w["c1g1"].id
    assert Address.objects.get(pk=w["a1"].pk).grid_id == w["c1g1m1"].id
    assert Resident.objects.get(pk=w["r1"].pk).grid_id == w["c1g1m1"].id


@contextmanager
def _rolled_back():
    class Undo(Exception):
        pass

    try:
        with transaction.atomic():
            yield
            raise Undo
    except Undo:
        pass


def _snapshot():
    """Every record's grid and the fields derived from it (not the timestamps)."""
    return {
        "compounds": sorted(Compound.objects.values_list("pk", "grid_id", "community_id")),
        "buildings": sorted(Building.objects.values_list("pk", "grid_id", "compound_id")),
        "addresses": sorted(Address.objects.values_list("pk", "grid_id", "community_id", "building_id")),
        "houses": sorted(House.objects.values_list("pk", "grid_id", "building_id")),
        "residents": sorted(Resident.objects.values_list("pk", "grid_id", "house_id")),
        "organizations": sorted(Organization.objects.values_list("pk", "grid_id", "address_id")),
    }


@pytest.mark.parametrize("change", ["address to another community", "building to another grid"])
def test_the_service_and_the_import_give_the_same_result(lived_in, tmp_path, change):
    w = lived_in
    before = _snapshot()
    if change == "address to another community":
        by_service = lambda: services.update(Address.objects.get(pk=w["a1"].pk), grid=w["c2g1"])  # noqa: E731
        path = _move_a1_file(tmp_path, w["c2g1"])
        kind = "addresses"
    else:
        by_service = lambda: services.update(Building.objects.get(pk=w["a1"].building_id), grid=w["c1g2"])  # noqa: E731
        path = write_csv(tmp_path / "b.csv", [BLD_HEAD, [w["c1"].code, "a1小区", "1号楼", w["c1g2"].code]])
        kind = "buildings"
    with _rolled_back():
        by_service()
        after_service = _snapshot()
    assert _snapshot() == before
    with _rolled_back():
        assert run_import(kind, path, update=True).ok
        after_import = _snapshot()
    assert after_service == after_import != before


def test_service_moving_a_house_to_another_address_moves_its_residents(lived_in):
    w = lived_in
    house = House.objects.get(pk=w["house_a1"].pk)
    services.update(house, address=w["a3b"])
    assert House.objects.get(pk=house.pk).grid_id == w["c2g1m2"].id
    assert set(Resident.objects.filter(house=house).values_list("grid_id", flat=True)) == {w["c2g1m2"].id}
    assert _sees(w["sec2"], w)["residents"] == {"张三", "李四"} and _sees(w["sec1"], w)["residents"] == set()


def test_service_moving_a_compound_moves_buildings_and_addresses_outside_the_new_grid(lived_in):
    w = lived_in
    compound = Compound.objects.get(pk=w["a1"].compound_id)
    services.update(compound, grid=w["c1g2"])
    assert Building.objects.get(pk=w["a1"].building_id).grid_id == w["c1g2"].id
    assert {a.grid_id for a in Address.objects.filter(compound=compound)} == {w["c1g2"].id}
    assert Resident.objects.get(pk=w["r1"].pk).grid_id == w["c1g2"].id


def test_update_functions_have_one_door():
    """No per-kind update_* twins beside the one path."""
    assert not [n for n in dir(services) if n.startswith("update_")]
