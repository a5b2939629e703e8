"""Teams (issue 11): joining and who decides, members and duties, service records counted once,
my service and rank, the certificate and its number, the hours report and export and their
scope, the stewards' patrols and their points — through the API and the services."""

import io
import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from gridgov.accounts.models import Duty, Role
from gridgov.cases.models import Notification
from gridgov.core.models import ChangeRecord
from gridgov.registry.models import Volunteer, VolunteerTeam
from gridgov.testing import make_user
from gridgov.volunteers import services, teams
from gridgov.volunteers.models import Patrol, ServiceRecord, TeamApplication, Transfer

pytestmark = pytest.mark.django_db


def _client(user):
    c = Client()
    c.force_login(user)
    return c


def _post(c, url, body=None):
    return c.post(url, json.dumps(body or {}), content_type="application/json")


def _at(y, m, d, h=10):
    return timezone.make_aware(datetime(y, m, d, h))


@pytest.fixture
def world(street):
    """Two teams in community 1 and one in community 2, each with a leader; staff of each community."""
    t1 = VolunteerTeam.objects.create(name="一社区巡逻队", kind="patrol", grid=street["c1"])
    t1b = VolunteerTeam.objects.create(name="一社区为老队", kind="elderly_care", grid=street["c1"])
    t2 = VolunteerTeam.objects.create(name="二社区巡逻队", kind="patrol", grid=street["c2"])
    leaders = {}
    for t, name, grid in ((t1, "lead1", street["c1g1"]), (t1b, "lead1b", street["c1g2"]), (t2, "lead2", street["c2g1"])):
        u = make_user(name, Role.VOLUNTEER)
        Volunteer.objects.create(name=name, kind="volunteer", user=u, team=t, grid=grid)
        t.leader = u
        t.save()
        leaders[t.pk] = u
    return {"street": street, "t1": t1, "t1b": t1b, "t2": t2, "lead1": leaders[t1.pk], "lead1b": leaders[t1b.pk],
            "lead2": leaders[t2.pk],
            "staff1": make_user("cs1", Role.COMMUNITY_STAFF, [street["c1"]], duty=Duty.STAFF),
            "staff2": make_user("cs2", Role.COMMUNITY_STAFF, [street["c2"]], duty=Duty.STAFF)}


# --- joining ---------------------------------------------------------------------------------------


def test_a_resident_applies_and_the_leader_approves_through_the_api(world):
    res = make_user("res", Role.RESIDENT)
    c = _client(res)
    listed = c.get("/api/volunteers/teams").json()
    row = next(t for t in listed if t["id"] == world["t1"].pk)
    assert row["leader"] == "lead1" and row["members"] == 1 and row["community"] == "第1社区"
    assert "leader_id" not in row  # the public list: names only
    r = _post(c, f"/api/volunteers/teams/{world['t1'].pk}/apply", {"name": "张居民", "note": "想巡逻"})
    assert r.status_code == 201, r.content
    app_id = r.json()["id"]
    # one pending application per team
    again = _post(c, f"/api/volunteers/teams/{world['t1'].pk}/apply", {"name": "张居民"})
    assert again.status_code == 409 and again.json()["code"] == "already_pending"
    # the leader is told, sees it and approves it
    assert Notification.objects.filter(recipient=world["lead1"], kind="team_application").exists()
    lc = _client(world["lead1"])
    assert [a["id"] for a in lc.get("/api/volunteers/teams/applications?state=pending").json()] == [app_id]
    ok = _post(lc, f"/api/volunteers/teams/applications/{app_id}/approve")
    assert ok.status_code == 200 and ok.json()["state"] == "approved"
    res.refresh_from_db()
    assert res.role == Role.VOLUNTEER  # may now grab tasks and earn points
    vol = Volunteer.objects.get(user=res)
    assert vol.team == world["t1"] and vol.grid == world["street"]["c1"] and vol.name == "张居民"
    assert TeamApplication.objects.get(pk=app_id).volunteer == vol
    assert Notification.objects.filter(recipient=res, kind="team_application", title="入队申请已通过").exists()
    approval = ChangeRecord.objects.get(kind="team_applications", action="approve", object_id=str(app_id))
    assert approval.changes["role"] == ["resident", "volunteer"]
    # decided once
    assert _post(lc, f"/api/volunteers/teams/applications/{app_id}/approve").status_code == 409
    # a member cannot apply to their own team again
    assert _post(c, f"/api/volunteers/teams/{world['t1'].pk}/apply").json()["code"] == "already_member"
    mine = c.get("/api/volunteers/teams/applications?mine=true").json()
    assert [a["state"] for a in mine] == ["approved"]


@pytest.mark.parametrize("who,allowed", [("lead1", True), ("lead1b", False), ("lead2", False), ("staff1", True),
                                         ("staff2", False), ("applicant", False)])
def test_who_may_decide(world, who, allowed):
    res = make_user("applicant", Role.RESIDENT)
    app = teams.apply(res, world["t1"], "王某")
    actor = res if who == "applicant" else world[who]
    r = _post(_client(actor), f"/api/volunteers/teams/applications/{app.pk}/reject", {"reason": "名额已满"})
    assert r.status_code == (200 if allowed else 403), r.content
    app.refresh_from_db()
    assert app.state == ("rejected" if allowed else "pending")
    if allowed:
        assert app.reason == "名额已满" and app.decided_by == actor
        assert Notification.objects.filter(recipient=res, title="入队申请未通过").exists()
        res.refresh_from_db()
        assert res.role == Role.RESIDENT


def test_reject_needs_a_reason_and_withdraw_is_the_applicants(world):
    res = make_user("res", Role.RESIDENT)
    app = teams.apply(res, world["t1"], "李某")
    r = _post(_client(world["lead1"]), f"/api/volunteers/teams/applications/{app.pk}/reject")
    assert r.status_code == 400 and r.json()["code"] == "reason_required"
    assert _post(_client(world["lead1"]), f"/api/volunteers/teams/applications/{app.pk}/withdraw").status_code == 403
    assert _post(_client(res), f"/api/volunteers/teams/applications/{app.pk}/withdraw").json()["state"] == "withdrawn"
    assert _post(_client(world["lead1"]), f"/api/volunteers/teams/applications/{app.pk}/approve").status_code == 409
    # withdrawn: a new application may be made
    assert teams.apply(res, world["t1"], "李某").state == "pending"


def test_approval_links_the_registry_record_known_by_phone(world):
    from gridgov.core import crypto

    res = make_user("res", Role.RESIDENT)
    res.phone_hash = crypto.blind_index("13800001111")
    res.save()
    known = Volunteer.objects.create(name="赵楼长", kind="steward", grid=world["street"]["c1g1m1"], phone_hash=res.phone_hash)
    app = teams.apply(res, world["t1"], "赵楼长")
    teams.approve(world["staff1"], app.pk)
    known.refresh_from_db()
    assert known.user == res and known.team == world["t1"] and known.grid == world["street"]["c1g1m1"]
    assert Volunteer.objects.filter(user=res).count() == 1


def test_members_leader_duties_and_leaving(world):
    res = make_user("res", Role.RESIDENT)
    teams.approve(world["lead1"], teams.apply(res, world["t1"], "钱某").pk)
    vol = Volunteer.objects.get(user=res)
    # the leader sets duties (五大员); an unknown duty is refused; another team's leader may not
    assert teams.set_duties(world["lead1"], vol.pk, ["服务员", "信息员"]).duties == "信息员、服务员"
    with pytest.raises(teams.TeamError):
        teams.set_duties(world["lead1"], vol.pk, ["队长"])
    with pytest.raises(teams.NotAllowed):
        teams.set_duties(world["lead2"], vol.pk, ["宣传员"])
    # staff set the leader (a member), not the leaders themselves; nor staff out of scope
    with pytest.raises(teams.NotAllowed):
        teams.set_leader(world["lead1"], world["t1"].pk, res)
    with pytest.raises(teams.NotAllowed):
        teams.set_leader(world["staff2"], world["t1"].pk, res)
    with pytest.raises(teams.TeamError):
        teams.set_leader(world["staff1"], world["t1"].pk, world["lead2"])  # not a member
    teams.set_leader(world["staff1"], world["t1"].pk, res)
    world["t1"].refresh_from_db()
    assert world["t1"].leader == res
    # the leader leaves: the team has no leader any more
    teams.leave(res)
    vol.refresh_from_db()
    world["t1"].refresh_from_db()
    assert vol.team is None and world["t1"].leader is None
    assert ChangeRecord.objects.filter(kind="volunteers", action="leave", object_id=str(vol.pk)).exists()
    # staff remove a member
    other = Volunteer.objects.get(user=world["lead1b"])
    with pytest.raises(teams.NotAllowed):
        teams.remove_member(world["staff2"], other.pk)
    teams.remove_member(world["staff1"], other.pk, "搬走了")
    other.refresh_from_db()
    assert other.team is None


def test_staff_team_list_is_scoped(world):
    got = {t["name"] for t in _client(world["staff1"]).get("/api/volunteers/teams?scope=staff").json()}
    assert got == {"一社区巡逻队", "一社区为老队"}
    assert _client(world["lead1"]).get("/api/volunteers/teams?scope=staff").status_code == 403
    assert Client().get("/api/volunteers/teams").status_code == 401


# --- service records, my service, rank -----------------------------------------------------------


def test_service_is_counted_once_per_source(world):
    u = world["lead1"]
    at = _at(2026, 3, 2)
    r1 = services.record_service(u, "patrol", "patrol:demo-1", "楼门巡查", hours=Decimal("2"), at=at,
                                 node=world["street"]["c1g1"], rule="activity:patrol", quantity=2)
    r2 = services.record_service(u, "patrol", "patrol:demo-1", "楼门巡查", hours=Decimal("2"), at=at,
                                 node=world["street"]["c1g1"], rule="activity:patrol", quantity=2)
    assert r1.pk == r2.pk and ServiceRecord.objects.filter(user=u).count() == 1
    assert Transfer.objects.filter(key="award:patrol:demo-1").count() == 1
    s = teams.my_service(u, 2026, now=_at(2026, 6, 1))
    assert s["hours_year"] == Decimal("2") and s["points_year"] == 20 and s["records_year"] == 1
    assert [(b["source"], b["hours"], b["points"]) for b in s["by_source"]] == [("patrol", Decimal("2"), 20)]


def test_rank_among_the_community_this_year(world):
    st = world["street"]
    people = {}
    for name, hours, grid in (("a", 5, st["c1g1"]), ("b", 3, st["c1g2"]), ("c", 8, st["c2g1"]), ("d", 1, st["c1g1"])):
        u = make_user(name, Role.VOLUNTEER)
        Volunteer.objects.create(name=name, kind="volunteer", user=u, team=None, grid=grid)
        services.record_service(u, "activity", f"activity:t{name}", "活动", hours=Decimal(hours), at=_at(2026, 4, 1), node=grid)
        people[name] = u
    # last year's hours do not count this year
    services.record_service(people["d"], "activity", "activity:old", "活动", hours=Decimal(50), at=_at(2025, 4, 1),
                            node=st["c1g1"])
    r = teams.rank(people["b"], 2026)
    assert (r["rank"], r["of"], r["community"]) == (2, 3, "第1社区")  # c is in community 2
    assert teams.rank(people["a"], 2026)["rank"] == 1 and teams.rank(people["d"], 2026)["rank"] == 3
    assert teams.rank(people["c"], 2026) ["rank"] == 1
    me = _client(people["b"]).get("/api/volunteers/teams/me/service?year=2026").json()
    assert me["rank"] == 2 and me["rank_of"] == 3 and me["hours_year"] == "3.00" and me["community"] == "第1社区"


# --- certificates --------------------------------------------------------------------------------


def test_certificate_pdf_and_its_number(world):
    u = world["lead1"]
    services.record_service(u, "activity", "activity:c1", "敬老院陪护", hours=Decimal("3.5"), at=_at(2026, 2, 3),
                            node=world["street"]["c1g1"])
    services.record_service(u, "patrol", "patrol:c2", "楼门巡查", hours=Decimal("1.25"), at=_at(2026, 5, 6),
                            node=world["street"]["c1g1"])
    services.record_service(u, "patrol", "patrol:c3", "楼门巡查", hours=Decimal("9"), at=_at(2025, 5, 6),
                            node=world["street"]["c1g1"])
    data = teams.certificate_data(u, date(2026, 1, 1), date(2026, 12, 31))
    assert data["hours"] == Decimal("4.75") and len(data["records"]) == 2 and data["community"] == "第1社区"
    r = _client(u).get("/api/volunteers/teams/me/certificate.pdf?year=2026")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert r.content.startswith(b"%PDF") and len(r.content) > 1000
    number = r["X-Certificate-Number"]
    assert number == data["number"] and "-475-" in number
    v = teams.verify_certificate(number)
    assert v["hours"] == Decimal("4.75") and v["current"] and v["name"] == "l****"
    assert teams.verify_certificate(number.replace("-475-", "-975-")) is None  # a changed total fails
    assert teams.verify_certificate("nonsense") is None
    pub = Client().get(f"/api/volunteers/teams/certificate/verify?n={number}")
    assert pub.status_code == 200 and pub.json()["hours"] == "4.75"
    page = Client().get(f"/volunteers/teams/certificate/verify?n={number}")
    assert page.status_code == 200 and "4.75" in page.content.decode()
    assert Client().get("/volunteers/teams/certificate/verify?n=2026-1-1-XX").status_code == 404


def test_certificate_of_someone_else_only_for_staff_in_scope(world):
    u = world["lead1"]  # registry grid c1g1
    url = f"/api/volunteers/teams/me/certificate.pdf?year=2026&user={u.pk}"
    assert _client(world["staff1"]).get(url).status_code == 200
    assert _client(world["staff2"]).get(url).status_code == 403
    assert _client(world["lead2"]).get(url).status_code == 403
    assert _client(world["staff1"]).get(f"/volunteers/teams/people/{u.pk}/certificate.pdf?year=2026").content.startswith(b"%PDF")
    assert _client(world["staff2"]).get(f"/volunteers/teams/people/{u.pk}/certificate.pdf").status_code == 403


# --- the hours report and export ------------------------------------------------------------------


@pytest.fixture
def served(world):
    st = world["street"]
    services.record_service(world["lead1"], "activity", "activity:h1", "巡逻活动", hours=Decimal(2), at=_at(2026, 1, 10),
                            node=st["c1g1"], rule="activity:patrol", quantity=2)
    services.record_service(world["lead1"], "grab", "case:1:grab", "志愿任务 A1", at=_at(2026, 2, 10), node=st["c1g1"], rule="grab")
    services.record_service(world["lead1b"], "patrol", "patrol:h3", "楼门巡查", hours=Decimal("1.5"), at=_at(2026, 2, 11),
                            node=st["c1g2"])
    services.record_service(world["lead2"], "activity", "activity:h4", "巡逻活动", hours=Decimal(4), at=_at(2026, 2, 12),
                            node=st["c2g1"])
    return world


def test_hours_report_by_team_community_month_in_scope(served):
    c = _client(served["staff1"])
    q = "start=2026-01-01&end=2026-12-31"
    by_team = c.get(f"/api/volunteers/teams/hours?by=team&{q}").json()
    assert {r["label"]: r["hours"] for r in by_team["rows"]} == {"一社区巡逻队": "2.00", "一社区为老队": "1.50"}
    assert by_team["total"] == {"hours": "3.50", "points": 30, "records": 3, "people": 2}
    by_c = c.get(f"/api/volunteers/teams/hours?by=community&{q}").json()
    assert [(r["label"], r["hours"], r["people"]) for r in by_c["rows"]] == [("第1社区", "3.50", 2)]
    by_m = c.get(f"/api/volunteers/teams/hours?by=month&{q}").json()
    assert [(r["label"], r["records"]) for r in by_m["rows"]] == [("2026-01", 1), ("2026-02", 2)]
    admin = _client(make_user("admin", Role.ADMIN))
    assert admin.get(f"/api/volunteers/teams/hours?by=community&{q}").json()["total"]["hours"] == "7.50"
    assert _client(served["lead1"]).get(f"/api/volunteers/teams/hours?{q}").status_code == 403
    assert c.get(f"/api/volunteers/teams/hours?by=planet&{q}").status_code == 400


def test_hours_export_contents_and_scope(served):
    import openpyxl

    r = _client(served["staff1"]).get("/api/volunteers/teams/hours.xlsx?start=2026-01-01&end=2026-12-31")
    assert r.status_code == 200 and "attachment" in r["Content-Disposition"]
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("日期", "姓名", "账号")
    body = rows[1:]
    assert len(body) == 3 and {row[2] for row in body} == {"lead1", "lead1b"}  # not community 2's
    grab = next(row for row in body if row[7] == "志愿任务 A1")
    assert grab[3] == "一社区巡逻队" and grab[4] == "第1社区" and grab[6] == "志愿抢单" and grab[9] == 10
    per = _client(served["staff1"]).get("/api/volunteers/teams/hours.xlsx?per=month&start=2026-01-01&end=2026-12-31")
    rows = list(openpyxl.load_workbook(io.BytesIO(per.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "月份" and ("2026-02", "lead1", "lead1", "一社区巡逻队", 1, 0, 10) in [tuple(x) for x in rows[1:]]
    assert _client(served["lead1"]).get("/api/volunteers/teams/hours.xlsx").status_code == 403
    from gridgov.core.models import AuditEntry

    assert AuditEntry.objects.filter(action="export", object_type="volunteers.servicerecord").count() == 2
    # the staff page's link answers the same file
    page = _client(served["staff1"]).get("/volunteers/teams/hours.xlsx?start=2026-01-01&end=2026-12-31")
    assert page.status_code == 200 and page.content[:2] == b"PK"


# --- patrols ---------------------------------------------------------------------------------------


def test_patrol_start_track_end_and_its_points(world):
    steward = make_user("steward", Role.STEWARD)
    Volunteer.objects.create(name="孙楼长", kind="steward", user=steward, team=world["t1"], grid=world["street"]["c1g1m1"])
    t0 = timezone.now() - timedelta(hours=6)
    p = teams.start_patrol(steward, now=t0)
    with pytest.raises(teams.Conflict):
        teams.start_patrol(steward, now=t0 + timedelta(minutes=1))
    teams.add_track(steward, p.pk, [[39.9, 116.4], [39.901, 116.4]], now=t0 + timedelta(minutes=10))
    p.refresh_from_db()
    assert len(p.track) == 2 and 100 < p.distance_m < 125  # ~111 m
    with pytest.raises(teams.NotAllowed):
        teams.add_track(world["lead1"], p.pk, [[39.9, 116.4]])
    with pytest.raises(teams.TeamError):
        teams.add_track(steward, p.pk, [[139.9, 116.4]])
    teams.add_track(steward, p.pk, [[39.9, 116.401]], now=t0 + timedelta(hours=4, minutes=50))
    p, rec = teams.end_patrol(steward, p.pk, now=t0 + timedelta(hours=5))  # clipped to 4 h
    assert rec.hours == Decimal("4.00") and rec.key == f"patrol:{p.pk}" and rec.team == world["t1"]
    assert rec.node == world["street"]["c1g1m1"] and rec.transfer.amount == 40 and rec.transfer.rule == "activity:patrol"
    # ending again counts nothing more
    p2, rec2 = teams.end_patrol(steward, p.pk, now=t0 + timedelta(hours=6))
    assert rec2.pk == rec.pk and ServiceRecord.objects.filter(user=steward).count() == 1
    assert Transfer.objects.filter(rule="activity:patrol").count() == 1
    # a short one counts no hours
    q = teams.start_patrol(steward, now=t0 + timedelta(hours=5, minutes=10))
    _q, none = teams.end_patrol(steward, q.pk, now=t0 + timedelta(hours=5, minutes=12))
    assert none is None and ServiceRecord.objects.filter(user=steward).count() == 1


def test_patrol_through_the_api(world):
    steward = make_user("steward", Role.STEWARD)
    c = _client(steward)
    r = _post(c, "/api/volunteers/teams/patrols/start", {"note": "3号楼"})
    assert r.status_code == 201
    pid = r.json()["id"]
    assert _post(c, "/api/volunteers/teams/patrols/start").status_code == 409
    t = _post(c, f"/api/volunteers/teams/patrols/{pid}/track", {"points": [[39.9, 116.4], [39.9, 116.401]], "crs": "gcj02"})
    assert t.status_code == 200 and t.json()["points"] == 2
    Patrol.objects.filter(pk=pid).update(started_at=timezone.now() - timedelta(minutes=90))
    e = _post(c, f"/api/volunteers/teams/patrols/{pid}/end")
    assert e.status_code == 200 and e.json()["hours"] == "1.50" and e.json()["earned"] == 15
    assert _post(_client(make_user("res", Role.RESIDENT)), "/api/volunteers/teams/patrols/start").status_code == 403
    assert _post(_client(world["lead1"]), f"/api/volunteers/teams/patrols/{pid}/end").status_code == 403
    me = c.get("/api/volunteers/teams/me/service").json()
    assert me["hours_year"] == "1.50" and me["points_year"] == 15 and me["by_source"][0]["source"] == "patrol"
    assert ChangeRecord.objects.filter(kind="patrols", action__in=["patrol_start", "patrol_end"]).count() == 2


def test_joining_another_team_moves_the_member_and_ends_their_leadership(world):
    app = teams.apply(world["lead1b"], world["t1"], "lead1b")
    teams.approve(world["lead1"], app.pk)
    vol = Volunteer.objects.get(user=world["lead1b"])
    world["t1b"].refresh_from_db()
    assert vol.team == world["t1"] and world["t1b"].leader is None
    staff_list = {t["name"]: t["members"] for t in _client(world["staff1"]).get("/api/volunteers/teams?scope=staff").json()}
    assert staff_list == {"一社区巡逻队": 2, "一社区为老队": 0}


def test_a_patrol_with_a_track_counts_until_shortly_after_its_last_position(world):
    steward = make_user("steward", Role.STEWARD)
    t0 = timezone.now() - timedelta(days=3)
    p = teams.start_patrol(steward, now=t0)
    teams.add_track(steward, p.pk, [[39.9, 116.4]], now=t0 + timedelta(minutes=30))
    # the page was closed; the patrol is ended two days later
    _p, rec = teams.end_patrol(steward, p.pk, now=t0 + timedelta(days=2))
    assert rec.hours == Decimal("0.75") and rec.transfer.amount == 8  # 30 min + 15 min grace
