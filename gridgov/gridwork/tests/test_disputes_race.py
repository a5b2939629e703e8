"""Disputes recorded at once get distinct numbers (a collision is retried). On PostgreSQL the
threads overlap for real; on SQLite they take turns (gridgov.testing.race)."""

import pytest

from gridgov.gridwork import disputes
from gridgov.gridwork.models import Dispute
from gridgov.testing import race

from . import world
from .world_disputes import PARTIES

pytestmark = pytest.mark.django_db(transaction=True)
N = 6


def test_numbers_are_unique_under_a_race(street):
    w = world.build(street)
    at = world.when(2026, 3, 9)

    def go(i):
        return disputes.record_dispute(w["gw_c1g1"], kind="neighbour", summary=f"纠纷{i}", parties=PARTIES,
                                       grid=street["c1g1m1"], now=at).number

    results = race(go, N)
    assert all(isinstance(r, str) for r in results), results
    assert sorted(results) == [f"JF202603-{i:04d}" for i in range(1, N + 1)]
    assert Dispute.objects.count() == N
