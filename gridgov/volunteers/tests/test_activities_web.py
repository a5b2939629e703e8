"""Activities through the API (/api/volunteers/activities) and the pages (the phone's
/m/volunteer/activities/ and the staff's /volunteers/activities/), Chinese by default, English
on request."""

import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from gridgov.accounts.models import Duty, Role
from gridgov.registry.models import Volunteer, VolunteerTeam
from gridgov.testing import make_user
from gridgov.volunteers import activities as act
from gridgov.volunteers import services
from gridgov.volunteers.models import Activity, ServiceRecord, SignUp
from gridgov.web.tests.test_i18n import EN, leftover_chinese

pytestmark = pytest.mark.django_db

LAT, LON = 39.7845, 116.3860


def _client(user):
    c = Client()
    c.force_login(user)
    return c


def _post(c, url, body=None, method="post"):
    return getattr(c, method)(url, json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def world(street):
    staff = make_user("cs", Role.COMMUNITY_STAFF, [street["c1"]], duty=Duty.STAFF)
    staff2 = make_user("cs2", Role.COMMUNITY_STAFF, [street["c2"]], duty=Duty.STAFF)
    leader = make_user("leader", Role.VOLUNTEER)
    team = VolunteerTeam.objects.create(name="第1社区巡逻队", kind="patrol", grid=street["c1"], leader=leader)
    vol = make_user("vol", Role.VOLUNTEER)
    Volunteer.objects.create(name="队员甲", kind="volunteer", grid=street["c1g1"], team=team, user=vol)
    other = make_user("other", Role.RESIDENT)
    return {"street": street, "staff": staff, "staff2": staff2, "leader": leader, "team": team, "vol": vol, "other": other}


def _soon(world, **kw):
    """An activity that started five minutes ago (sign-ups made before, with explicit times)."""
    start = timezone.now() - timedelta(minutes=5)
    fields = dict(title="楼道清理", node=world["street"]["c1g1"], lat=LAT, lon=LON, place_name="1号楼前",
                  starts_at=start, ends_at=start + timedelta(hours=2), places=3, kind="environment",
                  now=start - timedelta(days=1))
    fields.update(kw)
    return act.publish(world["staff"], **fields)


def test_api_publish_sign_up_full_and_cancel(world):
    start = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    body = {"title": "义务植树", "grid": world["street"]["c1g1"].code, "kind": "environment", "place_name": "小区花园",
            "lat": LAT, "lon": LON, "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat(),
            "places": 1}
    assert _post(_client(world["vol"]), "/api/volunteers/activities", body).status_code == 403
    assert _post(_client(world["staff2"]), "/api/volunteers/activities", body).status_code == 403
    r = _post(_client(world["staff"]), "/api/volunteers/activities", body)
    assert r.status_code == 201, r.content
    a = r.json()
    assert a["points_per_hour"] == 10 and a["radius_m"] == 200 and a["places_left"] == 1 and a["may_run"]
    vol, other = _client(world["vol"]), _client(world["other"])
    assert _post(vol, f"/api/volunteers/activities/{a['id']}/signup").status_code == 201
    again = _post(vol, f"/api/volunteers/activities/{a['id']}/signup")
    assert again.status_code == 400 and again.json()["code"] == "already"
    full = _post(other, f"/api/volunteers/activities/{a['id']}/signup")
    assert full.status_code == 409 and full.json()["code"] == "full"
    near = vol.get("/api/volunteers/activities", {"lat": LAT, "lon": LON}).json()
    assert [x["id"] for x in near] == [a["id"]] and near[0]["places_left"] == 0 and near[0]["distance_m"] == 0
    assert [x["id"] for x in vol.get("/api/volunteers/activities", {"scope": "mine"}).json()] == [a["id"]]
    assert vol.delete(f"/api/volunteers/activities/{a['id']}/signup").json()["state"] == "cancelled"
    assert _post(other, f"/api/volunteers/activities/{a['id']}/signup").status_code == 201
    # the organiser's things are the organiser's
    assert vol.get(f"/api/volunteers/activities/{a['id']}/code").status_code == 403
    code = _client(world["staff"]).get(f"/api/volunteers/activities/{a['id']}/code").json()
    assert len(code["code"]) == 6 and 1 <= code["seconds_left"] <= 30
    # edit with the version read; a stale one → 409
    s = _client(world["staff"])
    ok = _post(s, f"/api/volunteers/activities/{a['id']}", {"version": a["version"], "places": 5}, "patch")
    assert ok.status_code == 200 and ok.json()["places"] == 5
    assert _post(s, f"/api/volunteers/activities/{a['id']}", {"version": a["version"], "places": 6}, "patch").status_code == 409
    assert _post(vol, f"/api/volunteers/activities/{a['id']}/cancel", {"reason": "x"}).status_code == 403
    c = _post(s, f"/api/volunteers/activities/{a['id']}/cancel", {"reason": "天气"})
    assert c.status_code == 200 and c.json()["state"] == "cancelled"
    closed = _post(vol, f"/api/volunteers/activities/{a['id']}/signup")
    assert closed.status_code == 400 and closed.json()["code"] == "closed"


def test_api_team_only_and_staff_list(world):
    start = timezone.now() + timedelta(days=1)
    t = act.publish(world["leader"], title="队内训练", team=world["team"], open_to_all=False, lat=LAT, lon=LON,
                    place_name="社区活动室", starts_at=start, ends_at=start + timedelta(hours=1), places=10)
    other = _client(world["other"])
    assert other.get(f"/api/volunteers/activities/{t.pk}").status_code == 404  # invisible to outsiders
    assert t.pk not in [x["id"] for x in other.get("/api/volunteers/activities", {"lat": LAT, "lon": LON}).json()]
    vol = _client(world["vol"])
    assert t.pk in [x["id"] for x in vol.get("/api/volunteers/activities").json()]  # in my team, wherever I am
    assert _post(vol, f"/api/volunteers/activities/{t.pk}/signup").status_code == 201
    # staff list: scoped
    assert vol.get("/api/volunteers/activities", {"scope": "staff"}).status_code == 403
    assert [x["id"] for x in _client(world["staff"]).get("/api/volunteers/activities", {"scope": "staff"}).json()] == [t.pk]
    assert _client(world["staff2"]).get("/api/volunteers/activities", {"scope": "staff"}).json() == []
    got = _client(world["staff"]).get("/api/volunteers/activities",
                                       {"scope": "staff", "community": world["street"]["c2"].code}).json()
    assert got == []


def test_api_on_site_check_in_out_confirm_and_finish(world):
    a = _soon(world)
    vol, other = world["vol"], world["other"]
    third = make_user("third", Role.VOLUNTEER)
    for u in (vol, other, third):
        act.sign_up(u, a, now=a.starts_at - timedelta(hours=1))
    cv = _client(vol)
    far = _post(cv, f"/api/volunteers/activities/{a.pk}/checkin", {"lat": LAT + 0.01, "lon": LON})
    assert far.status_code == 400 and far.json()["code"] == "too_far"
    ok = _post(cv, f"/api/volunteers/activities/{a.pk}/checkin", {"lat": LAT, "lon": LON})
    assert ok.status_code == 200 and ok.json()["state"] == "checked_in" and ok.json()["checkin_method"] == "gps"
    bad = _post(_client(other), f"/api/volunteers/activities/{a.pk}/checkin", {"code": "abc"})
    assert bad.status_code == 400 and bad.json()["code"] == "bad_code"
    code = _client(world["staff"]).get(f"/api/volunteers/activities/{a.pk}/code").json()["code"]
    assert _post(_client(other), f"/api/volunteers/activities/{a.pk}/checkin", {"code": code}).status_code == 200
    out = _post(cv, f"/api/volunteers/activities/{a.pk}/checkout")
    assert out.status_code == 200 and out.json()["state"] == "checked_out"
    sid = out.json()["id"]
    s = _client(world["staff"])
    assert _post(cv, f"/api/volunteers/activities/signups/{sid}/confirm", {}).status_code == 403
    no_reason = _post(s, f"/api/volunteers/activities/signups/{sid}/confirm", {"hours": "1.5"})
    assert no_reason.status_code == 400 and no_reason.json()["code"] == "reason_required"
    conf = _post(s, f"/api/volunteers/activities/signups/{sid}/confirm", {"hours": "1.5", "reason": "提前到场帮忙"})
    assert conf.status_code == 200 and conf.json()["confirmed_hours"] == "1.50", conf.content
    assert services.volunteer_account(vol).balance == 15
    fin = _post(s, f"/api/volunteers/activities/{a.pk}/finish")
    assert fin.status_code == 200 and fin.json()["state"] == "finished" and fin.json()["no_show"] == 1
    assert SignUp.objects.get(activity=a, user=third).state == "no_show"
    assert SignUp.objects.get(activity=a, user=other).state == "confirmed"
    hours = cv.get("/api/volunteers/activities/me/hours").json()
    assert hours["total"] == "1.50" and hours["records"][0]["points"] == 15


def test_phone_pages_sign_up_check_in_with_the_qr_link_and_hours(world):
    a = _soon(world, starts_at=timezone.now() + timedelta(minutes=30), ends_at=timezone.now() + timedelta(hours=2))
    c = _client(world["vol"])
    page = c.get("/m/volunteer/activities/", {"lat": LAT, "lon": LON})
    assert page.status_code == 200 and "楼道清理" in page.content.decode()
    detail = c.get(f"/m/volunteer/activities/{a.pk}/").content.decode()
    assert f"/m/volunteer/activities/{a.pk}/signup/" in detail
    r = c.post(f"/m/volunteer/activities/{a.pk}/signup/")
    assert r.status_code == 200 and "报名成功" in r.content.decode()
    assert "现场签到" in r.content.decode()  # the window is open (30 min before the start)
    # the organiser's page: the code big, a QR code of the check-in link, the fragment it refreshes
    org = _client(world["staff"])
    run = org.get(f"/m/volunteer/activities/{a.pk}/run/").content.decode()
    code = re.search(r"data-code[^>]*>(\d{6})<", run).group(1)
    assert "<svg" in run and ">vol<" in run and f"/m/volunteer/activities/{a.pk}/run/code/" in run
    frag = org.get(f"/m/volunteer/activities/{a.pk}/run/code/")
    assert frag.status_code == 200 and "<svg" in frag.content.decode()
    assert c.get(f"/m/volunteer/activities/{a.pk}/run/").status_code == 403
    # opening the QR link shows the code ready to send (the script sends it at once)
    link = c.get(f"/m/volunteer/activities/{a.pk}/checkin/", {"code": code}).content.decode()
    assert "data-autosubmit" in link and code in link
    wrong = c.post(f"/m/volunteer/activities/{a.pk}/checkin/", {"code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 400
    done = c.post(f"/m/volunteer/activities/{a.pk}/checkin/", {"code": code})
    assert done.status_code == 200 and "签到成功" in done.content.decode()
    assert SignUp.objects.get(activity=a, user=world["vol"]).checkin_method == "code"
    # check-out, the organiser confirms on the phone, my hours
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Activity.objects.filter(pk=a.pk).update(starts_at=an_hour_ago)
    SignUp.objects.filter(activity=a).update(checkin_at=an_hour_ago)
    out = c.post(f"/m/volunteer/activities/{a.pk}/checkout/")
    assert out.status_code == 200 and "签退成功" in out.content.decode()
    s = SignUp.objects.get(activity=a, user=world["vol"])
    conf = org.post(f"/m/volunteer/activities/signups/{s.pk}/confirm/", {"hours": "", "reason": ""})
    assert conf.status_code == 200 and "时长已确认" in conf.content.decode()
    assert ServiceRecord.objects.filter(key=f"activity:{s.pk}").exists()
    hours = c.get("/m/volunteer/activities/hours/").content.decode()
    assert "楼道清理" in hours
    fin = org.post(f"/m/volunteer/activities/{a.pk}/run/finish/")
    assert fin.status_code == 200 and Activity.objects.get(pk=a.pk).state == "finished"


def test_phone_check_in_by_position_outside_refused(world):
    a = _soon(world)
    act.sign_up(world["vol"], a, now=a.starts_at - timedelta(hours=1))
    c = _client(world["vol"])
    r = c.post(f"/m/volunteer/activities/{a.pk}/checkin/", {"lat": LAT + 0.01, "lon": LON, "crs": "wgs84"})
    assert r.status_code == 400 and "超出签到范围" in r.content.decode()
    r = c.post(f"/m/volunteer/activities/{a.pk}/checkin/", {"lat": LAT + 0.0003, "lon": LON, "crs": "wgs84"})
    assert r.status_code == 200 and SignUp.objects.get(user=world["vol"]).checkin_method == "gps"


def test_publish_on_the_phone_by_a_team_leader_and_on_the_staff_page(world):
    day = (timezone.localdate() + timedelta(days=3)).isoformat()
    form = {"owner": f"team:{world['team'].pk}", "title": "周末巡逻", "kind": "patrol", "place_name": "东门",
            "lat": LAT, "lon": LON, "day": day, "start": "19:00", "end": "21:00", "places": 6, "members_only": "on"}
    assert _client(world["other"]).get("/m/volunteer/activities/publish/").status_code == 403
    leader = _client(world["leader"])
    assert "周末巡逻" not in leader.get("/m/volunteer/activities/publish/").content.decode()
    r = leader.post("/m/volunteer/activities/publish/", form)
    assert r.status_code == 302, r.content.decode()[:2000]
    a = Activity.objects.get(title="周末巡逻")
    assert a.team == world["team"] and not a.open_to_all and a.organiser == world["leader"] and a.points_per_hour == 10
    bad = leader.post("/m/volunteer/activities/publish/", {**form, "end": "18:00"})
    assert bad.status_code == 400 and "结束时间必须晚于开始时间" in bad.content.decode()
    # staff: 一键发布 on a grid of their community, then the list and the activity's page
    s = _client(world["staff"])
    r = s.post("/volunteers/activities/new/", {**form, "owner": f"grid:{world['street']['c1g1'].pk}", "title": "社区义诊",
                                               "members_only": ""})
    assert r.status_code == 302
    b = Activity.objects.get(title="社区义诊")
    assert b.publisher == "community" and b.open_to_all
    listing = s.get("/volunteers/activities/").content.decode()
    assert "社区义诊" in listing and "周末巡逻" in listing
    assert "社区义诊" not in s.get("/volunteers/activities/", {"team": world["team"].pk}).content.decode()
    assert _client(world["staff2"]).get("/volunteers/activities/").content.decode().count("社区义诊") == 0
    assert _client(world["vol"]).get("/volunteers/activities/").status_code == 403
    page = s.get(f"/volunteers/activities/{b.pk}/")
    assert page.status_code == 200 and "修改活动" in page.content.decode()
    assert _client(world["staff2"]).get(f"/volunteers/activities/{b.pk}/").status_code == 403


def test_staff_page_hours_correction_and_no_shows(world):
    a = _soon(world)
    u = [world["vol"], world["other"]]
    for x in u:
        act.sign_up(x, a, now=a.starts_at - timedelta(hours=1))
    act.check_in(u[0], a, lat=LAT, lon=LON)
    s0 = SignUp.objects.get(user=u[0])
    s = _client(world["staff"])
    r = s.post(f"/volunteers/activities/signups/{s0.pk}/confirm/", {"hours": "2", "reason": ""})
    assert r.status_code == 400 and "修改时长请填写原因" in r.content.decode()
    r = s.post(f"/volunteers/activities/signups/{s0.pk}/confirm/", {"hours": "2", "reason": "全程在场"})
    assert r.status_code == 200 and "全程在场" in r.content.decode()
    r = s.post(f"/volunteers/activities/{a.pk}/finish/")
    assert r.status_code == 200
    assert SignUp.objects.get(user=u[1]).state == "no_show"
    assert "未到 1" in r.content.decode()


def test_pages_in_english(world):
    a = _soon(world)
    act.sign_up(world["vol"], a, now=a.starts_at - timedelta(hours=1))
    data = ["楼道清理", "1号楼前", "第1社区第2网格", "第1社区第1网格", "第1社区", "第1社区巡逻队", "队员甲", "cs", "vol",
            "测试街道"] + [n for n in ("第1社区第1网格第1微网格",)]
    for user, url in ((world["vol"], "/m/volunteer/activities/"), (world["vol"], f"/m/volunteer/activities/{a.pk}/"),
                      (world["vol"], f"/m/volunteer/activities/{a.pk}/checkin/"),
                      (world["vol"], "/m/volunteer/activities/hours/"),
                      (world["staff"], f"/m/volunteer/activities/{a.pk}/run/"),
                      (world["leader"], "/m/volunteer/activities/publish/"),
                      (world["staff"], "/volunteers/activities/"), (world["staff"], "/volunteers/activities/new/"),
                      (world["staff"], f"/volunteers/activities/{a.pk}/")):
        resp = _client(user).get(url, **EN)
        assert resp.status_code == 200, url
        html = resp.content.decode()
        assert leftover_chinese(html, data) == [], (url, leftover_chinese(html, data))


def test_party_members_who_show_their_identity_wear_the_badge(world):
    """亮身份: a registered party member with show_identity on is marked 党员 on the organiser's
    phone page and the staff page; one who turned it off, or no member at all, is not."""
    from gridgov.volunteers import party

    a = _soon(world, places=5, starts_at=timezone.now() + timedelta(days=1),
              ends_at=timezone.now() + timedelta(days=1, hours=2), now=timezone.now())
    act.sign_up(world["vol"], a)
    act.sign_up(world["other"], a)
    reg = party.register_member(world["vol"], community=world["street"]["c1"])
    pages = [(_client(world["staff"]), f"/volunteers/activities/{a.pk}/"),
             (_client(world["staff"]), f"/m/volunteer/activities/{a.pk}/run/")]
    for c, url in pages:
        html = c.get(url).content.decode()
        assert html.count('data-badge="party"') == 1, url
    party.update_registration(world["vol"], reg.pk, show_identity=False)
    for c, url in pages:
        assert 'data-badge="party"' not in c.get(url).content.decode(), url
