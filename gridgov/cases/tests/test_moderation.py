"""The sensitive-word filter holds a post for moderation: stored, acknowledged, not
dispatched nor published until a moderator releases or rejects it."""

import pytest

from gridgov.accounts.models import Role
from gridgov.cases import services
from gridgov.cases.models import Case, CaseEvent, Notification, SensitiveWord, State
from gridgov.cases.moderation import find_words, normalize
from gridgov.testing import make_user

from .conftest import P_C1G1


def test_default_list_is_seeded(db):
    assert SensitiveWord.objects.filter(word="傻逼", active=True).exists()
    assert SensitiveWord.objects.count() >= 5


@pytest.mark.parametrize("text", ["你个傻逼", "傻 逼", "傻.逼", "傻＊逼", "傻\u3000逼", "傻\u200b逼", "F u C k you", "ＦＵＣＫ", "代-开-发-票 联系我"])
def test_matching_survives_spaces_punctuation_and_full_width(db, text):
    assert find_words(text), text


@pytest.mark.parametrize("text", ["路灯坏了", "有人聚众赌博", "小区门口的井盖丢了"])
def test_ordinary_reports_pass(db, text):
    assert find_words(text) == []


def test_normalize():
    assert normalize("ＡＢ　c-1２") == "abc12"


def test_held_report_is_stored_acknowledged_and_not_dispatched(people, report):
    case = report(text="小区门口路灯坏了，物业都是傻 逼")
    case.refresh_from_db()
    assert case.held and "傻逼" in case.held_reason
    assert case.state == State.SUBMITTED and case.handler_user is None
    assert Notification.objects.filter(recipient=people["resident"], kind="received", case=case).exists()
    assert Notification.objects.filter(recipient=people["sec"], kind="moderation", case=case).exists()
    assert CaseEvent.objects.filter(case=case, action="hold").exists()
    with pytest.raises(services.Conflict, match="待审核，请先审核放行"):
        services.dispatch(case, people["gl"])


def test_release_dispatches_and_reject_closes(people, report):
    a = report(text="路灯坏了，傻逼物业不管")
    b = report(text="路灯坏了 加微信领红包")
    with pytest.raises(services.NotAllowed):
        services.moderate(a, people["resident"], "release")
    services.moderate(a, people["gl"], "release", "措辞不当但问题属实")
    a.refresh_from_db()
    assert not a.held and a.state == State.DISPATCHED and a.handler_user == people["gl"]
    with pytest.raises(services.Conflict, match="不在待审核状态"):
        services.moderate(a, people["gl"], "release")
    with pytest.raises(services.InvalidInput, match="理由"):
        services.moderate(b, people["gl"], "reject")
    services.moderate(b, people["gl"], "reject", "广告")
    b.refresh_from_db()
    assert not b.held and b.state == State.REJECTED


def test_api_acknowledges_and_staff_moderate(people, client):
    client.force_login(people["resident"])
    r = client.post("/api/cases/", {"text": "路灯坏了 操 你 妈", "lon": P_C1G1[0], "lat": P_C1G1[1]})
    assert r.status_code == 201 and r.json()["number"]  # received, like any report
    case_id = r.json()["id"]
    assert client.get("/api/cases/held").status_code == 403
    client.force_login(people["gl"])
    held = client.get("/api/cases/held").json()
    assert [c["id"] for c in held] == [case_id]
    r = client.post(f"/api/cases/{case_id}/moderate", {"decision": "release"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["held"] is False and r.json()["state"] == State.DISPATCHED
    assert client.get("/api/cases/held").json() == []


def test_admins_edit_the_word_list(people, client):
    admin = make_user("admin1", Role.ADMIN)
    client.force_login(people["gl"])
    assert client.post("/api/cases/words", {"word": "烂尾"}, content_type="application/json").status_code == 403
    client.force_login(admin)
    r = client.post("/api/cases/words", {"word": "烂尾楼骗子", "category": "other"}, content_type="application/json")
    assert r.status_code == 201
    assert client.post("/api/cases/words", {"word": " -- "}, content_type="application/json").status_code == 400
    assert "烂尾楼骗子" in [w["word"] for w in client.get("/api/cases/words").json()]
    c, _ = services.submit_case(reporter=people["resident"], channel="resident", text="开发商是烂尾楼 骗子", lon=P_C1G1[0], lat=P_C1G1[1])
    assert c.held
    assert client.delete(f"/api/cases/words/{r.json()['id']}").status_code == 204
    c2, _ = services.submit_case(reporter=people["resident"], channel="resident", text="开发商是烂尾楼 骗子", lon=P_C1G1[0], lat=P_C1G1[1])
    assert not c2.held


def test_open311_post_is_held_and_not_published(people, client):
    from gridgov.open311 import services as o311

    _, raw = o311.create_key("app")
    r = client.post("/open311/v2/requests.json", {"api_key": raw, "service_code": "lamp" , "lat": P_C1G1[1], "long": P_C1G1[0],
                                                   "description": "路灯坏了 fuck"})
    if r.status_code == 404:  # item codes come from the seeded taxonomy
        from gridgov.cases.models import Item

        code = Item.objects.filter(active=True).first().code
        r = client.post("/open311/v2/requests.json", {"api_key": raw, "service_code": code, "lat": P_C1G1[1], "long": P_C1G1[0],
                                                       "description": "路灯坏了 fuck"})
    assert r.status_code == 201, r.content
    number = r.json()[0]["service_request_id"]
    assert Case.objects.get(number=number).held
    assert client.get(f"/open311/v2/requests/{number}.json").status_code == 404
    assert number not in client.get("/open311/v2/requests.json").content.decode()
