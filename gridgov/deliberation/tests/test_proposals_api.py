"""The doors of 居民提、楼长集: the API at /api/deliberation/topics and the pages (phone and staff)."""

import json

import pytest
from django.test import Client

from gridgov.cases.models import SensitiveWord
from gridgov.deliberation import proposals, services
from gridgov.deliberation.models import Comment, Topic

API = "/api/deliberation/topics"


def client(user):
    c = Client()
    c.force_login(user)
    return c


def post(c, url, data=None, method="post"):
    return getattr(c, method)(url, data=json.dumps(data or {}), content_type="application/json")


def _discussion(w, t):
    return services.advance(w["staff_c1"], t, to=t.process.phases.filter(discussion_open=True).first())


def test_propose_list_and_card(w):
    res = client(w["user_c1"])
    r = post(res, API, {"title": "楼道堆物太多", "body": "三楼"})
    assert r.status_code == 201, r.content
    tid = r.json()["id"]
    assert r.json()["building"] == "1号楼" and r.json()["proposer"] == "居民c1"
    token = proposals.building_token(w["building_c2"])
    r = post(client(w["stranger"]), API, {"title": "扫码提的", "token": token})
    assert r.status_code == 201 and r.json()["channel"] == "qr"
    r = post(client(w["stranger"]), API, {"title": "坏码", "token": "bad"})
    assert r.status_code == 400 and r.json()["code"] == "bad_token"
    r = post(client(w["stranger"]), API, {"title": "无处"})
    assert r.status_code == 400 and r.json()["code"] == "place"
    # the neighbour reads it without whose it is
    nb = client(w["neighbour"])
    r = nb.get(f"{API}/{tid}")
    assert r.status_code == 200 and "proposer" not in r.json() and r.json()["acts"]["support"]
    items = nb.get(API).json()
    assert items["count"] == 1 and items["page"] == 1 and [i["id"] for i in items["items"]] == [tid]
    assert nb.get(API, {"mine": 1}).json()["count"] == 0
    assert res.get(API, {"mine": 1}).json()["count"] == 1
    assert client(w["user_c2"]).get(f"{API}/{tid}").status_code == 404


def test_staff_list(w):
    proposals.propose(w["user_c1"], title="一")
    proposals.propose(w["user_c2"], title="二")
    assert client(w["user_c1"]).get(API, {"scope": "staff"}).status_code == 403
    assert client(w["steward"]).get(API, {"scope": "staff"}).status_code == 403
    r = client(w["staff_c1"]).get(API, {"scope": "staff"})
    assert r.status_code == 200 and [i["title"] for i in r.json()["items"]] == ["一"]
    assert r.json()["items"][0]["proposer"] == "居民c1"
    admin = client(w["admin"])
    assert admin.get(API, {"scope": "staff"}).json()["count"] == 2
    assert admin.get(API, {"scope": "staff", "community": w["street"]["c2"].code}).json()["count"] == 1
    assert admin.get(API, {"scope": "staff", "phase": "居民提"}).json()["count"] == 2
    assert admin.get(API, {"scope": "staff", "phase": "平台议"}).json()["count"] == 0
    assert admin.get(API, {"scope": "staff", "state": "merged"}).json()["count"] == 0
    assert admin.get(API, {"scope": "staff", "month": "2020-01"}).json()["count"] == 0
    page = admin.get(API, {"scope": "staff", "page": 2, "page_size": 1}).json()
    assert page["count"] == 2 and len(page["items"]) == 1 and page["page_size"] == 1


def test_steward_enters_merges_notes_forwards(w):
    st = client(w["steward"])
    r = post(st, f"{API}/enter", {"title": "门禁坏了", "building": w["building_c1"].pk, "resident": w["elder"].pk})
    assert r.status_code == 201 and r.json()["proposer"] == "王奶奶" and r.json()["entered_by"] == "楼长老赵"
    a = r.json()["id"]
    r = post(client(w["neighbour"]), f"{API}/enter", {"title": "x", "building": w["building_c1"].pk, "person_name": "王"})
    assert r.status_code == 403
    b = post(client(w["neighbour"]), API, {"title": "门禁坏了没人修"}).json()["id"]
    assert {i["id"] for i in st.get(f"{API}/stewarded").json()["items"]} == {a, b}
    assert client(w["neighbour"]).get(f"{API}/{b}/duplicates").status_code == 403
    assert [d["id"] for d in st.get(f"{API}/{b}/duplicates").json()["items"]] == [a]
    assert post(st, f"{API}/{b}/notes", {"text": "问了邻居，都说坏了一周"}).status_code == 201
    assert post(client(w["neighbour"]), f"{API}/{b}/notes", {"text": "x"}).status_code == 403
    r = post(st, f"{API}/{b}/merge", {"into": a})
    assert r.status_code == 200 and r.json()["id"] == a and r.json()["support_count"] == 1
    assert Topic.objects.get(pk=b).state == "merged"
    assert post(st, f"{API}/{b}/merge", {"into": a}).status_code == 409
    r = post(st, f"{API}/{a}/forward", {"note": "已核实"})
    assert r.status_code == 200 and r.json()["phase"] == "楼长集"


def test_support_comment_moderate(w):
    SensitiveWord.objects.get_or_create(word="傻逼", defaults={"category": "abuse"})
    t = proposals.propose(w["user_c1"], title="停车难")
    nb = client(w["neighbour"])
    assert post(nb, f"{API}/{t.pk}/support").json()["support_count"] == 1
    assert post(nb, f"{API}/{t.pk}/support").json()["support_count"] == 1
    r = post(nb, f"{API}/{t.pk}/support", method="delete")
    assert r.status_code == 200 and r.json()["support_count"] == 0 and r.json()["acts"]["support"]
    assert post(nb, f"{API}/{t.pk}/comments", {"text": "同意"}).status_code == 409  # not a discussion phase
    _discussion(w, t)
    held = post(nb, f"{API}/{t.pk}/comments", {"text": "物业傻逼"})
    assert held.status_code == 201 and held.json()["state"] == "held"
    assert post(nb, f"{API}/{t.pk}/comments", {"text": "支持"}).json()["state"] == "visible"
    assert [c["text"] for c in client(w["user_c1"]).get(f"{API}/{t.pk}/comments").json()["items"]] == ["支持"]
    assert len(nb.get(f"{API}/{t.pk}/comments").json()["items"]) == 2
    assert client(w["user_c1"]).get(f"{API}/held").status_code == 403
    assert client(w["staff_c2"]).get(f"{API}/held").json()["count"] == 0
    staff = client(w["staff_c1"])
    q = staff.get(f"{API}/held").json()
    assert q["count"] == 1 and q["items"][0]["held_words"] == ["傻逼"]
    cid = held.json()["id"]
    assert post(client(w["staff_c2"]), f"{API}/comments/{cid}/release").status_code == 403
    assert post(staff, f"{API}/comments/{cid}/reject", {"reason": ""}).status_code == 400
    assert post(staff, f"{API}/comments/{cid}/reject", {"reason": "不文明"}).json()["state"] == "rejected"
    assert post(staff, f"{API}/comments/{cid}/release").status_code == 409
    assert Comment.objects.get(pk=cid).state == "rejected"


def test_withdraw(w):
    t = proposals.propose(w["user_c1"], title="撤回")
    assert post(client(w["neighbour"]), f"{API}/{t.pk}/withdraw").status_code == 403
    r = post(client(w["user_c1"]), f"{API}/{t.pk}/withdraw")
    assert r.status_code == 200 and r.json()["state"] == "withdrawn"


# --- pages -----------------------------------------------------------------------------------


def test_phone_pages(w):
    t = proposals.propose(w["user_c1"], title="小区绿化")
    nb = client(w["neighbour"])
    r = nb.get("/m/deliberation/")
    assert r.status_code == 200 and "小区绿化" in r.content.decode() and 'aria-current="page"' in r.content.decode()
    r = nb.get(f"/m/deliberation/topics/{t.pk}/")
    body = r.content.decode()
    assert r.status_code == 200 and 'id="support"' in body and "居民c1" not in body
    r = nb.post(f"/m/deliberation/topics/{t.pk}/support/")
    assert r.status_code == 302 and Topic.objects.get(pk=t.pk).support_count == 1
    assert 'id="unsupport"' in nb.get(f"/m/deliberation/topics/{t.pk}/").content.decode()
    r = nb.post(f"/m/deliberation/topics/{t.pk}/comment/", {"text": "好"})
    assert r.status_code == 409 and "不开放讨论" in r.content.decode()
    # the QR code's page names the building; proposing from it
    token = proposals.building_token(w["building_c2"])
    s = client(w["stranger"])
    r = s.get("/m/deliberation/propose/", {"b": token})
    assert r.status_code == 200 and "c2小区1号楼" in r.content.decode()
    r = s.post("/m/deliberation/propose/", {"b": token, "title": "扫码提议"})
    assert r.status_code == 302
    assert Topic.objects.get(title="扫码提议").building == w["building_c2"]
    assert "二维码无效" in s.get("/m/deliberation/propose/", {"b": "zzz"}).content.decode()
    # anonymous: to the phone login, back to the code's page afterwards
    r = Client().get("/m/deliberation/propose/", {"b": token})
    assert r.status_code == 302 and r["Location"].startswith("/m/login/")
    # the steward's page
    assert nb.get("/m/deliberation/steward/").status_code == 403
    st = client(w["steward"])
    r = st.get("/m/deliberation/steward/")
    assert r.status_code == 200 and "小区绿化" in r.content.decode()
    r = st.post("/m/deliberation/steward/", {"title": "代王奶奶提", "building": w["building_c1"].pk,
                                             "resident": w["elder"].pk, "channel": "steward"})
    assert r.status_code == 302
    assert Topic.objects.get(title="代王奶奶提").proposer_resident == w["elder"]
    r = st.post(f"/m/deliberation/topics/{t.pk}/note/", {"text": "听说很多人想要", "next": "/m/deliberation/steward/"})
    assert r.status_code == 302 and r["Location"] == "/m/deliberation/steward/"


def test_staff_pages(w):
    SensitiveWord.objects.get_or_create(word="傻逼", defaults={"category": "abuse"})
    t = _discussion(w, proposals.propose(w["user_c1"], title="小区绿化"))
    proposals.comment(w["neighbour"], t, "傻逼")
    staff = client(w["staff_c1"])
    body = staff.get(f"/deliberation/topics/{t.pk}/").content.decode()
    assert "居民c1" in body and 'id="support-count"' in body and "/release/" in body
    r = staff.get("/deliberation/proposals/held/")
    assert r.status_code == 200 and "小区绿化" in r.content.decode()
    assert client(w["worker_c1"]).get("/deliberation/proposals/held/").status_code == 403
    c = Comment.objects.get(topic=t)
    r = staff.post(f"/deliberation/proposals/comments/{c.pk}/release/", {"next": "/deliberation/proposals/held/"})
    assert r.status_code == 302 and Comment.objects.get(pk=c.pk).state == "visible"
    r = staff.get("/deliberation/proposals/qr/", {"compound": w["compound_c1"].pk})
    body = r.content.decode()
    assert r.status_code == 200 and "<svg" in body and "c1小区1号楼" in body
    assert staff.get("/deliberation/proposals/qr/", {"compound": w["compound_c2"].pk}).status_code == 403
    r = staff.post("/deliberation/proposals/enter/", {"title": "意见箱纸条", "building": w["building_c1"].pk,
                                                      "channel": "letterbox"})
    assert r.status_code == 302 and Topic.objects.get(title="意见箱纸条").channel == "letterbox"
    assert client(w["user_c1"]).get("/deliberation/proposals/qr/").status_code == 403


@pytest.mark.parametrize("role", ["user_c1", "steward"])
def test_residents_are_kept_off_the_staff_pages(w, role):
    assert client(w[role]).get("/deliberation/proposals/held/").status_code == 403
