"""The assessment's demo on the small world: the finished quarters published with the leaders'
marks, the points paid once, and each published result equal to the assessment computed again."""

import pytest

from gridgov.gridwork import assess, demo_assess, demo_day
from gridgov.gridwork.models import AssessmentSnapshot, LeaderMark, PointsTerm

from . import world


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_the_demo_publishes_the_finished_quarters(street, settings):
    from gridgov.cases.taxonomy import seed_taxonomy

    settings.GRIDWORK_MIN_SAMPLE = 0  # the small world's workers report little
    from gridgov.volunteers.models import Transfer

    seed_taxonomy()
    world.build(street)
    now = world.when(2026, 5, 20, 20)
    demo_day.build(seed=3, now=now)
    counts = demo_assess.build(seed=3, now=now)
    # the year from 2025-05-21: 2025-Q2 .. 2026-Q1 are over and published, 2026-Q2 runs
    assert sorted(AssessmentSnapshot.objects.values_list("period", flat=True)) == [
        "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1"]
    assert counts["gridwork_periods_published"] == 4
    assert counts["gridwork_leader_marks"] == LeaderMark.objects.count() > 0
    assert LeaderMark.objects.filter(period="2026-Q2").exists()  # the running quarter's marks so far
    snap = AssessmentSnapshot.objects.get(period="2026-Q1")
    assert snap.data["workers"] == assess.assess("2026-Q1")["workers"]  # announced = recomputed
    ranked = [r for r in snap.data["workers"] if r["rank"]]
    assert ranked and all(r["grade"] for r in ranked)
    awards = Transfer.objects.filter(key__startswith="award:gridwork:")
    paid = set(PointsTerm.objects.values_list("user_id", flat=True))
    due = [(sn.period, r["user_id"]) for sn in AssessmentSnapshot.objects.all() for r in sn.data["workers"]
           if r["user_id"] in paid and r["score"]]
    assert due and awards.count() == len(due)  # each on duty in a published quarter, once
    # a rebuild gives the same and pays nothing twice
    first = list(LeaderMark.objects.order_by("worker_id", "period").values_list("worker_id", "period", "mark"))
    demo_assess.build(seed=3, now=now)
    assert list(LeaderMark.objects.order_by("worker_id", "period").values_list("worker_id", "period", "mark")) == first
    assert Transfer.objects.filter(key__startswith="award:gridwork:").count() == awards.count()
