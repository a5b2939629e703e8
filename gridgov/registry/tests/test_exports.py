import json

from django.core.management import call_command
from openpyxl import load_workbook

from gridgov.accounts.models import Role
from gridgov.core.models import AuditEntry
from gridgov.registry import services
from gridgov.registry.importers import run_import
from gridgov.testing import make_user

from .conftest import make_id


def _rows(path):
    return list(load_workbook(path).active.values)


def _people(base):
    a = services.create_resident(name="=HYPERLINK(\"http://x\")", id_number=make_id("19700101", 1), phone="13800000001",
                                 house=base["house_a1"], registered_address="+1 北京", household_no="@h")
    b = services.create_resident(name="李四", id_number=make_id("19700101", 3), phone="13800000003", house=base["house_a2"])
    c = services.create_resident(name="王五", id_number=make_id("19700101", 5), house=base["house_a3"])
    return a, b, c


def test_export_masked_for_role_without_personal_data(base, tmp_path):
    _people(base)
    make_user("sec", Role.SECTION_STAFF, [base["c1"]])
    out = tmp_path / "r.xlsx"
    call_command("export", "residents", "--user", "sec", "--out", str(out))
    rows = _rows(out)
    head = list(rows[0])
    assert head[:3] == ["姓名", "身份证号", "联系电话"]
    assert len(rows) == 3  # community 1 only
    ids = [r[1] for r in rows[1:]]
    assert all("*" in v for v in ids) and make_id("19700101", 1) not in ids
    assert rows[1][2] == "138****0001"
    e = AuditEntry.objects.get(action="export")
    assert json.loads(e.detail) == {"kind": "residents", "count": 2, "personal_data": "masked", "revealed_rows": 0}


def test_export_revealed_for_grid_worker_with_one_audit_entry(base, tmp_path):
    _people(base)
    make_user("w1", Role.GRID_WORKER, [base["c1g1"]])
    out = tmp_path / "r.xlsx"
    call_command("export", "residents", "--user", "w1", "--out", str(out))
    rows = _rows(out)
    assert len(rows) == 2
    assert rows[1][1] == make_id("19700101", 1) and rows[1][2] == "13800000001"
    entries = AuditEntry.objects.filter(action__in=["export", "reveal"])
    assert entries.count() == 1
    e = entries.get()
    assert e.username == "w1" and e.object_type == "registry.resident" and e.fields == "id_number,phone"
    assert json.loads(e.detail)["personal_data"] == "revealed" and json.loads(e.detail)["count"] == 1


def test_export_escapes_formulas(base, tmp_path):
    _people(base)
    make_user("admin", Role.ADMIN)
    out = tmp_path / "r.xlsx"
    call_command("export", "residents", "--user", "admin", "--out", str(out))
    rows = _rows(out)
    head = list(rows[0])
    first = dict(zip(head, rows[1]))
    assert first["姓名"] == "'=HYPERLINK(\"http://x\")"
    assert first["户籍地址"] == "'+1 北京" and first["户号"] == "'@h"
    ws = load_workbook(out).active
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def test_export_of_every_kind_round_trips_through_import(base, tmp_path):
    """An export by an administrator, imported back with --update, changes nothing and adds nothing."""
    r = services.create_resident(name="李四", id_number=make_id("19700101", 3), phone="13800000003", house=base["house_a2"])
    team = services.create_volunteer_team(name="巡逻队", kind="patrol", grid=base["c1"])
    services.create_volunteer(name="李四", kind="steward", resident=r, team=team, building=base["a2"].building,
                              phone="13800000003", duties="信息员")
    services.create_party_org(name="党支部", grid=base["c1g1"], grids=[base["c1g1"]])
    services.create_organization(name="小店", kind="shop", address=base["a1"], phone="13800000009")
    services.create_place(name="驿站", kind="service_station", lat=39.785, lon=116.385, grid=base["c1g1m1"])
    make_user("admin", Role.ADMIN)
    from gridgov.registry.importers import SPECS

    for kind in SPECS:
        out = tmp_path / f"{kind}.xlsx"
        call_command("export", kind, "--user", "admin", "--out", str(out))
        before = SPECS[kind].model.objects.count()
        result = run_import(kind, out, update=True)
        assert result.ok, (kind, [str(e) for e in result.errors])
        assert result.created == 0 and result.updated == before, kind
