"""Exactly one claimer of a wish under real concurrency (gridgov.testing.race: overlapping on
PostgreSQL, taking turns on SQLite)."""

import pytest

from gridgov.volunteers import services, wishes
from gridgov.volunteers.models import ServiceRecord, Wish

from gridgov.testing import race
from .wishes_world import build, jpeg

pytestmark = [
    pytest.mark.django_db(transaction=True),
]


def test_twelve_claimers_at_once_exactly_one_wins(street):
    from gridgov.accounts.models import Role
    from gridgov.testing import make_user

    w = build(street)
    wish = wishes.post_for(w["worker_c1"], w["elder_c1"].pk, "想要一台收音机")
    vols = [make_user(f"racer{i}", Role.VOLUNTEER) for i in range(12)]
    results = race(lambda i: wishes.claim(vols[i], wish.pk), 12)
    won = [r for r in results if isinstance(r, Wish)]
    lost = [r for r in results if isinstance(r, wishes.Conflict)]
    assert len(won) == 1 and len(lost) == 11, results
    wish.refresh_from_db()
    assert wish.state == "claimed" and wish.claimed_by == won[0].claimed_by
    from gridgov.core.models import ChangeRecord

    assert ChangeRecord.objects.filter(kind="wishes", object_id=str(wish.pk), action="claim").count() == 1


def test_confirming_twice_at_once_counts_the_service_once(street):
    w = build(street)
    wish = wishes.post_for(w["worker_c1"], w["elder_c1"].pk, "理发")
    wishes.claim(w["vol"], wish.pk)
    wishes.fulfil(w["vol"], wish.pk, jpeg(), "理好了")
    results = race(lambda i: wishes.confirm(w["worker_c1"] if i % 2 else w["staff_c1"], wish.pk), 6)
    assert len([r for r in results if isinstance(r, Wish)]) == 1, results
    assert ServiceRecord.objects.filter(key=f"wish:{wish.pk}").count() == 1
    assert services.volunteer_account(w["vol"]).balance == 10
