"""The dashboard's 12345 panels: the month's topics and recurring problems over tickets and the
other channels' cases (/api/insight/topics), the 12345 trend on the dashboard, the workbook's
sheets, the map's hot-spot layer with case counts; scope and filters."""

import io
from datetime import datetime

import pytest
from openpyxl import load_workbook

from gridgov.cases.models import Case
from gridgov.hotline.tests.test_topics_projects import LEAK
from gridgov.hotline.tests.util import ticket

from .test_api import TZ, client_for, stats, world  # noqa: F401 - the fixture

NOISE = ("城乡建设", "噪音扰民问题", "")  # names the case item 噪音扰民 (WG03)


def report(grid, text, at, item=None, channel="resident", number=""):
    return Case.objects.create(number=number or None, channel=channel, text=text, item=item, grid=grid, grid_path=grid.path,
                               lon=grid.center_lon, lat=grid.center_lat, state="submitted", created_at=at, updated_at=at)


@pytest.fixture
def hotline(world):
    """April 2025: six leak tickets in c1g1m1 and a resident's report of the same leak there;
    noise in c1g2m1: tickets in January, February and April, cases in March and April."""
    from gridgov.cases.models import Item

    s = world["street"]
    for i, text in enumerate(LEAK * 2):
        ticket(f"L{i}", "2025-04", s["c1g1m1"], content=text, category=("城乡建设", "房屋修缮", ""))
    joined = report(s["c1g1m1"], "3号楼顶层漏雨严重，屋顶防水层坏了，请尽快维修", datetime(2025, 4, 20, 9, 0, tzinfo=TZ), number="J1")
    for m in ("2025-01", "2025-02", "2025-04"):
        ticket(f"N{m}", m, s["c1g2m1"], content="广场舞噪音扰民", category=NOISE)
    noise = Item.objects.get(code="WG03")
    for month in (3, 4):
        report(s["c1g2m1"], "楼下广场舞太吵", datetime(2025, month, 15, 20, 0, tzinfo=TZ), item=noise, number=f"NZ{month}")
    # March: another lamp report where the world's first one is (the world's second is in another micro-grid)
    lamp = report(s["c1g1m1"], "测试事件 路灯损坏", datetime(2025, 3, 25, 21, 0, tzinfo=TZ), item=world["lamp"], number="LP1")
    return {**world, "joined": joined, "lamp_again": lamp}


def topics(user, **params):
    r = client_for(user).get("/api/insight/topics", params)
    assert r.status_code == 200, r.content
    return r.json()


def test_topics_of_the_latest_month_with_tickets_and_cases(hotline):
    s = hotline["street"]
    t = topics(hotline["lead"])
    # April: 6 + 1 tickets; cases: the joined report, a noise report, two of the world's (the
    # hotline-channel one is the tickets' own: not counted)
    assert (t["month"], t["tickets"], t["cases"]) == ("2025-04", 7, 4)
    top = t["topics"][0]
    assert (top["category"], top["tickets"], top["cases"], top["total"]) == ("城乡建设/房屋修缮", 6, 1, 7)
    assert top["case_ids"] == [hotline["joined"].pk]
    assert top["places"][0]["name"] == s["c1g1m1"].name
    assert len(top["examples"]) == 2 and [x["kind"] for x in top["samples"]] == ["ticket", "case"]
    rec = t["recurring"]
    assert [(r["name"], r["category"], r["tickets"], r["cases"], r["months"]) for r in rec] == [
        (s["c1g2m1"].name, "城乡建设/噪音扰民问题", 3, 2, 4)]
    assert rec[0]["examples"] == ["广场舞噪音扰民", "楼下广场舞太吵"]
    # the month filter: March has no ticket; two lamp reports in one micro-grid cluster by
    # themselves, not with the same words in the next micro-grid
    t = topics(hotline["lead"], month="2025-03")
    assert (t["month"], t["tickets"], t["cases"]) == ("2025-03", 0, 4)
    assert [(c["category"], c["tickets"], c["cases"]) for c in t["topics"]] == [("公共安全/路灯损坏", 0, 2)]
    assert t["topics"][0]["case_ids"] == [hotline["cases"][0].pk, hotline["lamp_again"].pk]
    # the community filter: nothing of the leak or the noise in the east community
    t = topics(hotline["lead"], community=s["c2"].code)
    assert (t["month"], t["tickets"], t["cases"], t["topics"], t["recurring"]) == ("2025-04", 0, 1, [], [])
    assert client_for(hotline["lead"]).get("/api/insight/topics", {"month": "April"}).status_code == 422


def test_topics_scope_grid_worker(hotline):
    s = hotline["street"]
    t = topics(hotline["gw"])  # grid c1g1: the leak, not the noise of c1g2
    assert (t["tickets"], t["cases"]) == (6, 1)
    assert [(c["tickets"], c["cases"]) for c in t["topics"]] == [(6, 1)]
    assert t["recurring"] == []
    assert {h["name"] for h in t["hot_spots"]} == {s["c1g1m1"].name}


def test_dashboard_has_the_12345_trend(hotline):
    d = stats(hotline["lead"])
    assert d["tickets_by_month"] == [{"key": "2025-01", "n": 1, "valid": 1, "satisfied": 1},
                                     {"key": "2025-02", "n": 1, "valid": 1, "satisfied": 1},
                                     {"key": "2025-04", "n": 7, "valid": 7, "satisfied": 7}]
    assert [r["key"] for r in stats(hotline["gw"])["tickets_by_month"]] == ["2025-04"]


def test_export_has_the_topics_sheets(hotline):
    s = hotline["street"]
    r = client_for(hotline["lead"]).get("/api/insight/stats.xlsx")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content))
    assert {"12345按月", "本月议题", "反复发生的问题", "本月热点"} <= set(wb.sheetnames)
    rows = list(wb["本月议题"].values)
    assert rows[0] == ("类别", "12345工单", "其他渠道事件", "合计", "地点", "示例一", "示例二")
    assert rows[1][:5] == ("城乡建设/房屋修缮", 6, 1, 7, f"{s['c1g1m1'].name}（工单6，事件1）")
    assert rows[1][5] == LEAK[0] and rows[1][6] == hotline["joined"].text
    rows = list(wb["反复发生的问题"].values)
    assert rows[1] == (s["c1g2m1"].name, "城乡建设/噪音扰民问题", 3, 2, 5, 4, "广场舞噪音扰民", "楼下广场舞太吵")
    assert ("议题月份", "2025-04") in list(wb["筛选条件"].values)
    # only the topics; and a grid worker's workbook holds only their grid's
    wb = load_workbook(io.BytesIO(client_for(hotline["lead"]).get("/api/insight/stats.xlsx", {"only": "topics"}).content))
    assert set(wb.sheetnames) == {"筛选条件", "本月议题", "反复发生的问题", "本月热点"}
    wb = load_workbook(io.BytesIO(client_for(hotline["gw"]).get("/api/insight/stats.xlsx").content))
    assert [r[0] for r in list(wb["反复发生的问题"].values)] == ["地点"]


def test_pages_show_the_panels(hotline):
    page = client_for(hotline["lead"]).get("/dashboard/").content.decode()
    for marker in ('id="c-tickets"', 'id="topics"', 'id="recurring"', "本月议题", "反复发生的问题"):
        assert marker in page
    assert "<script>" not in page and "style=" not in page
    screen = client_for(hotline["lead"]).get("/screen/").content.decode()
    assert 'id="c-tickets"' in screen and 'id="topics"' not in screen  # the wall keeps to its figures


def test_map_hot_spots_count_cases_beside_tickets(hotline):
    s = hotline["street"]
    fc = fc_lead = client_for(hotline["lead"]).get("/api/insight/layers/tickets").json()
    by_code = {f["properties"]["code"]: f["properties"] for f in fc["features"]}
    assert by_code[s["c1g1m1"].code]["month"] == "2025-04"
    assert (by_code[s["c1g1m1"].code]["tickets"], by_code[s["c1g1m1"].code]["cases"]) == (6, 1)
    assert (by_code[s["c1g2m1"].code]["tickets"], by_code[s["c1g2m1"].code]["cases"]) == (1, 2)
    assert {(t["item"], t["cases"]) for t in by_code[s["c1g2m1"].code]["top_cases"]} == {(hotline["litter"].name, 1), ("噪音扰民", 1)}
    # a grid with cases and no ticket is on the layer; the hotline-channel case (c2g2m2) is not counted
    assert (by_code[s["c2g1m1"].code]["tickets"], by_code[s["c2g1m1"].code]["cases"]) == (0, 1)
    assert s["c2g2m2"].code not in by_code
    fc = client_for(hotline["gw"]).get("/api/insight/layers/tickets").json()
    assert [(f["properties"]["code"], f["properties"]["cases"]) for f in fc["features"]] == [(s["c1g1m1"].code, 1)]
    assert client_for(hotline["lead"]).get("/api/insight/layers/tickets", {"month": "2025-4"}).json() == fc_lead  # as 2025-04
    assert client_for(hotline["lead"]).get("/api/insight/layers/tickets", {"month": "April"}).status_code == 422
