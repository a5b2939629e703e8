import datetime as dt
import io
import json
import uuid
import xml.etree.ElementTree as ET
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone

from gridgov.cases import services as case_services
from gridgov.cases.models import Case, State
from gridgov.open311 import services
from gridgov.open311.models import ApiKey, Open311Request

from .conftest import P_C1G1

V2 = "/open311/v2"


def xml(resp):
    assert resp["Content-Type"] == "text/xml; charset=utf-8"
    assert resp.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(resp.content)


def js(resp):
    assert resp["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(resp.content)


def at(s):
    return timezone.make_aware(dt.datetime.fromisoformat(s))


# --- discovery and services --------------------------------------------------------------------


def test_discovery_json_and_xml(client, taxonomy):
    d = js(client.get("/open311/discovery.json"))
    ep = d["endpoints"][0]
    assert ep["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert ep["url"] == "http://testserver/open311/v2" and ep["type"] == "production"
    assert ep["formats"] == ["text/xml", "application/json"]
    assert d["changeset"].endswith("+08:00")
    root = xml(client.get("/open311/discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.find("endpoints/endpoint/formats")] == ["text/xml", "application/json"]


def test_service_list_json_and_xml(client, taxonomy):
    data = js(client.get(f"{V2}/services.json"))
    assert len(data) == 20
    lamp = next(s for s in data if s["service_code"] == "PS01")
    assert lamp == {
        "service_code": "PS01", "service_name": "路灯损坏", "description": "公共安全：路灯损坏（城市管理办公室办理）",
        "metadata": True, "type": "realtime", "keywords": lamp["keywords"], "group": "公共安全",
    }
    assert "路灯" in lamp["keywords"].split(", ")
    root = xml(client.get(f"{V2}/services.xml"))
    assert root.tag == "services" and len(root) == 20
    first = root[0]
    assert first.tag == "service"
    assert [c.tag for c in first] == ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
    assert first.find("metadata").text == "true" and first.find("type").text == "realtime"


def test_service_definition_json_and_xml(client, taxonomy):
    d = js(client.get(f"{V2}/services/PS01.json"))
    assert d["service_code"] == "PS01"
    codes = [a["code"] for a in d["attributes"]]
    assert codes == ["urgency", "idempotency_key"]
    urgency = d["attributes"][0]
    assert urgency["datatype"] == "singlevaluelist" and urgency["required"] is False and urgency["order"] == 1
    assert {"key": "major", "name": "大事"} in urgency["values"]
    # a gas leak also tells the reporter to call the emergency numbers first
    gas = js(client.get(f"{V2}/services/EM01.json"))
    assert gas["attributes"][0]["code"] == "emergency_notice" and gas["attributes"][0]["variable"] is False
    assert [a["order"] for a in gas["attributes"]] == [1, 2, 3]
    root = xml(client.get(f"{V2}/services/PS01.xml"))
    assert root.tag == "service_definition" and root.find("service_code").text == "PS01"
    attr = root.find("attributes/attribute")
    assert attr.find("code").text == "urgency" and attr.find("variable").text == "true"
    assert [v.find("key").text for v in attr.find("values")] == ["minor", "normal", "major", "emergency"]


def test_unknown_service_is_404_in_the_spec_format(client, taxonomy):
    r = client.get(f"{V2}/services/NOPE.json")
    assert r.status_code == 404
    assert js(r) == [{"code": 404, "description": "service_code 'NOPE' was not found"}]
    r = client.get(f"{V2}/services/NOPE.xml")
    root = xml(r)
    assert r.status_code == 404 and root.tag == "errors"
    assert root.find("error/code").text == "404" and "NOPE" in root.find("error/description").text
    r = client.get("/open311/v2/nothing.xml")
    assert r.status_code == 404 and xml(r).tag == "errors"


# --- POST and GET ------------------------------------------------------------------------------


def test_post_then_get_by_id_and_by_token(post, client, people):
    r = post(email="a@example.org", phone="138 0013 8000", first_name="三", last_name="张", device_id="dev-1", account_id="acc-9",
             media_url="https://example.org/p/1.jpg")
    assert r.status_code == 201
    body = js(r)
    assert len(body) == 1 and set(body[0]) == {"service_request_id", "service_notice", "account_id"}
    number = body[0]["service_request_id"]
    case = Case.objects.get(number=number)
    assert case.channel == "api" and case.item.code == "PS01" and case.state == State.DISPATCHED
    assert case.handler_user == people["gl"]  # routed like every channel
    req = Open311Request.objects.get(case=case)
    assert req.phone_masked == "138****8000" and "13800138000" not in req.phone_enc
    assert req.email_enc and "example.org" not in req.email_enc
    # GET one (JSON and XML)
    one = js(client.get(f"{V2}/requests/{number}.json"))
    assert len(one) == 1
    got = one[0]
    assert got["service_request_id"] == number and got["status"] == "open" and got["service_code"] == "PS01"
    assert got["description"] == "小区门口的路灯坏了"
    assert got["agency_responsible"] == "第1社区第1网格网格长"
    assert got["lat"] == round(P_C1G1[1], 4) and got["long"] == round(P_C1G1[0], 4)
    assert got["media_url"] == "https://example.org/p/1.jpg"
    assert got["requested_datetime"].endswith("+08:00")
    assert dt.datetime.fromisoformat(got["requested_datetime"]) == case.created_at.replace(microsecond=0)
    assert got["expected_datetime"] and got["status_notes"] == services.STATUS_NOTES["dispatched"]  # never a note
    root = xml(client.get(f"{V2}/requests/{number}.xml"))
    assert root.tag == "service_requests" and root[0].tag == "request"
    assert root.find("request/service_request_id").text == number
    assert root.find("request/zipcode").text is None  # empty element for null
    # the token (from the response header) leads to the id
    token = r["X-Open311-Token"]
    assert js(client.get(f"{V2}/tokens/{token}.json")) == [{"service_request_id": number, "token": token}]
    t = xml(client.get(f"{V2}/tokens/{token}.xml"))
    assert t.find("request/service_request_id").text == number and t.find("request/token").text == token
    assert client.get(f"{V2}/tokens/{uuid.uuid4()}.json").status_code == 404
    assert client.get(f"{V2}/requests/999.json").status_code == 404


def test_post_in_xml_and_by_address(post, client, people):
    r = post(fmt="xml", lat=None, long=None, address_string="阳光星苑3号楼门口")
    assert r.status_code == 201
    number = xml(r).find("request/service_request_id").text
    case = Case.objects.get(number=number)
    assert case.address == "阳光星苑3号楼门口" and case.lat is None and case.state == State.SUBMITTED  # waits for a person
    got = js(client.get(f"{V2}/requests/{number}.json"))[0]
    assert got["address"] == "阳光星苑3号楼门口" and got["agency_responsible"] is None and got["lat"] is None


def test_post_by_address_id(post, client, people, street):
    from gridgov.registry.models import Address

    Address.objects.create(code="A-1", level="compound", community=street["c1"], text="测试小区", lat=P_C1G1[1], lon=P_C1G1[0])
    r = post(lat=None, long=None, address_id="A-1")
    got = js(client.get(f"{V2}/requests/{js(r)[0]['service_request_id']}.json"))[0]
    assert got["address_id"] == "A-1" and got["address"] == "测试小区" and got["agency_responsible"] == "第1社区第1网格网格长"
    assert post(lat=None, long=None, address_id="nope").status_code == 404


@pytest.mark.parametrize("fields, status, words", [
    ({"key": ""}, 403, "api_key is required"),
    ({"key": "gg_deadbeef_wrong"}, 403, "invalid api_key"),
    ({"service_code": ""}, 400, "service_code was not provided"),
    ({"service_code": "ZZ99"}, 404, "service_code 'ZZ99' was not found"),
    ({"lat": None, "long": None}, 400, "location"),
    ({"long": None}, 400, "lat and long"),
    ({"lat": "north"}, 400, "lat: 'north' is not a number"),
    ({"lat": "95"}, 400, "not a WGS-84"),
    ({"description": "x" * 4001}, 400, "description"),
    ({"attribute[urgency]": "asap"}, 400, "attribute[urgency]"),
    ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
    ({"email": "nope"}, 400, "email"),
    ({"phone": "call me"}, 400, "phone"),
])
def test_post_errors_in_both_formats(post, people, fields, status, words):
    for fmt in ("json", "xml"):
        r = post(fmt=fmt, **fields)
        assert r.status_code == status, r.content
        if fmt == "json":
            body = js(r)
            assert body[0]["code"] == status and words in body[0]["description"]
        else:
            root = xml(r)
            assert root.tag == "errors" and root.find("error/code").text == str(status)
            assert words in root.find("error/description").text
    assert Case.objects.count() == 0


def test_revoked_and_read_only_keys_are_refused(post, people):
    key, raw = services.create_key("reader", can_submit=False)
    assert post(key=raw).status_code == 403
    services.revoke_key("test-client")
    r = post()
    assert r.status_code == 403 and "invalid api_key" in js(r)[0]["description"]


def test_key_in_header_and_rate_limit(client, people, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rate-test"}}
    key, raw = services.create_key("limited", rate_per_minute=2)
    data = {"service_code": "PS01", "lat": P_C1G1[1], "long": P_C1G1[0], "description": "路灯坏了"}
    codes = [client.post(f"{V2}/requests.json", data, headers={"X-API-Key": raw}).status_code for _ in range(3)]
    assert codes == [201, 201, 429]
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_idempotent_retry_gives_one_case(post, client, people):
    a = post(headers={"Idempotency-Key": "retry-1"})
    b = post(headers={"Idempotency-Key": "retry-1"})
    assert (a.status_code, b.status_code) == (201, 200)
    assert js(a) == js(b) and a["X-Open311-Token"] == b["X-Open311-Token"]
    c = post(**{"attribute[idempotency_key]": "retry-2"})
    d = post(**{"attribute[idempotency_key]": "retry-2"})
    assert js(c)[0]["service_request_id"] == js(d)[0]["service_request_id"] != js(a)[0]["service_request_id"]
    assert Case.objects.filter(channel="api").count() == 2 and Open311Request.objects.count() == 2
    # another client's same idempotency key is its own request
    _, other = services.create_key("other", rate_per_minute=0)
    e = post(key=other, headers={"Idempotency-Key": "retry-1"})
    assert e.status_code == 201 and Case.objects.count() == 3


def test_attributes_set_urgency(post, people):
    r = post(**{"attribute[urgency]": "major"})
    assert Case.objects.get(number=js(r)[0]["service_request_id"]).urgency == "major"


def test_agency_responsible_follows_escalation(post, client, people):
    with mock.patch("django.utils.timezone.now", return_value=at("2025-09-30T10:00")):
        number = js(post())[0]["service_request_id"]
    url = f"{V2}/requests/{number}.json"
    assert js(client.get(url, {}))[0]["agency_responsible"] == "第1社区第1网格网格长"
    # nobody on site after 15 minutes: the sweep escalates to the community secretary
    assert case_services.sweep(at("2025-09-30T10:15:30"))["escalated"] == 1
    got = js(client.get(url))[0]
    assert got["agency_responsible"] == "第1社区社区书记" and got["status"] == "open"
    assert got["status_notes"] == services.STATUS_NOTES["escalated"]  # the state's public message, not the note
    assert "sec" not in json.dumps(got)  # a role, never the person
    # a person escalates on to the section: the department
    case = Case.objects.get(number=number)
    case.path = __import__("gridgov.cases.models", fromlist=["RoutingPath"]).RoutingPath.objects.get(code="grid_community_section")
    case.save(update_fields=["path"])
    case_services.escalate(case, people["lic"], note="转城管办")
    got = js(client.get(url))[0]
    assert got["agency_responsible"] == "城市管理办公室" and got["status_notes"] == "已升级办理"
    assert got["updated_datetime"] >= got["requested_datetime"]


def test_closed_status_and_filters(post, client, people):
    p = people
    n1 = js(post())[0]["service_request_id"]
    n2 = js(post(service_code="CC01", description="垃圾堆在路边没人清"))[0]["service_request_id"]
    case = Case.objects.get(number=n1)
    case_services.accept(case, p["gl"])
    case_services.resolve(case, p["gl"], note="已更换灯泡")
    assert js(client.get(f"{V2}/requests/{n1}.json"))[0]["status"] == "open"  # resolved, awaiting verification
    case_services.verify(case, p["cstaff"], note="核查通过")
    case_services.close(case, p["cstaff"], note="已结案")
    got = js(client.get(f"{V2}/requests/{n1}.json"))[0]
    assert got["status"] == "closed" and got["expected_datetime"] is None and got["status_notes"] == "已结案"
    ids = lambda q: [r["service_request_id"] for r in js(client.get(f"{V2}/requests.json", q))]  # noqa: E731
    assert ids({}) == [n2, n1]
    assert ids({"status": "closed"}) == [n1]
    assert ids({"status": "open"}) == [n2]
    assert ids({"status": "open,closed"}) == [n2, n1]
    assert ids({"service_code": "CC01"}) == [n2]
    assert ids({"service_code": "CC01,PS01"}) == [n2, n1]
    assert ids({"service_request_id": f"{n1},nope", "status": "open"}) == [n1]  # ids override the rest
    now = timezone.localtime()
    assert ids({"start_date": (now - dt.timedelta(days=1)).isoformat(), "end_date": (now + dt.timedelta(days=1)).isoformat()}) == [n2, n1]
    assert ids({"start_date": (now + dt.timedelta(days=1)).isoformat()}) == []
    assert ids({"end_date": (now - dt.timedelta(days=1)).date().isoformat()}) == []
    root = xml(client.get(f"{V2}/requests.xml", {"status": "closed"}))
    assert [r.find("service_request_id").text for r in root.findall("request")] == [n1]
    assert root.find("request/status").text == "closed"


def test_query_errors(client, taxonomy):
    for q, words in [
        ({"status": "pending"}, "status"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"start_date": "2025-01-01T00:00:00Z", "end_date": "2025-06-01T00:00:00Z"}, "90 days"),
        ({"start_date": "2025-02-01T00:00:00Z", "end_date": "2025-01-01T00:00:00Z"}, "before"),
    ]:
        for fmt in ("json", "xml"):
            r = client.get(f"{V2}/requests.{fmt}", q)
            assert r.status_code == 400
            text = r.content.decode()
            assert words in text
    assert client.put(f"{V2}/services.json").status_code == 400


def test_default_window_is_90_days_and_paged(client, people):
    old = case_services.submit_case(reporter=None, channel="api", text="路灯坏了", lon=P_C1G1[0], lat=P_C1G1[1])[0]
    Case.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=91))
    assert js(client.get(f"{V2}/requests.json")) == []
    with mock.patch.object(services, "DEFAULT_PAGE_SIZE", 3):
        for _ in range(4):
            case_services.submit_case(reporter=None, channel="api", text="路灯坏了", lon=P_C1G1[0], lat=P_C1G1[1])
        assert len(js(client.get(f"{V2}/requests.json"))) == 3
        assert len(js(client.get(f"{V2}/requests.json", {"page": 2}))) == 1


# --- privacy and escaping ----------------------------------------------------------------------


def test_no_personal_data_in_any_public_response(post, client, people, report):
    r = post(email="zhang.san@example.org", phone="13800138000", first_name="三", last_name="张", device_id="DEVICE-XYZ",
             account_id="ACCOUNT-777", description="路灯坏了，联系我13912345678，身份证110106199001011234")
    number = js(r)[0]["service_request_id"]
    # a resident's report through the app: its text (with a name and a phone) is not published
    mine = report(text="我是3号楼王五，电话13700001111，楼下路灯坏了")
    bodies = [
        client.get(f"{V2}/requests/{number}.json").content, client.get(f"{V2}/requests/{number}.xml").content,
        client.get(f"{V2}/requests.json").content, client.get(f"{V2}/requests.xml").content,
        client.get(f"{V2}/requests/{mine.number}.json").content, r.content,
    ]
    text = b"".join(bodies).decode()
    for secret in ("zhang.san", "13800138000", "DEVICE-XYZ", "ACCOUNT-777", "13912345678", "110106199001011234",
                   "13700001111", "王五", "resident", "gl", '"三"', "张"):
        assert secret not in text, secret
    got = js(client.get(f"{V2}/requests/{number}.json"))[0]
    assert got["description"] == "路灯坏了，联系我139****5678，身份证110***********1234"
    other = js(client.get(f"{V2}/requests/{mine.number}.json"))[0]
    assert other["description"] is None and other["address"] == mine.grid.name == "第1社区第1网格第1微网格"
    assert other["lat"] == round(mine.lat, 4)


def test_hostile_text_is_escaped_in_xml_and_json(post, client, people):
    hostile = 'a</description><x>&amp;<![CDATA[ ]]> "q" \'s\' \x01\x0b end'
    r = post(fmt="xml", description=hostile, address_string="<b>&lt;</b>")
    assert r.status_code == 201
    number = xml(r).find("request/service_request_id").text
    root = xml(client.get(f"{V2}/requests/{number}.xml"))  # parses: well-formed
    assert root.find("request/description").text == hostile.replace("\x01", "\ufffd").replace("\x0b", "\ufffd")
    assert root.find("request/address").text == "<b>&lt;</b>"
    assert root.find("request/x") is None
    assert js(client.get(f"{V2}/requests/{number}.json"))[0]["description"] == hostile
    listing = xml(client.get(f"{V2}/requests.xml"))
    assert len(listing.findall("request")) == 1


def test_get_is_public_and_cors_open(client, taxonomy):
    r = client.get(f"{V2}/services.json")
    assert r.status_code == 200 and r["Access-Control-Allow-Origin"] == "*"


# --- keys and the command ----------------------------------------------------------------------


def test_apikey_command_create_list_revoke(db):
    out, err = io.StringIO(), io.StringIO()
    call_command("apikey", "create", "partner-app", "--rate", "10", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    key = ApiKey.objects.get(name="partner-app")
    assert raw.startswith(f"gg_{key.prefix}_") and "shown only now" in err.getvalue()
    assert raw not in key.secret_hash and len(key.secret_hash) == 64 and key.rate_per_minute == 10
    assert services.authenticate(raw) == key
    out = io.StringIO()
    call_command("apikey", "list", stdout=out)
    assert "partner-app" in out.getvalue() and key.prefix in out.getvalue() and raw not in out.getvalue()
    call_command("apikey", "revoke", key.prefix, stdout=io.StringIO())
    key.refresh_from_db()
    assert key.revoked and key.revoked_at
    with pytest.raises(services.Open311Error) as e:
        services.authenticate(raw)
    assert e.value.code == 403
    out = io.StringIO()
    call_command("apikey", "list", stdout=out)
    assert "revoked" in out.getvalue()
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("apikey", "create", "partner-app", stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError):
        call_command("apikey", "revoke", "nobody", stdout=io.StringIO())
