"""The interface in Chinese by default and in English on request (docs/architecture.md,
"Languages"): Accept-Language and the header's switch (a cookie) pick English; the pages'
navigation, headings, labels and buttons are then English while user data (names, addresses,
report texts) stays as entered; the choice labels and the scripts' catalogue follow."""

import ast
import gettext
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template.base import Lexer, TokenType
from django.utils import translation
from django.utils.translation.template import templatize

from gridgov.accounts.models import Duty, Role
from gridgov.core.i18n import read_po
from gridgov.testing import make_user

PASSWORD = "a-long-test-password-1"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
# Chinese characters and full-width punctuation
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
#: elements whose text is the interface's (not user data) on the pages checked here
CHROME_TAGS = ("nav", "h2", "th", "label", "button", "legend", "summary", "caption", "dt")
CHROME_ATTRS = ("aria-label", "placeholder", "title", "alt")


def leftover_chinese(html: str, data=()) -> list[str]:
    """Interface text still in Chinese: the text of CHROME_TAGS and CHROME_ATTRS, after the
    language switch (whose 中文 is meant) and the given user data are taken out."""
    html = re.sub(r'<form class="lang".*?</form>', "", html, flags=re.S)
    html = re.sub(r'<script\b.*?</script>', "", html, flags=re.S)  # json_script data blocks
    for d in sorted(data, key=len, reverse=True):
        html = html.replace(d, "")
    found = []
    for tag in CHROME_TAGS:
        for inner in re.findall(rf"<{tag}\b[^>]*>(.*?)</{tag}>", html, flags=re.S):
            text = re.sub(r"<[^>]+>", " ", inner)
            if CJK.search(text):
                found.append(f"<{tag}> {text.strip()[:80]}")
    for attr in CHROME_ATTRS:
        for value in re.findall(rf'\b{attr}="([^"]*)"', html):
            if CJK.search(value):
                found.append(f"{attr}={value[:80]}")
    return found


@pytest.fixture
def world(street, settings, tmp_path):
    from gridgov.cases import services
    from gridgov.cases.taxonomy import seed_taxonomy

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path / "media")
    seed_taxonomy()
    gl = make_user("gl", Role.GRID_LEADER, [street["c1g1"]], duty=Duty.LEADER)
    leader = make_user("boss", Role.LEADER)
    make_user("sec", Role.COMMUNITY_SECRETARY, [street["c1"]], duty=Duty.SECRETARY)
    resident = make_user("resident", Role.RESIDENT)
    case, _ = services.submit_case(reporter=resident, channel="resident", text="小区门口的路灯坏了，晚上一片漆黑",
                                   lon=116.383, lat=39.787)
    return {"street": street, "gl": gl, "leader": leader, "resident": resident, "case": case}


def _data(world):
    """The user data the pages show (Chinese whatever the language)."""
    s, case = world["street"], world["case"]
    names = [n.name for n in s.values()]
    return [case.text, case.number, case.item.name if case.item_id else "", *names, "gl", "boss", "sec", "resident"]


# --- default Chinese, Accept-Language, the switch ------------------------------------------------


def test_default_is_chinese_and_accept_language_en_gives_english(client, db):
    page = client.get("/login/").content.decode()
    assert '<html lang="zh-hans">' in page and "<h1>登录</h1>" in page and "用户名" in page
    r = client.get("/login/", **EN)
    page = r.content.decode()
    assert '<html lang="en">' in page and "<h1>Log in</h1>" in page and ">User name</label>" in page
    assert "Accept-Language" in r["Vary"]
    # the login page holds no user data: no Chinese at all but the switch's own 中文
    assert not CJK.search(re.sub(r'<form class="lang".*?</form>', "", page, flags=re.S))


def test_language_switch_posts_to_set_language_and_the_cookie_persists(client, db):
    page = client.get("/login/").content.decode()
    # a POST form with CSRF in the header, no script
    form = re.search(r'<form class="lang" method="post" action="/i18n/setlang/">.*?</form>', page, re.S).group(0)
    assert "csrfmiddlewaretoken" in form and 'name="language" value="en"' in form and 'value="zh-hans"' in form
    assert 'aria-current="true">中文' in form
    r = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert r.status_code == 302 and r["Location"] == "/login/"
    cookie = r.cookies["django_language"]
    assert cookie.value == "en" and int(cookie["max-age"]) >= 365 * 24 * 3600 and cookie["samesite"] == "Lax"
    page = client.get("/login/").content.decode()  # no Accept-Language: the cookie decides
    assert "<h1>Log in</h1>" in page and 'aria-current="true">English' in page
    # the cookie wins over the browser's language, and back to Chinese
    assert "<h1>Log in</h1>" in client.get("/login/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/"})
    assert "<h1>登录</h1>" in client.get("/login/", **EN).content.decode()


def test_set_language_needs_csrf(db):
    from django.test import Client

    r = Client(enforce_csrf_checks=True).post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert r.status_code == 403


# --- the staff pages ----------------------------------------------------------------------------


def test_workbench_and_case_page_in_english(client, world):
    client.force_login(world["gl"])
    case = world["case"]
    page = client.get("/", **EN).content.decode()
    assert "<h1>Workbench</h1>" in page and ">Territory</a>" in page and ">Log out</button>" in page
    assert "Grid leader" in page  # the role label in the header
    assert ">To do <b>" in page and ">Time limits (accept / arrive / resolve)</th>" in page
    assert leftover_chinese(page, _data(world)) == []
    page = client.get(f"/cases/{case.pk}/", **EN).content.decode()
    assert f"<title>Case {case.number} · gridgov</title>" in page
    assert "<dt>Source</dt><dd>Resident report" in page and "<h2>Timeline</h2>" in page
    assert "<strong>Reported</strong> · resident" in page  # the timeline
    assert re.search(r"(Acceptance|Arrival|Resolution) [\w ]+ (left|overdue)", page)  # clocks
    assert leftover_chinese(page, _data(world)) == []
    # Chinese by default, as before
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "<h2>办理经过</h2>" in page and "<dt>来源</dt><dd>居民上报" in page


def test_case_action_messages_in_english(client, world):
    client.force_login(world["gl"])
    case = world["case"]
    assert case.state == "dispatched"
    r = client.post(f"/cases/{case.pk}/act/arrive/", HTTP_HX_REQUEST="true", **EN)  # not accepted yet
    assert r.content.decode().startswith('<p class="error" role="alert">The case has changed, reload the page: ')
    r = client.post(f"/cases/{case.pk}/act/accept/", {"from": "row"}, HTTP_HX_REQUEST="true", **EN)
    row = r.content.decode()
    assert '<p class="ok" role="status">Accepted</p>' in row and ">Arrive</button>" in row
    assert leftover_chinese(row, _data(world)) == []


def test_base_data_pages_translate_choice_labels_but_not_data(client, world):
    from gridgov.registry.models import Resident

    r = Resident(name="张三丰", grid=world["street"]["c1g1m1"], gender="M", tags=["elderly", "living_alone"])
    r.set_personal("phone", "13812345678")
    r.save()
    client.force_login(world["leader"])
    page = client.get("/records/residents/", **EN).content.decode()
    assert "<h1>Residents" in page and ">Gender</th>" in page and "<td>Male</td>" in page
    assert "Elderly, Living alone" in page and "张三丰" in page and "1 record" in page
    assert leftover_chinese(page, ["张三丰", *_data(world)]) == []
    page = client.get(f"/residents/{r.pk}/", **EN).content.decode()
    assert "<dt>Gender</dt><dd>Male</dd>" in page and "<dt>Residence type</dt><dd>Registered</dd>" in page
    assert "<dd>男</dd>" in client.get(f"/residents/{r.pk}/").content.decode()
    page = client.get("/territory/", **EN).content.decode()
    assert "<h1>Territory overview</h1>" in page and "<span>Community/village</span>" in page
    page = client.get("/imports/", **EN).content.decode()
    assert ">Residents</option>" in page and "<h1>Import and export base data</h1>" in page


def test_dashboard_and_map_in_english(client, world):
    client.force_login(world["leader"])
    page = client.get("/dashboard/", **EN).content.decode()
    assert "<h1>Dashboard</h1>" in page and "<h2>Cases by month</h2>" in page
    assert leftover_chinese(page, _data(world)) == []
    page = client.get("/map/", **EN).content.decode()
    assert "<h1>Grid map</h1>" in page and "Grid workers</label>" in page
    assert leftover_chinese(page, _data(world)) == []
    page = client.get("/screen/", **EN).content.decode()
    assert '<html lang="en">' in page and "grid governance command screen" in page
    # the figures the dashboard draws carry translated labels
    stats = client.get("/api/insight/stats", **EN).json()
    assert {r["label"] for r in stats["by_channel"]} >= {"Resident report", "Hotline"}
    assert "Satisfied" in {r["label"] for r in stats["satisfaction"]}
    assert "居民上报" in {r["label"] for r in client.get("/api/insight/stats").json()["by_channel"]}


def test_monthly_report_in_english(client, world):
    from gridgov.hotline.tests.util import ticket

    for i in range(3):
        ticket(f"R{i}", "2024-03", world["street"]["c1g1m1"])
    client.force_login(world["leader"])
    page = client.get("/hotline/report/2024-03/", **EN).content.decode()
    assert "12345 hotline (接诉即办) monthly report · 2024-03" in page
    assert "<h2>The three rates and ranking</h2>" in page and "Too few tickets" in page
    assert leftover_chinese(page.replace("(接诉即办)", ""), _data(world)) == []
    assert "<h2>三率与排名</h2>" in client.get("/hotline/report/2024-03/").content.decode()


def _visible_chinese(html: str, data=()) -> list[str]:
    """Every text of the page's main part (and its attributes) still in Chinese once the given
    user data is taken out: stricter than `leftover_chinese`, for pages whose data is known."""
    html = html.split("<main", 1)[-1]
    html = re.sub(r'<script\b.*?</script>', "", html, flags=re.S)
    for d in sorted(data, key=len, reverse=True):
        html = html.replace(d, "")
    return sorted({t.strip()[:60] for t in re.split(r"<[^>]*?>", html) if CJK.search(t)} |
                  {v[:60] for v in re.findall(r'\b(?:aria-label|placeholder|title|alt)="([^"]*)"', html) if CJK.search(v)})


def test_hotline_office_pages_in_english(client, world):
    """The 12345 pages (tickets, a ticket, the address queue, topics, projects and a project with
    its history) in English for a leader; the tickets' text, places and categories stay as
    imported, and the default stays Chinese."""
    from gridgov.hotline import services
    from gridgov.hotline.models import Ticket
    from gridgov.hotline.tests.util import make_places, ticket

    s, leader = world["street"], world["leader"]
    places = make_places(s)
    for i in range(3):
        ticket(f"T{i}", "2024-03", s["c1g1m1"], content="小区门口路灯不亮，晚上看不见路", address=places["yg3"],
               contacted=i != 0, solved=i != 1, valid=i != 2)
    pending = ticket("P1", "2024-03", None, content="楼道灯坏了")
    Ticket.objects.filter(pk=pending.pk).update(
        address_match="pending", address_text="幸福里", community_text="第一社区",
        address_candidates=[{"id": a.id, "text": a.text, "score": 0.61, "grid_id": a.grid_id,
                             "community_id": a.community_id} for a in (places["xf1"], places["xf2"])])
    p = services.create_project(leader, title="阳光星苑路灯改造", grid=s["c1g1m1"], category_l1="城乡建设",
                                category_l2="物业管理", tickets=Ticket.objects.all(), funding_source="party_fund")
    m = services.add_milestone(leader, p, "勘察")
    services.update_milestone(leader, m, 50)
    services.set_project_status(leader, p, "approved")
    data = [*_data(world), "阳光星苑路灯改造", "勘察", "小区门口路灯不亮，晚上看不见路", "楼道灯坏了", "幸福里",
            "第一社区", "城乡建设", "物业管理", "阳光星苑", *(a.text for a in places.values()),
            *services.category_labels(), *services.category_level2_names()]  # the taxonomy's names
    client.force_login(leader)

    page = client.get("/hotline/tickets/", **EN).content.decode()
    assert "<h1>12345 tickets</h1>" in page and ">Category source</label>" in page and "4 tickets" in page
    assert ">Not contacted</td>" in page and ">Not assessed</span>" in page and ">City category" in page
    assert "Not contacted (lowers the response rate)" in page and ">Yes</option>" in page
    assert leftover_chinese(page, data) == [] and _visible_chinese(page, data) == []
    t = Ticket.objects.get(ticket_id="T0")
    page = client.get(f"/hotline/tickets/{t.pk}/", **EN).content.decode()
    assert "<h1>Ticket T0" in page and "<dt>Response (contacted)</dt><dd>Not contacted</dd>" in page
    assert "<h2>Proactive projects</h2>" in page and "This ticket has no street case." in page
    assert leftover_chinese(page, data) == [] and _visible_chinese(page, data) == []
    page = client.get("/hotline/addresses/", **EN).content.decode()
    assert "<h1>Addresses to confirm</h1>" in page and "The address of the 1 ticket below" in page
    assert "Community given: " in page and "match 0.61" in page and 'aria-label="Confirm address: ' in page
    assert leftover_chinese(page, data) == [] and _visible_chinese(page, data) == []
    page = client.get("/hotline/topics/?month=2024-03", **EN).content.decode()
    assert "Topics of the month · 2024-03" in page and "3 tickets" in page and ">Funding source</label>" in page
    assert "Party organization service fund" in page
    # the suggested title of a new project is data (the project keeps it): Chinese, like the places
    titles = re.findall(r'name="title" value="([^"]*)"', page)
    assert titles and leftover_chinese(page, data + titles) == [] and _visible_chinese(page, data + titles) == []
    page = client.get("/hotline/projects/", **EN).content.decode()
    assert "<h1>Proactive projects</h1>" in page and "Party organization service fund" in page
    assert leftover_chinese(page, data) == [] and _visible_chinese(page, data) == []
    page = client.get(f"/hotline/projects/{p.pk}/", **EN).content.decode()
    assert "Milestone “勘察” progress 0% → 50%" in page and "Status “Proposed” → “Approved”" in page
    assert "<strong>Change status</strong>" in page and "Linked tickets (4)" in page
    assert leftover_chinese(page, data) == [] and _visible_chinese(page, data) == []
    r = client.post(f"/hotline/projects/{p.pk}/milestones/", {"title": ""}, HTTP_HX_REQUEST="true", **EN)
    assert "Enter a milestone title." in r.content.decode()

    page = client.get(f"/hotline/projects/{p.pk}/").content.decode()  # default: Chinese
    assert "节点「勘察」进度 0% → 50%" in page and "<h2>处理记录</h2>" in page
    assert "<h1>12345 工单</h1>" in client.get("/hotline/tickets/").content.decode()


# --- the phone pages ------------------------------------------------------------------------------


def test_phone_pages_in_english(client, world):
    page = client.get("/m/login/", **EN).content.decode()
    assert "<h1>Log in</h1>" in page and "Mobile number or user name" in page
    page = client.get("/m/register/", **EN).content.decode()
    assert ">Mobile number</label>" in page and "Send me a code" in page
    r = client.post("/m/register/", {"phone": "123", "password": "x", "password2": "y"}, **EN)
    assert "Enter an 11-digit mobile number" in r.content.decode()
    client.force_login(world["resident"])
    page = client.get("/m/", **EN).content.decode()
    assert '<html lang="en">' in page and "<h1>Report</h1>" in page and ">What happened?</label>" in page
    assert ">Send report</button>" in page and 'src="/jsi18n/?lang=en"' in page
    assert leftover_chinese(page, _data(world)) == []
    page = client.get("/m/cases/", **EN).content.decode()
    assert "<h1>My cases</h1>" in page and ">Dispatched</span>" in page
    page = client.get(f"/m/cases/{world['case'].pk}/", **EN).content.decode()
    assert "<h2>Progress</h2>" in page and "System · Dispatched" in page
    assert leftover_chinese(page, _data(world)) == []
    assert "<h2>办理进展</h2>" in client.get(f"/m/cases/{world['case'].pk}/").content.decode()


# --- choice labels ----------------------------------------------------------------------------------


def test_choice_labels_translate_and_stay_chinese_by_default(world):
    from gridgov.cases.models import Channel, ClockKind, Score, State
    from gridgov.geo.levels import level_label
    from gridgov.hotline.models import Satisfaction

    case = world["case"]
    assert State.SUBMITTED.label == "已上报" and Channel.HOTLINE.label == "热线"
    assert world["gl"].role_label == "网格长" and case.get_channel_display() == "居民上报"
    with translation.override("en"):
        assert State.SUBMITTED.label == "Submitted" and State.CLOSED.label == "Closed"
        assert Channel.HOTLINE.label == "Hotline" and Score.BASIC.label == "Basically satisfied"
        assert ClockKind.ACCEPT.label == "Acceptance" and Satisfaction.EMPTY.label == "Not rated"
        assert world["gl"].role_label == "Grid leader" and isinstance(world["gl"].role_label, str)
        assert dict(Role.choices)[Role.VOLUNTEER] == "Volunteer"
        assert case.get_channel_display() == "Resident report" and level_label(2) == "Grid"


def test_stored_texts_stay_chinese_whatever_the_language(world):
    """History notes and notifications are data: written in the source language even when an
    English user acts; input in either language's labels is understood."""
    from gridgov.cases import services
    from gridgov.cases.models import Notification
    from gridgov.cases.taxonomy import urgency_by_label

    case = world["case"]
    with translation.override("en"):
        assert urgency_by_label()["紧急"] == "emergency"
        services.escalate(case, world["leader"], "")  # the grid leader's path goes to the community
        assert str(case.get_handler_level_display()) == "Community secretary"
        with pytest.raises(services.Conflict):  # "Satisfied" is understood: the case is not ratable yet
            services.rate(case, world["resident"], "Satisfied")
    title = Notification.objects.filter(recipient=world["resident"], kind="progress").latest("id").title
    assert title == "事件已升级至社区书记"


def test_open311_answers_stay_chinese(client, world):
    """The Open311 server speaks to the city's systems: its labels do not follow Accept-Language."""
    d = client.get("/open311/v2/services/PS01.json", **EN).json()
    urgency = d["attributes"][0]
    assert {"key": "major", "name": "大事"} in urgency["values"] and urgency["datatype_description"].startswith("默认：")
    assert "大事" in client.get("/open311/v2/services/PS01.xml", **EN).content.decode()


# --- the scripts' catalogue ------------------------------------------------------------------------


def test_javascript_catalogue_is_served_and_allowed_by_csp(client, world):
    r = client.get("/jsi18n/?lang=en")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/javascript")
    assert "max-age=3600" in r["Cache-Control"]  # one request per language and hour, not per page
    body = r.content.decode()
    assert '"\\u6b63\\u5728\\u53d1\\u9001\\u2026": "Sending\\u2026"' in body or '"正在发送…": "Sending…"' in body
    assert "function gettext" in body or "django.gettext" in body
    # the same catalogue whatever the cookie or Accept-Language: the URL names the language
    assert client.get("/jsi18n/?lang=en", HTTP_ACCEPT_LANGUAGE="zh-CN").content == r.content
    assert "Sending" not in client.get("/jsi18n/?lang=zh-hans", **EN).content.decode()
    assert "Sending" in client.get("/jsi18n/", **EN).content.decode()  # without lang: the request's
    # a script from this origin, which the policy allows; pages load it by src, never inline
    assert "script-src 'self'" in r["Content-Security-Policy"]
    client.force_login(world["leader"])
    for url in ("/", "/dashboard/", "/map/", "/screen/"):
        page = client.get(url, **EN).content.decode()
        assert '<script src="/jsi18n/?lang=en" defer></script>' in page, url
        assert not re.search(r'<script(?![^>]*(\bsrc=|type="application/json"))[^>]*>', page), url


def test_service_worker_keeps_both_catalogues(client, db):
    sw = b"".join(client.get("/m/sw.js").streaming_content).decode()
    assert '"/jsi18n/?lang=zh-hans", "/jsi18n/?lang=en"' in sw and 'url.pathname === "/jsi18n/"' in sw


# --- the English catalogues: complete and compiled ------------------------------------------------

GRIDGOV = Path(settings.BASE_DIR)
LOCALE = GRIDGOV / "locale" / "en" / "LC_MESSAGES"
CALLS = {"gettext", "gettext_lazy", "gettext_noop", "_", "ngettext", "ngettext_lazy",
         "pgettext", "pgettext_lazy", "npgettext", "npgettext_lazy"}
#: the templates and scripts whose text must be marked (the interface); other apps' pages,
#: exports and API messages stay Chinese (docs/architecture.md, "Languages")
TEMPLATES = sorted([*GRIDGOV.glob("web/templates/web/*.html"), *GRIDGOV.glob("mobile/templates/mobile/*.html"),
                    *GRIDGOV.glob("insight/templates/insight/*.html"), *GRIDGOV.glob("hotline/templates/hotline/*.html")])
SCRIPTS = sorted([*GRIDGOV.glob("mobile/static/mobile/*.js"), *GRIDGOV.glob("insight/static/insight/*.js"),
                  *GRIDGOV.glob("web/static/web/*.js")])
JS_GETTEXT = re.compile(r'\bgettext\("((?:[^"\\]|\\.)*)"\)')


def _key(context, msgid):
    return msgid if context is None else (context, msgid)


def _calls_in(code: str):
    """(context, msgid) of the gettext calls with literal arguments in Python-like code (a
    module, or a template after Django's `templatize`)."""
    out = []
    for m in re.finditer(r"(?<![\w.])(" + "|".join(CALLS) + r")\(", code):
        name, start = m.group(1), m.end()
        for end in (i for i, ch in enumerate(code[start:], start) if ch == ")"):
            try:
                args = ast.literal_eval("(" + code[start:end].replace(", count", "") + ",)")
            except (ValueError, SyntaxError):
                continue
            strings = [a for a in args if isinstance(a, str)]
            if strings:
                out.append(_key(strings[0], strings[1]) if name.startswith(("pgettext", "npgettext")) else strings[0])
            break
    return out


def marked(domain: str) -> set:
    """Every string the code marks for translation, in the domain's files."""
    if domain == "djangojs":
        scripts = [f for f in GRIDGOV.rglob("*.js") if "vendor" not in f.parts and "tests" not in f.parts]
        return {json.loads(f'"{m}"') for f in scripts for m in JS_GETTEXT.findall(f.read_text())}
    found = set()
    for f in GRIDGOV.rglob("*.html"):
        if "vendor" not in f.parts and "tests" not in f.parts:
            found.update(_calls_in(templatize(f.read_text(), origin=str(f))))
    for f in GRIDGOV.rglob("*.py"):
        if "tests" in f.parts or "migrations" in f.parts:
            continue
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in CALLS:
                args = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                if args:
                    found.add(_key(args[0], args[1]) if node.func.id.startswith(("pgettext", "npgettext")) else args[0])
    return found


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_every_marked_string_has_an_english_translation(domain):
    entries = {_key(e["context"], e["msgid"]): e for e in read_po(LOCALE / f"{domain}.po")}
    strings = marked(domain)
    assert len(strings) > 100
    missing = sorted(map(str, strings - set(entries)))
    assert missing == [], f"not in {domain}.po: run `make messages` and translate them"
    untranslated = [k for k, e in entries.items() if e["fuzzy"] or not all(e["msgstr"])]
    assert untranslated == []


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_the_compiled_catalogue_matches_the_po_file(domain):
    """The committed .mo is what `compilemessages` makes of the .po (no gettext needed to check)."""
    entries = read_po(LOCALE / f"{domain}.po")
    with (LOCALE / f"{domain}.mo").open("rb") as fh:
        mo = gettext.GNUTranslations(fh)
    wrong = []
    for e in entries:
        ctx, msgid = e["context"], e["msgid"]
        if e["plural"] is None:
            got = [mo.pgettext(ctx, msgid) if ctx else mo.gettext(msgid)]
        else:
            got = [mo.npgettext(ctx, msgid, e["plural"], n) if ctx else mo.ngettext(msgid, e["plural"], n) for n in (1, 2)]
        if got != e["msgstr"]:
            wrong.append((msgid, got, e["msgstr"]))
    assert wrong == [], f"{domain}.mo is stale: run `make messages`"
    # nothing compiled that the .po no longer has
    assert len({k if isinstance(k, str) else k[0] for k in mo._catalog if k}) == len(entries)


def test_interface_text_in_templates_and_scripts_is_marked():
    """Chinese text in the interface's templates and scripts is inside {% translate %},
    {% blocktranslate %}, _("…") or gettext("…"), so that the English pages have no
    untranslated leftovers (user data comes from variables and is never marked)."""
    unmarked = []
    for f in TEMPLATES:
        inside = False
        for t in Lexer(f.read_text()).tokenize():
            words = t.contents.split()
            if t.token_type == TokenType.BLOCK and words and words[0] in ("blocktranslate", "endblocktranslate"):
                inside = words[0] == "blocktranslate"
                continue
            if inside or t.token_type == TokenType.COMMENT or (t.token_type == TokenType.BLOCK and words[0] == "translate"):
                continue
            text = re.sub(r'_\("[^"]*"\)', "", t.contents)
            if f.name == "_language.html":
                text = text.replace("中文", "")  # the switch names each language in itself
            if CJK.search(text):
                unmarked.append(f"{f.relative_to(GRIDGOV)}:{t.lineno}: {t.contents.strip()[:60]}")
    for f in SCRIPTS:
        code = re.sub(r"/\*.*?\*/|//[^\n]*", "", JS_GETTEXT.sub("", f.read_text()), flags=re.S)
        unmarked += [f"{f.relative_to(GRIDGOV)}: {line.strip()[:60]}" for line in code.splitlines() if CJK.search(line)]
    assert unmarked == []
