"""Duties with history (accounts.duties): assigning, ending, the hand-over of a leaver's open cases
(cases.services.hand_over through accounts.duties.duty_ended), and every reader of the people in
charge using only the duties in force."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from gridgov.accounts import duties
from gridgov.accounts.models import Duty, GridAssignment, Role
from gridgov.accounts.scope import scope_of
from gridgov.cases import routing
from gridgov.cases.models import Case, CaseEvent
from gridgov.core.models import ChangeRecord
from gridgov.testing import make_user

pytestmark = pytest.mark.django_db


def today():
    return timezone.localdate()


def open_case(grid, handler, state="accepted", n=[0]):
    n[0] += 1
    now = timezone.now()
    return Case.objects.create(channel="patrol", text=f"事件{n[0]}", grid=grid, grid_path=grid.path, state=state,
                               handler_user=handler, handler_level="grid_leader", number=f"D{n[0]:04d}",
                               created_at=now, updated_at=now)


@pytest.fixture
def admin(street):
    return make_user("admin1", Role.ADMIN)


@pytest.fixture
def w(street, people, admin):
    worker = people["worker"]  # grid worker on c1g1; people["gl"] leads c1g1
    cases = [open_case(street["c1g1m1"], worker), open_case(street["c1g1"], worker, state="dispatched"),
             open_case(street["c1g1m2"], worker, state="resolved")]  # resolved: not open
    other = open_case(street["c2g1"], worker)  # outside the grid whose duty ends
    return {"worker": worker, "duty": GridAssignment.objects.get(user=worker), "cases": cases, "other": other}


def test_assign_keeps_history_and_gives_scope(street, people, admin):
    newbie = make_user("newbie", Role.GRID_WORKER)
    assert scope_of(newbie).paths == ()
    a = duties.assign_duty(admin, newbie, street["c1g2"], Duty.WORKER, today(), note="新招聘")
    newbie.refresh_from_db()
    assert scope_of(newbie).paths == (street["c1g2"].path,)
    row = ChangeRecord.objects.get(kind="duties", object_id=str(a.pk))
    assert row.action == "create" and row.actor == admin and row.note == "新招聘"
    assert row.changes["node"] == [None, street["c1g2"].code] and row.grid_path == street["c1g2"].path
    with pytest.raises(duties.DutyError) as exc:  # one open duty per person, grid and kind
        duties.assign_duty(admin, newbie, street["c1g2"], Duty.WORKER)
    assert exc.value.code == "duplicate"
    with pytest.raises(duties.DutyError):  # a resident holds no duty
        duties.assign_duty(admin, people["resident"], street["c1g2"], Duty.WORKER)
    # a duty starting next week gives no scope yet
    later = make_user("later", Role.GRID_WORKER)
    duties.assign_duty(admin, later, street["c1g2"], Duty.WORKER, today() + timedelta(days=7))
    assert scope_of(later).paths == ()


def test_end_hands_open_cases_to_the_grid_leader_with_history(street, people, admin, w):
    yesterday = today() - timedelta(days=1)
    done = duties.end_duty(admin, w["duty"], yesterday, note="辞职")
    assert done.handed_over == 2 and done.successor_duty is None
    a = GridAssignment.objects.get(pk=w["duty"].pk)  # never deleted
    assert a.until == yesterday and a.ended_by == admin and a.end_note == "辞职"
    for c in w["cases"][:2]:
        c.refresh_from_db()
        assert c.handler_user == people["gl"]
        ev = CaseEvent.objects.filter(case=c, action="hand_over").get()
        assert ev.actor == admin and ev.from_state == ev.to_state == c.state
        assert "worker" in ev.note and ev.data["to"]["username"] == "gl"
    resolved, other = Case.objects.get(pk=w["cases"][2].pk), Case.objects.get(pk=w["other"].pk)
    assert resolved.handler_user == w["worker"] and other.handler_user == w["worker"]  # not open / elsewhere
    assert ChangeRecord.objects.get(kind="duties", object_id=str(a.pk), action="end").changes["until"] == [
        None, yesterday.isoformat()]
    # the ended duty gives no scope; "who served" answers for each day
    worker = type(w["worker"]).objects.get(pk=w["worker"].pk)
    assert scope_of(worker).paths == ()
    assert w["worker"] in [d.user for d in duties.served(street["c1g1"], yesterday)]
    assert w["worker"] not in [d.user for d in duties.served(street["c1g1"], today())]
    with pytest.raises(duties.DutyError) as exc:  # ended once
        duties.end_duty(admin, a, yesterday)
    assert exc.value.code == "ended"


def test_end_with_successor_hands_over_to_them_and_they_take_the_duty(street, people, admin, w):
    succ = make_user("succ", Role.GRID_WORKER)
    until = today() - timedelta(days=1)
    done = duties.end_duty(admin, w["duty"], until, successor=succ)
    assert done.handed_over == 2
    assert {c.handler_user for c in Case.objects.filter(pk__in=[c.pk for c in w["cases"][:2]])} == {succ}
    s = done.successor_duty
    assert (s.user, s.node, s.duty, s.since) == (succ, street["c1g1"], Duty.WORKER, today())
    assert succ in [d.user for d in duties.served(street["c1g1"], today(), Duty.WORKER)]


def test_ending_one_of_two_duties_in_a_grid_hands_nothing_over(street, people, admin, w):
    # the worker also serves the community: still serving c1g1 through it
    duties.assign_duty(admin, w["worker"], street["c1"], Duty.STAFF, today() - timedelta(days=30))
    done = duties.end_duty(admin, w["duty"], today())
    assert done.handed_over == 0
    assert not CaseEvent.objects.filter(action="hand_over").exists()
    assert all(Case.objects.get(pk=c.pk).handler_user == w["worker"] for c in w["cases"])


def test_no_leader_in_force_falls_back_to_the_community_secretary(street, people, admin, w):
    duties.end_duty(admin, GridAssignment.objects.get(user=people["gl"]), today() - timedelta(days=2))
    duties.end_duty(admin, w["duty"], today() - timedelta(days=1))
    assert {Case.objects.get(pk=c.pk).handler_user for c in w["cases"][:2]} == {people["sec"]}


def test_a_leaving_leader_never_gets_their_own_cases(street, people, admin):
    gl = people["gl"]
    c = open_case(street["c1g1m1"], gl)
    duties.end_duty(admin, GridAssignment.objects.get(user=gl), today())  # in force today still
    c.refresh_from_db()
    assert c.handler_user == people["sec"]  # no other leader: the community's secretary


def test_readers_use_duties_in_force(street, people, admin):
    gl_duty = GridAssignment.objects.get(user=people["gl"])
    assert routing.resolve_handler("grid_leader", street["c1g1m1"], None)["user"] == people["gl"]
    duties.end_duty(admin, gl_duty, today() - timedelta(days=1))
    # the ended leader fills no level any more: c1g1 has no leader in force, nor has c1
    assert routing.resolve_handler("grid_leader", street["c1g1m1"], None)["user"] is None
    from gridgov.registry.coverage import coverage

    assert street["c1g1"].code in [g["code"] for g in coverage()["without_leader"]]
    assert street["c1g1"].code not in [g["code"] for g in coverage(today() - timedelta(days=1))["without_leader"]]


def test_who_may_manage_duties(street, people, admin):
    newbie = make_user("newbie", Role.GRID_WORKER)
    # a community secretary within their community only
    duties.assign_duty(people["sec"], newbie, street["c1g2"], Duty.WORKER)
    with pytest.raises(PermissionDenied):
        duties.assign_duty(people["sec"], newbie, street["c2g1"], Duty.WORKER)
    with pytest.raises(PermissionDenied):
        duties.end_duty(people["sec2"], GridAssignment.objects.get(user=newbie), today())
    for who in ("gl", "cstaff", "lic", "worker"):  # grid leaders, staff, street leaders: never
        with pytest.raises(PermissionDenied):
            duties.assign_duty(people[who], newbie, street["c1g1"], Duty.WORKER)
    with pytest.raises(duties.DutyError):  # never after today
        duties.end_duty(admin, GridAssignment.objects.get(user=newbie), today() + timedelta(days=1))
