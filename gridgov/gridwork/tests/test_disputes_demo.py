"""The disputes' demo on the small world: states reached, events, deterministic for a seed, a
rebuild drops the earlier one."""

import pytest

from gridgov.gridwork import demo_disputes
from gridgov.gridwork.models import Dispute, DisputeEvent, MediationSession

from . import world


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _snapshot():
    return list(Dispute.objects.order_by("recorded_at", "number").values_list(
        "number", "kind", "risk", "state", "recorded_by__username", "recorded_at", "follow_up_on", "version"))


def test_the_demo_disputes(street):
    world.build(street)
    now = world.when(2026, 3, 31, 20)  # the duties start 2025-12-01: four months of disputes
    counts = demo_disputes.build(seed=7, now=now)
    n = Dispute.objects.count()
    assert counts["gridwork_disputes"] == n >= demo_disputes.MIN_COUNT
    states = dict((s, Dispute.objects.filter(state=s).count()) for s in Dispute.State.values)
    assert states["closed"] + states["agreed"] > states["referred"] + states["failed"]
    assert Dispute.objects.open().exists()
    assert Dispute.objects.filter(number__startswith="JF2026").exists()
    assert DisputeEvent.objects.filter(action="record").count() == n
    assert MediationSession.objects.count() == counts["gridwork_dispute_sessions"] > 0
    kinds = {m["kind"] for s in MediationSession.objects.all() for m in s.mediators}
    assert "grid_worker" in kinds and len(kinds) >= 3
    assert all(d.parties.count() >= 2 for d in Dispute.objects.all())
    assert set(Dispute.objects.values_list("recorded_by__username", flat=True)) <= {"gw_c1g1", "gw_c1g2", "gw_c2g1"}
    first = _snapshot()
    assert demo_disputes.build(seed=7, now=now) == counts
    assert _snapshot() == first  # deterministic, the first build dropped
