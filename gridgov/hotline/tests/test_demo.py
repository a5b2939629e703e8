from collections import Counter

import pytest

from gridgov.hotline import demo, rates
from gridgov.hotline.models import Ticket



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
    assert not Ticket.objects.filter(case__isnull=False).exists()  # the demo skips intake: no cases
    again = demo.build_demo_tickets(seed=7, years=2, scale=0.05)
    assert again == n and Ticket.objects.count() == n  # re-running replaces
