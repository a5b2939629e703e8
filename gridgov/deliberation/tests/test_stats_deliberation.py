"""`gridgov stats`, the deliberation section: topics by state, the open ones by phase
("process: n. phase"), meetings by state, decisions (done), results and ratings."""

import json
from datetime import datetime
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from gridgov.deliberation import services
from gridgov.deliberation.models import Decision, Meeting, Process, Result, Topic, TopicRating

from .world import topic

AT = timezone.make_aware(datetime(2025, 3, 1, 10, 0))


def stats() -> dict:
    out = StringIO()
    call_command("stats", stdout=out)
    return json.loads(out.getvalue())["deliberation"]


def test_stats_count_topics_by_state_and_phase(w):
    staff = w["staff_c1"]
    six = Process.objects.get(is_default=True, node__isnull=True)
    three = Process.objects.get(name="三步议事")
    # open: two in 居民提, one in 平台议 (six steps), one in 提议 (three steps)
    topic(w, title="楼道堆物", now=AT)
    topic(w, "c2", title="停车难", now=AT)
    t = topic(w, title="电动车充电", now=AT)
    services.advance(staff, t, to=six.phases.get(position=3), now=AT)
    topic(w, title="广场夜话", process=three, now=AT)
    # one in 多方商 with a held meeting and a decision that is done
    t = topic(w, title="加装电梯", now=AT)
    t = services.advance(staff, t, to=six.phases.get(position=4), now=AT)
    Meeting.objects.create(topic=t, title="议事会", starts_at=AT, state=Meeting.State.HELD, created_at=AT, held_at=AT)
    Meeting.objects.create(topic=t, title="改期", starts_at=AT, state=Meeting.State.CANCELLED, created_at=AT)
    Decision.objects.create(topic=t, summary="加装", decided_at=AT, decided_by=staff, done_at=AT)
    # closed with a result and two ratings; merged; declined
    t = topic(w, title="健身器材", now=AT)
    Result.objects.create(topic=t, summary="已更换", published_at=AT, published_by=staff)
    TopicRating.objects.create(topic=t, user=w["user_c1"], score="satisfied", at=AT)
    TopicRating.objects.create(topic=t, user=w["neighbour"], score="satisfied", at=AT)
    Topic.objects.filter(pk=t.pk).update(state=Topic.State.CLOSED, closed_at=AT)
    dup = topic(w, title="楼道杂物", now=AT)
    Topic.objects.filter(pk=dup.pk).update(state=Topic.State.MERGED)
    no = topic(w, title="取消门禁", now=AT)
    Topic.objects.filter(pk=no.pk).update(state=Topic.State.DECLINED)

    s = stats()
    assert s["topics"] == 8
    assert s["topics_by_state"] == {"closed": 1, "declined": 1, "merged": 1, "open": 5}
    assert s["open_topics_by_phase"] == {"三步议事: 1. 提议": 1, "六步议事: 1. 居民提": 2, "六步议事: 3. 平台议": 1,
                                         "六步议事: 4. 多方商": 1}
    assert s["meetings"] == {"cancelled": 1, "held": 1}
    assert (s["decisions"], s["decisions_done"], s["results"]) == (1, 1, 1)
    assert s["ratings"] == {"satisfied": 2}


def test_stats_of_an_empty_street(db):
    s = stats()
    assert s["topics"] == 0 and s["topics_by_state"] == {} and s["open_topics_by_phase"] == {}
