import openpyxl
import io

import pytest
from django.test import override_settings
from django.urls import include, path

from gridgov.accounts.models import Role
from gridgov.testing import make_user

from .util import ticket

urlpatterns = [
    path("hotline/", include("gridgov.hotline.urls")),
    path("", include("gridgov.urls")),
]


@override_settings(ROOT_URLCONF=__name__)
def test_monthly_report_page_and_xlsx(street, client):
    for i in range(12):
        ticket(f"R{i}", "2024-03", street["c1g1m1"], solved=i < 9)
    ticket("S1", "2024-03", street["c2g1m1"], satisfaction="unsatisfied")
    client.force_login(make_user("sec", Role.COMMUNITY_SECRETARY, nodes=[street["c1"]]))
    r = client.get("/hotline/report/2024-03/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "第1社区" in html and "第2社区" not in html and "@media print" in html
    assert "87.50" in html  # composite 0.1 + 0.5 × 0.75 + 0.4 = 0.875
    r = client.get("/hotline/report/2024-03/rates.xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(r.content))["排名"]
    assert [row[2] for row in ws.iter_rows(values_only=True)][1:] == ["全街道", "第1社区"]
    assert client.get("/hotline/report/2024-13/").status_code == 400  # rates.check_month: a page with a message
    client.force_login(make_user("res", Role.RESIDENT))
    assert client.get("/hotline/report/2024-03/").status_code == 403


def test_report_figures_drill_down_to_their_tickets(street, client):
    """Each count and rate of the report links to the ticket list of the tickets behind it
    (for a rate: those that pull it down), in the user's scope."""
    import re

    for i in range(6):
        ticket(f"D{i}", "2024-03", street["c1g1m1"], solved=i < 4, contacted=i != 0,
               satisfaction="unsatisfied" if i == 5 else "satisfied")
    ticket("OTHER", "2024-03", street["c2g1m1"], solved=False)
    ticket("APRIL", "2024-04", street["c1g1m1"], solved=False)
    client.force_login(make_user("sec", Role.COMMUNITY_SECRETARY, nodes=[street["c1"]]))
    html = client.get("/hotline/report/2024-03/").content.decode()
    code = street["c1"].code
    links = set(re.findall(r'href="(/hotline/tickets/\?[^"]+)"', html.replace("&amp;", "&")))
    unsolved = f"/hotline/tickets/?month=2024-03&grid={code}&measure=unsolved"
    assert unsolved in links and "/hotline/tickets/?month=2024-03&measure=not_contacted" in links

    def ids(url):
        page = client.get(url).content.decode()
        return set(re.findall(r"\b(D\d|OTHER|APRIL)\b", page))

    assert ids(unsolved) == {"D4", "D5"}
    assert ids(f"/hotline/tickets/?month=2024-03&grid={code}&measure=not_contacted") == {"D0"}
    assert ids(f"/hotline/tickets/?month=2024-03&grid={code}&measure=unsatisfied") == {"D5"}
    # street scope for a secretary is still their community: the other community's ticket never shows
    assert ids("/hotline/tickets/?month=2024-03&measure=unsolved") == {"D4", "D5"}
    assert ids("/hotline/tickets/?month=2024-03&measure=bogus") == {f"D{i}" for i in range(6)}
