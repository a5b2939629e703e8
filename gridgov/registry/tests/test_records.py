"""One record at a time: create, edit, end through the API and the services, with the import's
rules, the optimistic lock and the history (personal fields masked)."""

import json

import pytest
from django.test import Client

from gridgov.accounts.models import Role
from gridgov.core import crypto
from gridgov.core.models import ChangeRecord
from gridgov.registry import services
from gridgov.registry.models import Resident
from gridgov.testing import make_user

from .conftest import make_id


def login(user):
    c = Client()
    c.force_login(user)
    return c


def post(c, url, data):
    return c.post(url, json.dumps(data), content_type="application/json")


def patch(c, url, data):
    return c.patch(url, json.dumps(data), content_type="application/json")


@pytest.fixture
def worker(base):
    return login(make_user("w1", Role.GRID_WORKER, [base["c1g1"]]))


@pytest.fixture
def resident(base):
    return services.create_resident(name="王芳", id_number=make_id("19550505", 7), phone="13900000007",
                                    house=base["house_a1"])


def test_create_resident_validates_like_the_import(base, worker):
    r = post(worker, "/api/registry/residents", {"name": "李雷", "id_number": "110106199003071234", "address": "AA10001"})
    assert r.status_code == 400
    assert "id_number" in r.json()["errors"]
    r = post(worker, "/api/registry/residents", {"name": "李雷", "id_number": make_id("19900307", 3), "address": "AA10001",
                                                 "birth_date": "1991-01-01"})
    assert r.status_code == 400 and "出生日期" in r.json()["errors"]["birth_date"]
    r = post(worker, "/api/registry/residents", {"name": "李雷", "id_number": make_id("19900307", 3), "address": "AA10001",
                                                 "phone": "13800001111", "nickname": "x"})
    assert r.status_code == 400 and r.json()["errors"] == {"nickname": "未知字段"}
    r = post(worker, "/api/registry/residents", {"name": "李雷", "id_number": make_id("19900307", 3), "address": "AA10001",
                                                 "phone": "13800001111", "tags": "老年人、独居"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["version"] == 1 and body["phone"] == "138****1111" and body["grid"]["code"] == base["c1g1m1"].code
    assert body["birth_date"] == "1990-03-07" and body["tags"] == ["elderly", "living_alone"]
    # the same ID number again: the import's duplicate rule
    r = post(worker, "/api/registry/residents", {"name": "韩梅梅", "id_number": make_id("19900307", 3), "address": "AA10001"})
    assert r.status_code == 400 and r.json()["errors"]["id_number"] == "已登记"
    h = ChangeRecord.objects.get(kind="residents", object_id=str(body["id"]))
    assert h.action == "create" and h.changes["phone"] == [None, "138****1111"]
    assert h.grid_path == base["c1g1m1"].path


def test_scope_and_role(base, worker, resident):
    other = login(make_user("w2", Role.GRID_WORKER, [base["c1g2"]]))
    assert patch(other, f"/api/registry/residents/{resident.pk}", {"version": 1, "name": "x"}).status_code == 404
    assert post(other, f"/api/registry/residents/{resident.pk}/end", {"reason": "died"}).status_code == 404
    assert other.get(f"/api/registry/residents/{resident.pk}/history").status_code == 404
    # creating in a grid outside the scope: refused, naming the field (the import's rule)
    r = post(other, "/api/registry/residents", {"name": "李雷", "id_number": make_id("19900307", 3), "address": "AA10001"})
    assert r.status_code == 400 and "address" in r.json()["errors"]
    # moving a record to a grid outside the scope
    r = patch(worker, f"/api/registry/residents/{resident.pk}", {"version": 1, "address": "AA20001"})
    assert r.status_code == 400 and "address" in r.json()["errors"]
    section = login(make_user("s1", Role.SECTION_STAFF, [base["c1"]]))
    assert section.get(f"/api/registry/residents/{resident.pk}").status_code == 200
    assert patch(section, f"/api/registry/residents/{resident.pk}", {"version": 1, "name": "x"}).status_code == 403
    assert post(section, "/api/registry/places", {"name": "x", "kind": "其他", "lon": 116.385, "lat": 39.785}).status_code == 403
    assert Resident.objects.get(pk=resident.pk).name == "王芳"


def test_patch_keeps_history_masked_and_bumps_version(base, worker, resident):
    r = patch(worker, f"/api/registry/residents/{resident.pk}", {"version": 1, "phone": "13700002222", "relation": "户主"})
    assert r.status_code == 200, r.content
    assert r.json()["version"] == 2 and r.json()["phone"] == "137****2222"
    resident.refresh_from_db()
    assert crypto.decrypt(resident.phone_enc) == "13700002222" and resident.version == 2
    hist = worker.get(f"/api/registry/residents/{resident.pk}/history").json()
    latest = hist["items"][0]
    assert latest["action"] == "update" and latest["actor"] == "w1"
    assert latest["changes"] == {"phone": ["139****0007", "137****2222"], "relation": ["", "户主"], "version": [1, 2]}
    # the plaintext is never kept in the history
    for h in ChangeRecord.objects.all():
        text = json.dumps(h.changes, ensure_ascii=False)
        assert "13700002222" not in text and "13900000007" not in text and make_id("19550505", 7) not in text
    # the wrong type of a cell is the import's error, naming the field
    r = patch(worker, f"/api/registry/residents/{resident.pk}", {"version": 2, "phone": "12"})
    assert r.status_code == 400 and "phone" in r.json()["errors"]
    assert patch(worker, f"/api/registry/residents/{resident.pk}", {"phone": "13700002223"}).status_code == 400


def test_optimistic_lock_race(base, worker, resident):
    """Two editors read version 1; the first save wins, the second is refused with what changed."""
    second = login(make_user("w1b", Role.GRID_LEADER, [base["c1g1"]]))
    v1 = worker.get(f"/api/registry/residents/{resident.pk}").json()["version"]
    v2 = second.get(f"/api/registry/residents/{resident.pk}").json()["version"]
    assert v1 == v2 == 1
    assert patch(worker, f"/api/registry/residents/{resident.pk}", {"version": v1, "phone": "13700002222",
                                                                     "ethnicity": "回族"}).status_code == 200
    r = patch(second, f"/api/registry/residents/{resident.pk}", {"version": v2, "ethnicity": "满族"})
    assert r.status_code == 409
    body = r.json()
    assert body["changed"] == ["ethnicity", "phone"] and body["by"] == ["w1"] and body["version"] == 2
    resident.refresh_from_db()
    assert resident.ethnicity == "回族" and resident.version == 2
    # with the version it now reads, the second editor's save goes through
    assert patch(second, f"/api/registry/residents/{resident.pk}", {"version": 2, "ethnicity": "满族"}).status_code == 200


def test_import_bumps_version_so_an_open_form_is_refused(base, worker, resident, tmp_path):
    from gridgov.registry.importers import run_import

    from .conftest import write_csv

    path = write_csv(tmp_path / "r.csv", [["姓名", "身份证号", "现住址(标准地址编码)", "民族"], ["王芳", make_id("19550505", 7), "AA10001", "壮族"]])
    assert run_import("residents", path, update=True).ok
    r = patch(worker, f"/api/registry/residents/{resident.pk}", {"version": 1, "relation": "户主"})
    assert r.status_code == 409 and r.json()["other_change"] is True and r.json()["version"] == 2


def test_end_resident_hidden_from_lists_and_counts(base, worker, resident):
    assert worker.get("/api/registry/residents").json()["count"] == 1
    r = post(worker, f"/api/registry/residents/{resident.pk}/end", {"reason": "teleported"})
    assert r.status_code == 400 and "reason" in r.json()["errors"]
    r = post(worker, f"/api/registry/residents/{resident.pk}/end", {"reason": "moved_out", "on": "2099-01-01"})
    assert r.status_code == 400 and "on" in r.json()["errors"]
    r = post(worker, f"/api/registry/residents/{resident.pk}/end", {"reason": "moved_out", "on": "2026-01-31", "version": 1})
    assert r.status_code == 200 and r.json()["ended_on"] == "2026-01-31" and r.json()["version"] == 2
    assert Resident.objects.filter(pk=resident.pk).exists()  # never deleted
    assert worker.get("/api/registry/residents").json()["count"] == 0
    assert worker.get("/api/registry/residents", {"ended": True}).json()["count"] == 1
    assert worker.get(f"/api/registry/residents/{resident.pk}").status_code == 200
    assert worker.get("/api/registry/houses").json()["count"] == 1
    items = worker.get(f"/api/registry/residents/{resident.pk}/history").json()["items"]
    assert items[0]["action"] == "end" and items[0]["changes"]["end_reason"] == ["", "moved_out"]
    page = worker.get("/records/residents/")
    assert "王芳" not in page.content.decode()
    assert "王芳" in worker.get("/records/residents/?ended=1").content.decode()


def test_other_kinds(base, worker):
    r = post(worker, "/api/registry/places", {"name": "驿站", "kind": "服务驿站", "lon": 116.385, "lat": 39.785,
                                              "grid": base["c1g1m1"].code})
    assert r.status_code == 201, r.content
    place = r.json()
    r = patch(worker, f"/api/registry/places/{place['id']}", {"version": 1, "open_hours": "9:00-17:00"})
    assert r.status_code == 200 and r.json()["open_hours"] == "9:00-17:00"
    r = post(worker, "/api/registry/volunteer-teams", {"name": "巡逻队", "kind": "patrol", "grid": base["c1g1"].code})
    assert r.status_code == 201, r.content
    r = post(worker, "/api/registry/volunteers", {"name": "赵六", "kind": "志愿者", "phone": "13912345678", "team": "巡逻队"})
    assert r.status_code == 201, r.content
    assert r.json()["grid"]["code"] == base["c1g1"].code
    r = post(worker, f"/api/registry/houses/{base['house_a1'].pk}/end", {"reason": "demolished"})
    assert r.status_code == 200
    r = post(worker, "/api/registry/organizations", {"name": "阳光物业", "kind": "物业公司", "address": "AA10001"})
    assert r.status_code == 201, r.content
    # a compound is the community's: a grid worker's scope does not cover it, the secretary's does
    r = post(worker, "/api/registry/property-projects", {"name": "阳光项目", "company": "阳光物业", "compounds": "a1小区"})
    assert r.status_code == 400 and "compounds" in r.json()["errors"]
    secretary = login(make_user("sec1", Role.COMMUNITY_SECRETARY, [base["c1"]]))
    r = post(secretary, "/api/registry/property-projects", {"name": "阳光项目", "company": "阳光物业", "compounds": "a1小区"})
    assert r.status_code == 201, r.content
    assert r.json()["compounds"] == ["a1小区"] and r.json()["grid"]["code"] == base["c1"].code


def test_ended_records_leave_exports_and_the_map_counts(base, worker, resident):
    from gridgov.registry.exporters import export_rows

    other = services.create_resident(name="李四", id_number=make_id("19600101", 8), phone="13900000008",
                                     house=base["house_a1"], tags=["elderly"])
    user = make_user("admin1", Role.ADMIN)
    services.end_record(user, services.RECORD_KINDS["residents"], resident, "died", "2026-02-01")
    _h, _qs, rows, _stats = export_rows("residents", user)
    assert [r[0] for r in rows] == ["李四"]
    building = base["house_a1"].building
    building.lat, building.lon = 39.785, 116.385
    services.update(building, lat=39.785, lon=116.385)
    card = worker.get(f"/api/insight/card/building/{building.pk}")
    assert card.status_code == 200 and card.json()["residents"] == 1  # the map's card: current residents
    assert [n["id"] for n in card.json()["names"]] == [other.pk]


def test_a_key_held_outside_the_scope_is_the_imports_neutral_refusal_with_an_audit_entry(base, worker, people_c2):
    from gridgov.core.models import AuditEntry
    from gridgov.registry.importers import CONFLICT

    r = post(worker, "/api/registry/residents", {"name": "李雷", "id_number": make_id("19700101", 9), "address": "AA10001"})
    assert r.status_code == 400 and r.json()["errors"] == {"id_number": CONFLICT}
    e = AuditEntry.objects.get(action="import_conflict")
    assert e.object_id == str(people_c2.pk)
    assert not Resident.objects.filter(name="李雷").exists()


@pytest.fixture
def people_c2(base):
    return services.create_resident(name="外社区居民", id_number=make_id("19700101", 9), house=base["house_a3"])


def test_an_edit_may_empty_a_cell(base, worker):
    r = services.create_resident(name="赵敏", id_number=make_id("19500505", 5), house=base["house_a1"],
                                 tags=["elderly"], ethnicity="汉族")
    resp = patch(worker, f"/api/registry/residents/{r.pk}", {"version": 1, "tags": "", "ethnicity": ""})
    assert resp.status_code == 200, resp.content
    r.refresh_from_db()
    assert r.tags == [] and r.ethnicity == ""
