import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from gridgov.accounts.models import Role
from gridgov.core.models import AuditEntry
from gridgov.registry import services
from gridgov.registry.models import Resident
from gridgov.testing import make_user

from .conftest import make_id, write_csv
from .test_imports import RES_HEAD, res_row


def login(user):
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def people(base):
    out = {}
    for i, (key, house) in enumerate((("g1", "house_a1"), ("g2", "house_a2"), ("c2", "house_a3")), start=1):
        out[key] = services.create_resident(
            name=f"居民{key}", id_number=make_id("19550505", i), phone=f"1390000000{i}", house=base[house],
            tags=["elderly"] if i == 1 else [],
        )
    services.create_organization(name="小店", kind="shop", address=base["a1"], phone="13800000009")
    services.create_party_org(name="第1网格党支部", grid=base["c1g1"], grids=[base["c1g1"]])
    services.create_place(name="驿站", kind="service_station", lat=39.785, lon=116.385, grid=base["c1g1m1"])
    return out


def test_grid_worker_sees_only_own_grid(base, people):
    w1 = login(make_user("w1", Role.GRID_WORKER, [base["c1g1"]]))
    w2 = login(make_user("w2", Role.GRID_WORKER, [base["c1g2"]]))
    r1 = w1.get("/api/registry/residents").json()
    assert r1["count"] == 1 and r1["items"][0]["name"] == "居民g1"
    assert r1["items"][0]["id_number"] != make_id("19550505", 1) and "*" in r1["items"][0]["id_number"]
    assert r1["items"][0]["phone"] == "139****0001"
    r2 = w2.get("/api/registry/residents").json()
    assert [i["name"] for i in r2["items"]] == ["居民g2"]
    for path in ("houses", "addresses", "organizations", "places", "party-orgs"):
        items = w2.get(f"/api/registry/{path}").json()["items"]
        assert all(i["grid"]["code"].startswith(base["c1g2"].code) for i in items), path
    assert w2.get("/api/registry/organizations").json()["count"] == 0
    assert w2.get("/api/registry/places").json()["count"] == 0
    assert w2.get("/api/registry/party-orgs").json()["count"] == 0
    assert w1.get("/api/registry/organizations").json()["count"] == 1
    assert w1.get("/api/registry/addresses").json()["count"] == 2
    # filtering by a grid outside the scope does not widen it
    assert w2.get("/api/registry/residents", {"grid": base["c1g1"].code}).json()["count"] == 0
    # detail: outside scope answers exactly like missing
    assert w2.get(f"/api/registry/residents/{people['g1'].id}").status_code == 404
    assert w2.get("/api/registry/residents/999999").status_code == 404
    assert w1.get(f"/api/registry/residents/{people['g1'].id}").json()["name"] == "居民g1"


def test_filters_search_and_pagination(base, people):
    sec = login(make_user("sec", Role.COMMUNITY_SECRETARY, [base["c1"]]))
    assert sec.get("/api/registry/residents").json()["count"] == 2
    assert sec.get("/api/registry/residents", {"q": make_id("19550505", 2)}).json()["items"][0]["name"] == "居民g2"
    assert sec.get("/api/registry/residents", {"q": "g1"}).json()["count"] == 1
    assert sec.get("/api/registry/residents", {"tag": "elderly"}).json()["count"] == 1
    assert sec.get("/api/registry/residents", {"special_care": True}).json()["count"] == 1
    assert sec.get("/api/registry/residents", {"grid": base["c1g2"].code}).json()["count"] == 1
    page = sec.get("/api/registry/residents", {"page_size": 1, "page": 2}).json()
    assert page["count"] == 2 and len(page["items"]) == 1 and page["items"][0]["name"] == "居民g2"
    assert sec.get("/api/registry/addresses", {"q": "a2小区"}).json()["count"] == 2
    assert sec.get("/api/registry/organizations", {"kind": "shop"}).json()["items"][0]["phone"] == "138****0009"


def test_anonymous_and_resident(base, people):
    assert Client().get("/api/registry/residents").status_code == 401
    res = login(make_user("r", Role.RESIDENT))
    assert res.get("/api/registry/residents").status_code == 403  # a role the access table never lets list


def test_reveal_through_api(base, people):
    rid = people["g1"].id
    w1 = login(make_user("w1", Role.GRID_WORKER, [base["c1g1"]]))
    resp = w1.post(f"/api/registry/residents/{rid}/reveal", json.dumps({"field": "id_number"}), content_type="application/json")
    assert resp.status_code == 200 and resp.json()["value"] == make_id("19550505", 1)
    assert AuditEntry.objects.filter(action="reveal", username="w1", object_id=str(rid), fields="id_number").count() == 1
    assert w1.post(f"/api/registry/residents/{rid}/reveal", json.dumps({"field": "name"}), content_type="application/json").status_code == 400
    section = login(make_user("s", Role.SECTION_STAFF, [base["c1"]]))
    assert section.post(f"/api/registry/residents/{rid}/reveal", json.dumps({"field": "phone"}), content_type="application/json").status_code == 403
    w2 = login(make_user("w2", Role.GRID_WORKER, [base["c1g2"]]))
    assert w2.post(f"/api/registry/residents/{rid}/reveal", json.dumps({"field": "phone"}), content_type="application/json").status_code == 404
    assert AuditEntry.objects.filter(action="reveal").count() == 1


def test_import_upload(base, tmp_path):
    path = write_csv(tmp_path / "r.csv", [RES_HEAD, res_row(1), res_row(2, "AA20001")], encoding="gbk")
    data = path.read_bytes()
    res = login(make_user("r", Role.RESIDENT))
    assert res.post("/api/registry/import/residents", {"file": SimpleUploadedFile("r.csv", data)}).status_code == 403
    # a grid worker of grid 1 may not import a resident living in grid 2
    w1 = login(make_user("w1", Role.GRID_WORKER, [base["c1g1"]]))
    resp = w1.post("/api/registry/import/residents", {"file": SimpleUploadedFile("r.csv", data)})
    assert resp.status_code == 400
    body = resp.json()
    assert body["ok"] is False and [(e["row"], e["column"]) for e in body["errors"]] == [(3, "现住址(标准地址编码)")]
    assert Resident.objects.count() == 0
    sec = login(make_user("sec", Role.COMMUNITY_SECRETARY, [base["c1"]]))
    resp = sec.post("/api/registry/import/residents", {"file": SimpleUploadedFile("r.csv", data)})
    assert resp.status_code == 200 and resp.json()["created"] == 2
    resp = sec.post("/api/registry/import/residents", {"file": SimpleUploadedFile("r.csv", data), "update": "true"})
    assert resp.status_code == 200 and resp.json()["updated"] == 2
    assert sec.post("/api/registry/import/nonsense", {"file": SimpleUploadedFile("r.csv", data)}).status_code == 404
