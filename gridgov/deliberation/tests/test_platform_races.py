"""Races of 平台议 (gridgov.testing.race: overlapping on PostgreSQL, taking turns on SQLite): a
problem offered twice at once makes one topic; two staff moving a topic with the same version
move it once; two defaults set at once leave one."""

import pytest

from gridgov.deliberation import platform, services
from gridgov.deliberation.models import Process, Topic
from gridgov.testing import race

from .test_platform import recurring_problem
from .world import build, topic

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def processes(db):
    """The seeded processes (a transactional test's flush drops the data migration's rows)."""
    import importlib

    from django.apps import apps

    importlib.import_module("gridgov.deliberation.migrations.0002_processes").seed(apps, None)


def test_offering_a_problem_twice_at_once_makes_one_topic(street):
    w = build(street)
    place = recurring_problem(w)
    results = race(lambda i: platform.from_data(w["staff_c1"], community=street["c1"], place=place,
                                                category="城乡建设/物业管理", month="2024-06"), 4)
    assert len([r for r in results if isinstance(r, Topic)]) == 1, results
    assert all(isinstance(r, (Topic, services.Conflict)) for r in results), results
    assert Topic.objects.filter(problem_place=place, state="open").count() == 1


def test_moving_with_the_same_version_moves_once(street):
    w = build(street)
    t = topic(w)
    results = race(lambda i: platform.move(w["staff_c1"], t.pk, version=t.version), 4)
    assert len([r for r in results if isinstance(r, Topic)]) == 1, results
    t.refresh_from_db()
    assert t.phase.position == 2


def test_two_defaults_at_once_leave_one(street):
    w = build(street)
    three = [{"name": "提议"}, {"name": "商议", "meeting": True}]
    procs = [platform.create_process(w["staff_c1"], name=f"流程{i}", community=street["c1"], phases=three)
             for i in range(2)]
    race(lambda i: platform.set_default(w["staff_c1"], procs[i].pk), 2)
    assert Process.objects.filter(node=street["c1"], is_default=True).count() == 1
