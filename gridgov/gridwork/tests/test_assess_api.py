"""The assessment's API: scope of the results, the evidence behind a figure, marks, publishing,
schemes, the points terms."""

from gridgov.gridwork import day

from . import world
import pytest

from .test_assess_formulas import file
from .world_day import client, post

URL = "/api/gridwork/assess"


@pytest.fixture
def w(street, settings, tmp_path):
    from gridgov.cases.taxonomy import seed_taxonomy

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path / "media")
    seed_taxonomy()
    return world.build(street)
Q1 = "2026-Q1"


def names(r):
    return {x["username"] for x in r.json()["workers"]}


def test_results_are_narrowed_to_the_callers_reach(w):
    assert names(client(w["leader"]).get(URL + "/", {"period": Q1})) == {"gw_c1g1", "gw_c1g2", "gw_c2g1", "gl_c1g1"}
    assert names(client(w["staff_c1"]).get(URL + "/", {"period": Q1})) == {"gw_c1g1", "gw_c1g2", "gl_c1g1"}
    mine = client(w["gw_c1g1"]).get(URL + "/", {"period": Q1}).json()
    assert [x["username"] for x in mine["workers"]] == ["gw_c1g1"] and mine["grids"] == []
    assert client(w["resident"]).get(URL + "/", {"period": Q1}).status_code == 403
    assert client(w["leader"]).get(URL + "/", {"period": "2026-Q9"}).status_code == 400


def test_the_evidence_is_the_figure(w):
    gw = w["gw_c1g1"]
    for d in (5, 6, 7):
        file(gw, world.when(2026, 1, d))
    day.record_visit(gw, w["house_a"], residents=[(w["elderly"], "")], now=world.when(2026, 1, 9))
    c = client(w["staff_c1"])
    res = c.get(URL + "/", {"period": Q1}).json()
    me = next(x for x in res["workers"] if x["username"] == "gw_c1g1")
    ev = c.get(URL + "/evidence", {"period": Q1, "user": gw.pk, "formula": "valid_reports", "which": "den"}).json()
    assert ev["count"] == me["indicators"]["valid_reports"]["denominator"] == 3
    assert all(r["url"].startswith("/cases/") for r in ev["rows"])
    ev = c.get(URL + "/evidence", {"period": Q1, "user": gw.pk, "formula": "visit_coverage", "which": "num"}).json()
    assert [r["kind"] for r in ev["rows"]] == ["resident"] and "王大爷" in ev["rows"][0]["label"]
    other = client(w["gw_c2g1"]).get(URL + "/evidence", {"period": Q1, "user": gw.pk, "formula": "valid_reports"})
    assert other.status_code == 404


def test_marks_publish_schemes_and_terms(w):
    gw = w["gw_c1g1"]
    assert post(client(w["staff_c1"]), URL + "/marks", {"period": Q1, "user": gw.pk, "mark": 88}).status_code == 200
    assert post(client(w["gw_c1g2"]), URL + "/marks", {"period": Q1, "user": gw.pk, "mark": 99}).status_code == 403
    assert post(client(w["staff_c1"]), URL + "/marks", {"period": Q1, "user": gw.pk, "mark": 120}).status_code == 400
    assert post(client(w["staff_c1"]), URL + "/publish", {"period": Q1}).status_code == 403
    r = post(client(w["admin"]), URL + "/publish", {"period": Q1})
    assert r.status_code == 200, r.content
    assert [s["period"] for s in client(w["leader"]).get(URL + "/snapshots").json()] == [Q1]
    snap = client(w["gw_c1g1"]).get(URL + "/snapshots/" + Q1).json()
    assert [x["username"] for x in snap["workers"]] == ["gw_c1g1"]
    rows = [{"formula": "valid_reports", "weight": 50}, {"formula": "on_time", "weight": 40}]
    bad = post(client(w["admin"]), URL + "/schemes", {"valid_from": "2026-07-01", "name": "新方案", "indicators": rows})
    assert bad.status_code == 400 and "100" in bad.json()["detail"]
    rows[1]["weight"] = 50
    early = post(client(w["admin"]), URL + "/schemes", {"valid_from": "2026-03-01", "name": "新方案", "indicators": rows})
    assert early.status_code == 400  # 2026-Q1 is published
    ok = post(client(w["admin"]), URL + "/schemes", {"valid_from": "2026-07-01", "name": "新方案", "indicators": rows})
    assert ok.status_code == 201
    q3 = client(w["leader"]).get(URL + "/", {"period": "2026-Q3"}).json()
    assert [i["formula"] for i in q3["scheme"]["indicators"]] == ["valid_reports", "on_time"]
    assert client(w["leader"]).get(URL + "/", {"period": Q1}).json()["scheme"]["name"] != "新方案"
    t = post(client(w["admin"]), URL + "/points-terms", {"user": gw.pk, "since": "2026-01-01"})
    assert t.status_code == 200 and t.json()["until"] is None
    assert post(client(w["staff_c1"]), URL + "/points-terms", {"user": gw.pk, "since": "2026-01-01"}).status_code == 403
