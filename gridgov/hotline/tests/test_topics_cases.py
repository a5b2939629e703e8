"""Hot spots, the month's topics and recurring problems over tickets AND the cases reported
through the other channels (resident, volunteer, patrol, API): joining, cases-only clusters,
no double count of the tickets' own hotline cases, the category crosswalk, scope."""

import io
import json
from datetime import datetime

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from gridgov.accounts.models import GridAssignment, Role, User
from gridgov.cases.models import Case, Item
from gridgov.cases.taxonomy import seed_taxonomy
from gridgov.hotline import clusters
from gridgov.hotline.models import Ticket

from .test_topics_projects import LEAK, OTHER
from .util import ticket

MONTH = "2024-06"
NOISE = ("城乡建设", "噪音扰民问题", "")  # names the case item 噪音扰民 (WG03)


def case(n, grid, text, *, month=MONTH, day=12, channel="resident", item=None, address="", state="submitted", held=False):
    y, m = map(int, month.split("-"))
    at = timezone.make_aware(datetime(y, m, day, 10, 0))
    return Case.objects.create(
        number=f"C{n}", channel=channel, text=text, item=Item.objects.get(code=item) if item else None, grid=grid,
        grid_path=grid.path, address=address, lon=grid.center_lon, lat=grid.center_lat, state=state, held=held,
        created_at=at, updated_at=at,
    )


def fast_user(username, role, nodes=()):
    u = User.objects.create(username=username, role=role, display_name=username)
    for n in nodes:
        GridAssignment.objects.create(user=u, node=n, duty="worker")
    return u


@pytest.fixture
def month(places, street):
    """Six near-identical leak tickets at 阳光星苑 (c1g1m1) and three other tickets in c2g1m1;
    cases: one about the leak at 阳光星苑 (resident), the leak ticket's own hotline case, the
    same leak text in another community under another item, two near-identical lamp reports at
    翠海明苑 (patrol), a held and a rejected copy of the leak report."""
    seed_taxonomy()
    s = street
    leak = []
    for i, text in enumerate(LEAK * 2):
        leak.append(ticket(f"L{i}", MONTH, s["c1g1m1"], content=text, address=places["yg3"], category=("城乡建设", "房屋修缮", "")))
    for i, text in enumerate(OTHER):
        ticket(f"O{i}", MONTH, s["c2g1m1"], content=text, category=("城乡建设", "市容环境", ""))
    joined = case(1, s["c1g1m1"], "阳光星苑3号楼顶楼漏雨，屋顶防水层损坏，墙面发霉，请尽快维修", address="阳光星苑3号楼", item="MS01")
    own = case(2, s["c1g1m1"], LEAK[0], channel="hotline", address="阳光星苑3号楼", item="MS01")
    Ticket.objects.filter(pk=leak[0].pk).update(case=own)
    elsewhere = case(3, s["c2g1m1"], "幸福里3号楼顶层漏雨严重，屋顶防水层损坏，请尽快维修", address="幸福里3号楼")
    lamps = [case(4, s["c2g2m2"], "翠海明苑小区12号楼门口路灯不亮，晚上出行不便", channel="patrol", address="翠海明苑小区12号楼", item="PS01"),
             case(5, s["c2g2m2"], "翠海明苑小区12号楼门口路灯不亮了，晚上出行很不方便", channel="volunteer", address="翠海明苑小区12号楼", item="PS01")]
    case(6, s["c1g1m1"], LEAK[1], address="阳光星苑3号楼", item="MS01", held=True)
    case(7, s["c1g1m1"], LEAK[2], address="阳光星苑3号楼", item="MS01", state="rejected")
    case(8, s["c1g1m1"], LEAK[1], address="阳光星苑3号楼", item="MS01", month="2024-05")  # last month
    return {"joined": joined, "own": own, "elsewhere": elsewhere, "lamps": lamps, "leak": leak}


def test_a_case_joins_the_ticket_cluster_of_its_place_and_meaning(month):
    top = clusters.month_clusters(MONTH)[0]
    assert (top["category"], top["tickets"], top["cases"], top["total"]) == ("城乡建设/房屋修缮", 6, 1, 7)
    # the resident's report joined; the leak ticket's own hotline case, the held and the
    # rejected copies are not counted; the same words in another community do not join
    assert top["case_ids"] == [month["joined"].pk]
    assert top["places"][0] == {"key": top["places"][0]["key"], "name": "阳光星苑", "tickets": 6, "cases": 1}
    assert top["key"].startswith(f"{MONTH}:城乡建设:L0")
    # examples from both: tickets first, the last slot for a case
    assert [s["kind"] for s in top["samples"]] == ["ticket", "ticket", "case"]
    assert top["examples"][-1] == month["joined"].text


def test_cases_only_cluster_and_no_double_count(month):
    found = clusters.month_clusters(MONTH)
    lamp = [c for c in found if c["tickets"] == 0]
    assert len(lamp) == 1
    c = lamp[0]
    assert (c["category"], c["category_source"], c["cases"], c["total"]) == ("公共安全/路灯损坏", "cases", 2, 2)
    assert c["case_ids"] == [x.pk for x in month["lamps"]] and c["ticket_ids"] == []
    assert c["places"] == [{"key": c["places"][0]["key"], "name": "翠海明苑小区", "tickets": 0, "cases": 2}]
    assert c["key"] == f"{MONTH}:PS01:case-{month['lamps'][0].pk}"
    every_case = [i for c in found for i in c["case_ids"]]
    assert month["own"].pk not in every_case and month["elsewhere"].pk not in every_case
    assert len(every_case) == len(set(every_case)) == 3
    topics = clusters.month_topics(MONTH)
    # 9 tickets; cases: the joined one, the one elsewhere, two lamps (not the hotline, held,
    # rejected ones, nor last month's)
    assert (topics["tickets"], topics["cases"]) == (9, 4)
    spots = {(h["name"], h["category"]): (h["tickets"], h["cases"], h["total"]) for h in topics["hot_spots"]}
    assert spots[("阳光星苑", "城乡建设/房屋修缮")] == (6, 0, 6)
    assert spots[("翠海明苑小区", "公共安全/路灯损坏")] == (0, 2, 2)
    assert spots[("阳光星苑", "民生服务/供水故障")] == (0, 1, 1)  # 房屋修缮 names no case item: a row of its own
    assert spots[("幸福里", "待分类")] == (0, 1, 1)  # the case's address names its community's 幸福里


def _noise_history(places, street):
    """Noise at 阳光星苑: tickets in January and March, cases in May and June; the June case
    names no compound (it lies in 阳光星苑's grid)."""
    seed_taxonomy()
    s = street
    for m in ("2024-01", "2024-03"):
        for i in range(2):
            ticket(f"N{m}{i}", m, s["c1g1m1"], content=f"阳光星苑广场舞噪音扰民{i}", address=places["yg5"], category=NOISE)
    case(20, s["c1g1m1"], "阳光星苑5号楼楼下广场舞音响太吵", month="2024-05", address="阳光星苑5号楼", item="WG03")
    case(21, s["c1g1m1"], "楼下广场舞噪音太大，晚上十点还在跳", month="2024-06", item="WG03")
    # not counted with it: the tickets' own hotline case, another place, another item
    case(22, s["c1g1m1"], "阳光星苑广场舞噪音扰民", month="2024-06", channel="hotline", address="阳光星苑5号楼", item="WG03")
    case(23, s["c2g1m1"], "幸福里广场舞噪音扰民", month="2024-06", address="幸福里", item="WG03")
    case(24, s["c1g1m1"], "阳光星苑5号楼楼道堆满杂物", month="2024-06", address="阳光星苑5号楼", item="WG01")


def test_recurring_counts_months_with_tickets_or_cases(places, street):
    _noise_history(places, street)
    rec = clusters.recurring_problems("2024-06")
    assert len(rec) == 1  # 2 months and 4 tickets alone would not recur
    r = rec[0]
    assert (r["name"], r["category"], r["category_source"]) == ("阳光星苑", "城乡建设/噪音扰民问题", "hotline")
    assert (r["tickets"], r["cases"], r["total"]) == (4, 2, 6)
    assert (r["months"], r["months_with_tickets"], r["months_with_cases"]) == (4, 2, 2)
    assert [(m["tickets"], m["cases"]) for m in r["by_month"]] == [(2, 0), (0, 0), (2, 0), (0, 0), (0, 1), (0, 1)]
    assert r["grid_id"] == street["c1g1m1"].id
    assert clusters.recurring_problems("2024-06", min_tickets=7) == []
    # in the month's topics, with two examples: the latest ticket and the latest case
    t = clusters.month_topics("2024-06", examples=2)
    r = t["recurring"][0]
    assert r["examples"] == ["阳光星苑广场舞噪音扰民1", "楼下广场舞噪音太大，晚上十点还在跳"]
    assert [s["kind"] for s in r["samples"]] == ["ticket", "case"]


def test_scope_grid_worker_sees_their_grids_tickets_and_cases(month):
    s = month["leak"][0].grid  # c1g1m1
    gw = fast_user("gw", Role.GRID_WORKER, [s.parent])  # c1g1
    t = clusters.month_topics(MONTH, user=gw)
    assert (t["tickets"], t["cases"]) == (6, 1)
    ids = {i for c in t["topics"] for i in c["ticket_ids"]}
    assert ids and Ticket.objects.filter(pk__in=ids).exclude(grid=s).count() == 0
    assert [i for c in t["topics"] for i in c["case_ids"]] == [month["joined"].pk]
    assert {h["name"] for h in t["hot_spots"]} == {"阳光星苑"}
    # a caller passing only a scoped ticket queryset (the scope of the cases is unknown) gets no cases
    legacy = clusters.month_topics(MONTH, Ticket.objects.visible_to(gw))
    assert legacy["cases"] == 0 and all(c["cases"] == 0 for c in legacy["topics"])
    assert legacy["topics"][0]["tickets"] == 6
    # the hotline API takes the user's cases too
    c = Client()
    c.force_login(gw)
    d = c.get("/api/hotline/clusters", {"month": MONTH}).json()
    assert (d["tickets"], d["cases"]) == (6, 1)
    assert d["topics"][0]["case_ids"] == [month["joined"].pk]
    lead = fast_user("lead", Role.LEADER)
    c.force_login(lead)
    d = c.get("/api/hotline/clusters", {"month": MONTH}).json()
    assert (d["tickets"], d["cases"]) == (9, 4)


def test_topics_command_shows_tickets_and_cases(month):
    out = io.StringIO()
    call_command("hotline", "topics", "--month", MONTH, stdout=out)
    text = out.getvalue()
    assert f"{MONTH}: 9 tickets, 4 cases from the other channels" in text
    assert "城乡建设/房屋修缮 — 6 tickets + 1 case (阳光星苑: 6 tickets + 1 case)" in text
    assert "公共安全/路灯损坏 — 2 cases (翠海明苑小区: 2 cases)" in text
    assert f"[case {month['joined'].number}]" in text
    assert "翠海明苑小区 · 公共安全/路灯损坏: 2 cases" in text
    out = io.StringIO()
    call_command("hotline", "topics", "--month", MONTH, "--json", stdout=out)
    d = json.loads(out.getvalue())
    assert (d["tickets"], d["cases"]) == (9, 4)
    assert (d["topics"][0]["tickets"], d["topics"][0]["cases"]) == (6, 1)


def test_topics_page_and_monthly_report_count_the_cases(month, client):
    """The office's topics page and the monthly report read the same clusters with the user's
    cases: the resident's leak report shows beside the six tickets, as a case example."""
    from gridgov.testing import make_user

    client.force_login(make_user("office", Role.LEADER))
    page = client.get("/hotline/topics/", {"month": MONTH}).content.decode()
    assert "6 张工单 + 1 件其他渠道事件" in page
    assert f"[事件 {month['joined'].number}]" in page
    report = client.get(f"/hotline/report/{MONTH}/").content.decode()
    topics = report[report.index("每月一题"):]
    assert "<td>6</td><td>1</td>" in topics  # tickets, then the other channels' cases
