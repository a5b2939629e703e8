"""The security probe's months (issue 16, item 7): `month=0001-01` or `9999-12` answered 500 on
the dashboard's figures and topics, the map's ticket layer, the monthly report (page and
workbook), the topics page and the hotline API. Every door now parses a month with the one
parser (`rates.check_month`): pages answer 400 with a message naming the months they take, the
API 422 with a JSON detail."""

import pytest
from django.test import Client
from django.utils import timezone

from gridgov.accounts.models import GridAssignment, Role, User
from gridgov.hotline import rates

from .util import ticket

PAGES = [
    "/hotline/report/{m}/", "/hotline/report/{m}/rates.xlsx", "/hotline/report/?month={m}", "/hotline/topics/?month={m}",
    "/hotline/tickets/?month={m}",
]
API = [
    "/api/insight/stats?month={m}", "/api/insight/topics?month={m}", "/api/insight/stats.xlsx?month={m}",
    "/api/insight/layers/tickets?month={m}", "/api/hotline/rates?month={m}",
    "/api/hotline/rates/cell?month={m}&measure=all", "/api/hotline/clusters?month={m}", "/api/hotline/tickets?month={m}",
]


def next_year() -> int:
    return timezone.localdate().year + 1


@pytest.fixture
def lead(street):
    u = User.objects.create(username="lead", role=Role.LEADER, display_name="lead")
    GridAssignment.objects.create(user=u, node=street["street"], duty="staff")
    ticket("T1", "2000-01", street["c1g1m1"])
    c = Client(raise_request_exception=False)
    c.force_login(u)
    return c


@pytest.mark.parametrize("month", ["0001-01", "9999-12", "1999-12", "NEXT+1-01", "2026-13", "2026-00", "abcd", "2026-1-1",
                                   "２０２６-０１", "2026-01-01"])
def test_every_door_refuses_a_bad_month_clearly(lead, month):
    month = month.replace("NEXT+1", str(next_year() + 1))
    first, last = rates.month_range()
    wrong = []
    for door in PAGES:
        r = lead.get(door.format(m=month))
        body = r.content.decode()
        if r.status_code != 400 or f"{first} 至 {last}" not in body or 'role="alert"' not in body:
            wrong.append((door, r.status_code))
    for door in API:
        r = lead.get(door.format(m=month))
        if r.status_code != 422 or not r["Content-Type"].startswith("application/json") or f"{first} 至 {last}" not in r.json()["detail"]:
            wrong.append((door, r.status_code))
    assert wrong == []


@pytest.mark.parametrize("month", ["2000-01", "NEXT-12", "2025-4"])
def test_the_first_and_last_month_and_a_short_one_are_taken(lead, month):
    month = month.replace("NEXT", str(next_year()))
    wrong = []
    for door in PAGES + API:
        r = lead.get(door.format(m=month))
        if r.status_code != 200:
            wrong.append((door, r.status_code, r.content[:200]))
    assert wrong == []
    assert lead.get("/api/hotline/tickets?month=2000-1").json()["count"] == 1  # normalised as tickets store it


def test_the_page_message_follows_the_language(lead):
    r = lead.get("/hotline/topics/?month=9999-12", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 400
    assert "is not a valid month" in r.content.decode()


def test_the_parser(settings):
    first, last = rates.month_range()
    assert (first, last) == ("2000-01", f"{next_year()}-12")
    assert rates.check_month(" 2025-4 ") == "2025-04"
    for bad in ("0001-01", "9999-12", "1999-12", "2025-13", "2025-00", "", None, 202504, "٢٠٢٥-٠٤", "2025-04-01"):
        with pytest.raises(rates.MonthError) as e:
            rates.check_month(bad)
        assert isinstance(e.value, ValueError) and f"{first} 至 {last}" in str(e.value)
