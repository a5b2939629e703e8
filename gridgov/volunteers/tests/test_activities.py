"""Activities through their services: publishing (who may), signing up within the places and the
team, the rotating check-in code, check-in within the radius and the window, check-out, the
hours confirmed or corrected (the points booked once, the caps applied), no-shows on finish.
The ledger verifies after every test (conftest)."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from gridgov.accounts.models import Duty, Role
from gridgov.cases.models import Notification
from gridgov.core.models import ChangeRecord
from gridgov.registry.models import PartyOrganization, Volunteer, VolunteerTeam
from gridgov.testing import make_user
from gridgov.volunteers import activities as act
from gridgov.volunteers import services
from gridgov.volunteers.models import ServiceRecord, SignUp, Transfer

pytestmark = pytest.mark.django_db

LAT, LON = 39.7845, 116.3860
NOW = timezone.make_aware(datetime(2026, 5, 4, 8, 0))


@pytest.fixture
def world(street):
    staff = make_user("cs", Role.COMMUNITY_STAFF, [street["c1"]], duty=Duty.STAFF)
    leader = make_user("leader", Role.VOLUNTEER)
    team = VolunteerTeam.objects.create(name="第1社区巡逻队", kind="patrol", grid=street["c1"], leader=leader)
    member = make_user("member", Role.VOLUNTEER)
    Volunteer.objects.create(name="队员", kind="volunteer", grid=street["c1g1"], team=team, user=member)
    outsider = make_user("outsider", Role.RESIDENT)
    return {"street": street, "staff": staff, "leader": leader, "team": team, "member": member, "outsider": outsider}


def publish(actor, node, **kw):
    fields = dict(title="清理楼道杂物", node=node, lat=LAT, lon=LON, place_name="1号楼前",
                  starts_at=NOW + timedelta(days=1), ends_at=NOW + timedelta(days=1, hours=2), places=5,
                  kind="environment", now=NOW)
    fields.update(kw)
    return act.publish(actor, **fields)


def test_publish_who_may_and_the_defaults(world, settings):
    st = world["street"]
    a = publish(world["staff"], st["c1g1"])
    assert a.publisher == "community" and a.points_per_hour == 10 and a.radius_m == 200 and len(a.code_secret) == 64
    assert ChangeRecord.objects.filter(kind="activities", object_id=str(a.pk), action="create").count() == 1
    # staff of c1 never publish in c2
    with pytest.raises(act.NotAllowed):
        publish(world["staff"], st["c2g1"])
    # the team's leader publishes for their team (a volunteer, no staff role), in its community only
    t = publish(world["leader"], None, team=world["team"], open_to_all=False, kind="culture")
    assert t.node == st["c1"] and t.publisher == "team" and t.organiser == world["leader"]
    assert t.points_per_hour == 8  # no rule "activity:culture": the "other" rule
    with pytest.raises(act.NotAllowed):
        publish(world["leader"], st["c2g1"], team=world["team"])
    # a branch's secretary for their branch
    sec = make_user("sec", Role.RESIDENT)
    branch = PartyOrganization.objects.create(name="第1社区第一支部", grid=st["c1g1"], secretary=sec)
    p = publish(sec, None, party_org=branch, points_per_hour=0)
    assert p.publisher == "party" and p.node == st["c1g1"] and p.points_per_hour == 0
    # anyone else: refused
    with pytest.raises(act.NotAllowed):
        publish(world["member"], st["c1g1"])
    # bad input
    with pytest.raises(act.ActivityError):
        publish(world["staff"], st["c1g1"], ends_at=NOW + timedelta(days=1))
    with pytest.raises(act.ActivityError):
        publish(world["staff"], st["c1g1"], starts_at=NOW - timedelta(hours=1))
    with pytest.raises(act.ActivityError):
        publish(world["staff"], st["c1g1"], open_to_all=False)  # only a team's activity is members-only


def test_sign_up_respects_places_team_and_start(world):
    st = world["street"]
    a = publish(world["staff"], st["c1g1"], places=2)
    u = [make_user(f"v{i}", Role.VOLUNTEER) for i in range(3)]
    act.sign_up(u[0], a, now=NOW)
    with pytest.raises(act.ActivityError) as again:
        act.sign_up(u[0], a, now=NOW)
    assert again.value.code == "already"
    act.sign_up(u[1], a, now=NOW)
    with pytest.raises(act.Full):
        act.sign_up(u[2], a, now=NOW)
    a.refresh_from_db()
    assert a.taken == 2
    # a cancellation frees the place
    act.cancel_signup(u[0], a, now=NOW)
    a.refresh_from_db()
    assert a.taken == 1
    act.sign_up(u[2], a, now=NOW)
    # after the start: refused, and no cancelling either
    with pytest.raises(act.ActivityError) as late:
        act.sign_up(u[0], a, now=a.starts_at + timedelta(minutes=1))
    assert late.value.code == "closed"
    with pytest.raises(act.ActivityError):
        act.cancel_signup(u[2], a, now=a.starts_at)
    # team-only: members and the leader, not an outsider
    t = publish(world["leader"], None, team=world["team"], open_to_all=False)
    with pytest.raises(act.ActivityError) as only:
        act.sign_up(world["outsider"], t, now=NOW)
    assert only.value.code == "members_only"
    act.sign_up(world["member"], t, now=NOW)
    t.refresh_from_db()
    assert t.taken == 1 and SignUp.objects.filter(activity=t).count() == 1


def test_the_check_in_code_turns_every_step(world, settings):
    a = publish(world["staff"], world["street"]["c1g1"])
    t0 = a.starts_at.timestamp() // 30 * 30 + 3  # 3 s into a step
    at = datetime.fromtimestamp(t0, tz=timezone.get_current_timezone())
    code, left = act.current_code(world["staff"], a, now=at)
    assert len(code) == 6 and code.isdigit() and left == 27
    assert act.code_valid(a, code, at)
    assert act.code_valid(a, code, at + timedelta(seconds=30))  # the previous step's: still good
    assert not act.code_valid(a, code, at + timedelta(seconds=60))  # two steps old: expired
    assert not act.code_valid(a, "12345", at) and not act.code_valid(a, "abcdef", at)
    with pytest.raises(act.NotAllowed):
        act.current_code(world["member"], a, now=at)
    # another activity's code differs
    b = publish(world["staff"], world["street"]["c1g1"])
    assert act.code_at(b, t0) != code or act.code_at(b, t0 + 30) != act.code_at(a, t0 + 30)


def test_check_in_by_position_within_the_radius_only(world):
    a = publish(world["staff"], world["street"]["c1g1"], radius_m=100)
    v = make_user("v", Role.VOLUNTEER)
    act.sign_up(v, a, now=NOW)
    on_site = a.starts_at - timedelta(minutes=10)
    with pytest.raises(act.ActivityError) as early:
        act.check_in(v, a, lat=LAT, lon=LON, now=a.starts_at - timedelta(hours=2))
    assert early.value.code == "too_early"
    # about 150 m north: refused
    with pytest.raises(act.ActivityError) as far:
        act.check_in(v, a, lat=LAT + 0.00135, lon=LON, now=on_site)
    assert far.value.code == "too_far"
    assert SignUp.objects.get(user=v).state == "signed"
    # about 50 m: accepted, the distance kept
    s = act.check_in(v, a, lat=LAT + 0.00045, lon=LON, now=on_site)
    assert s.state == "checked_in" and s.checkin_method == "gps" and 45 < s.checkin_distance_m < 55
    with pytest.raises(act.ActivityError):
        act.check_in(v, a, lat=LAT, lon=LON, now=on_site)
    # someone who never signed up cannot check in
    with pytest.raises(act.ActivityError) as nobody:
        act.check_in(world["member"], a, lat=LAT, lon=LON, now=on_site)
    assert nobody.value.code == "not_signed"


def test_check_in_by_code_current_or_previous_step_only(world):
    a = publish(world["staff"], world["street"]["c1g1"])
    u = [make_user(f"v{i}", Role.VOLUNTEER) for i in range(3)]
    for x in u:
        act.sign_up(x, a, now=NOW)
    at = a.starts_at + timedelta(minutes=5)
    code, _left = act.current_code(world["staff"], a, now=at)
    with pytest.raises(act.ActivityError) as old:
        act.check_in(u[0], a, code=code, now=at + timedelta(seconds=61))
    assert old.value.code == "bad_code"
    with pytest.raises(act.ActivityError):
        act.check_in(u[0], a, code="000000" if code != "000000" else "111111", now=at)
    assert act.check_in(u[0], a, code=code, now=at).checkin_method == "code"
    assert act.check_in(u[1], a, code=code, now=at + timedelta(seconds=30)).state == "checked_in"
    # after the end: refused whatever the code
    end = a.ends_at + timedelta(minutes=1)
    with pytest.raises(act.ActivityError) as late:
        act.check_in(u[2], a, code=act.code_at(a, end.timestamp()), now=end)
    assert late.value.code == "too_late"


def test_check_out_and_confirm_award_points_once_within_the_caps(world):
    a = publish(world["staff"], world["street"]["c1g1"], points_per_hour=10)  # environment: caps 40/day
    v = make_user("v", Role.VOLUNTEER)
    act.sign_up(v, a, now=NOW)
    # checked in 20 min before the start: the hours count from the start; out 15 min after the end
    act.check_in(v, a, lat=LAT, lon=LON, now=a.starts_at - timedelta(minutes=20))
    with pytest.raises(act.ActivityError):
        act.confirm(world["member"], SignUp.objects.get(user=v))  # not the organiser
    s = act.check_out(v, a, now=a.ends_at + timedelta(minutes=15))
    assert s.state == "checked_out" and s.hours == Decimal("2.00")
    s = act.confirm(world["staff"], s, now=a.ends_at + timedelta(hours=1))
    assert s.state == "confirmed" and s.confirmed_hours == Decimal("2.00") and s.correction_reason == ""
    rec = ServiceRecord.objects.get(key=f"activity:{s.pk}")
    assert rec.hours == Decimal("2.00") and rec.transfer.amount == 20 and rec.at == a.ends_at
    assert services.volunteer_account(v).balance == 20
    assert Notification.objects.filter(recipient=v, kind="activity_hours").exists()
    with pytest.raises(act.ActivityError):
        act.confirm(world["staff"], s)  # once
    # the same day, a long activity: the daily cap (40) leaves 20
    b = publish(world["staff"], world["street"]["c1g1"], points_per_hour=10, ends_at=NOW + timedelta(days=1, hours=8))
    act.sign_up(v, b, now=NOW)
    act.check_in(v, b, lat=LAT, lon=LON, now=b.starts_at)
    s2 = act.check_out(v, b, now=b.ends_at)
    assert s2.hours == Decimal("8.00")
    act.confirm(world["staff"], s2, now=b.ends_at)
    assert services.volunteer_account(v).balance == 40
    assert Transfer.objects.filter(key=f"award:activity:{s2.pk}").get().amount == 20


def test_a_correction_needs_a_reason_and_is_kept(world):
    a = publish(world["staff"], world["street"]["c1g1"], points_per_hour=12)
    v = make_user("v", Role.VOLUNTEER)
    act.sign_up(v, a, now=NOW)
    act.check_in(v, a, lat=LAT, lon=LON, now=a.starts_at + timedelta(minutes=30))
    s = act.check_out(v, a, now=a.starts_at + timedelta(minutes=75))
    assert s.hours == Decimal("0.75")
    with pytest.raises(act.ActivityError) as no_reason:
        act.confirm(world["staff"], s, hours="2", now=a.ends_at)
    assert no_reason.value.code == "reason_required"
    with pytest.raises(act.ActivityError):
        act.confirm(world["staff"], s, hours="25", reason="太多", now=a.ends_at)
    s = act.confirm(world["staff"], s, hours="2", reason="忘记签退，组织者核实在场两小时", now=a.ends_at)
    assert s.confirmed_hours == Decimal("2.00") and s.hours == Decimal("0.75") and "核实" in s.correction_reason
    row = ChangeRecord.objects.get(kind="activity_signups", object_id=str(s.pk), action="confirm")
    assert row.changes["hours"] == ["0.75", "2.00"] and "核实" in row.note
    assert services.volunteer_account(v).balance == 24


def test_finish_confirms_the_present_and_marks_no_shows(world):
    a = publish(world["leader"], None, team=world["team"], points_per_hour=10)
    u = [make_user(f"v{i}", Role.VOLUNTEER) for i in range(4)]
    for x in u:
        act.sign_up(x, a, now=NOW)
    act.check_in(u[0], a, lat=LAT, lon=LON, now=a.starts_at)
    act.check_out(u[0], a, now=a.starts_at + timedelta(hours=1))
    act.check_in(u[1], a, lat=LAT, lon=LON, now=a.starts_at + timedelta(minutes=30))  # never checks out
    with pytest.raises(act.ActivityError):
        act.finish(world["leader"], a, now=a.starts_at - timedelta(minutes=1))
    # the organiser checks a person in by hand (came without a phone)
    s2 = act.check_in_by_hand(world["leader"], SignUp.objects.get(user=u[2]), now=a.starts_at + timedelta(minutes=10))
    assert s2.checkin_method == "organiser"
    counts = act.finish(world["leader"], a, now=a.ends_at + timedelta(hours=3))
    assert counts == {"confirmed": 3, "no_show": 1}
    got = {s.user.username: (s.state, s.confirmed_hours) for s in SignUp.objects.filter(activity=a)}
    assert got == {"v0": ("confirmed", Decimal("1.00")), "v1": ("confirmed", Decimal("1.50")),
                   "v2": ("confirmed", Decimal("1.83")), "v3": ("no_show", None)}
    a.refresh_from_db()
    assert a.state == "finished" and a.finished_at
    assert ServiceRecord.objects.filter(key__startswith="activity:", team=world["team"]).count() == 3
    assert ChangeRecord.objects.filter(kind="activity_signups", action="no_show").count() == 1
    with pytest.raises(act.ActivityError):
        act.finish(world["leader"], a, now=a.ends_at + timedelta(hours=4))
    with pytest.raises(act.ActivityError):  # no code once it is over
        act.current_code(world["leader"], a)
    a.refresh_from_db()
    assert a.taken == 3  # the no-show's place is freed


def test_edit_with_version_and_cancel_tells_the_people(world):
    a = publish(world["staff"], world["street"]["c1g1"], places=3)
    v = make_user("v", Role.VOLUNTEER)
    w = make_user("w", Role.VOLUNTEER)
    act.sign_up(v, a, now=NOW)
    act.sign_up(w, a, now=NOW)
    a = act.edit(world["staff"], a, a.version, now=NOW, place_name="2号楼前", places=4)
    assert a.version == 2 and a.places == 4
    assert Notification.objects.filter(recipient=v, kind="activity_changed").exists()
    with pytest.raises(act.Stale):
        act.edit(world["staff"], a, 1, now=NOW, title="旧版本")
    with pytest.raises(act.ActivityError):
        act.edit(world["staff"], a, a.version, now=NOW, places=1)  # two signed up
    with pytest.raises(act.NotAllowed):
        act.edit(v, a, a.version, now=NOW, title="我改")
    act.cancel_signup(w, a, now=NOW)
    a = act.cancel(world["staff"], a, reason="暴雨预警", now=NOW)
    assert a.state == "cancelled" and a.taken == 0
    assert SignUp.objects.get(user=v).state == "cancelled"
    n = Notification.objects.filter(recipient=v, kind="activity_cancelled").first()
    assert n and "暴雨预警" in n.body
    assert not Notification.objects.filter(recipient=w, kind="activity_cancelled").exists()


def test_staff_list_is_scoped_and_filtered(world):
    st = world["street"]
    admin = make_user("admin", Role.ADMIN)
    a1 = publish(world["staff"], st["c1g1"])
    a2 = publish(admin, st["c2g1"], title="第2社区活动")
    assert set(act.staff_list(world["staff"])) == {a1}
    assert set(act.staff_list(admin)) == {a1, a2}
    assert set(act.staff_list(admin, community=st["c2"])) == {a2}
    month = timezone.localtime(a1.starts_at).strftime("%Y-%m")
    assert set(act.staff_list(admin, month=month, state="published")) == {a1, a2}
    assert not act.staff_list(admin, month="2020-01").exists()
    with pytest.raises(PermissionDenied):
        act.staff_list(world["member"])


def test_for_person_near_and_in_teams(world):
    st = world["street"]
    near = publish(world["staff"], st["c1g1"], title="近处")
    far = publish(world["staff"], st["c1g1"], title="远处", lat=LAT + 0.1)
    mine = publish(world["leader"], None, team=world["team"], open_to_all=False, title="队内", lat=LAT + 0.2)
    got = [a.title for a, _d, _t in act.for_person(world["member"], LAT, LON, now=NOW)]
    assert got[0] == "近处" and "队内" in got and "远处" not in got
    assert [a.title for a, _d, _t in act.for_person(world["outsider"], LAT, LON, now=NOW)] == ["近处"]
    assert mine not in [a for a, _d, _t in act.for_person(world["outsider"], LAT + 0.2, LON, now=NOW)]
    assert far in [a for a, _d, _t in act.for_person(world["outsider"], LAT + 0.1, LON, now=NOW)]
    assert near.pk
