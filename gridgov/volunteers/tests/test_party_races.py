"""Party races with real threads (gridgov.testing.race: overlapping on PostgreSQL, taking turns
on SQLite): a member tapping 报到 twice at once gets one
active registration; two units' contacts registering the same unit get one; two members taking
the same post at once both hold it once, and the same member twice holds it once."""

import pytest

from gridgov.accounts.models import Role
from gridgov.testing import make_user
from gridgov.volunteers import party
from gridgov.volunteers.models import PartyRegistration, VanguardDuty
from gridgov.testing import race

pytestmark = [
    pytest.mark.django_db(transaction=True),
]


def test_one_active_registration_when_registering_twice_at_once(street):
    m = make_user("m", Role.RESIDENT)
    results = race(lambda i: party.register_member(m, community=street["c1"]), 6)
    assert sum(isinstance(r, PartyRegistration) for r in results) == 1
    assert all(isinstance(r, (PartyRegistration, party.Conflict)) for r in results), results
    assert PartyRegistration.objects.filter(user=m, state="active").count() == 1


def test_one_unit_registration_at_once(street):
    contacts = [make_user(f"u{i}", Role.RESIDENT) for i in range(5)]
    results = race(lambda i: party.register_unit(contacts[i], community=street["c1"], name="区财政局党支部",
                                                 unit_name="区财政局"), 5)
    assert sum(isinstance(r, PartyRegistration) for r in results) == 1, results
    assert PartyRegistration.objects.filter(kind="unit", unit_name="区财政局", state="active").count() == 1


def test_taking_a_post_at_once(street):
    cs = make_user("cs", Role.ADMIN)
    post = party.create_post(cs, name="督导岗", node=street["c1g1"])
    m = make_user("m", Role.RESIDENT)
    party.register_member(m, community=street["c1"])
    results = race(lambda i: party.take_post(m, post.pk), 5)
    assert sum(isinstance(r, VanguardDuty) for r in results) == 1, results
    assert VanguardDuty.objects.filter(post=post, user=m, until__isnull=True).count() == 1
