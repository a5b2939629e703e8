"""Supports under real concurrency (gridgov.testing.race: overlapping on PostgreSQL, taking
turns on SQLite): the count is the number of people, never of taps."""

import pytest

from gridgov.deliberation import proposals
from gridgov.deliberation.models import Support, Topic
from gridgov.testing import race

from .world import _resident_user, build

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def processes(transactional_db):
    """The seeded processes (a transactional test flushes what the migrations wrote)."""
    from importlib import import_module

    from django.apps import apps

    import_module("gridgov.deliberation.migrations.0002_processes").seed(apps, None)


def test_twenty_people_support_at_once(street):
    w = build(street)
    t = proposals.propose(w["user_c1"], title="加装电梯")
    people = [_resident_user(f"racer{i}", f"居民{i}", f"1390000{i:04d}", w["house_c1"], street["c1g1m1"])[1]
              for i in range(20)]
    results = race(lambda i: proposals.support(people[i], t.pk), 20)
    assert all(isinstance(r, Topic) for r in results), results
    t.refresh_from_db()
    assert t.support_count == 20 == Support.objects.filter(topic=t).count()


def test_one_person_tapping_five_times_at_once_supports_once(street):
    w = build(street)
    t = proposals.propose(w["user_c1"], title="楼道灯不亮")
    results = race(lambda i: proposals.support(w["neighbour"], t.pk), 5)
    assert all(isinstance(r, Topic) for r in results), results  # a double tap is no error
    t.refresh_from_db()
    assert t.support_count == 1 == Support.objects.filter(topic=t).count()
