"""The demo year of deliberation, the effect part (called by demo.build_demo_deliberation as it
walks each demo topic through its phases; see demo.py).

The showcase (御槐园's 大槐树下唠家常: the month's most frequent problem chosen as the topic,
decided, carried out, and its 12345 tickets fell): when the showcase topic reaches its meeting
phase, the months after the decision's month are made quiet at its place. Of that problem's demo
tickets there (same place and category, as hotline.clusters counts them) received after the
decision's month, one in KEEP_ONE_IN is kept (in their order: received_at, ticket id) and the
others are removed with their hotline cases (deleting a case cascades to its events, clocks and
notifications; a ticket's case is its own, no other ticket or report points to it). Tickets of
every other problem, place and month stay as the hotline demo made them, so every other count
and invariant (every demo ticket has its case, cases follow their tickets' outcomes) holds.

The meeting's decision is the meetings part's: this part never decides; the decision's month is
that of the decision when there is one, else of the day the topic entered the meeting phase."""

from django.db import transaction

KEEP_ONE_IN = 5


def on_phase(ctx, topic, phase, at) -> None:
    """Act on `topic`, which has just entered `phase` at `at` (backdated): for the showcase
    only, on entering the meeting phase (after the meetings part acted), quiet its problem's
    after-months."""
    plan = ctx.plan_of(topic) if hasattr(ctx, "plan_of") else None
    if plan is None or not plan.showcase or not phase.meeting:
        return
    state = ctx.state.setdefault("effect", {})
    if "showcase" in state:
        return
    from .effect import month_of

    pivot = month_of(topic.decided_at or at)
    removed = quiet_after(topic.problem_place, topic.problem_category_l1, topic.problem_category_l2, pivot)
    state["showcase"] = {"topic": topic.pk, "pivot": pivot, "removed": removed}


def problem_tickets(problem_place: str, l1: str, l2: str, after_month: str):
    """The demo tickets of a (place, category) pair received after `after_month`, as
    hotline.clusters places a ticket (its matched address's compound, else its grid)."""
    from gridgov.hotline.demo import PREFIX
    from gridgov.hotline.models import Ticket

    kind, _sep, pk = problem_place.partition(":")
    qs = Ticket.objects.filter(ticket_id__startswith=PREFIX, month__gt=after_month, category_l1=l1, category_l2=l2)
    if kind == "compound":
        qs = qs.filter(matched_address__compound_id=int(pk))
    elif kind == "grid":
        qs = qs.filter(grid_id=int(pk), matched_address__compound__isnull=True)
    else:
        return qs.none()
    return qs.order_by("received_at", "ticket_id")


@transaction.atomic
def quiet_after(problem_place: str, l1: str, l2: str, pivot: str, keep_one_in: int = KEEP_ONE_IN) -> int:
    """Remove all but one in `keep_one_in` of the pair's demo tickets after month `pivot`, with
    their hotline cases (none grabbed by a volunteer); returns how many tickets went."""
    from gridgov.cases.models import Case
    from gridgov.hotline.models import Ticket

    rows = list(problem_tickets(problem_place, l1, l2, pivot).filter(case__grabbed_by__isnull=True)
                .values_list("id", "case_id"))
    gone = [r for i, r in enumerate(rows) if i % keep_one_in]
    if not gone:
        return 0
    Case.objects.filter(pk__in=[c for _t, c in gone if c], channel="hotline").delete()
    Ticket.objects.filter(pk__in=[t for t, _c in gone]).delete()
    return len(gone)


def counts(ctx) -> dict:
    """The showcase: its topic, the tickets removed after its decision, and its verdict now."""
    shown = ctx.state.get("effect", {}).get("showcase")
    if not shown:
        return {"deliberation_showcase": None}
    from .effect import effect
    from .models import Topic

    topic = Topic.objects.get(pk=shown["topic"])
    verdict = effect(topic, now=ctx.now)["verdict"] if topic.decided_at else "not_decided"
    return {"deliberation_showcase": topic.title, "deliberation_showcase_removed_tickets": shown["removed"],
            "deliberation_showcase_verdict": verdict}
