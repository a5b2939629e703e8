"""The demo year of deliberation, the platform part (called by demo.build_demo_deliberation as it
walks each demo topic through its phases; see demo.py): a topic entering a phase with discussion
open, not yet any month's topic, becomes the topic of the month it entered it (每月一题), through
platform.mark_month (the walk has already moved it and set its time, so nothing else changes).
Topics offered from the data need nothing more here."""

from . import platform
from .models import Topic


def on_phase(ctx, topic, phase, at) -> None:
    """Act on `topic`, which has just entered `phase` at `at` (backdated), through this slice's
    services: what the phase's flags open for this slice."""
    if topic.state != Topic.State.OPEN or not phase.discussion_open or topic.month:
        return
    staff = ctx.staff_of(topic)
    if staff is None:
        return
    try:
        platform.mark_month(staff, topic, platform.month_of(at), now=at)
    except platform.DeliberationError:
        return
    ctx.bump("deliberation_month_topics")


def counts(ctx) -> dict:
    return {"deliberation_month_topics": Topic.objects.exclude(month="").count()}
