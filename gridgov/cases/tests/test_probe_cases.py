"""The security probe's attacks on cases (issue 16, items 1, 6, 7 (summon) and 14), each through
the door the probe used: the duplicates look-up and join, the case detail (API, phone page, staff
page), the workbench, the map and the dashboard; re-routing to a resident; absurd summon hours;
held reports among the duplicates."""

import json
import math
from datetime import datetime

import pytest
from django.test import Client

from gridgov.accounts.models import Role
from gridgov.cases import services
from gridgov.cases.models import Case, CaseFollower, Summons
from gridgov.cases.workcal import WorkCalendar
from gridgov.testing import make_user

from .conftest import P_C1G1, P_C2G2, PNG

HERE = {"lon": P_C1G1[0], "lat": P_C1G1[1]}
REPORTER = "王秀英"  # the reporter's display name: must never reach a follower
JOINER = "李建国"  # another follower's


def client_for(user):
    c = Client()
    c.force_login(user)
    return c


def _named(user, name):
    user.display_name = name
    user.save(update_fields=["display_name"])
    return user


@pytest.fixture
def joined(people, report, street, settings):
    """A resident's lamp report in community 1, rated with a comment that names her; a neighbour
    and a grid worker of community 2 join it through the API as the probe did."""
    settings.RATE_LIMIT_PER_DEVICE = settings.RATE_LIMIT_PER_ADDRESS = "0/60"  # not what is tested here
    _named(people["resident"], REPORTER)
    _named(people["neighbour"], JOINER)
    case = report(text="小区门口的路灯坏了，晚上一片漆黑", item="PS01")
    gw2 = make_user("gw2", Role.GRID_WORKER, [street["c2"]])
    for u in (people["neighbour"], gw2):
        dups = client_for(u).get("/api/cases/duplicates", {"lon": HERE["lon"], "lat": HERE["lat"], "item": "PS01"}).json()
        assert case.pk in [d["id"] for d in dups]
        r = client_for(u).post(f"/api/cases/{case.pk}/join", HERE, content_type="application/json")
        assert r.status_code == 200, r.content
    return {"case": case, "gw2": gw2}


def _rated(case, people):
    """Take the case to verified and let the reporter rate it with a comment naming herself."""
    for action in (services.accept, services.arrive):
        action(case, people["gl"])
    services.resolve(case, people["gl"], "已更换灯泡", photos=[PNG])
    services.verify(case, people["sec"])
    services.rate(case, people["resident"], "satisfied", f"{REPORTER}谢谢网格长")
    return Case.objects.get(pk=case.pk)


# --- 1. a follower sees what a co-reporter needs, never who reported or who else follows -------


def test_a_joined_follower_reads_the_case_without_anyones_identity(joined, people):
    case = _rated(joined["case"], people)
    n = client_for(people["neighbour"])
    body = n.get(f"/api/cases/{case.pk}").json()
    # what a co-reporter needs: the item, the place, the progress, the result
    assert body["item"]["code"] == "PS01" and body["lon"] == pytest.approx(P_C1G1[0]) and body["state"] == "verified"
    assert [e["action"] for e in body["timeline"]][:2] == ["submit", "dispatch"]
    text = json.dumps(body, ensure_ascii=False)
    assert REPORTER not in text  # not in actors, notes, ratings
    assert "gw2" not in text  # the other follower's join
    assert {"routing_reason", "clocks", "summons", "reporter"}.isdisjoint(body)
    # the same on the phone page
    page = n.get(f"/m/cases/{case.pk}/").content.decode()
    assert "路灯" in page and REPORTER not in page and "gw2" not in page
    # the reporter sees her case and her own comment, not who joined it
    mine = client_for(people["resident"]).get(f"/api/cases/{case.pk}").json()
    text = json.dumps(mine, ensure_ascii=False)
    assert f"{REPORTER}谢谢网格长" in text and JOINER not in text and "neighbour" not in text and "gw2" not in text
    page = client_for(people["resident"]).get(f"/m/cases/{case.pk}/").content.decode()
    assert JOINER not in page and "gw2" not in page
    # staff in scope still see everyone
    staff = json.dumps(client_for(people["gl"]).get(f"/api/cases/{case.pk}").json(), ensure_ascii=False)
    assert REPORTER in staff and JOINER in staff


def test_joining_never_widens_a_staff_users_scope(joined, people):
    case, gw2 = joined["case"], joined["gw2"]
    c = client_for(gw2)
    # the API detail is the co-reporter view: no staff fields, no identities
    body = c.get(f"/api/cases/{case.pk}").json()
    assert {"routing_reason", "clocks", "summons", "reporter"}.isdisjoint(body)
    assert REPORTER not in json.dumps(body, ensure_ascii=False)
    # not on the workbench, no full case page, no managing act
    assert case.number not in c.get("/?state=all").content.decode()
    page = c.get(f"/cases/{case.pk}/")
    assert page.status_code in (302, 404) and REPORTER not in page.content.decode()
    if page.status_code == 302:
        assert page["Location"] == f"/m/cases/{case.pk}/"
    assert c.post(f"/api/cases/{case.pk}/actions/reject", {"note": "x"}, content_type="application/json").status_code == 404
    assert c.post(f"/cases/{case.pk}/act/reject/", {"note": "x"}).status_code == 404
    # not on the map, its card or the dashboard
    layer = c.get("/api/insight/layers/cases").json()
    assert case.pk not in [f["properties"].get("id") for f in layer["features"]]
    assert c.get(f"/api/insight/card/case/{case.pk}").status_code == 404
    assert c.get("/api/insight/search", {"q": case.number}).json()["results"] == []
    stats = c.get("/api/insight/stats").json()
    assert stats["summary"]["total"] == 0 and stats["by_grid"] == []
    # the grid worker of community 1 still sees it everywhere
    gw1 = client_for(people["worker"])
    assert gw1.get("/api/insight/stats").json()["summary"]["total"] == 1
    assert case.number in gw1.get("/?state=all").content.decode()


def test_the_duplicates_look_up_is_throttled_per_user_device_and_address(people, report, settings):
    report(item="PS01")
    settings.RATE_LIMIT_LOOKUP = "3/600"
    settings.RATE_LIMIT_LOOKUP_PER_ADDRESS = "5/600"
    q = {"lon": HERE["lon"], "lat": HERE["lat"], "item": "PS01"}
    n = client_for(people["neighbour"])
    for _ in range(3):
        assert n.get("/api/cases/duplicates", q, HTTP_X_DEVICE_ID="a").status_code == 200
    r = n.get("/api/cases/duplicates", q, HTTP_X_DEVICE_ID="b")  # another device: the user's limit
    assert r.status_code == 429 and 0 < int(r["Retry-After"]) <= 600
    # staff too (the probe was a grid worker of another community)
    s = client_for(people["sec2"])
    assert s.get("/api/cases/duplicates", q, HTTP_X_DEVICE_ID="c").status_code == 200
    assert s.get("/api/cases/duplicates", q, HTTP_X_DEVICE_ID="c").status_code == 200
    assert s.get("/api/cases/duplicates", q, HTTP_X_DEVICE_ID="c").status_code == 429  # the address: 5 hits
    v = client_for(people["vol"])
    assert v.get("/api/cases/duplicates", q, REMOTE_ADDR="10.1.2.3", HTTP_X_DEVICE_ID="d").status_code == 200
    # per device: another account on the same phone
    settings.RATE_LIMIT_LOOKUP_PER_ADDRESS = "0/600"
    assert v.get("/api/cases/duplicates", q, HTTP_X_DEVICE_ID="c").status_code == 429  # device c: 3 hits already


# --- 14. held reports are neither suggested nor joinable ---------------------------------------


def test_a_held_report_is_not_suggested_nor_joinable(people, report, settings):
    from gridgov.cases.models import SensitiveWord

    settings.RATE_LIMIT_PER_DEVICE = settings.RATE_LIMIT_PER_ADDRESS = "0/60"
    SensitiveWord.objects.create(word="骗子")
    held = report(text="门口路灯坏了，物业都是骗子", item="PS01")
    assert held.held
    assert services.suggest_duplicates(lon=HERE["lon"], lat=HERE["lat"], text="门口路灯坏了", item="PS01") == []
    n = client_for(people["neighbour"])
    assert n.get("/api/cases/duplicates", {**HERE, "item": "PS01", "text": "门口路灯坏了"}).json() == []
    assert n.post(f"/api/cases/{held.pk}/join", HERE, content_type="application/json").status_code == 404
    with pytest.raises(services.Conflict):
        services.join(held, people["neighbour"])
    assert not CaseFollower.objects.filter(case=held, user=people["neighbour"]).exists()


# --- 6. the handler a case is re-routed to may handle cases of its place -----------------------


def _reroute(c, case, handler):
    return c.post(f"/api/cases/{case.pk}/actions/reroute", {"handler": handler}, content_type="application/json")


def test_reroute_only_to_staff_who_may_handle_the_place(people, report, street):
    case = report(item="PS01")
    gl = client_for(people["gl"])
    for name in ("neighbour", "vol", "sec2"):  # a resident, a volunteer, staff of another community
        r = _reroute(gl, case, name)
        assert r.status_code == 400, (name, r.content)
        assert r.json()["detail"] == _reroute(gl, case, "nobody-by-that-name").json()["detail"].replace("nobody-by-that-name", name)
    case.refresh_from_db()
    assert case.handler_user == people["gl"]
    with pytest.raises(services.InvalidInput):
        services.reroute(case, people["gl"], handler_user=people["neighbour"])
    # the resident cannot read nor accept it
    n = client_for(people["neighbour"])
    assert n.get(f"/api/cases/{case.pk}").status_code == 404
    assert n.post(f"/api/cases/{case.pk}/actions/accept", {}, content_type="application/json").status_code == 404
    # staff of the place, and a department's member, may
    assert _reroute(gl, case, "worker").json()["handler"]["user"]["username"] == "worker"
    body = _reroute(gl, case, "section").json()
    assert body["handler"]["user"]["username"] == "section" and body["handler"]["department"] == "城市管理办公室"


# --- 7. absurd summon hours are a clear 400, not a server error --------------------------------


@pytest.mark.parametrize("hours", ["1e20", "Infinity", "-Infinity", "NaN", "-1", "0", "1e4"])
def test_absurd_summon_hours_are_refused(people, report, hours):
    case = report(item="PS01")
    body = '{"departments": ["城市管理办公室"], "hours": %s}' % hours
    r = client_for(people["sec"]).post(f"/api/cases/{case.pk}/actions/summon", body, content_type="application/json")
    assert r.status_code in (400, 422), r.content
    assert "hours" in r.content.decode()
    assert not Summons.objects.filter(case=case).exists()
    # the staff page's form too
    r = client_for(people["sec"]).post(f"/cases/{case.pk}/act/summon/", {"departments": "城市管理办公室", "hours": hours},
                                       HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and 'role="alert"' in r.content.decode()
    assert not Summons.objects.filter(case=case).exists()


@pytest.mark.parametrize("hours", [1e20, math.inf, -math.inf, math.nan])
def test_the_working_calendar_refuses_what_it_cannot_count(db, hours):
    from django.utils import timezone

    start = timezone.make_aware(datetime(2025, 3, 3, 9, 0))
    with pytest.raises(ValueError, match="hours"):
        WorkCalendar(overrides={}).add_working_hours(start, hours)
