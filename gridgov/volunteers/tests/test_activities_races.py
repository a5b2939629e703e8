"""Sign-up races with real threads (gridgov.testing.race: overlapping on PostgreSQL, taking turns
on SQLite): fifty people tap 报名 at once for ten places, exactly ten get one; one person
tapping ten times at once gets one place."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.models import Duty, Role
from gridgov.testing import make_user
from gridgov.volunteers import activities as act
from gridgov.volunteers.models import Activity, SignUp
from gridgov.testing import race

pytestmark = [
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def activity(street):
    staff = make_user("cs", Role.COMMUNITY_STAFF, [street["c1"]], duty=Duty.STAFF)
    start = timezone.now() + timedelta(days=2)
    return act.publish(staff, title="热门活动", node=street["c1g1"], lat=39.7845, lon=116.386, place_name="广场",
                       starts_at=start, ends_at=start + timedelta(hours=2), places=10)


def test_fifty_people_race_for_ten_places(activity):
    people = [make_user(f"v{i}", Role.VOLUNTEER) for i in range(50)]
    results = race(lambda i: act.sign_up(people[i], activity), 50)
    won = [r for r in results if isinstance(r, SignUp)]
    full = [r for r in results if isinstance(r, act.Full)]
    assert len(won) == 10 and len(full) == 40, results
    a = Activity.objects.get(pk=activity.pk)
    assert a.taken == 10
    assert SignUp.objects.filter(activity=a, state="signed").count() == 10


def test_one_person_tapping_ten_times_gets_one_place(activity):
    v = make_user("v", Role.VOLUNTEER)
    results = race(lambda i: act.sign_up(v, activity), 10)
    won = [r for r in results if isinstance(r, SignUp)]
    assert len(won) == 1, results
    assert all(isinstance(r, act.ActivityError) and r.code == "already" for r in results if r not in won), results
    assert Activity.objects.get(pk=activity.pk).taken == 1
    assert SignUp.objects.filter(activity=activity).count() == 1
