"""多方商 through the doors users use: the API (staff convene and count; an invitee joins an online
meeting and votes from their phone; the refusals as {detail, code}) and the pages (the staff's
list, a meeting's page, the topic page's include; the phone's invitations, a meeting's page, the
topic page's include)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from gridgov.deliberation import meetings
from gridgov.deliberation.models import Decision, Meeting, Topic, Vote

from .test_meetings import convened, in_meeting_phase, parties

pytestmark = pytest.mark.django_db


def client(user):
    c = Client()
    c.force_login(user)
    return c


def api(c, method, url, data=None):
    return getattr(c, method)(f"/api/deliberation/meetings{url}", data=data, content_type="application/json")


def test_an_online_meeting_through_the_api(w):
    t = in_meeting_phase(w)
    staff, resident = client(w["staff_c1"]), client(w["user_c1"])
    body = {"topic": t.pk, "title": "线上议事会", "mode": "online", "starts_at": timezone.now().isoformat(),
            "invitees": parties(w, 5), "options": ["方案一", "方案二"]}
    assert api(resident, "post", "", body).status_code == 403
    r = api(staff, "post", "", body)
    assert r.status_code == 201, r.content
    m = r.json()
    assert m["state"] == "scheduled" and len(m["invitees"]) == 5 and m["tally"]["needed"] == 3
    mid = m["id"]
    # the invitee finds it among their invitations, joins and votes for themselves
    mine = api(resident, "get", "/mine").json()["items"]
    assert [x["id"] for x in mine] == [mid] and mine[0]["my_invitee"]["attended"] is None
    option = m["tally"]["options"][0]["id"]
    r = api(resident, "post", f"/{mid}/votes", {"option": option})
    assert r.status_code == 409 and r.json()["code"] == "absent"
    assert api(resident, "post", f"/{mid}/join").json()["my_invitee"]["attended"] is True
    r = api(resident, "post", f"/{mid}/votes", {"option": option})
    assert r.status_code == 201 and r.json()["tally"]["votes_cast"] == 1
    r = api(resident, "post", f"/{mid}/votes", {"option": option})
    assert r.status_code == 409 and r.json()["code"] == "already_voted" and "不能更改" in r.json()["detail"]
    # the resident sees their vote, not who else voted for what; staff see the votes
    seen = api(resident, "get", f"/{mid}").json()
    assert seen["my_vote"] == option and "votes" not in seen
    assert len(api(staff, "get", f"/{mid}").json()["votes"]) == 1
    # a resident of the other community: not found
    assert api(client(w["user_c2"]), "get", f"/{mid}").status_code == 404
    # staff record the rest and close: 3 of 5 present, 3 votes for option 1
    ids = [i["id"] for i in m["invitees"]]
    r = api(staff, "post", f"/{mid}/attendance", {"attendance": {str(ids[0]): True, str(ids[2]): True, str(ids[3]): False}})
    assert r.status_code == 200 and r.json()["tally"]["present"] == 3
    for iid in (ids[0], ids[2]):
        assert api(staff, "post", f"/{mid}/votes", {"option": option, "invitee": iid}).status_code == 201
    assert api(staff, "put", f"/{mid}/options", {"options": ["甲", "乙"]}).json()["code"] == "voted"
    deadline = (timezone.localdate() + timedelta(days=20)).isoformat()
    r = api(staff, "post", f"/{mid}/close", {"minutes": "三方同意方案一", "owner": w["staff_c1"].pk, "deadline": deadline,
                                              "work": "物业两周内完成"})
    assert r.status_code == 200, r.content
    out = r.json()
    assert out["decision"]["votes_for"] == 3 and out["decision"]["deadline"] == deadline
    assert out["meeting"]["state"] == "held" and out["meeting"]["tally"]["outcome"] == "adopted"
    assert Topic.objects.get(pk=t.pk).decided_at is not None
    assert api(staff, "post", f"/{mid}/cancel", {"reason": "晚了"}).status_code == 409


def test_invitations_and_refusals_through_the_api(w):
    m = convened(w, 3)
    staff = client(w["staff_c1"])
    r = api(staff, "post", f"/{m.pk}/invitees", {"party": "resident", "user": w["neighbour"].pk})
    assert r.status_code == 201 and r.json()["name"] == "邻居"
    assert api(staff, "post", f"/{m.pk}/invitees", {"party": "resident", "user": w["neighbour"].pk}).status_code == 409
    assert api(staff, "post", f"/{m.pk}/invitees", {"party": "nobody", "name": "x"}).json()["code"] == "party"
    r = api(staff, "delete", f"/{m.pk}/invitees/{r.json()['id']}")
    assert r.status_code == 200 and len(r.json()["invitees"]) == 3
    assert api(client(w["user_c1"]), "post", f"/{m.pk}/cancel", {"reason": "x"}).status_code == 403
    assert api(client(w["user_c1"]), "post", f"/{m.pk}/join").json()["code"] == "onsite"
    assert api(staff, "post", f"/{m.pk}/close", {"minutes": ""}).json()["code"] == "minutes"
    r = api(staff, "post", f"/{m.pk}/close", {"minutes": "无人到会"})
    assert r.json()["decision"] is None and r.json()["meeting"]["tally"]["outcome"] == "no_quorum"
    assert api(staff, "get", "/99999").status_code == 404
    assert Client().get(f"/api/deliberation/meetings/{m.pk}").status_code == 401


def test_the_staff_pages(w):
    t = in_meeting_phase(w)
    staff = client(w["staff_c1"])
    page = staff.get(f"/deliberation/topics/{t.pk}/").content.decode()
    assert 'id="convene"' in page and "楼门长" in page
    r = staff.post(f"/deliberation/meetings/convene/{t.pk}/", {
        "title": "楼道议事会", "mode": "onsite", "place": "议事厅", "starts_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "suggested": [f"community|{w['staff_c1'].pk}||社工", f"resident|{w['user_c1'].pk}||居民"],
        "extra-party-0": "property", "extra-name-0": "物业经理", "options": "方案一\n方案二\n"})
    assert r.status_code == 302, r.content
    m = Meeting.objects.get(topic=t)
    assert m.invitees.count() == 3 and m.options.count() == 2
    page = staff.get(f"/deliberation/meetings/{m.pk}/")
    assert page.status_code == 200 and "物业经理" in page.content.decode() and 'id="tally"' in page.content.decode()
    rows = list(m.invitees.order_by("id"))
    r = staff.post(f"/deliberation/meetings/{m.pk}/attendance/", {"ids": [i.pk for i in rows],
                                                                  "present": [rows[0].pk, rows[1].pk]})
    assert r.status_code == 302
    opt = m.options.first()
    assert staff.post(f"/deliberation/meetings/{m.pk}/vote/", {"invitee": rows[0].pk, "option": opt.pk}).status_code == 302
    r = staff.post(f"/deliberation/meetings/{m.pk}/vote/", {"invitee": rows[2].pk, "option": opt.pk})
    assert r.status_code == 409 and "未到会" in r.content.decode()
    assert "data-present=\"2\"" in staff.get(f"/deliberation/meetings/{m.pk}/tally/").content.decode()
    assert staff.post(f"/deliberation/meetings/{m.pk}/vote/", {"invitee": rows[1].pk, "option": opt.pk}).status_code == 302
    r = staff.post(f"/deliberation/meetings/{m.pk}/close/", {"minutes": "同意方案一", "owner": w["staff_c1"].pk,
                                                               "deadline": (timezone.localdate() + timedelta(days=14)).isoformat()})
    assert r.status_code == 302
    assert Decision.objects.get(topic=t).votes_for == 2
    page = staff.get(f"/deliberation/meetings/{m.pk}/").content.decode()
    assert 'id="decision"' in page and "同意方案一" in page
    listing = staff.get("/deliberation/meetings/").content.decode()
    assert f'data-meeting="{m.pk}"' in listing
    assert client(w["staff_c2"]).get(f"/deliberation/meetings/{m.pk}/").status_code == 404
    assert client(w["user_c1"]).get("/deliberation/meetings/").status_code == 403
    topic_page = staff.get(f"/deliberation/topics/{t.pk}/").content.decode()
    assert 'id="topic-decision"' in topic_page


def test_a_convening_error_is_shown_on_the_topic_page(w):
    t = in_meeting_phase(w)
    staff = client(w["staff_c1"])
    r = staff.post(f"/deliberation/meetings/convene/{t.pk}/", {"title": "会", "mode": "onsite", "place": "厅",
                                                                 "starts_at": "2030-01-01T10:00", "extra-party-0": "resident",
                                                                 "extra-name-0": "一个人"},
                   follow=True)
    assert "至少要邀请两方" in r.content.decode() and not Meeting.objects.exists()


def test_the_phone_pages(w):
    m = convened(w, 5, mode="online", place="")
    phone = client(w["user_c1"])
    mine = phone.get("/m/deliberation/meetings/").content.decode()
    assert f'data-meeting="{m.pk}"' in mine
    page = phone.get(f"/m/deliberation/meetings/{m.pk}/").content.decode()
    assert "加入线上会议" in page
    assert phone.post(f"/m/deliberation/meetings/{m.pk}/join/").status_code == 302
    page = phone.get(f"/m/deliberation/meetings/{m.pk}/").content.decode()
    assert 'id="vote"' in page
    opt = m.options.order_by("position").first()
    assert phone.post(f"/m/deliberation/meetings/{m.pk}/vote/", {"option": opt.pk}).status_code == 302
    r = phone.post(f"/m/deliberation/meetings/{m.pk}/vote/", {"option": opt.pk})
    assert r.status_code == 409 and "不能更改" in r.content.decode()
    assert Vote.objects.filter(meeting=m).count() == 1
    # the topic page: an invitee gets a link; after the meeting anyone of the place sees the count
    topic_page = phone.get(f"/m/deliberation/topics/{m.topic_id}/").content.decode()
    assert f"/m/deliberation/meetings/{m.pk}/" in topic_page
    meetings.close(w["staff_c1"], m, minutes="纪要")
    steward = client(w["steward"]).get(f"/m/deliberation/topics/{m.topic_id}/").content.decode()
    assert "到会 1 方" in steward and f"/m/deliberation/meetings/{m.pk}/" not in steward and "居民c1" not in steward
    assert client(w["user_c2"]).get(f"/m/deliberation/meetings/{m.pk}/").status_code == 404
