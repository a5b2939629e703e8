"""The day's demo on the small world: states reached, deterministic for a seed, a rebuild drops
the earlier one."""

import pytest

from gridgov.gridwork import demo_day
from gridgov.gridwork.models import DailyLog, Need, Patrol, PatrolPoint, Visit, VisitResident

from . import world


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _snapshot():
    return (list(Patrol.objects.order_by("started_at", "worker_id").values_list("worker_id", "started_at", "distance_m",
                                                                                  "point_count")),
            list(Visit.objects.order_by("at", "house_id").values_list("worker_id", "house_id", "at", "outcome")),
            list(Need.objects.order_by("heard_at", "id").values_list("kind", "state")),
            list(DailyLog.objects.order_by("worker_id", "day").values_list("worker_id", "day", "state")))


def test_the_demo_day(street):
    from gridgov.cases.taxonomy import seed_taxonomy
    from gridgov.registry import services as reg

    seed_taxonomy()
    w = world.build(street)
    for i in range(12):  # more special-care people, for needs to be heard
        reg.create_resident(name=f"老人{i}", house=w["house_a"] if i % 2 else w["house_b"],
                            grid=street["c1g1m1"] if i % 2 else street["c1g2m1"], tags=["elderly", "living_alone"])
    now = world.when(2026, 3, 31, 20)
    counts = demo_day.build(seed=7, now=now)
    assert counts["gridwork_patrols"] == Patrol.objects.count() > 150
    assert counts["gridwork_patrol_points"] == PatrolPoint.objects.count()
    assert not Patrol.objects.filter(state="active").exists()
    assert Patrol.objects.filter(distance_m__gt=0).count() > 0.9 * Patrol.objects.count()
    assert set(Patrol.objects.values_list("worker__username", flat=True)) == {"gw_c1g1", "gw_c1g2", "gw_c2g1"}
    assert Patrol.objects.filter(day__lt=world.SINCE).count() == 0  # nobody patrols before their duty
    assert counts["gridwork_visits"] == Visit.objects.count() > 5
    assert VisitResident.objects.filter(groups__isnull=False).exists()
    assert DailyLog.objects.filter(state="submitted").count() > 10
    assert set(Need.objects.values_list("state", flat=True)) <= {"heard", "case", "service", "done", "closed"}
    first = _snapshot()
    again = demo_day.build(seed=7, now=now)
    assert again == counts and _snapshot() == first
