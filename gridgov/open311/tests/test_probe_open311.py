"""The security probe's attacks on the public Open311 server (issue 16, items 5, 8, 9, 13), each
through the real door: the unauthenticated GETs and the keyed POST."""

import json
from unittest import mock

import pytest

from gridgov.cases import services as case_services
from gridgov.cases.models import Case, CaseEvent
from gridgov.core.models import RateCounter
from gridgov.core import crypto
from gridgov.core.validators import id_check_char
from gridgov.open311 import services

from .conftest import P_C1G1

V2 = "/open311/v2"


def js(resp):
    return json.loads(resp.content)


def an_id(seq=1, birth="19850312"):
    first = f"110106{birth}{seq:03d}"
    return first + id_check_char(first)


# --- 5: public answers carry only public text ----------------------------------------------------


def test_status_notes_never_carry_notes_comments_or_routing_messages(post, client, people, report):
    p = people
    # a resident's report, rated with a comment naming the rater and their address
    case = report()
    case_services.accept(case, p["gl"], note="已电话联系报告人王小明，住3号楼2单元401")
    case_services.resolve(case, p["gl"], note="更换灯泡，物业李经理在场")
    case_services.verify(case, p["cstaff"], note="核查通过")
    case_services.rate(case, p["resident"], "basic", comment="我是3号楼2单元的赵大妈，修得还行")
    # an Open311 case a staff member escalates with an internal note
    number = js(post())[0]["service_request_id"]
    o311 = Case.objects.get(number=number)
    case_services.escalate(o311, p["lic"], note="内部：请城管办张科长盯一下，别让记者知道")
    # a report nobody could place waits with an internal routing message
    waiting = case_services.submit_case(reporter=None, channel="api", text="这事说不清", address="某处")[0]
    assert CaseEvent.objects.filter(case=case).exclude(note="").exists()
    bodies = b"".join(client.get(u).content for u in (
        f"{V2}/requests.json", f"{V2}/requests.xml", f"{V2}/requests/{case.number}.json",
        f"{V2}/requests/{number}.xml", f"{V2}/requests/{waiting.number}.json")).decode()
    for secret in ("王小明", "3号楼", "李经理", "赵大妈", "修得还行", "张科长", "记者", "内部", "待人工", "自动派遣"):
        assert secret not in bodies, secret
    by_id = {r["service_request_id"]: r for r in js(client.get(f"{V2}/requests.json"))}
    # a fixed public message per state, in Chinese
    assert by_id[case.number]["status_notes"] == services.STATUS_NOTES["verified"]
    assert by_id[number]["status_notes"] == services.STATUS_NOTES["escalated"]
    assert by_id[waiting.number]["status_notes"] == services.STATUS_NOTES["submitted"]
    assert all(by_id[n]["status_notes"] for n in by_id)


# --- 8: paging and a limit on public GETs -------------------------------------------------------


def _file(n):
    return [case_services.submit_case(reporter=None, channel="api", text=f"路灯坏了{i}", lon=P_C1G1[0], lat=P_C1G1[1])[0]
            for i in range(n)]


def test_request_list_is_paged_with_a_default_and_a_maximum(client, people):
    made = _file(5)
    numbers = [c.number for c in reversed(made)]
    ids = lambda r: [x["service_request_id"] for x in js(r)]  # noqa: E731
    with mock.patch.object(services, "DEFAULT_PAGE_SIZE", 2):
        first = client.get(f"{V2}/requests.json")
        assert ids(first) == numbers[:2]
        assert 'rel="next"' in first["Link"] and "page=2" in first["Link"]
    r = client.get(f"{V2}/requests.json", {"page_size": 2, "page": 3})
    assert ids(r) == numbers[4:] and not r.has_header("Link")
    assert ids(client.get(f"{V2}/requests.json", {"page_size": 3, "page": 2})) == numbers[3:]
    assert services.DEFAULT_PAGE_SIZE <= services.MAX_PAGE_SIZE <= 100
    for bad in ({"page_size": services.MAX_PAGE_SIZE + 1}, {"page_size": 0}, {"page": 0}, {"page": "x"},
                {"service_request_id": ",".join(str(i) for i in range(services.MAX_PAGE_SIZE + 1))}):
        r = client.get(f"{V2}/requests.json", bad)
        assert r.status_code == 400, bad
        assert js(r)[0]["code"] == 400


def test_public_gets_are_throttled_per_address_in_the_shared_counters(client, people, settings):
    settings.RATE_LIMIT_READS_PER_ADDRESS = "3/600"
    url = f"{V2}/requests.json"
    codes = [client.get(url, REMOTE_ADDR="203.0.113.7").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = client.get(f"{V2}/requests/1.xml", REMOTE_ADDR="203.0.113.7")
    assert refused.status_code == 429 and refused["Retry-After"]
    assert b"<errors><error><code>429</code>" in refused.content
    # counted in the database (every process sees it), not in this process's memory
    assert RateCounter.objects.exists()
    # another address is not affected
    assert client.get(url, REMOTE_ADDR="203.0.113.8").status_code == 200


# --- 9: input limits ---------------------------------------------------------------------------


def test_description_limit_is_the_one_case_text_limit(post, people, settings):
    settings.CASES_MAX_TEXT = 50
    r = post(description="路" * 51)
    assert r.status_code == 400 and "50" in js(r)[0]["description"]
    assert post(description="路" * 50).status_code == 201
    assert post(address_string="东" * 201).status_code == 400


@pytest.mark.parametrize("lat,lon", [("0", "0"), ("90", "180"), ("-90", "-180"), ("39.9", "116.5")])
def test_a_point_outside_every_grid_is_refused(post, people, lat, lon):
    r = post(lat=lat, long=lon)
    assert r.status_code == 400
    assert "网格" in js(r)[0]["description"]
    assert not Case.objects.exists()


def test_same_idempotency_key_with_another_body_is_409(post, people):
    a = post(headers={"Idempotency-Key": "k-1"})
    same = post(headers={"Idempotency-Key": "k-1"})
    other = post(headers={"Idempotency-Key": "k-1"}, description="完全不同的一件事：井盖丢了")
    other_phone = post(headers={"Idempotency-Key": "k-1"}, phone="13900001111")
    assert (a.status_code, same.status_code, other.status_code, other_phone.status_code) == (201, 200, 409, 409)
    assert js(same) == js(a)
    assert Case.objects.count() == 1


# --- 13: personal data in the description --------------------------------------------------------


def test_description_is_masked_at_intake_and_the_original_kept_encrypted(post, client, people):
    text = f"路灯坏了，联系我13912345678，身份证{an_id()}"
    number = js(post(description=text, address_string="3号楼 13800138000"))[0]["service_request_id"]
    case = Case.objects.get(number=number)
    assert "13912345678" not in case.text and an_id() not in case.text
    assert "139****5678" in case.text and "110***********" in case.text
    assert case.address == "3号楼 138****8000"
    assert crypto.decrypt(case.text_enc) == text
    got = js(client.get(f"{V2}/requests/{number}.json"))[0]
    assert "13912345678" not in json.dumps(got, ensure_ascii=False)
