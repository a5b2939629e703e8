"""Script and template injection through every public door, checked on every page that shows it.

The usual payloads go in through the doors outsiders and residents use (POST /api/cases/ text and
address, a rating comment, a join, Open311 POST description/address_string, the mobile
registration's display name, hotline ticket import content and address, registry imports of
resident, place and organization names); then every page that shows them is parsed
(html.parser) and must hold no element, event handler or javascript: URL from a payload, and
must show each payload as text, literally (so `{{7*7}}` is not 49 and `{% debug %}` is not a
dump). Open311 XML is parsed with ElementTree and JSON with json: the text round-trips."""

import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from django.core.management import call_command
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from gridgov.accounts.models import Role
from gridgov.cases.models import Case
from gridgov.cases.tests.conftest import PNG, P_C1G1, fast_passwords_and_scratch_media, people, taxonomy  # noqa: F401
from gridgov.registry.models import Organization, Place, Resident
from gridgov.registry.tests.conftest import make_id, write_csv
from gridgov.testing import make_user, sent_code

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "<svg onload=alert(1)>",
    "{{7*7}}",
    "{% debug %}",
    "'\" onmouseover=alert(1) x='",
    "</textarea><script>alert(2)</script>",
    '<a href="javascript:alert(1)">x</a>',
    "<iframe src=javascript:alert(1)></iframe>",
]
# the display name is at most 30 characters: the shorter payloads, one per registered resident
SHORT = [p for p in PAYLOADS if len(p) <= 30]
TEXT = "路灯坏了 " + " ".join(PAYLOADS)
ADDRESS = "阳光小区 " + " ".join(PAYLOADS[:4])
COMMENT = "评价 " + " ".join(PAYLOADS)
NOTE = "处置说明 " + " ".join(PAYLOADS)
URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background"}


class _Scan(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.bad, self.text, self._script = [], [], False

    def handle_starttag(self, tag, attrs):
        self._check(tag, attrs)
        self._script = tag == "script"

    def handle_startendtag(self, tag, attrs):
        self._check(tag, attrs)

    def handle_endtag(self, tag):
        self._script = False

    def _check(self, tag, attrs):
        if tag in ("svg", "iframe", "object", "embed"):
            self.bad.append(f"<{tag}> element")
        if tag == "img" and dict(attrs).get("src") == "x":
            self.bad.append("injected <img src=x>")
        for name, value in attrs:
            if name.startswith("on"):
                self.bad.append(f"<{tag} {name}=…> event handler")
            if name in ("x",):
                self.bad.append(f"<{tag} {name}=…> attribute from a broken quote")
            if name in URL_ATTRS and (value or "").strip().lower().replace("\t", "").startswith("javascript:"):
                self.bad.append(f"<{tag} {name}={value!r}> javascript: URL")

    def handle_data(self, data):
        if self._script and "alert(" in data:
            self.bad.append(f"live script {data!r}")
        self.text.append(data)


def assert_inert(resp, *shown):
    """The page is 200 HTML, has nothing alive from a payload and shows each of `shown` as text."""
    assert resp.status_code == 200, (resp.status_code, resp.content[:300])
    html = resp.content.decode()
    scan = _Scan()
    scan.feed(html)
    scan.close()
    assert not scan.bad, (resp.request["PATH_INFO"], scan.bad)
    text = "".join(scan.text)
    for s in shown:
        assert s in text, (resp.request["PATH_INFO"], s)
    assert "sql_queries" not in html  # what {% debug %} would dump
    return text


def client_for(user):
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def world(people, street, tmp_path, settings):
    settings.DATA_DIR = tmp_path  # no trained hotline classifier here: imports stay fast
    resident, gl, sec = people["resident"], people["gl"], people["sec"]
    r = client_for(resident)
    # 1. a resident's report: text and address, through the API
    resp = r.post("/api/cases/", {"text": TEXT, "address": ADDRESS, "lon": P_C1G1[0], "lat": P_C1G1[1], "item": "PS01"})
    assert resp.status_code == 201, resp.content
    case = Case.objects.get(pk=resp.json()["id"])
    assert not case.held and case.text == TEXT and case.address == ADDRESS
    # 2. handled, verified, then rated with a comment
    for action in ("accept", "arrive"):
        assert client_for(gl).post(f"/api/cases/{case.pk}/actions/{action}", {"note": NOTE},
                                   content_type="application/json").status_code == 200
    done = SimpleUploadedFile("done.png", PNG, content_type="image/png")  # on site: with a photo
    assert client_for(gl).post(f"/api/cases/{case.pk}/resolve", {"note": NOTE, "photos": [done]}).status_code == 200
    assert client_for(sec).post(f"/api/cases/{case.pk}/actions/verify", {}, content_type="application/json").status_code == 200
    resp = r.post(f"/api/cases/{case.pk}/rate", {"score": "satisfied", "comment": COMMENT}, content_type="application/json")
    assert resp.status_code == 200, resp.content
    # 3. residents registering on the mobile pages with payload names; one files a report, one joins it
    names = []
    for i, name in enumerate(SHORT):
        m = Client()
        resp = m.post("/m/register/", {"phone": f"1390000{i:04d}", "display_name": name,
                                        "password": "a-long-pass-9x", "password2": "a-long-pass-9x"})
        assert resp.status_code == 302, resp.content[:500]
        resp = m.post("/m/register/", {"code": sent_code(f"1390000{i:04d}")})
        assert resp.status_code == 302, resp.content[:500]
        names.append(m)
    resp = names[0].post("/api/cases/", {"text": "垃圾满了 " + SHORT[1], "lon": P_C1G1[0], "lat": P_C1G1[1], "item": "PS01"})
    assert resp.status_code == 201, resp.content
    second = Case.objects.get(pk=resp.json()["id"])
    for m in names[1:]:
        resp = m.post(f"/api/cases/{second.pk}/join", {"lon": P_C1G1[0], "lat": P_C1G1[1]}, content_type="application/json")
        assert resp.status_code == 200, resp.content
    # 4. Open311 with an API key; a javascript: media_url is refused
    from gridgov.open311 import services as o311

    _, raw = o311.create_key("xss-client", rate_per_minute=0)
    anon = Client()
    base = {"api_key": raw, "service_code": "PS01", "lat": str(P_C1G1[1]), "long": str(P_C1G1[0])}
    bad = anon.post("/open311/v2/requests.json", {**base, "description": "x", "media_url": "javascript:alert(1)"})
    assert bad.status_code == 400 and "media_url" in bad.content.decode()
    resp = anon.post("/open311/v2/requests.json", {**base, "description": TEXT, "address_string": ADDRESS})
    assert resp.status_code == 201, resp.content
    o311_case = Case.objects.get(number=resp.json()[0]["service_request_id"])
    # 5. registry imports: one name per payload
    res_rows = [["姓名", "身份证号", "所属网格"]] + [[p, make_id("19800101", i + 1), street["c1g1m1"].code] for i, p in enumerate(PAYLOADS)]
    place_rows = [["场所名称", "场所类型", "地址", "经度", "纬度"]] + [[p, "党群服务中心", p, P_C1G1[0], P_C1G1[1]] for p in PAYLOADS]
    org_rows = [["单位名称", "单位类型", "地址", "所属网格"]] + [[p, "物业公司", p, street["c1g1m1"].code] for p in PAYLOADS]
    for kind, rows in (("residents", res_rows), ("places", place_rows), ("organizations", org_rows)):
        call_command("import", kind, str(write_csv(tmp_path / f"{kind}.csv", rows)))
    assert set(Resident.objects.values_list("name", flat=True)) >= set(PAYLOADS)
    assert set(Place.objects.values_list("name", flat=True)) >= set(PAYLOADS)
    assert set(Organization.objects.values_list("name", flat=True)) >= set(PAYLOADS)
    # 6. hotline tickets: content and address, unsolved and unsatisfied (so the monthly report lists them)
    head = ["ticket_id", "received_at", "content", "category", "address", "community", "lat", "lon", "contacted", "solved", "satisfaction"]
    rows = [[f"X{i}", "2024-03-05 09:30", p + " 楼道堆物", "城乡建设/物业管理", p, "", str(P_C1G1[1]), str(P_C1G1[0]), "否", "否", "不满意"]
            for i, p in enumerate(PAYLOADS)]
    call_command("hotline", "import", str(write_csv(tmp_path / "t.csv", [head, *rows])))
    leader = make_user("xss_leader", Role.LEADER)
    return {"case": case, "second": second, "o311": o311_case, "resident": resident, "leader": leader, "mobile": names}


def test_staff_pages_show_payloads_as_text(world):
    staff = client_for(world["leader"])
    case, second, o311 = world["case"], world["second"], world["o311"]
    assert_inert(staff.get("/"), "路灯坏了 <script>alert(1)</script>")
    assert_inert(staff.get(f"/cases/{case.pk}/"), TEXT, ADDRESS, COMMENT, NOTE)
    assert_inert(staff.get(f"/cases/{second.pk}/"), *SHORT)  # reporter and followers' names
    assert_inert(staff.get(f"/cases/{o311.pk}/"), TEXT, ADDRESS)
    for kind in ("residents", "places", "organizations"):
        assert_inert(staff.get(f"/records/{kind}/"), *PAYLOADS)
    for r in Resident.objects.filter(name__in=PAYLOADS):
        assert_inert(staff.get(f"/residents/{r.pk}/"), r.name)
    assert_inert(staff.get("/hotline/report/2024-03/"), *(p + " 楼道堆物" for p in PAYLOADS))  # dragging tickets


def test_hotline_office_pages_show_payloads_as_text(world):
    """The 12345 office's pages: ticket contents and addresses from the import, and what staff
    type (a category's free levels, a project's title, owner and milestone) shown as text."""
    from gridgov.hotline.models import ProactiveProject, Ticket

    staff = client_for(world["leader"])
    tickets = list(Ticket.objects.filter(ticket_id__startswith="X").order_by("ticket_id"))
    assert len(tickets) == len(PAYLOADS)
    hx = {"HX-Request": "true"}
    for t, p in zip(tickets, PAYLOADS):
        assert staff.post(f"/hotline/tickets/{t.pk}/category/", {"category_l1": "城乡建设", "category_l2": p[:100]},
                          headers=hx).status_code == 200
        assert_inert(staff.get(f"/hotline/tickets/{t.pk}/"), t.content, t.address_text, f"城乡建设/{p}")
    assert_inert(staff.get("/hotline/tickets/", {"month": "2024-03"}), *(f"城乡建设/{p}" for p in PAYLOADS))
    assert_inert(staff.get("/hotline/topics/", {"month": "2024-03"}))
    r = staff.post("/hotline/projects/new/", {"title": "项目 " + PAYLOADS[0], "owner": PAYLOADS[1][:100],
                                              "description": " ".join(PAYLOADS), "grid": tickets[0].grid.code,
                                              "ticket_ids": [t.pk for t in tickets]})
    assert r.status_code == 302, r.content[:300]
    p = ProactiveProject.objects.get()
    assert staff.post(f"/hotline/projects/{p.pk}/milestones/", {"title": PAYLOADS[2]}).status_code == 302
    assert_inert(staff.get("/hotline/projects/"), "项目 " + PAYLOADS[0], PAYLOADS[1])
    assert_inert(staff.get(f"/hotline/projects/{p.pk}/"), "项目 " + PAYLOADS[0], PAYLOADS[1], *PAYLOADS, PAYLOADS[2])


def test_mobile_pages_show_payloads_as_text(world):
    r = client_for(world["resident"])
    case = world["case"]
    assert_inert(r.get("/m/cases/"), case.number)
    assert_inert(r.get(f"/m/cases/{case.pk}/"), TEXT, ADDRESS, COMMENT, NOTE)  # text, address, rating, timeline
    assert_inert(world["mobile"][0].get("/m/cases/"))
    assert_inert(world["mobile"][0].get(f"/m/cases/{world['second'].pk}/"), SHORT[1])
    assert_inert(world["mobile"][0].get("/m/"))


def test_open311_round_trips_payloads_as_text(world):
    number = world["o311"].number
    anon = Client()
    xml = anon.get(f"/open311/v2/requests/{number}.xml")
    assert xml.status_code == 200
    root = ET.fromstring(xml.content)
    req = root.find("request")
    assert req.findtext("description") == TEXT and req.findtext("address") == ADDRESS
    assert not [e.tag for e in root.iter() if e.tag in ("script", "img", "svg", "iframe", "a")]
    listed = ET.fromstring(anon.get(f"/open311/v2/requests.xml?service_request_id={number}").content)
    assert listed.find("request").findtext("description") == TEXT
    body = json.loads(anon.get(f"/open311/v2/requests/{number}.json").content)
    assert body[0]["description"] == TEXT and body[0]["address"] == ADDRESS
