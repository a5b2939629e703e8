"""The platform's doors: the API (board, month, from-data, choose, decline, problem, advance) and
the staff pages (the board, the month's data, entering a topic, the processes, the topic page's
controls)."""

import json

from django.test import Client

from gridgov.deliberation.models import Process, Topic

from .test_platform import recurring_problem
from .world import topic

API = "/api/deliberation/platform"


def client(user):
    c = Client()
    c.force_login(user)
    return c


def _post(c, url, body=None):
    return c.post(url, json.dumps(body or {}), content_type="application/json")


def test_api_month_offer_choose_decline(w):
    place = recurring_problem(w)
    c1 = w["street"]["c1"]
    c = client(w["staff_c1"])
    r = c.get(f"{API}/month", {"community": c1.code, "month": "2024-06"})
    assert r.status_code == 200, r.content
    assert r.json()["recurring"][0]["problem_place"] == place and not r.json()["recurring"][0]["offered"]
    body = {"community": c1.code, "place": place, "category": "城乡建设/物业管理", "month": "2024-06"}
    r = _post(c, f"{API}/from-data", body)
    assert r.status_code == 201, r.content
    tid = r.json()["id"]
    assert r.json()["evidence"]["tickets"] == 6 and r.json()["channel"] == "data"
    assert _post(c, f"{API}/from-data", body).json()["code"] == "duplicate"
    r = _post(c, f"{API}/topics/{tid}/choose", {"month": "2024-06", "days": 10})
    assert r.status_code == 200 and r.json()["month"] == "2024-06" and r.json()["phase"]["name"] == "平台议"
    r = c.get(f"{API}/board", {"community": c1.code})
    cols = r.json()["processes"][0]["columns"]
    assert [t["id"] for t in cols[2]["topics"]] == [tid] and cols[2]["topics"][0]["is_month_topic"] is False
    assert _post(c, f"{API}/topics/{tid}/decline", {}).status_code == 400
    r = _post(c, f"{API}/topics/{tid}/decline", {"reason": "已立项为主动治理项目"})
    assert r.json()["state"] == "declined"
    assert _post(c, f"{API}/topics/{tid}/advance").status_code == 409
    other = topic(w)
    r = _post(c, f"{API}/topics/{other.pk}/problem", {"place": f"compound:{w['compound_c2'].pk}", "category": "x"})
    assert r.status_code == 400 and r.json()["code"] == "place"
    r = _post(c, f"{API}/topics/{other.pk}/problem", {"place": place, "category": "城乡建设/物业管理"})
    assert r.status_code == 200 and r.json()["problem"]["place"] == place


def test_api_refusals(w):
    t = topic(w)
    c1 = w["street"]["c1"]
    for user in (w["user_c1"], w["steward"], w["leader"]):  # no deliberation × create / update anywhere
        c = client(user)
        assert _post(c, f"{API}/topics", {"title": "x", "node": c1.code}).status_code == 403
        assert _post(c, f"{API}/topics/{t.pk}/advance").status_code == 403
        assert _post(c, f"{API}/topics/{t.pk}/choose", {"month": "2024-06"}).status_code == 403
    c = client(w["staff_c2"])  # another community's staff: not theirs to see or do
    assert _post(c, f"{API}/topics/{t.pk}/advance").status_code == 404
    assert _post(c, f"{API}/topics", {"title": "x", "node": c1.code}).status_code == 403
    assert c.get(f"{API}/month", {"community": c1.code, "month": "2024-06"}).status_code == 403
    assert client(w["user_c1"]).get(f"{API}/board").status_code == 403
    six = Process.objects.get(name="六步议事")
    assert client(w["staff_c1"]).put(f"{API}/processes/{six.pk}", json.dumps({"name": "x"}),
                                      content_type="application/json").status_code == 403


def test_staff_pages(w):
    place = recurring_problem(w)
    c1 = w["street"]["c1"]
    t = topic(w, title="楼道灯坏了")
    c = client(w["staff_c1"])
    r = c.get("/deliberation/")
    assert r.status_code == 200 and "楼道灯坏了" in r.content.decode() and "/deliberation/meetings/" in r.content.decode()
    r = c.get("/deliberation/month/", {"community": c1.code, "month": "2024-06"})
    assert r.status_code == 200 and "c1小区" in r.content.decode() and "作为议题提出" in r.content.decode()
    r = c.post("/deliberation/month/offer/", {"community": c1.code, "month": "2024-06", "place": place,
                                              "category": "城乡建设/物业管理"})
    offered = Topic.objects.get(channel="data")
    assert r.status_code == 302 and r["Location"] == f"/deliberation/topics/{offered.pk}/"
    r = c.post("/deliberation/month/offer/", {"community": c1.code, "month": "2024-06", "place": place,
                                              "category": "城乡建设/物业管理"})
    assert r.status_code == 409 and "已有进行中的议题" in r.content.decode()
    # the topic page with this slice's controls and evidence
    r = c.get(f"/deliberation/topics/{offered.pk}/")
    body = r.content.decode()
    assert r.status_code == 200 and "数据证据" in body and "选为每月一题" in body and "不予采纳" in body
    r = c.post(f"/deliberation/topics/{t.pk}/choose/", {"month": "2024-06", "days": "10"})
    assert r.status_code == 302
    t.refresh_from_db()
    assert t.month == "2024-06" and t.phase.position == 3
    r = c.post(f"/deliberation/topics/{t.pk}/advance/", {"to": "4", "version": str(t.version - 1)})
    assert r.status_code == 409 and "已被他人更新" in r.content.decode()
    assert c.post(f"/deliberation/topics/{t.pk}/advance/", {"to": "4", "version": str(t.version)}).status_code == 302
    assert c.post(f"/deliberation/topics/{t.pk}/problem/", {"place": place, "category": "城乡建设/物业管理"}).status_code == 302
    assert c.post(f"/deliberation/topics/{t.pk}/decline/", {"reason": ""}).status_code == 400
    assert c.post(f"/deliberation/topics/{t.pk}/decline/", {"reason": "重复"}).status_code == 302
    t.refresh_from_db()
    assert t.state == "declined" and t.problem_place == place
    # entering a topic
    assert c.get("/deliberation/enter/").status_code == 200
    r = c.post("/deliberation/enter/", {"title": "意见箱：健身器材坏了", "node": w["street"]["c1g1m1"].code,
                                        "channel": "letterbox", "person_name": "张阿姨"})
    assert r.status_code == 302 and Topic.objects.filter(channel="letterbox", proposer_name="张阿姨").exists()
    # the processes: list, a new one, an edit refused
    assert "六步议事" in c.get("/deliberation/processes/").content.decode()
    form = {"name": "夜话", "community": c1.code, "name_0": "提议", "discussion_open_0": "on", "name_1": "商议",
            "meeting_1": "on", "name_2": "落实", "execution_2": "on", "published_2": "on", "days_0": "7"}
    assert c.post("/deliberation/processes/", form).status_code == 302
    p = Process.objects.get(name="夜话")
    assert [(ph.name, ph.discussion_open, ph.days) for ph in p.phases.all()][0] == ("提议", True, 7)
    r = c.post(f"/deliberation/processes/{p.pk}/", {"name": "夜话", "id_0": p.phases.get(position=1).pk,
                                                    "name_0": "提议", "published_0": "on"})
    assert r.status_code == 400 and "结果公开阶段" in r.content.decode()
    assert c.post(f"/deliberation/processes/{p.pk}/default/").status_code == 302
    p.refresh_from_db()
    assert p.is_default
    # residents do not get the staff pages
    assert client(w["user_c1"]).get("/deliberation/").status_code == 403


def test_phone_page_shows_the_month_and_the_counts(w):
    t = topic(w, title="楼道堆物")
    Topic.objects.filter(pk=t.pk).update(month="2024-06", evidence={"name": "c1小区", "category": "城乡建设/物业管理",
                                                                     "tickets": 6, "cases": 1, "months": 4,
                                                                     "examples": ["某某 13800001234 投诉"]})
    r = client(w["user_c1"]).get(f"/m/deliberation/topics/{t.pk}/")
    body = r.content.decode()
    assert r.status_code == 200 and "2024-06" in body and "工单 6 件" in body and "13800001234" not in body
