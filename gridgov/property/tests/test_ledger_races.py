"""The ledger under real concurrency (gridgov.testing.race: overlapping on PostgreSQL, taking turns
on SQLite): two staff re-checking one answer at once, one wins."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.property import services
from gridgov.property.models import Problem
from gridgov.testing import race

from .ledger_helpers import problem
from .world import photo

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def scratch_media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def test_two_staff_rechecking_at_once_one_wins(w):
    p = problem(w, now=timezone.now() - timedelta(hours=2))
    p = services.answer_problem(w["pm_c1"], p, note="已清理", photos=[photo()])
    users = [w["staff_c1"], w["section"]]

    def recheck(i):
        # the one passes, the other fails it: whichever wins, the loser must not overwrite it
        return services.recheck_problem(users[i], p, passed=i == 0, note="复查" if i == 0 else "仍未整改",
                                        expected_version=p.version)

    results = race(recheck, 2)
    won = [r for r in results if isinstance(r, Problem)]
    lost = [r for r in results if isinstance(r, services.Conflict)]
    assert len(won) == 1 and len(lost) == 1, results
    p.refresh_from_db()
    assert p.state == won[0].state and p.version == won[0].version
    assert p.events.filter(action__in=("pass", "fail")).count() == 1


def test_rechecking_at_once_without_a_version_still_one_wins(w):
    p = problem(w, now=timezone.now() - timedelta(hours=2))
    p = services.answer_problem(w["pm_c1"], p, note="已清理", photos=[photo()])
    results = race(lambda i: services.recheck_problem([w["staff_c1"], w["section"]][i], p, passed=True), 2)
    assert len([r for r in results if isinstance(r, Problem)]) == 1, results
    assert all(isinstance(r, (Problem, services.Conflict)) for r in results), results
    assert Problem.objects.get(pk=p.pk).events.filter(action="pass").count() == 1
