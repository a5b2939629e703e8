import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from gridgov.cases.models import Case

from .conftest import P_C1G1, PNG


def client_for(user):
    c = Client()
    c.force_login(user)
    return c


def post_report(c, key=None, **extra):
    data = {"text": "小区门口的路灯坏了", "lon": P_C1G1[0], "lat": P_C1G1[1], **extra}
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return c.post("/api/cases/", data, **headers)


def test_submit_with_photo_and_idempotency_key(people):
    c = client_for(people["resident"])
    key = str(uuid.uuid4())
    r = post_report(c, key, photos=[SimpleUploadedFile("a.png", PNG, content_type="image/png")], channel="hotline")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["state"] == "dispatched" and body["item"]["code"] == "PS01"
    assert body["channel"] == "resident"  # a resident cannot claim another channel
    assert "routing_reason" not in body  # reasons are for staff
    assert [e["action"] for e in body["timeline"]] == ["submit", "dispatch"]
    again = post_report(c, key)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert Case.objects.count() == 1
    bad = post_report(c, photos=[SimpleUploadedFile("a.png", b"<svg/>", content_type="image/png")])
    assert bad.status_code == 400 and "photo 1" in bad.json()["detail"]


def test_staff_workflow_over_the_api_and_404_for_the_invisible(people):
    c = client_for(people["resident"])
    case_id = post_report(c).json()["id"]
    gl, sec, other = client_for(people["gl"]), client_for(people["sec"]), client_for(people["sec2"])
    assert other.get(f"/api/cases/{case_id}").status_code == 404
    assert other.post(f"/api/cases/{case_id}/actions/reject", {"note": "x"}, content_type="application/json").status_code == 404
    detail = gl.get(f"/api/cases/{case_id}").json()
    assert detail["routing_reason"]["current"]["handler"]["level"] == "grid_leader"
    assert {c["kind"] for c in detail["clocks"]} == {"accept", "arrive", "resolve"}
    for action in ("accept", "arrive"):
        r = gl.post(f"/api/cases/{case_id}/actions/{action}", {"note": action}, content_type="application/json")
        assert r.status_code == 200, r.content
    # resolved on site: what was done, and a photo of the result (multipart)
    r = gl.post(f"/api/cases/{case_id}/resolve", {"note": "已更换灯泡", "photos": [SimpleUploadedFile("a.png", PNG, content_type="image/png")]})
    assert r.status_code == 200 and r.json()["state"] == "resolved", r.content
    assert gl.post(f"/api/cases/{case_id}/actions/accept", {}, content_type="application/json").status_code == 409
    assert gl.post(f"/api/cases/{case_id}/actions/verify", {}, content_type="application/json").status_code == 403
    assert sec.post(f"/api/cases/{case_id}/actions/verify", {}, content_type="application/json").status_code == 200
    r = c.post(f"/api/cases/{case_id}/rate", {"score": "unsatisfied", "comment": "没修好"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["state"] == "reopened"
    mine = c.get("/api/cases/?mine=true").json()
    assert [m["id"] for m in mine] == [case_id]
    assert c.get("/api/cases/?mine=true&state=closed").json() == []


def test_recognize_duplicates_join_and_grab(people):
    c = client_for(people["resident"])
    r = c.post("/api/cases/recognize", {"text": "井盖丢了"}, content_type="application/json")
    assert r.json()["item"]["code"] == "PS02"
    first = post_report(c, text="垃圾堆在路边没人清").json()
    n = client_for(people["neighbour"])
    dups = n.get(f"/api/cases/duplicates?lon={P_C1G1[0]}&lat={P_C1G1[1]}&text=路边垃圾没人清&item=CC01").json()
    assert [d["id"] for d in dups] == [first["id"]]
    assert n.get(f"/api/cases/{first['id']}").status_code == 404
    far = {"lon": P_C1G1[0] + 0.01, "lat": P_C1G1[1]}
    assert n.post(f"/api/cases/{first['id']}/join", far, content_type="application/json").status_code == 404
    here = {"lon": P_C1G1[0], "lat": P_C1G1[1]}
    assert n.post(f"/api/cases/{first['id']}/join", here, content_type="application/json").status_code == 200
    assert n.get(f"/api/cases/{first['id']}").status_code == 200
    v = client_for(people["vol"])
    assert first["id"] in [x["id"] for x in v.get("/api/cases/").json()]
    assert v.post(f"/api/cases/{first['id']}/grab").json()["state"] == "accepted"
    assert client_for(people["vol2"]).post(f"/api/cases/{first['id']}/grab").status_code in (404, 409)


def test_summon_report_back_and_late_list(people):
    c = client_for(people["resident"])
    case_id = post_report(c).json()["id"]
    sec = client_for(people["sec"])
    r = sec.post(f"/api/cases/{case_id}/actions/summon", {"departments": ["城市管理办公室"], "hours": 2}, content_type="application/json")
    assert r.status_code == 200
    sid = r.json()["summons"][0]["id"]
    section = client_for(people["section"])
    r = section.post(f"/api/cases/summons/{sid}/report", {"report": "已到场"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["summons"][0]["report"] == "已到场"
    assert client_for(people["lic"]).get("/api/cases/?late=true").json() == []
    assert client_for(people["lic"]).get("/api/cases/taxonomy").json()[0]["items"]


@pytest.mark.parametrize("path", ["/api/cases/", "/api/cases/1"])
def test_anonymous_is_refused(db, path):
    assert Client().get(path).status_code == 401
