"""The security probe's attacks on cases (issue 16, items 1, 6, 7 (summon) and 14), each through
the door the probe used: the duplicates look-up and join, the case detail (API, phone page, staff
page), the workbench, the map and the dashboard; re-routing to a resident; absurd summon hours;
held reports among the duplicates."""

import math
from datetime import datetime

import pytest
from django.test import Client

from gridgov.cases import services
from gridgov.cases.models import CaseFollower, Summons
from gridgov.cases.workcal import WorkCalendar

from .conftest import P_C1G1

HERE = {"lon": P_C1G1[0], "lat": P_C1G1[1]}


def client_for(user):
    c = Client()
    c.force_login(user)
    return c


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
