"""The scores' doors: `gridgov property scores`, the API, the board, a project's page and
quarterly report (page and xlsx), the complaints behind a figure, the company's view (staff
and phone), each in its scope."""

import io
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from gridgov.property import scores
from gridgov.property.models import ScoreSnapshot

from .scoring import at, case, houses, ticket
from .world import inspection

pytestmark = pytest.mark.django_db

API = "/api/property/scores"
Q2 = "2026Q2"


def client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def scored(w):
    """Q2 2026: c1 inspected with a 2-point deduction, one case and one ticket in 25 households;
    c2 inspected with full marks."""
    houses(w, "c1", 25)
    inspection(w, "c1", deductions=[("C1", 2, "楼道堆物")], now=at(2026, 4, 7, 10))
    inspection(w, "c2", now=at(2026, 4, 8, 10))
    case(w, created_at=at(2026, 5, 3, 9))
    ticket(w, received_at=at(2026, 5, 4, 9), solved=True, satisfaction="satisfied")
    return w


def test_command_json_lists_every_project_with_the_counts(scored):
    w = scored
    out = io.StringIO()
    call_command("property", "scores", "--quarter", "2026-Q2", "--json", stdout=out)
    rows = json.loads(out.getvalue())
    assert [r["rank"] for r in rows] == [1, 2]
    c1 = next(r for r in rows if r["project"] == w["project_c1"].pk)
    assert c1["inspection_score"] == 98.0 and c1["n_inspections"] == 1
    assert (c1["parts"]["complaints"]["cases"], c1["parts"]["complaints"]["tickets"],
            c1["parts"]["complaints"]["households"], c1["parts"]["complaints"]["rate"]) == (1, 1, 25, 80.0)
    assert c1["parts"]["rectification"]["problems"] == 1
    assert Decimal(str(c1["composite"])) == scores.d2(
        Decimal("0.6") * Decimal("98") + Decimal("0.4") * Decimal(str(c1["data_score"])))
    assert rows == scores.plain(scores.compute(Q2))


def test_command_text_table_and_publish(scored):
    out, err = io.StringIO(), io.StringIO()
    call_command("property", "scores", "--quarter", "2026Q2", "--publish", stdout=out, stderr=err)
    text = out.getvalue()
    assert "2026Q2: 2 projects" in text and "c1物业项目" in text and "composite" in text
    assert "published 2026Q2: 2 projects" in err.getvalue()
    assert ScoreSnapshot.objects.filter(quarter=Q2).count() == 2


def test_command_refuses_a_bad_quarter(w):
    with pytest.raises(CommandError, match="YYYY-QN"):
        call_command("property", "scores", "--quarter", "2026-Q7", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("property", stdout=io.StringIO())


def test_api_a_company_user_sees_only_its_projects(scored):
    w = scored
    r = client(w["pm_c1"]).get(f"{API}?quarter=2026-Q2")
    assert r.status_code == 200
    body = r.json()
    assert [x["project"] for x in body["rows"]] == [w["project_c1"].pk]
    assert body["rows"][0]["rank"] == 2  # the street's rank
    r = client(w["section"]).get(f"{API}?quarter=2026-Q2")
    assert {x["project"] for x in r.json()["rows"]} == {w["project_c1"].pk, w["project_c2"].pk}
    assert client(w["pm_c1"]).get(f"{API}?quarter=2026-Q9").status_code == 400


def test_api_publish_and_published(scored):
    w = scored
    assert client(w["pm_c1"]).post(f"{API}/publish", {"quarter": Q2}, content_type="application/json").status_code == 403
    r = client(w["section"]).post(f"{API}/publish", {"quarter": Q2}, content_type="application/json")
    assert r.status_code == 200 and r.json()["published"] == 2
    r = client(w["section"]).post(f"{API}/publish", {"quarter": "2099Q1"}, content_type="application/json")
    assert r.status_code == 409 and r.json()["code"] == "unfinished"
    mine = client(w["pm_c2"]).get(f"{API}/published?quarter={Q2}").json()
    assert [x["project"] for x in mine["rows"]] == [w["project_c2"].pk] and mine["rows"][0]["rank"] == 1
    everyone = client(w["section"]).get(f"{API}/published?quarter={Q2}").json()
    assert [x["rank"] for x in everyone["rows"]] == [1, 2]


def test_board_ranks_and_links_every_figure(scored):
    w = scored
    p1 = w["project_c1"].pk
    r = client(w["section"]).get("/property/?quarter=2026-Q2")
    assert r.status_code == 200
    html = r.content.decode()
    assert f"/property/inspections/?project={p1}&amp;quarter=2026Q2" in html
    assert f"/property/problems/?project={p1}&amp;quarter=2026Q2" in html
    assert f"/property/projects/{p1}/complaints/?quarter=2026Q2&amp;show=cases#cases" in html
    assert html.index("c2物业项目") < html.index("c1物业项目")
    # a company's user lands on its own view
    r = client(w["pm_c1"]).get("/property/")
    assert r.status_code == 302 and r["Location"] == "/property/company/"
    assert client(w["section"]).get("/property/?quarter=nonsense").status_code == 404


def test_company_view_shows_only_its_projects_and_what_pulled_them_down(scored):
    w = scored
    r = client(w["pm_c1"]).get("/property/company/?quarter=2026-Q2")
    assert r.status_code == 200
    html = r.content.decode()
    assert "c1物业项目" in html and "c2物业项目" not in html
    assert "C1 " in html and "−2.00" in html  # the indicator that lost points
    assert "未完成整改问题 1 个" in html
    r = client(w["pm_c2"]).get("/m/property/scores/?quarter=2026-Q2")
    assert r.status_code == 200
    html = r.content.decode()
    assert "c2物业项目" in html and "c1物业项目" not in html
    # another company's project page, report and complaints are not found
    p1 = w["project_c1"].pk
    for url in (f"/property/projects/{p1}/", f"/property/projects/{p1}/report/?quarter=2026Q2",
                f"/property/projects/{p1}/complaints/?quarter=2026Q2"):
        assert client(w["pm_c2"]).get(url).status_code == 404


def test_project_page_report_and_xlsx(scored):
    w = scored
    p1 = w["project_c1"].pk
    c = client(w["section"])
    r = c.get(f"/property/projects/{p1}/?quarter=2026Q2")
    assert r.status_code == 200 and "2026Q2" in r.content.decode() and "2025Q3" in r.content.decode()
    r = c.get(f"/property/projects/{p1}/report/?quarter=2026Q2")
    html = r.content.decode()
    assert r.status_code == 200 and "@media print" in html and "楼道堆物" in html
    r = c.get(f"/property/projects/{p1}/report/?quarter=2026Q2&format=xlsx")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(r.content))
    cells = [v for row in wb.worksheets[0].iter_rows(values_only=True) for v in row if v is not None]
    row = scores.compute(Q2, projects=[p1])[0]
    assert float(row["composite"]) in cells and "c1物业项目" in cells
    r = c.get(f"/property/projects/{p1}/complaints/?quarter=2026Q2")
    html = r.content.decode()
    assert r.status_code == 200 and "/hotline/tickets/" in html and "/cases/" in html


def test_publish_from_the_board(scored):
    w = scored
    r = client(w["section"]).post("/property/publish/", {"quarter": "2026Q2"})
    assert r.status_code == 302 and scores.is_published(Q2)
    client(w["staff_c1"]).post("/property/publish/", {"quarter": "2026Q2"})
    from gridgov.core.models import ChangeRecord

    assert ChangeRecord.objects.filter(kind="property_scores").count() == 1  # the community's staff may not
