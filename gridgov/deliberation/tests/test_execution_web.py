"""专人办、结果亮 through the doors: the API (who may call what, the codes it answers), the staff
ledger and topic page with their forms, the phone's "mine" page and the topic page's result and
rating, the photos behind the topic's visibility."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from gridgov.deliberation import execution, services
from gridgov.deliberation.models import Decision, Result, TopicRating

from .test_execution import assigned, in_phase, jpeg, published_phase, scratch_media, seeded_processes  # noqa: F401

API = "/api/deliberation/execution"


def client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_api_assign_carry_out_done_and_status(w):
    t = in_phase(w)
    staff, owner = client(w["staff_c1"]), client(w["worker_c1"])
    deadline = (timezone.localdate() + timedelta(days=7)).isoformat()
    body = {"owner": w["worker_c1"].pk, "deadline": deadline, "work": "清理楼道"}
    r = client(w["neighbour"]).post(f"{API}/topics/{t.pk}/assign", body, content_type="application/json")
    assert r.status_code == 403 and r.json()["code"] == "not_allowed"
    assert client(w["staff_c2"]).post(f"{API}/topics/{t.pk}/assign", body,
                                      content_type="application/json").status_code == 404  # not visible
    r = staff.post(f"{API}/topics/{t.pk}/assign", body, content_type="application/json")
    assert r.status_code == 200 and r.json()["owner"] == "gw_c1" and r.json()["deadline"] == deadline
    r = staff.post(f"{API}/topics/{t.pk}/carry-out", {"carrier": "x"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["code"] == "carrier"
    r = staff.post(f"{API}/topics/{t.pk}/carry-out", {"carrier": "other"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["carrier"] == "other"
    mine = owner.get(f"{API}/mine").json()["items"]
    assert [m["topic"]["id"] for m in mine] == [t.pk] and mine[0]["may_report_done"] is True
    r = owner.post(f"{API}/topics/{t.pk}/done", {"note": "已清理"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["done"] is True
    r = owner.post(f"{API}/topics/{t.pk}/done", {"note": "已清理"}, content_type="application/json")
    assert r.status_code == 409 and r.json()["code"] == "done"
    assert staff.get(f"{API}/topics/{t.pk}/status").json()["done"] is True
    assert client(w["neighbour"]).get(f"{API}/topics/{t.pk}/status").status_code == 200  # residents follow it
    assert client(w["user_c2"]).get(f"{API}/topics/{t.pk}/status").status_code == 404


def test_api_ledger_is_for_staff_in_scope(w):
    t = in_phase(w)
    assigned(w, t)
    r = client(w["staff_c1"]).get(f"{API}/decisions")
    assert r.status_code == 200 and [i["topic"]["id"] for i in r.json()["items"]] == [t.pk]
    assert client(w["staff_c2"]).get(f"{API}/decisions").json()["items"] == []
    assert client(w["neighbour"]).get(f"{API}/decisions").status_code == 403
    assert client(w["staff_c1"]).get(f"{API}/decisions?state=overdue").json()["items"] == []


def test_api_result_photos_and_ratings(w):
    t = published_phase(w)
    staff, res = client(w["staff_c1"]), client(w["neighbour"])
    assert res.get(f"{API}/topics/{t.pk}/result").status_code == 404
    r = res.post(f"{API}/topics/{t.pk}/ratings", {"score": "满意"}, content_type="application/json")
    assert r.status_code == 409 and r.json()["code"] == "not_published"
    files = [SimpleUploadedFile("a.jpg", jpeg(), content_type="image/jpeg"),
             SimpleUploadedFile("b.jpg", jpeg((0, 200, 0)), content_type="image/jpeg")]
    r = res.post(f"{API}/topics/{t.pk}/result", {"summary": "已完成", "photos": files})
    assert r.status_code == 403
    files = [SimpleUploadedFile("a.jpg", jpeg(), content_type="image/jpeg"),
             SimpleUploadedFile("b.jpg", jpeg((0, 200, 0)), content_type="image/jpeg")]
    r = staff.post(f"{API}/topics/{t.pk}/result", {"summary": "楼道已清理干净", "photos": files})
    assert r.status_code == 200, r.content
    photos = r.json()["photos"]
    assert len(photos) == 2
    got = res.get(photos[0]["url"])
    assert got.status_code == 200 and got["Content-Type"] == "image/jpeg"
    assert client(w["user_c2"]).get(photos[0]["url"]).status_code == 404  # cannot see the topic
    out = res.get(f"{API}/topics/{t.pk}/result").json()
    assert out["summary"] == "楼道已清理干净" and out["may_rate"] is True and out["my_rating"] is None
    r = res.post(f"{API}/topics/{t.pk}/ratings", {"score": "基本满意", "comment": "还不错"}, content_type="application/json")
    assert r.status_code == 201 and r.json()["score"] == "basic"
    r = res.post(f"{API}/topics/{t.pk}/ratings", {"score": "satisfied"}, content_type="application/json")
    assert r.status_code == 409 and r.json()["code"] == "already_rated"
    r = staff.post(f"{API}/topics/{t.pk}/ratings", {"score": "satisfied"}, content_type="application/json")
    assert r.status_code == 403
    assert res.get(f"{API}/topics/{t.pk}/result").json()["my_rating"]["score"] == "basic"


def test_api_refuses_anonymous(w):
    t = in_phase(w)
    assert Client().get(f"{API}/decisions").status_code in (401, 403)
    assert Client().post(f"{API}/topics/{t.pk}/done", {"note": "x"}, content_type="application/json").status_code in (401, 403)


# --- pages -------------------------------------------------------------------------------------


def test_staff_ledger_and_topic_page_with_its_forms(w):
    t = in_phase(w)
    staff = client(w["staff_c1"])
    page = staff.get(f"/deliberation/topics/{t.pk}/")
    assert page.status_code == 200 and 'id="assign-form"' in page.content.decode()
    deadline = (timezone.localdate() + timedelta(days=3)).isoformat()
    r = staff.post(f"/deliberation/execution/topics/{t.pk}/assign/",
                   {"owner": w["worker_c1"].pk, "deadline": deadline, "work": "清理楼道"})
    assert r.status_code == 302
    r = staff.post(f"/deliberation/execution/topics/{t.pk}/carry-out/", {"carrier": "other"})
    assert r.status_code == 302 and Decision.objects.get(topic=t).carrier == "other"
    page = staff.get(f"/deliberation/topics/{t.pk}/").content.decode()
    assert 'id="done-form"' in page and "gw_c1" in page
    r = staff.post(f"/deliberation/execution/topics/{t.pk}/done/", {"note": ""})
    assert r.status_code == 400 and "请说明办了什么" in r.content.decode()
    ledger = staff.get("/deliberation/execution/")
    assert ledger.status_code == 200 and t.title in ledger.content.decode()
    assert client(w["neighbour"]).get("/deliberation/execution/").status_code == 403
    Decision.objects.filter(topic=t).update(deadline=timezone.localdate() - timedelta(days=1))
    html = staff.get("/deliberation/execution/?state=overdue").content.decode()
    assert 'data-overdue="1"' in html


def test_staff_publishes_the_result_on_the_topic_page(w):
    t = published_phase(w)
    staff = client(w["staff_c1"])
    assert 'id="result-form"' in staff.get(f"/deliberation/topics/{t.pk}/").content.decode()
    r = staff.post(f"/deliberation/execution/topics/{t.pk}/result/",
                   {"summary": "已清理", "photos": [SimpleUploadedFile("a.jpg", jpeg(), content_type="image/jpeg")]})
    assert r.status_code == 302
    photo = Result.objects.get(topic=t).photos.get()
    assert staff.get(f"/deliberation/execution/photos/{photo.pk}/").status_code == 200
    assert "/deliberation/execution/photos/" in staff.get(f"/deliberation/topics/{t.pk}/").content.decode()


def test_phone_mine_report_done_result_and_rating(w):
    t = in_phase(w)
    assigned(w, t)
    execution.carry_out(w["staff_c1"], t, carrier="other")
    owner = client(w["worker_c1"])
    page = owner.get("/m/deliberation/execution/mine/")
    assert page.status_code == 200 and t.title in page.content.decode() and "报告办结" in page.content.decode()
    r = owner.post(f"/m/deliberation/execution/topics/{t.pk}/done/", {"note": "已清理完毕"})
    assert r.status_code == 302 and Decision.objects.get(topic=t).done_at is not None
    t = services.advance(w["staff_c1"], t)
    execution.publish_result(w["staff_c1"], t, summary="楼道已清理", photos=[jpeg()])
    res = client(w["neighbour"])
    html = res.get(f"/m/deliberation/topics/{t.pk}/").content.decode()
    assert "楼道已清理" in html and 'id="rate-form"' in html and "gw_c1" in html  # the owner is public
    photo = Result.objects.get(topic=t).photos.get()
    assert res.get(f"/m/deliberation/execution/photos/{photo.pk}/").status_code == 200
    assert client(w["user_c2"]).get(f"/m/deliberation/execution/photos/{photo.pk}/").status_code == 404
    r = res.post(f"/m/deliberation/execution/topics/{t.pk}/rate/", {"score": "satisfied", "comment": "好"})
    assert r.status_code == 302 and TopicRating.objects.get(topic=t).score == "satisfied"
    html = res.get(f"/m/deliberation/topics/{t.pk}/").content.decode()
    assert 'id="my-rating"' in html and 'id="rate-form"' not in html
    r = res.post(f"/m/deliberation/execution/topics/{t.pk}/rate/", {"score": "satisfied"})
    assert r.status_code == 409 and "您已评价过" in r.content.decode()


# --- the demo part -----------------------------------------------------------------------------


@pytest.mark.parametrize("title, carrier", [("小区道路破损修补", "project"), ("楼道堆物清理", "activity"),
                                            ("夜间噪音扰民", "other")])
def test_demo_carries_out_and_publishes(w, title, carrier):
    import random

    from gridgov.cases.taxonomy import seed_taxonomy
    from gridgov.deliberation import demo, demo_execution

    from gridgov.accounts.models import Duty, Role
    from gridgov.testing import make_user

    seed_taxonomy()
    make_user("cs_c1b", Role.COMMUNITY_STAFF, [w["street"]["c1"]], duty=Duty.STAFF)  # verifies the case
    now = timezone.now()
    at = now - timedelta(days=90)
    t = in_phase(w, title=title)
    Decision.objects.filter(topic=t).update(decided_at=at, summary=f"{title}：会议决定限期解决")
    ctx = demo.Context(rng=random.Random(1), now=now, start=now - timedelta(days=365))
    ctx.staff[t.community_id] = w["staff_c1"]
    demo_execution.on_phase(ctx, t, t.phase, at)
    d = Decision.objects.get(topic=t)
    assert d.owner == w["staff_c1"] and d.deadline and d.carrier == carrier
    assert d.done_at is not None and at < d.done_at < at + timedelta(days=12)
    t = services.advance(w["staff_c1"], t, now=at + timedelta(days=12))
    demo_execution.on_phase(ctx, t, t.phase, at + timedelta(days=12))
    r = Result.objects.get(topic=t)
    assert r.photos.count() == 1 and r.summary
    assert TopicRating.objects.filter(topic=t).count() >= 1
    counts = demo_execution.counts(ctx)
    assert counts["deliberation_results"] == 1 and counts[f"deliberation_carried_{carrier}"] == 1
