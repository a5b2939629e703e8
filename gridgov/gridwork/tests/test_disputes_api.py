"""Disputes through the API: record → session → agreed → follow-up, the stale version (409),
masked parties and the audited clear phones, the ledger counts, scope (404 / 403)."""

import pytest

from gridgov.core.models import AuditEntry

from . import world
from .world_day import client, post
from .world_disputes import record

URL = "/api/gridwork/disputes"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def w(street):
    return world.build(street)


def test_the_flow_through_the_api(w):
    c = client(w["gw_c1g1"])
    body = {"kind": "property", "summary": "物业费争议，业主拒交", "risk": "medium", "place": "3号楼",
            "grid": w["street"]["c1g1m1"].pk,
            "parties": [{"name": "业主王某", "phone": "13800001111", "role": "业主"}, {"name": "某物业", "role": "物业"}]}
    r = post(c, URL + "/", body)
    assert r.status_code == 200, r.content
    d = r.json()
    assert d["number"].startswith("JF") and d["state"] == "recorded"
    assert d["parties"][0]["phone"] == "138****1111" and "13800001111" not in r.content.decode()
    key = d["number"]
    r = post(c, f"{URL}/{key}/sessions", {"mediators": [{"kind": "grid_worker", "name": "网格员"},
                                                        {"kind": "lawyer", "name": "刘律师"}],
                                          "note": "解释物业服务合同", "version": d["version"]})
    assert r.status_code == 200, r.content
    d = r.json()
    assert d["state"] == "mediating" and len(d["sessions"]) == 1
    stale = post(c, f"{URL}/{key}/end", {"outcome": "agreed", "text": "x", "version": d["version"] - 1})
    assert stale.status_code == 409 and stale.json()["code"] == "stale"
    r = post(c, f"{URL}/{key}/end", {"outcome": "agreed", "text": "分期缴纳", "version": d["version"]})
    d = r.json()
    assert d["state"] == "agreed" and d["follow_up_on"]
    r = post(c, f"{URL}/{key}/follow-up", {"note": "已缴纳", "holds": True, "version": d["version"]})
    assert r.json()["state"] == "closed"
    assert [h["action"] for h in r.json()["history"]] == ["record", "session", "agreed", "follow_up"]
    bad = post(c, f"{URL}/{key}/end", {"outcome": "agreed", "text": "x"})
    assert bad.status_code == 409


def test_phones_scope_and_counts(w):
    d = record(w)
    gw, other, res = client(w["gw_c1g1"]), client(w["gw_c2g1"]), client(w["resident"])
    before = AuditEntry.objects.count()
    r = gw.get(f"{URL}/{d.pk}/phones")
    assert r.status_code == 200 and r.json()["parties"][0]["phone"] == "13812345678"
    assert AuditEntry.objects.count() == before + 1
    assert client(w["leader"]).get(f"{URL}/{d.pk}/phones").status_code == 403
    assert other.get(f"{URL}/{d.pk}").status_code == 404
    assert other.get(f"{URL}/{d.pk}/phones").status_code == 404
    assert res.get(f"{URL}/").status_code == 403
    assert post(other, f"{URL}/{d.pk}/risk", {"risk": "high"}).status_code == 404
    assert post(gw, f"{URL}/{d.pk}/risk", {"risk": "high"}).json()["at_risk"] is True
    c = client(w["staff_c1"]).get(f"{URL}/counts").json()
    assert (c["total"], c["at_risk"]) == (1, 1) and c["by_community"][0]["path"] == w["street"]["c1"].path
    assert [x["number"] for x in client(w["staff_c1"]).get(f"{URL}/?at_risk=1").json()["items"]] == [d.number]
    assert other.get(f"{URL}/").json()["count"] == 0
