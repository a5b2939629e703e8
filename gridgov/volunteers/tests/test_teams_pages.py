"""The teams' pages: on the phone a resident applies, the leader approves and sets duties, the
volunteer sees their service and downloads the certificate, a steward patrols; for staff the
teams of their grids, a team's page, the hours report; Chinese by default, English on request."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from gridgov.accounts.models import Duty, Role
from gridgov.registry.models import Volunteer, VolunteerTeam
from gridgov.testing import make_user
from gridgov.volunteers import services
from gridgov.volunteers.models import Patrol, ServiceRecord, TeamApplication
from gridgov.web.tests.test_i18n import EN, leftover_chinese

pytestmark = pytest.mark.django_db


def _client(user):
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def team(street):
    t = VolunteerTeam.objects.create(name="一社区巡逻队", kind="patrol", grid=street["c1"])
    lead = make_user("lead", Role.STEWARD)
    Volunteer.objects.create(name="周队长", kind="steward", user=lead, team=t, grid=street["c1g1"])
    t.leader = lead
    t.save()
    staff = make_user("cs", Role.COMMUNITY_STAFF, [street["c1"]], duty=Duty.STAFF)
    return {"team": t, "lead": lead, "staff": staff, "street": street}


def test_join_on_the_phone_and_the_leader_decides(team):
    res = make_user("res", Role.RESIDENT)
    c = _client(res)
    page = c.get("/m/volunteer/teams/join/")
    assert page.status_code == 200 and "一社区巡逻队" in page.content.decode()
    r = c.post(f"/m/volunteer/teams/join/{team['team'].pk}/", {"name": "吴居民", "note": "晚上有空"})
    assert r.status_code == 201 and "申请已提交" in r.content.decode()
    assert c.post(f"/m/volunteer/teams/join/{team['team'].pk}/", {"name": "吴居民"}).status_code == 409
    app = TeamApplication.objects.get(user=res)
    assert "待审核" in c.get("/m/volunteer/teams/").content.decode()
    # not a leader: no leader's page
    assert c.get("/m/volunteer/teams/lead/").status_code == 403
    lc = _client(team["lead"])
    lead_page = lc.get("/m/volunteer/teams/lead/").content.decode()
    assert "吴居民" in lead_page and "晚上有空" in lead_page
    assert lc.post(f"/m/volunteer/teams/lead/applications/{app.pk}/approve/").status_code == 200
    app.refresh_from_db()
    assert app.state == "approved"
    vol = Volunteer.objects.get(user=res)
    r = lc.post(f"/m/volunteer/teams/lead/members/{vol.pk}/duties/", {"duties": ["宣传员", "监督员"]})
    assert r.status_code == 200
    vol.refresh_from_db()
    assert vol.duties == "宣传员、监督员"
    assert "一社区巡逻队" in c.get("/m/volunteer/teams/").content.decode()


def test_my_service_page_and_certificate(team):
    lead = team["lead"]
    services.record_service(lead, "activity", "activity:p1", "敬老院陪护", hours=Decimal("2.5"), at=timezone.now(),
                            node=team["street"]["c1g1"], rule="activity:elderly_care", quantity=Decimal("2.5"))
    html = _client(lead).get("/m/volunteer/teams/").content.decode()
    assert 'id="hours-year">2.50<' in html and 'id="points-year">30<' in html and 'id="rank">1 / 1<' in html
    assert "敬老院陪护" in html and "/m/volunteer/teams/certificate.pdf" in html
    pdf = _client(lead).get(f"/m/volunteer/teams/certificate.pdf?year={timezone.localdate().year}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_patrol_page_start_and_end(team):
    c = _client(team["lead"])
    assert "开始巡查" in c.get("/m/volunteer/teams/patrol/").content.decode()
    assert c.post("/m/volunteer/teams/patrol/start/").status_code == 201
    p = Patrol.objects.get(user=team["lead"])
    html = c.get("/m/volunteer/teams/patrol/").content.decode()
    assert f"/api/volunteers/teams/patrols/{p.pk}/track" in html and "volunteer_patrol.js" in html
    Patrol.objects.filter(pk=p.pk).update(started_at=timezone.now() - timedelta(hours=1))
    r = c.post(f"/m/volunteer/teams/patrol/{p.pk}/end/")
    assert r.status_code == 200 and "获得 10 积分" in r.content.decode()
    assert ServiceRecord.objects.get(user=team["lead"]).source == "patrol"
    assert _client(make_user("res", Role.RESIDENT)).get("/m/volunteer/teams/patrol/").status_code == 403


def test_staff_pages(team):
    s = _client(team["staff"])
    html = s.get("/volunteers/teams/").content.decode()
    assert "一社区巡逻队" in html and "周队长" not in html and "?kind=patrol" in html
    assert "一社区巡逻队" not in s.get("/volunteers/teams/?kind=culture").content.decode().split("</h2>")[-1]
    far = make_user("cs2", Role.COMMUNITY_STAFF, [team["street"]["c2"]], duty=Duty.STAFF)
    assert "一社区巡逻队" not in _client(far).get("/volunteers/teams/").content.decode()
    assert _client(far).get(f"/volunteers/teams/{team['team'].pk}/").status_code == 404
    assert _client(team["lead"]).get("/volunteers/teams/").status_code == 403
    res = make_user("res", Role.RESIDENT)
    from gridgov.volunteers import teams

    app = teams.apply(res, team["team"], "郑居民")
    page = s.get(f"/volunteers/teams/{team['team'].pk}/").content.decode()
    assert "周队长" in page and "郑居民" in page and "信息员" in page
    r = s.post(f"/volunteers/teams/{team['team'].pk}/applications/{app.pk}/reject/", {"reason": "请先参加活动"})
    assert r.status_code == 200
    app.refresh_from_db()
    assert app.state == "rejected"
    vol = Volunteer.objects.get(user=team["lead"])
    s.post(f"/volunteers/teams/{team['team'].pk}/members/{vol.pk}/duties/", {"duties": ["调解员"]})
    vol.refresh_from_db()
    assert vol.duties == "调解员"
    assert s.post(f"/volunteers/teams/{team['team'].pk}/leader/", {"user": ""}).status_code == 200
    team["team"].refresh_from_db()
    assert team["team"].leader is None
    rep = s.get("/volunteers/teams/hours/?by=month").content.decode()
    assert "/volunteers/teams/hours.xlsx" in rep


def test_pages_in_english(team):
    services.record_service(team["lead"], "patrol", "patrol:x", "楼门巡查", hours=Decimal(1), at=timezone.now(),
                            node=team["street"]["c1g1"])
    res = make_user("res", Role.RESIDENT)
    from gridgov.volunteers import teams

    teams.apply(res, team["team"], "郑居民", "想帮忙")
    data = ["一社区巡逻队", "周队长", "第1社区", "第1社区第1网格", "郑居民", "想帮忙", "楼门巡查", "lead", "cs"]
    pages = [(team["lead"], "/m/volunteer/teams/"), (team["lead"], "/m/volunteer/teams/join/"),
             (team["lead"], "/m/volunteer/teams/lead/"), (team["lead"], "/m/volunteer/teams/patrol/"),
             (team["staff"], "/volunteers/teams/"), (team["staff"], f"/volunteers/teams/{team['team'].pk}/"),
             (team["staff"], "/volunteers/teams/hours/"), (team["staff"], "/volunteers/teams/hours/?by=community"),
             (None, "/volunteers/teams/certificate/verify?n=x")]
    for user, url in pages:
        c = _client(user) if user else Client()
        r = c.get(url, **EN)
        assert r.status_code in (200, 404), url
        html = r.content.decode()
        assert leftover_chinese(html, data) == [], (url, leftover_chinese(html, data))
