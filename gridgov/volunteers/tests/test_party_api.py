"""Party life through its doors: the API at /api/volunteers/party and the pages under
/m/volunteer/party/ and /volunteers/party/ (Chinese by default, English on request)."""

import io
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from gridgov.accounts.models import Duty, Role
from gridgov.registry import services as reg
from gridgov.testing import make_user
from gridgov.volunteers import party, services
from gridgov.volunteers.models import PartyRegistration, VanguardDuty, VanguardPost
from gridgov.web.tests.test_i18n import EN, leftover_chinese

pytestmark = pytest.mark.django_db


def _client(user):
    c = Client()
    c.force_login(user)
    return c


def _post(c, url, body=None, method="post"):
    return getattr(c, method)(url, json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def world(street):
    b1 = reg.create_party_org(name="一网格党支部", grid=street["c1g1"], grids=[street["c1g1"]])
    b2 = reg.create_party_org(name="二社区党支部", grid=street["c2g1"], grids=[street["c2g1"]])
    sec = make_user("sec1", Role.RESIDENT)
    b1.secretary = sec
    b1.save(update_fields=["secretary"])
    return {**street, "b1": b1, "b2": b2, "sec": sec, "m1": make_user("m1", Role.RESIDENT),
            "m2": make_user("m2", Role.VOLUNTEER),
            "cs1": make_user("cs1", Role.COMMUNITY_STAFF, [street["c1"]], duty=Duty.STAFF),
            "cs2": make_user("cs2", Role.COMMUNITY_STAFF, [street["c2"]], duty=Duty.STAFF),
            "gw1": make_user("gw1", Role.GRID_WORKER, [street["c1g1"]])}


def test_api_registration_identity_end_and_units(world):
    c = _client(world["m1"])
    r = _post(c, "/api/volunteers/party/registrations",
              {"community": world["c1"].code, "unit_name": "区税务局", "party_org": world["b1"].pk, "skills": "报税咨询"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["community"]["name"] == "第1社区" and body["show_identity"] and body["party_org"]["name"] == "一网格党支部"
    again = _post(c, "/api/volunteers/party/registrations", {"community": world["c1"].code})
    assert again.status_code == 409 and again.json()["code"] == "registered"
    assert _post(c, "/api/volunteers/party/registrations", {}).status_code == 400  # no home known
    me = c.get("/api/volunteers/party/registrations/me").json()
    assert me["shows_identity"] and [x["id"] for x in me["registrations"]] == [body["id"]]
    off = _post(c, f"/api/volunteers/party/registrations/{body['id']}", {"show_identity": False}, "patch")
    assert off.status_code == 200 and off.json()["show_identity"] is False
    assert c.get("/api/volunteers/party/registrations/me").json()["shows_identity"] is False
    other = _client(world["m2"])
    assert _post(other, f"/api/volunteers/party/registrations/{body['id']}", {"skills": "x"}, "patch").status_code == 403
    assert _post(other, f"/api/volunteers/party/registrations/{body['id']}/end").status_code == 403
    assert _post(c, "/api/volunteers/party/registrations/999999/end").status_code == 404
    end = _post(c, f"/api/volunteers/party/registrations/{body['id']}/end", {"reason": "搬家"})
    assert end.status_code == 200 and end.json()["state"] == "ended"
    unit = _post(other, "/api/volunteers/party/units",
                 {"community": world["c1"].code, "name": "区税务局机关党支部", "unit_name": "区税务局"})
    assert unit.status_code == 201 and unit.json()["kind"] == "unit"
    assert _post(other, "/api/volunteers/party/units",
                 {"community": world["c1"].code, "name": "x", "unit_name": "区税务局"}).status_code == 409
    assert Client().get("/api/volunteers/party/registrations/me").status_code == 401


def test_api_roll_is_scoped_and_filtered(world):
    party.register_member(world["m1"], community=world["c1"])
    party.register_member(world["m2"], community=world["c2"])
    party.register_unit(world["cs1"], community=world["c1"], name="区税务局机关党支部", unit_name="区税务局")
    body = _client(world["cs1"]).get("/api/volunteers/party/roll").json()
    assert {i["name"] for i in body["items"]} == {"m1", "区税务局机关党支部"} and body["total"] == 2
    assert [c["community"] for c in body["communities"]] == ["第1社区"]
    units = _client(world["cs1"]).get("/api/volunteers/party/roll", {"kind": "unit"}).json()
    assert [i["name"] for i in units["items"]] == ["区税务局机关党支部"]
    assert {i["name"] for i in _client(world["cs2"]).get("/api/volunteers/party/roll").json()["items"]} == {"m2"}
    assert _client(world["m1"]).get("/api/volunteers/party/roll").status_code == 403


def test_api_posts_take_leave_assign(world):
    cs1 = _client(world["cs1"])
    r = _post(cs1, "/api/volunteers/party/posts", {"name": "文明养犬劝导岗", "grid": world["c1g1"].code})
    assert r.status_code == 201, r.content
    pid = r.json()["id"]
    assert _post(_client(world["cs2"]), "/api/volunteers/party/posts", {"name": "x", "grid": world["c1g1"].code}).status_code == 403
    assert _post(_client(world["m1"]), "/api/volunteers/party/posts", {"name": "x", "grid": world["c1g1"].code}).status_code == 403
    m1 = _client(world["m1"])
    assert _post(m1, f"/api/volunteers/party/posts/{pid}/take").status_code == 400  # not registered
    party.register_member(world["m1"], community=world["c1"])
    assert [(p["id"], p["holding"]) for p in m1.get("/api/volunteers/party/posts").json()] == [(pid, False)]
    took = _post(m1, f"/api/volunteers/party/posts/{pid}/take")
    assert took.status_code == 200 and [h["name"] for h in took.json()["holders"]] == ["m1"]
    assert _post(m1, f"/api/volunteers/party/posts/{pid}/take").status_code == 409
    assert _post(m1, f"/api/volunteers/party/posts/{pid}/leave").json()["holders"] == []
    party.register_member(world["m2"], community=world["c1"])
    assert _post(_client(world["cs2"]), f"/api/volunteers/party/posts/{pid}/assign", {"user_id": world["m2"].pk}).status_code == 403
    a = _post(cs1, f"/api/volunteers/party/posts/{pid}/assign", {"user_id": world["m2"].pk})
    assert a.status_code == 200 and [h["user_id"] for h in a.json()["holders"]] == [world["m2"].pk]
    staff_list = cs1.get("/api/volunteers/party/posts", {"scope": "staff"}).json()
    assert [p["id"] for p in staff_list] == [pid]
    assert _client(world["cs2"]).get("/api/volunteers/party/posts", {"scope": "staff"}).json() == []
    assert _client(world["m2"]).get("/api/volunteers/party/posts", {"scope": "staff"}).status_code == 403
    assert _post(cs1, f"/api/volunteers/party/posts/{pid}/close").json()["active"] is False


def test_api_deeds_staff_secretary_and_me(world, settings):
    party.register_member(world["m1"], community=world["c1"], party_org=world["b1"])
    party.register_member(world["m2"], community=world["c2"], party_org=world["b2"])
    now = timezone.now() - timedelta(minutes=5)
    services.record_service(world["m1"], "activity", "t:a1", "清理楼道", at=now)
    services.record_service(world["m1"], "wish", "t:w1", "为独居老人买药", at=now)
    services.record_service(world["m2"], "grab", "t:g1", "志愿任务", at=now)
    d = _client(world["cs1"]).get("/api/volunteers/party/deeds").json()
    assert d["expected"] == 2 and [(m["name"], m["count"], m["met"]) for m in d["members"]] == [("m1", 2, True)]
    settings.VOLUNTEERS_PARTY_DEEDS_EXPECTED = 1
    d2 = _client(world["cs2"]).get("/api/volunteers/party/deeds").json()
    assert [(m["name"], m["count"], m["met"]) for m in d2["members"]] == [("m2", 1, True)]
    sec = _client(world["sec"])
    assert sec.get("/api/volunteers/party/deeds").status_code == 403
    b = sec.get("/api/volunteers/party/deeds", {"branch": world["b1"].pk}).json()
    assert [m["name"] for m in b["members"]] == ["m1"]
    assert sec.get("/api/volunteers/party/deeds", {"branch": world["b2"].pk}).status_code == 403
    me = _client(world["m2"]).get("/api/volunteers/party/deeds/me").json()
    assert (me["count"], me["expected"], me["met"]) == (1, 1, True)
    assert _client(world["m2"]).get("/api/volunteers/party/deeds/me", {"year": 2001}).json()["count"] == 0


# --- pages ------------------------------------------------------------------------------------


def test_phone_pages_register_toggle_take_end(world):
    post = party.create_post(world["cs1"], name="垃圾分类督导岗", node=world["c1g1"])
    c = _client(world["m1"])
    home = c.get("/m/volunteer/party/")
    assert home.status_code == 200 and "我要报到" in home.content.decode()
    assert c.get("/m/volunteer/party/register/").status_code == 200
    r = c.post("/m/volunteer/party/register/", {"kind": "member", "community": world["c1"].code, "unit_name": "区教委",
                                                 "show_identity": "on", "party_org": str(world["b1"].pk)})
    assert r.status_code == 201
    html = r.content.decode()
    assert "第1社区" in html and "垃圾分类督导岗" in html and 'data-badge="party"' in html
    twice = c.post("/m/volunteer/party/register/", {"kind": "member", "community": world["c1"].code})
    assert twice.status_code == 409
    reg_ = PartyRegistration.objects.get(user=world["m1"], state="active")
    off = c.post(f"/m/volunteer/party/registrations/{reg_.pk}/identity/", {})
    assert off.status_code == 200 and 'data-badge="party"' not in off.content.decode()
    took = c.post(f"/m/volunteer/party/posts/{post.pk}/take/")
    assert took.status_code == 200 and VanguardDuty.objects.filter(post=post, user=world["m1"], until__isnull=True).exists()
    assert c.post(f"/m/volunteer/party/posts/{post.pk}/leave/").status_code == 200
    services.record_service(world["m1"], "activity", "t:a", "清理楼道", at=timezone.now() - timedelta(minutes=1))
    deeds = c.get("/m/volunteer/party/deeds/").content.decode()
    assert "清理楼道" in deeds and "<progress" in deeds
    assert _client(world["m2"]).post(f"/m/volunteer/party/registrations/{reg_.pk}/end/").status_code == 403
    assert c.post(f"/m/volunteer/party/registrations/{reg_.pk}/end/").status_code == 200
    reg_.refresh_from_db()
    assert reg_.state == "ended"
    unit = _client(world["m2"]).post("/m/volunteer/party/register/", {"kind": "unit", "community": world["c2"].code,
                                                                      "name": "区医院党委", "unit_name": "区医院"})
    assert unit.status_code == 201 and PartyRegistration.objects.filter(kind="unit", unit_name="区医院").exists()


def test_staff_pages_roll_posts_deeds_and_export(world):
    party.register_member(world["m1"], community=world["c1"], party_org=world["b1"], unit_name="区教委")
    party.register_member(world["m2"], community=world["c2"])
    cs1 = _client(world["cs1"])
    page = cs1.get("/volunteers/party/")
    html = page.content.decode()
    assert page.status_code == 200 and "m1" in html and "区教委" in html and ">m2<" not in html
    assert _client(world["m1"]).get("/volunteers/party/").status_code == 403
    unit = cs1.post("/volunteers/party/units/", {"community": world["c1"].code, "unit_name": "区税务局", "name": "区税务局党支部"})
    assert unit.status_code == 201 and "区税务局" in unit.content.decode()
    assert cs1.post("/volunteers/party/units/", {"community": world["c2"].code, "unit_name": "y", "name": "y"}).status_code == 403
    assert not PartyRegistration.objects.filter(unit_name="y").exists()
    gw = _client(world["gw1"])  # grid workers read the roll, never change it
    assert gw.get("/volunteers/party/").status_code == 200
    assert gw.post("/volunteers/party/units/", {"community": world["c1"].code, "unit_name": "z", "name": "z"}).status_code == 403
    x = cs1.get("/volunteers/party/roll.xlsx")
    assert x.status_code == 200 and x["Content-Type"].startswith("application/vnd.openxmlformats")
    from openpyxl import load_workbook

    rows = list(load_workbook(io.BytesIO(x.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "类型" and {r[1] for r in rows[1:]} == {"m1", "区税务局党支部"}
    # posts: create, assign, release, close
    r = cs1.post("/volunteers/party/posts/new/", {"name": "治安巡逻岗", "grid": world["c1g1"].code})
    assert r.status_code == 201
    post = VanguardPost.objects.get(name="治安巡逻岗")
    page = cs1.get("/volunteers/party/posts/").content.decode()
    assert "治安巡逻岗" in page and f'<option value="{world["m1"].pk}">' in page
    assert cs1.post(f"/volunteers/party/posts/{post.pk}/assign/", {"user_id": world["m1"].pk}).status_code == 200
    assert VanguardDuty.objects.filter(post=post, user=world["m1"], until__isnull=True).exists()
    assert cs1.post(f"/volunteers/party/posts/{post.pk}/assign/", {"user_id": world["m2"].pk}).status_code == 400
    assert cs1.post(f"/volunteers/party/posts/{post.pk}/release/", {"user_id": world["m1"].pk}).status_code == 200
    assert _client(world["cs2"]).post(f"/volunteers/party/posts/{post.pk}/close/").status_code == 403
    assert cs1.post(f"/volunteers/party/posts/{post.pk}/close/").status_code == 200
    # 实事
    services.record_service(world["m1"], "report", "t:r", "上报", at=timezone.now() - timedelta(minutes=1))
    d = cs1.get("/volunteers/party/deeds/").content.decode()
    assert "一网格党支部" in d and f'data-member="{world["m1"].pk}"' in d and f'data-member="{world["m2"].pk}"' not in d


def test_branch_page_for_its_secretary(world):
    party.register_member(world["m1"], community=world["c1"], party_org=world["b1"])
    services.record_service(world["m1"], "wish", "t:w", "为独居老人买药", at=timezone.now() - timedelta(minutes=1))
    sec = _client(world["sec"])
    r = sec.get("/volunteers/party/branches/")
    assert r.status_code == 302 and r["Location"].endswith(f"/branches/{world['b1'].pk}/")
    page = sec.get(f"/volunteers/party/branches/{world['b1'].pk}/")
    assert page.status_code == 200 and "为独居老人买药" in page.content.decode() and "m1" in page.content.decode()
    assert sec.get(f"/volunteers/party/branches/{world['b2'].pk}/").status_code == 403
    assert _client(world["m1"]).get(f"/volunteers/party/branches/{world['b1'].pk}/").status_code == 403
    assert _client(world["m1"]).get("/volunteers/party/branches/").status_code == 403
    # the phone's home links the secretary to it
    assert f"/volunteers/party/branches/{world['b1'].pk}/" in sec.get("/m/volunteer/party/").content.decode()


def test_pages_in_english(world):
    party.register_member(world["m1"], community=world["c1"], party_org=world["b1"], unit_name="区教委", skills="修电脑")
    party.register_unit(world["cs1"], community=world["c1"], name="区税务局党支部", unit_name="区税务局")
    post = party.create_post(world["cs1"], name="治安巡逻岗", node=world["c1g1"], party_org=world["b1"])
    party.take_post(world["m1"], post.pk)
    services.record_service(world["m1"], "wish", "t:w", "为独居老人买药", at=timezone.now() - timedelta(minutes=1))
    data = ["第1社区", "第2社区", "第1社区第1网格", "第2社区第1网格", "一网格党支部", "二社区党支部", "区教委", "修电脑",
            "区税务局党支部", "区税务局", "治安巡逻岗", "为独居老人买药", "m1", "sec1", "cs1",
            "第1社区第1网格第1微网格", "第1社区第1网格第2微网格", "第1社区第2网格", "第1社区第2网格第1微网格",
            "第1社区第2网格第2微网格", "第2社区第1网格第1微网格", "第2社区第1网格第2微网格", "第2社区第2网格",
            "第2社区第2网格第1微网格", "第2社区第2网格第2微网格", "测试街道"]
    pages = [(world["m1"], "/m/volunteer/party/"), (world["m1"], "/m/volunteer/party/register/"),
             (world["m1"], "/m/volunteer/party/deeds/"), (world["cs1"], "/volunteers/party/"),
             (world["cs1"], "/volunteers/party/posts/"), (world["cs1"], "/volunteers/party/deeds/"),
             (world["cs1"], "/volunteers/party/branches/"), (world["sec"], f"/volunteers/party/branches/{world['b1'].pk}/")]
    for user, url in pages:
        resp = _client(user).get(url, **EN)
        assert resp.status_code == 200, url
        html = resp.content.decode()
        assert leftover_chinese(html, data) == [], (url, leftover_chinese(html, data))


def test_phone_lists_the_posts_near_me_first(world):
    res = reg.create_resident(name="赵党员", party_member=True, grid=world["c1g2m1"])
    reg.create_volunteer(name="赵党员", kind="volunteer", resident=res, user=world["m2"], grid=world["c1g2m1"])
    party.create_post(world["cs1"], name="甲岗", node=world["c1g1"])
    party.create_post(world["cs1"], name="乙岗", node=world["c1g2"])
    party.create_post(world["cs2"], name="丙岗", node=world["c2g1"])  # another community: not listed
    party.register_member(world["m2"])  # where they live: community 1, grid c1g2m1
    html = _client(world["m2"]).get("/m/volunteer/party/").content.decode()
    assert html.index("乙岗") < html.index("甲岗") and "丙岗" not in html
