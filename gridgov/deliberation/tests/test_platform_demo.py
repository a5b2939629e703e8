"""The demo part of 平台议: a demo topic entering its discussion phase becomes that month's topic
without moving."""

from datetime import timedelta

from django.utils import timezone

from gridgov.deliberation import demo, demo_platform, services

from .world import topic


def test_a_topic_entering_discussion_becomes_the_months_topic(w):
    import random

    now = timezone.now()
    ctx = demo.Context(rng=random.Random(1), now=now, start=now - timedelta(days=365))
    ctx.staff[w["street"]["c1"].pk] = w["staff_c1"]
    t = topic(w)
    demo_platform.on_phase(ctx, t, t.phase, now)  # collecting: nothing
    t.refresh_from_db()
    assert t.month == ""
    at = now - timedelta(days=40)
    t = services.advance(w["staff_c1"], t, to=t.process.phases.get(position=3), now=at)
    ends = t.phase_ends_at
    demo_platform.on_phase(ctx, t, t.phase, at)
    t.refresh_from_db()
    assert t.month == timezone.localtime(at).strftime("%Y-%m") and t.phase.position == 3 and t.phase_ends_at == ends
    assert demo_platform.counts(ctx) == {"deliberation_month_topics": 1}


def test_the_demo_year_has_month_topics(w):
    from gridgov.deliberation.models import Topic

    out = demo.build_demo_deliberation(seed=3)
    chosen = Topic.objects.exclude(month="")
    assert out["deliberation_month_topics"] == chosen.count() > 0
    # each in or past the first phase of its process where discussion opens (六步议事: 3; 三步议事: 1)
    first = {t.process_id: services.first_phase(t.process, "discussion_open").position for t in chosen}
    assert all(t.phase.position >= first[t.process_id] or t.state != "open" for t in chosen)
