"""The week's demo on the small world: highlights every week, most weeks' best picked, notes on
the last months; the same seed and day give the same year."""

import pytest

from gridgov.gridwork import demo_week
from gridgov.gridwork.models import Highlight, SummaryNote

from . import world


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_the_demo_week(street):
    world.build(street)
    now = world.when(2026, 5, 20, 20)
    counts = demo_week.build(seed=5, now=now)
    assert counts["gridwork_highlights"] == Highlight.objects.count() > 20
    picked = Highlight.objects.filter(picked_at__isnull=False)
    assert counts["gridwork_highlights_picked"] == picked.count() > 0
    assert picked.values("community_path", "week").distinct().count() == picked.count()  # one a week each
    assert SummaryNote.objects.filter(subject="community").exists()
    first = list(Highlight.objects.order_by("week", "worker_id", "title").values_list("week", "worker_id", "title"))
    demo_week.build(seed=5, now=now)
    assert list(Highlight.objects.order_by("week", "worker_id", "title").values_list("week", "worker_id", "title")) == first
