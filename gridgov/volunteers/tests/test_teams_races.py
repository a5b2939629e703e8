"""Teams' races with real threads (gridgov.testing.race: overlapping on PostgreSQL, taking turns
on SQLite): an application is decided once (the leader and
staff at the same moment), a person has one pending application per team and one open patrol,
and ending a patrol twice at once counts its hours and points once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.models import Duty, Role
from gridgov.registry.models import Volunteer, VolunteerTeam
from gridgov.testing import make_user
from gridgov.volunteers import teams
from gridgov.volunteers.models import Patrol, ServiceRecord, TeamApplication, Transfer
from gridgov.testing import race

pytestmark = [
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def team(street):
    t = VolunteerTeam.objects.create(name="巡逻队", kind="patrol", grid=street["c1"])
    lead = make_user("lead", Role.VOLUNTEER)
    Volunteer.objects.create(name="队长", kind="volunteer", user=lead, team=t, grid=street["c1g1"])
    t.leader = lead
    t.save()
    return t, lead, make_user("cs", Role.COMMUNITY_STAFF, [street["c1"]], duty=Duty.STAFF)


def test_leader_and_staff_decide_at_once(team):
    t, lead, staff = team
    res = make_user("res", Role.RESIDENT)
    app = teams.apply(res, t, "申请人")
    results = race(lambda i: teams.decide(lead if i % 2 else staff, app.pk, i % 2 == 0, "不合适"), 6)
    won = [r for r in results if isinstance(r, TeamApplication)]
    assert len(won) == 1, results
    assert all(isinstance(r, teams.Conflict) for r in results if r not in won)
    assert Volunteer.objects.filter(user=res).count() == (1 if won[0].state == "approved" else 0)


def test_one_pending_application_and_one_open_patrol(team):
    t, _lead, _staff = team
    res = make_user("res", Role.RESIDENT)
    results = race(lambda i: teams.apply(res, t, "申请人"), 6)
    assert sum(isinstance(r, TeamApplication) for r in results) == 1
    assert TeamApplication.objects.filter(user=res, state="pending").count() == 1
    steward = make_user("st", Role.STEWARD)
    results = race(lambda i: teams.start_patrol(steward), 6)
    assert sum(isinstance(r, Patrol) for r in results) == 1
    p = Patrol.objects.get(user=steward)
    Patrol.objects.filter(pk=p.pk).update(started_at=timezone.now() - timedelta(hours=2))
    results = race(lambda i: teams.end_patrol(steward, p.pk), 6)
    assert all(isinstance(r, tuple) for r in results), results
    assert ServiceRecord.objects.filter(key=f"patrol:{p.pk}").count() == 1
    assert Transfer.objects.filter(key=f"award:patrol:{p.pk}").get().amount == 20
