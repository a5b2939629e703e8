"""A year of deliberation on the demo street, booked through the app's services (so every rule
holds: one support per person, the quorum, the guards between phases).

`build_demo_deliberation` plans the topics (`plan_topics`: which communities, which problems,
how far each goes), creates each one backdated and walks it through its process phase by phase.
On entering each phase every part (demo_proposals, demo_platform, demo_meetings,
demo_execution, demo_effect) acts through its slice's services (`on_phase(ctx, topic, phase,
at)`: supports and comments, the month's choice, the meeting and its decision, the work and the
result, ...); then, if the topic's plan goes further, it advances. A topic whose phase cannot be
left (a guard refuses) stays where it is: the parts decide how far the story gets."""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from . import demo_effect, demo_execution, demo_meetings, demo_platform, demo_proposals, processes, services
from .models import Process, Topic

PARTS = (demo_proposals, demo_platform, demo_meetings, demo_execution, demo_effect)


@dataclass
class Context:
    """What the parts share: the random source, the clock, the staff who act per community."""

    rng: random.Random
    now: datetime
    start: datetime
    progress: object = None
    #: community id -> a user who manages its topics (its secretary or staff)
    staff: dict = field(default_factory=dict)
    #: community id -> the users who live there and may support, comment and rate
    residents: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)
    #: anything a part keeps between calls, under its own name
    state: dict = field(default_factory=dict)

    def staff_of(self, topic):
        return self.staff.get(topic.community_id)

    def bump(self, key: str, n: int = 1):
        self.counts[key] = self.counts.get(key, 0) + n


@dataclass
class Plan:
    """One demo topic: what `services.create_topic` gets, when it is created, how far it goes
    (the position of the last phase it reaches; past the last phase: closed), and the gap
    between phases."""

    kwargs: dict
    created_at: datetime
    target: int
    step_days: int = 12


def _people(ctx: Context):
    from gridgov.accounts.models import GridAssignment, Role, User
    from gridgov.geo.models import GridNode

    communities = list(GridNode.objects.filter(level=1).order_by("path"))
    for ga in (GridAssignment.objects.in_force()
               .filter(user__is_active=True, user__role__in=[Role.COMMUNITY_SECRETARY, Role.COMMUNITY_STAFF])
               .select_related("node", "user").order_by("user__role", "id")):
        for c in communities:
            if ga.node.path.startswith(c.path):
                ctx.staff.setdefault(c.pk, ga.user)
    admin = User.objects.filter(is_active=True, role=Role.ADMIN).order_by("id").first()
    for c in communities:
        ctx.staff.setdefault(c.pk, admin)
    return communities


def plan_topics(ctx: Context, communities) -> list[Plan]:
    """Which topics the year holds: in several communities, topics in every phase of the six-step
    process and a few of the three-phase one (refined by the effect/demo slice)."""
    process = Process.objects.filter(node__isnull=True, is_default=True).first()
    if process is None or not communities:
        return []
    last = process.phases.count()
    plans = []
    for ci, c in enumerate(communities[:4]):
        for k in range(last + 1):  # one topic stopping in each phase, one closed
            created = ctx.start + timedelta(days=20 + 40 * k + 7 * ci)
            plans.append(Plan(kwargs={"title": f"{c.name}议题{k + 1}", "node": c, "channel": Topic.Channel.STAFF},
                              created_at=created, target=min(k + 1, last + 1)))
    return plans


def walk(ctx: Context, topic: Topic, plan: Plan) -> Topic:
    at = plan.created_at
    while topic.state == Topic.State.OPEN:
        phase = topic.phase
        for part in PARTS:
            part.on_phase(ctx, topic, phase, at)
            topic.refresh_from_db()
        if topic.state != Topic.State.OPEN or phase.position >= plan.target:
            break
        at = min(at + timedelta(days=plan.step_days), ctx.now - timedelta(hours=1))
        try:
            topic = services.advance(ctx.staff_of(topic), topic, now=at)
        except services.DeliberationError:
            break
    return topic


def build_demo_deliberation(seed: int = 2024, progress=None, now=None) -> dict:
    from gridgov.core.models import ChangeRecord

    ChangeRecord.objects.filter(kind__in=services.HISTORY_KINDS).delete()
    Topic.objects.all().delete()
    processes.seed()  # (a reset of the demo wipes them with the rest)
    now = now or timezone.now()
    ctx = Context(rng=random.Random(seed * 37 + 12), now=now, start=now - timedelta(days=365), progress=progress)
    communities = _people(ctx)
    plans = plan_topics(ctx, communities)
    for i, plan in enumerate(plans):
        topic = services.create_topic(ctx.staff.get(services.community_of(plan.kwargs["node"]).pk), now=plan.created_at,
                                      **plan.kwargs)
        walk(ctx, topic, plan)
        if progress and i % 10 == 0:
            progress(f"deliberation topics {i + 1}/{len(plans)}")
    for part in PARTS:
        ctx.counts.update(part.counts(ctx))
    return {"deliberation_topics": Topic.objects.count(), **ctx.counts}


__all__ = ["Context", "Plan", "build_demo_deliberation", "plan_topics", "walk"]
