from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from gridgov.cases.models import OPEN_STATES, Case, CaseEvent, CaseFollower, Rating, State
from gridgov.hotline import demo, rates, services
from gridgov.hotline.models import Satisfaction, Ticket


@pytest.fixture(autouse=True)
def shared_messages():
    """The demo's texts come from ../shared/data; without it this is a failure, not a skip."""
    assert demo.messages_path().exists(), f"{demo.messages_path()} not found (see ../shared/data/README.md)"


def test_demo_tickets_small_scale(street):
    from gridgov.geo.locator import get_locator

    n = demo.build_demo_tickets(seed=7, years=2, scale=0.05)
    assert Ticket.objects.count() == n and 1000 < n < 1800  # 850 + ~640 expected
    ts = list(Ticket.objects.select_related("grid"))
    loc = get_locator()
    assert all(loc.finest(t.lon, t.lat).id == t.grid_id for t in ts[:200])
    months = sorted({t.month for t in ts})
    assert len(months) == 24
    first = sum(1 for t in ts if t.month in months[:12])
    second = len(ts) - first
    assert 0.6 < second / first < 0.9  # falling by about a quarter
    share = Counter(t.category_l2 for t in ts)["物业管理"] / len(ts)
    assert 0.18 < share < 0.35
    assert not any("A市" in t.content or "A3区" in t.content for t in ts)
    hours = Counter(t.received_at.astimezone().hour for t in ts)
    assert hours[10] > 3 * hours[3]
    report = rates.unit_rates(months[-1])
    assert 0.7 < report["street"]["composite"] < 0.99
    assert not Ticket.objects.filter(case__isnull=False).exists()  # their cases come with the demo's cases
    again = demo.build_demo_tickets(seed=7, years=2, scale=0.05)
    assert again == n and Ticket.objects.count() == n  # re-running replaces


@pytest.fixture
def demo_street(db):
    """The demo street at scale 0.01 (`gridgov demo`): ~270 tickets over two years, ~430 cases."""
    call_command("demo", scale=0.01, seed=7, quiet=True, stdout=StringIO())
    tickets = list(Ticket.objects.select_related("case").order_by("received_at", "id"))
    assert 200 < len(tickets) < 400
    return tickets


def test_every_demo_ticket_has_the_case_intake_would_open(demo_street):
    tickets = demo_street
    assert all(t.case_id for t in tickets)
    hotline = set(Case.objects.filter(channel="hotline").values_list("id", flat=True))
    assert hotline == {t.case_id for t in tickets} and len(hotline) == len(tickets)  # one each, none without
    assert Case.objects.exclude(channel="hotline").count() > 100  # the other channels' year is still there
    for t in tickets:
        c = t.case
        assert (c.channel, c.idempotency_key, c.reporter_id, c.created_at, c.text) == (
            "hotline", services.case_key(t.ticket_id), None, t.received_at, t.content)
        assert (c.grid_id, c.lon, c.lat, c.address) == (t.grid_id, t.lon, t.lat, t.address_text[:200])
    # cases of tickets older than two months are long settled: none is still open
    settled = [t for t in tickets if t.received_at < timezone.now() - timedelta(days=60)]
    assert len(settled) > len(tickets) / 2
    assert not [t.ticket_id for t in settled if t.case.state in OPEN_STATES]


def test_demo_cases_agree_with_the_tickets_outcomes(demo_street):
    tickets = demo_street
    resolved = set(CaseEvent.objects.filter(action="resolve").values_list("case_id", flat=True))
    for t in tickets:
        if t.solved:  # the city recorded it solved: the street resolved it
            assert t.case.state in (State.RESOLVED, State.VERIFIED, State.CLOSED), (t.ticket_id, t.case.state)
            assert t.case.resolved_at < timezone.now()
        else:  # not solved: handed back and rejected (or still being worked on), never resolved
            assert t.case_id not in resolved, t.ticket_id
            assert t.case.state == State.REJECTED or t.case.state in OPEN_STATES, (t.ticket_id, t.case.state)
    assert Counter(t.case.state for t in tickets if not t.solved)[State.REJECTED] > 0
    # satisfaction is the city's callback and stays on the ticket (the rates read it there); a
    # hotline case has no reporter, nobody follows it, so nobody rates it (services.rate)
    assert Counter(t.satisfaction for t in tickets)[Satisfaction.SATISFIED] > len(tickets) / 2
    assert not Rating.objects.filter(case__channel="hotline").exists()
    assert not CaseFollower.objects.filter(case__channel="hotline").exists()
    assert Rating.objects.exclude(case__channel="hotline").exists()


def test_real_intake_of_a_demo_ticket_finds_its_case(demo_street):
    tickets = demo_street[:40]
    n = Case.objects.count()
    for t in tickets:
        assert services.open_case(t).pk == t.case_id
    assert services.open_cases([t.ticket_id for t in demo_street]) == 0  # every ticket has its case
    assert Case.objects.count() == n
    # the same ticket under another id goes through the real intake: its item decision is the demo's
    for t in tickets[:15]:
        copy = Ticket.objects.create(
            ticket_id="COPY-" + t.ticket_id, received_at=t.received_at, month=t.month, content=t.content,
            category_l1=t.category_l1, category_l2=t.category_l2, address_text=t.address_text,
            lat=t.lat, lon=t.lon, grid=t.grid, community=t.community,
        )
        real = services.open_case(copy)
        assert real.pk != t.case_id and real.grid_id == t.case.grid_id
        if real.item_id is not None:  # recognised at intake: the demo case has that item, for the same reason
            assert (t.case.item_id, t.case.item_source, t.case.item_confidence) == (real.item_id, "classifier", real.item_confidence)
            assert t.case.routing_reason["item"] == real.routing_reason["item"]
        else:  # left for a person, who chose one
            assert real.routing_reason["waiting"] == "未识别事项，待人工分类"
            assert t.case.item_source == "staff" and t.case.routing_reason["item"]["was"] is None
