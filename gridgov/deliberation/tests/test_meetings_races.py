"""One vote per invitee and one decision per topic under real concurrency (gridgov.testing.race:
overlapping on PostgreSQL, taking turns on SQLite)."""

import pytest

from gridgov.deliberation import meetings, services
from gridgov.deliberation.models import Decision, Vote
from gridgov.testing import race

from .test_meetings import convened, present
from .world import build

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def processes(db):
    """A transactional test's flush drops the processes migration 0002 seeds: seed them again."""
    import importlib

    from django.apps import apps

    importlib.import_module("gridgov.deliberation.migrations.0002_processes").seed(apps, None)


def test_the_same_invitee_voting_twice_at_once_votes_once(street):
    w = build(street)
    m = convened(w, 5, mode="online", place="")
    meetings.join(w["user_c1"], m)
    options = list(m.options.order_by("position"))
    results = race(lambda i: meetings.vote(w["user_c1"], m.pk, option=options[i % 2].pk), 6)
    won = [r for r in results if isinstance(r, Vote)]
    lost = [r for r in results if isinstance(r, services.Conflict)]
    assert len(won) == 1 and len(lost) == 5, results
    assert all(e.code == "already_voted" for e in lost)
    assert Vote.objects.filter(meeting=m).count() == 1


def test_closing_twice_at_once_decides_once(street):
    w = build(street)
    m = convened(w, 5)
    rows = present(w, m, 5)
    opt = m.options.order_by("position").first()
    for row in rows:
        meetings.vote(w["staff_c1"], m, option=opt, invitee=row)
    results = race(lambda i: meetings.close(w["staff_c1"], m.pk, minutes=f"纪要{i}"), 4)
    assert len([r for r in results if isinstance(r, Decision)]) == 1, results
    assert all(isinstance(r, (Decision, services.Conflict)) for r in results), results
    assert Decision.objects.filter(topic=m.topic_id).count() == 1
