"""The security probe's attacks on case intake (issue 16, items 9 and 13), through the native API,
the phone page and the services."""

import uuid

import pytest
from django.test import Client

from gridgov.cases import services
from gridgov.cases.models import Case, CaseEvent, Notification, Rating, Summons
from gridgov.core import crypto
from gridgov.core.models import AuditEntry
from gridgov.core.validators import id_check_char

from .conftest import P_C1G1

OUTSIDE = (116.5, 39.9)  # east of the small street: in no grid


def client_for(user):
    c = Client()
    c.force_login(user)
    return c


def an_id(seq=1, birth="19850312"):
    first = f"110106{birth}{seq:03d}"
    return first + id_check_char(first)


def post_report(c, key=None, **extra):
    data = {"text": "小区门口的路灯坏了", "lon": P_C1G1[0], "lat": P_C1G1[1], **extra}
    data = {k: v for k, v in data.items() if v is not None}
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return c.post("/api/cases/", data, **headers)


# --- 9a: one text limit for every door, and a bounded address -----------------------------------


def test_native_api_refuses_a_text_longer_than_the_one_limit(people):
    c = client_for(people["resident"])
    huge = post_report(c, text="x" * 1_000_000)  # the probe's 1,000,000 characters (1 MB, under Django's body limit)
    assert huge.status_code == 400
    assert "4000" in huge.json()["detail"]
    assert post_report(c, text="灯" * 4001).status_code == 400
    assert post_report(c, text="灯" * 4000).status_code == 201
    assert Case.objects.count() == 1


def test_the_limit_is_read_from_cases_conf_by_the_service(people, settings):
    settings.CASES_MAX_TEXT = 10
    with pytest.raises(services.InvalidInput, match="10"):
        services.submit_case(reporter=people["resident"], channel="resident", text="灯" * 11, lon=P_C1G1[0], lat=P_C1G1[1])


def test_native_api_refuses_an_address_longer_than_the_field(people):
    c = client_for(people["resident"])
    r = post_report(c, address="东" * 201)
    assert r.status_code == 400 and "address" in r.json()["detail"]
    assert post_report(c, address="东" * 200).status_code == 201


def test_phone_page_reflects_the_limit(people, settings):
    settings.CASES_MAX_TEXT = 1234
    page = client_for(people["resident"]).get("/m/")
    assert page.status_code == 200
    assert 'maxlength="1234"' in page.content.decode()


# --- 9b: a report outside every grid ----------------------------------------------------------


@pytest.mark.parametrize("point", [(0.0, 0.0), (180.0, 90.0), (-180.0, -90.0), OUTSIDE])
def test_native_api_refuses_a_point_outside_every_grid(people, point):
    r = post_report(client_for(people["resident"]), lon=point[0], lat=point[1])
    assert r.status_code == 400
    assert "位置不在本街道的网格内" in r.json()["detail"]
    assert not Case.objects.exists()


def test_a_hotline_ticket_outside_every_grid_is_held_for_staff(people):
    """The city assigned it to the street: kept, and the street's duty leader is told."""
    case, created = services.submit_case(reporter=None, channel="hotline", text="路灯坏了", lon=OUTSIDE[0], lat=OUTSIDE[1])
    assert created and case.grid is None and case.routing_reason["waiting"]
    told = Notification.objects.filter(case=case, kind="needs_person").values_list("recipient__username", flat=True)
    assert set(told) >= {"principal"}  # the duty leader of the top (routing.duty_leaders)


def test_a_report_without_location_is_seen_by_staff(people):
    c = client_for(people["resident"])
    r = post_report(c, lon=None, lat=None, address="南苑路口")
    assert r.status_code == 201
    case = Case.objects.get(pk=r.json()["id"])
    assert case.grid is None and case.handler_user is None
    told = set(Notification.objects.filter(case=case, kind="needs_person").values_list("recipient__username", flat=True))
    assert told >= {"principal"}
    assert case in Case.objects.visible_to(people["lic"])


# --- 9c: the same key with another body --------------------------------------------------------


def test_same_idempotency_key_with_another_body_is_409_on_the_native_api(people):
    c = client_for(people["resident"])
    key = str(uuid.uuid4())
    first = post_report(c, key)
    same = post_report(c, key)
    other = post_report(c, key, text="井盖丢了，很危险")
    moved = post_report(c, key, lon=P_C1G1[0] + 0.0005)
    by_field = post_report(c, None, idempotency_key=key, text="别的事")
    assert (first.status_code, same.status_code, other.status_code, moved.status_code, by_field.status_code) == (201, 200, 409, 409, 409)
    assert same.json()["id"] == first.json()["id"]
    assert Case.objects.count() == 1


# --- 13: ID numbers and mobiles in free text ----------------------------------------------------


def test_free_text_is_masked_at_intake_and_originals_kept_encrypted(people, settings):
    settings.CASES_NOTIFY_CHANNELS = "console"
    p = people
    idn, old_id, mobile = an_id(), "110106850312123", "13912345678"
    c = client_for(p["resident"])
    r = post_report(c, text=f"路灯坏了，我是张三，身份证{idn}，电话{mobile}", address=f"3号楼（老身份证{old_id}）")
    assert r.status_code == 201, r.content
    case = Case.objects.get(pk=r.json()["id"])
    raw = f"{case.text}{case.address}"
    for secret in (idn, old_id, mobile):
        assert secret not in raw
    assert "139****5678" in case.text and "110***********" in case.text
    assert crypto.decrypt(case.text_enc) == f"路灯坏了，我是张三，身份证{idn}，电话{mobile}"
    assert crypto.decrypt(case.address_enc) == f"3号楼（老身份证{old_id}）"
    # staff notes, a return note (copied into notifications) and a rating comment
    services.accept(case, p["gl"], note="联系了物业 138 0013 8000")
    services.resolve(case, p["gl"], note="已修好路灯")
    services.verify(case, p["cstaff"])
    services.rate(case, p["resident"], "unsatisfied", comment=f"没修好，回电{mobile}，我的证件{idn}")
    case.refresh_from_db()
    services.return_case(case, p["gl"], note=f"不归我们管，请联系13700001111")
    services.summon(case, p["sec"], ["城市管理办公室"], note="请带上13600002222的材料")
    s = Summons.objects.get(case=case)
    services.report_back(s, p["section"], report="已联系15000003333")
    everything = " ".join([
        *CaseEvent.objects.filter(case=case).values_list("note", flat=True),
        *[str(d) for d in CaseEvent.objects.filter(case=case).values_list("data", flat=True)],
        *Rating.objects.values_list("comment", flat=True),
        *Notification.objects.values_list("title", flat=True), *Notification.objects.values_list("body", flat=True),
        *Summons.objects.values_list("note", flat=True), *Summons.objects.values_list("report", flat=True),
    ])
    for secret in (idn, mobile, "13800138000", "138 0013 8000", "13700001111", "13600002222", "15000003333"):
        assert secret not in everything, secret
    rated = CaseEvent.objects.get(case=case, action="reopen")
    assert crypto.decrypt(rated.note_enc) == f"没修好，回电{mobile}，我的证件{idn}"
    assert Rating.objects.get().comment == "没修好，回电139****5678，我的证件110***********" + idn[-4:]


def test_originals_are_revealed_only_to_staff_with_the_right_and_audited(people):
    p = people
    idn = an_id()
    case = services.submit_case(reporter=p["resident"], channel="resident", text=f"路灯坏了，身份证{idn}",
                                lon=P_C1G1[0], lat=P_C1G1[1])[0]
    services.accept(case, p["gl"], note="回电13912345678")
    for who in ("resident", "sec2", "vol"):
        with pytest.raises(services.NotAllowed):
            services.reveal_originals(p[who], case)
    assert not AuditEntry.objects.filter(action="reveal").exists()
    got = services.reveal_originals(p["sec"], case)
    assert got["text"] == f"路灯坏了，身份证{idn}"
    assert "回电13912345678" in got["notes"].values()
    entry = AuditEntry.objects.get(action="reveal")
    assert entry.username == "sec" and entry.object_type == "cases.case" and entry.object_id == str(case.pk)
    # over the API: staff in scope get it (audited), others 403 / 404
    r = client_for(p["sec"]).post(f"/api/cases/{case.pk}/reveal")
    assert r.status_code == 200 and r.json()["text"] == f"路灯坏了，身份证{idn}"
    # the reporter follows the case but it is not their work: revealing is a staff act (404)
    assert client_for(p["resident"]).post(f"/api/cases/{case.pk}/reveal").status_code == 404
    assert client_for(p["sec2"]).post(f"/api/cases/{case.pk}/reveal").status_code == 404
    assert AuditEntry.objects.filter(action="reveal").count() == 2
