"""The demo's meetings part on the test world: a topic entering the meeting phase gets a meeting
held with a decision (owner, deadline 2–6 weeks later, minutes in Chinese); the first topic of the
year misses the quorum once and is decided at a second meeting; the same seed gives the same
meetings."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.deliberation import demo_meetings
from gridgov.deliberation.demo import Context
from gridgov.deliberation.models import Decision, Meeting

from .test_meetings import in_meeting_phase

pytestmark = pytest.mark.django_db


def _ctx(w, seed=7):
    now = timezone.now()
    ctx = Context(rng=random.Random(seed), now=now, start=now - timedelta(days=365))
    ctx.staff = {w["street"]["c1"].pk: w["staff_c1"]}
    ctx.residents = {w["street"]["c1"].pk: [w["user_c1"], w["neighbour"]]}
    return ctx


def _run(w, ctx, title):
    t = in_meeting_phase(w, title=title)
    demo_meetings.on_phase(ctx, t, t.phase, timezone.now() - timedelta(days=60))
    return t


def test_the_demo_decides_at_a_meeting_and_once_at_a_second_one(w):
    ctx = _ctx(w)
    first = _run(w, ctx, "小区停车难")
    held = list(Meeting.objects.filter(topic=first).order_by("starts_at"))
    assert [m.state for m in held] == ["held", "held"]  # the quorum missed once
    assert not Decision.objects.filter(meeting=held[0]).exists()
    d = Decision.objects.get(topic=first)
    assert d.meeting == held[1] and d.owner == w["staff_c1"]
    assert timedelta(weeks=2) <= d.deadline - d.decided_at.date() <= timedelta(weeks=6, days=1)
    assert "停车" in d.summary or "车位" in d.summary
    assert "议事会" in held[1].minutes and "会议决定" in held[1].minutes and "未进行表决" in held[0].minutes
    second = _run(w, ctx, "楼道堆物")
    assert Meeting.objects.filter(topic=second).count() == 1 and Decision.objects.filter(topic=second).exists()
    m = Meeting.objects.get(topic=second)
    assert 5 <= m.invitees.count() <= 9 and 2 <= m.options.count() <= 3
    assert demo_meetings.counts(ctx)["deliberation_meetings_without_decision"] == 1


def test_a_meeting_after_now_stays_upcoming(w):
    ctx = _ctx(w)
    t = in_meeting_phase(w)
    demo_meetings.on_phase(ctx, t, t.phase, timezone.now() - timedelta(hours=1))
    assert Meeting.objects.get(topic=t).state == "scheduled"


def test_the_same_seed_gives_the_same_meetings(w):
    def shape():
        return [(m.mode, m.place, m.starts_at.time(), m.invitees.count(), m.votes.count())
                for m in Meeting.objects.order_by("id")]

    _run(w, _ctx(w, seed=3), "噪音扰民")
    one = shape()
    Meeting.objects.all().delete()
    Decision.objects.all().delete()
    _run(w, _ctx(w, seed=3), "噪音扰民")
    assert shape() == one
