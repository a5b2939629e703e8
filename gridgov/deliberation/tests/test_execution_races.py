"""专人办、结果亮 under real concurrency (gridgov.testing.race: overlapping on PostgreSQL, taking
turns on SQLite): one carrier linked, one report of done, one rating per person."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.core.models import ChangeRecord
from gridgov.deliberation import execution, services
from gridgov.deliberation.models import Decision, TopicRating
from gridgov.testing import race

from .test_execution import assigned, in_phase, published_phase, scratch_media, seeded_processes  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_carrying_out_at_once_links_one_project(w):
    from gridgov.hotline.models import ProactiveProject

    t = in_phase(w)
    assigned(w, t)
    results = race(lambda i: execution.carry_out(w["staff_c1"], t, carrier="project"), 4)
    won = [r for r in results if isinstance(r, Decision)]
    lost = [r for r in results if isinstance(r, services.Conflict)]
    assert len(won) == 1 and len(lost) == 3, results
    assert ProactiveProject.objects.count() == 1 and Decision.objects.get(topic=t).project_id is not None


def test_reporting_done_at_once_counts_once(w):
    t = in_phase(w)
    assigned(w, t)
    execution.carry_out(w["staff_c1"], t, carrier="other")
    results = race(lambda i: execution.report_done(w["worker_c1"] if i % 2 else w["staff_c1"], t, note="已办结"), 4)
    assert len([r for r in results if isinstance(r, Decision)]) == 1, results
    d = Decision.objects.get(topic=t)
    assert ChangeRecord.objects.filter(kind="deliberation_decisions", object_id=str(d.pk), action="done").count() == 1


def test_rating_at_once_counts_once(w):
    t = published_phase(w)
    execution.publish_result(w["staff_c1"], t, summary="已清理")
    results = race(lambda i: execution.rate(w["neighbour"], t, score="satisfied"), 4)
    assert len([r for r in results if isinstance(r, TopicRating)]) == 1, results
    assert all(isinstance(r, (TopicRating, services.Conflict)) for r in results), results
    assert TopicRating.objects.filter(topic=t).count() == 1


def test_reminding_at_once_sends_once(w):
    t = in_phase(w)
    execution.assign(w["staff_c1"], t, owner=w["worker_c1"], deadline=timezone.localdate() + timedelta(days=1),
                     work="清理楼道")
    results = race(lambda i: execution.remind(), 3)
    assert sum(r for r in results if isinstance(r, int)) == 1, results
