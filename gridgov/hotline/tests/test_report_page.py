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
    assert client.get("/hotline/report/2024-13/").status_code == 404
    client.force_login(make_user("res", Role.RESIDENT))
    assert client.get("/hotline/report/2024-03/").status_code == 403
