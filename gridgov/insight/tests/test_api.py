"""The map's layers and the dashboards' figures: scope, hand-checked aggregates, cross-filter,
export, grid editing; through the API with the Django test client."""

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook
from shapely.geometry import box, mapping

from gridgov.accounts.models import GridAssignment, Role, User
from gridgov.cases.models import Breach, Case, Clock, ClockState, Item, Rating, State
from gridgov.cases.taxonomy import seed_taxonomy
from gridgov.geo.coords import wgs84_to_gcj02
from gridgov.geo.locator import get_locator
from gridgov.registry.models import Address, Building, House, Place, Resident
from gridgov.testing import DLAT, DLON, LAT0, LON0


def make_user(username, role, nodes=()):
    """Users here never type a password (force_login): skip the deliberately slow hashing."""
    u = User.objects.create(username=username, role=role, display_name=username)
    for n in nodes:
        GridAssignment.objects.create(user=u, node=n, duty="worker")
    return u

TZ = ZoneInfo("Asia/Shanghai")


def client_for(user):
    c = Client()
    c.force_login(user)
    return c


def centre(node):
    return node.center_lon, node.center_lat


@pytest.fixture
def world(street):
    """Five cases with known month, hour, channel, item, grid; clocks, a breach, ratings."""
    seed_taxonomy()
    lamp, litter = Item.objects.get(code="PS01"), Item.objects.exclude(code="PS01").order_by("code").first()
    res = make_user("res", Role.RESIDENT)
    rows = [
        # (grid, created local, channel, item, state)
        ("c1g1m1", datetime(2025, 3, 5, 9, 10), "patrol", lamp, State.CLOSED),
        ("c1g1m2", datetime(2025, 3, 20, 9, 40), "resident", lamp, State.CLOSED),
        ("c1g2m1", datetime(2025, 4, 2, 19, 5), "resident", litter, State.CLOSED),
        ("c2g1m1", datetime(2025, 4, 9, 19, 30), "patrol", litter, State.DISPATCHED),
        ("c2g2m2", datetime(2025, 4, 9, 8, 0), "hotline", lamp, State.ACCEPTED),
    ]
    cases = []
    for i, (g, at, ch, item, state) in enumerate(rows, 1):
        node = street[g]
        at = at.replace(tzinfo=TZ)
        c = Case.objects.create(
            number=f"2025000{i}", channel=ch, text=f"测试事件{i} {item.name}", item=item, lon=node.center_lon, lat=node.center_lat,
            grid=node, grid_path=node.path, state=state, created_at=at, updated_at=at, reporter=res if ch == "resident" else None,
        )
        cases.append(c)
    now = timezone.now()

    def clock(case, kind, state, due):
        return Clock.objects.create(case=case, kind=kind, basis="wall", limit=1, started_at=case.created_at,
                                    warn_at=due, due_at=due, state=state, stopped_at=None if state in ("running", "warned") else due)

    # resolve clocks: 3 ended on time, 1 breached; accept: 2 ended on time; one running past due (overdue)
    for c in cases[:3]:
        clock(c, "accept", ClockState.STOPPED, c.created_at + timedelta(minutes=1))
        clock(c, "resolve", ClockState.STOPPED, c.created_at + timedelta(hours=8))
    late = clock(cases[3], "resolve", ClockState.BREACHED, cases[3].created_at + timedelta(hours=4))
    Breach.objects.create(case=cases[3], clock=late, kind="resolve", due_at=late.due_at, detected_at=late.due_at, escalated_to="")
    clock(cases[4], "resolve", ClockState.RUNNING, now - timedelta(hours=1))
    Rating.objects.create(case=cases[1], user=res, round=0, score="satisfied", at=cases[1].created_at + timedelta(days=1))
    Rating.objects.create(case=cases[2], user=res, round=0, score="unsatisfied", at=cases[2].created_at + timedelta(days=1))
    # a building with special-care residents in c1g1m1 and one in c2g1m1
    for g, tags in (("c1g1m1", [["elderly", "living_alone"], ["disabled"], ["child"]]), ("c2g1m1", [["elderly"]])):
        node = street[g]
        b = Building.objects.create(grid=node, name=f"{g}楼", lon=node.center_lon, lat=node.center_lat)
        for k, t in enumerate(tags):
            a = Address.objects.create(grid=node, code=f"{g}-{k}", level="house", community=street[g[:2]], building=b, text=f"{g}楼{k}室")
            h = House.objects.create(grid=node, address=a, building=b)
            Resident.objects.create(grid=node, name=f"居民{g}{k}", house=h, tags=t)
    Place.objects.create(grid=street["c1g1m1"], name="南苑服务驿站", kind="service_station", lon=street["c1g1m1"].center_lon, lat=street["c1g1m1"].center_lat)
    gw = make_user("gw", Role.GRID_WORKER, [street["c1g1"]])
    lead = make_user("lead", Role.LEADER)
    return {"cases": cases, "gw": gw, "lead": lead, "lamp": lamp, "litter": litter, "street": street}


def stats(user, **params):
    r = client_for(user).get("/api/insight/stats", params)
    assert r.status_code == 200, r.content
    return r.json()


def test_aggregates_by_hand(world):
    d = stats(world["lead"])
    assert d["summary"] == {"total": 5, "open": 2, "closed": 3, "escalated": 0}
    assert d["by_month"] == [{"key": "2025-03", "n": 2}, {"key": "2025-04", "n": 3}]
    hours = {r["key"]: r["n"] for r in d["by_hour"] if r["n"]}
    assert hours == {8: 1, 9: 2, 19: 2}  # local hours, not UTC
    assert {r["key"]: r["n"] for r in d["by_channel"]} == {"resident": 2, "volunteer": 0, "patrol": 2, "hotline": 1, "api": 0}
    assert [(r["key"], r["n"]) for r in d["by_item"]] == [("PS01", 3), (world["litter"].code, 2)]
    s = world["street"]
    assert [(r["key"], r["n"]) for r in d["by_community"]] == [(s["c1"].code, 3), (s["c2"].code, 2)]
    assert d["by_community"][0]["label"] == "第1社区"
    assert {r["key"]: r["n"] for r in d["by_grid"]} == {s["c1g1"].code: 2, s["c1g2"].code: 1, s["c2g1"].code: 1, s["c2g2"].code: 1}
    comp = {r["key"]: r for r in d["compliance"]}
    assert (comp["resolve"]["total"], comp["resolve"]["late"], comp["resolve"]["on_time_rate"]) == (4, 1, 75.0)
    assert (comp["accept"]["total"], comp["accept"]["late"], comp["accept"]["on_time_rate"]) == (3, 0, 100.0)
    assert comp["summon"]["on_time_rate"] is None
    # overdue: the breached dispatched case and the accepted one running past due
    assert d["overdue"]["count"] == 2
    assert {r["number"] for r in d["overdue"]["rows"]} == {"20250004", "20250005"}
    assert {r["key"]: r["n"] for r in d["satisfaction"]} == {"satisfied": 1, "basic": 0, "unsatisfied": 1}
    hot = {r["code"]: r["n"] for r in d["hotspots"]}
    assert hot == {s[g].code: 1 for g in ("c1g1m1", "c1g1m2", "c1g2m1", "c2g1m1", "c2g2m2")}
    assert d["tickets_by_month"] == []  # the dashboard shows the 12345 trend too (no ticket here)


def test_cross_filter(world):
    d = stats(world["lead"], channel="patrol")
    assert d["filters"] == {"channel": "patrol"}
    assert d["summary"]["total"] == 2
    assert d["by_month"] == [{"key": "2025-03", "n": 1}, {"key": "2025-04", "n": 1}]
    # the channel chart itself keeps every channel (its own filter is not applied to it)
    assert {r["key"]: r["n"] for r in d["by_channel"]}["resident"] == 2
    d = stats(world["lead"], channel="patrol", month="2025-04", hour="19")
    assert d["summary"]["total"] == 1
    assert [(r["key"], r["n"]) for r in d["by_item"]] == [(world["litter"].code, 1)]
    assert {r["key"]: r["n"] for r in d["by_hour"] if r["n"]} == {19: 1}  # all hours of patrol cases in April
    assert d["by_month"] == [{"key": "2025-04", "n": 1}]  # patrol cases at 19h, every month
    d = stats(world["lead"], community=world["street"]["c1"].code, item="PS01")
    assert d["summary"]["total"] == 2
    assert {r["key"]: r["n"] for r in d["by_community"]} == {world["street"]["c1"].code: 2, world["street"]["c2"].code: 1}
    for bad in ({"month": "2025-13"}, {"hour": "25"}, {"channel": "fax"}, {"grid": "x' OR 1=1"}):
        r = client_for(world["lead"]).get("/api/insight/stats", bad)
        assert r.status_code == 422, bad
        assert list(bad)[0] in r.json()["detail"]


def test_scope_grid_worker_sees_only_their_grid(world):
    gw, lead, s = world["gw"], world["lead"], world["street"]
    d = stats(gw)
    assert d["summary"]["total"] == 2
    assert {r["key"] for r in d["by_grid"]} == {s["c1g1"].code}
    cw, cl = client_for(gw), client_for(lead)
    # live cases: open ones only; the grid worker's grid has none, the leader sees both
    assert cw.get("/api/insight/layers/cases").json()["features"] == []
    feats = cl.get("/api/insight/layers/cases").json()["features"]
    assert {f["properties"]["number"]: f["properties"]["clock"] for f in feats} == {"20250004": "breached", "20250005": "overdue"}
    # key population: counts per building by tag, no names, only in scope
    kp = cw.get("/api/insight/layers/keypop").json()["features"]
    assert len(kp) == 1
    p = kp[0]["properties"]
    assert p["total"] == 2 and p["tags"] == {"elderly": 1, "living_alone": 1, "disabled": 1}
    assert "居民" not in str(kp)
    assert len(cl.get("/api/insight/layers/keypop").json()["features"]) == 2
    # buildings and houses
    b = cw.get("/api/insight/layers/buildings").json()["features"]
    assert [f["properties"]["houses"] for f in b] == [3]
    # grids: the worker's grid and its micro-grids only
    codes = {f["properties"]["code"] for f in cw.get("/api/insight/layers/grids").json()["features"]}
    assert codes == {s["c1g1"].code, s["c1g1m1"].code, s["c1g1m2"].code}
    assert len(cl.get("/api/insight/layers/grids", {"level": "community"}).json()["features"]) == 2
    workers = cl.get("/api/insight/layers/workers").json()["features"]
    assert workers[0]["properties"]["people"][0]["name"] == "gw"
    # cards answer 404 outside the scope
    outside = world["cases"][3]
    assert cw.get(f"/api/insight/card/case/{outside.pk}").status_code == 404
    assert cl.get(f"/api/insight/card/case/{outside.pk}").json()["clock"] == "breached"
    # the grid worker may see the names on the building's card (personal-data role, in scope)
    bld = Building.objects.get(grid=s["c1g1m1"])
    card = cw.get(f"/api/insight/card/building/{bld.pk}").json()
    assert card["key_population"] == {"老年人": 1, "独居": 1, "残疾人": 1}
    assert {n["name"] for n in card["names"]} == {"居民c1g1m10", "居民c1g1m11"}
    assert cw.get(f"/api/insight/card/building/{Building.objects.get(grid=s['c2g1m1']).pk}").status_code == 404


def test_bbox_crs_and_search(world):
    lead, s = world["lead"], world["street"]
    c = client_for(lead)
    west = f"{LON0},{LAT0},{LON0 + DLON / 2},{LAT0 + DLAT}"
    feats = c.get("/api/insight/layers/cases", {"bbox": west}).json()["features"]
    assert feats == []  # both open cases lie in the east community
    g = c.get("/api/insight/layers/cases", {"crs": "gcj02"}).json()["features"]
    case = Case.objects.get(number=g[0]["properties"]["number"])
    x, y = wgs84_to_gcj02(case.lon, case.lat)
    assert g[0]["geometry"]["coordinates"] == pytest.approx([x, y], abs=1e-6)
    assert c.get("/api/insight/layers/cases", {"crs": "bd09"}).status_code == 422
    r = c.get("/api/insight/search", {"q": "20250004"}).json()["results"]
    assert r[0]["kind"] == "case" and r[0]["label"] == "20250004"
    r = c.get("/api/insight/search", {"q": "驿站"}).json()["results"]
    assert r[0]["kind"] == "place"
    # a person by name, within scope only
    assert any(x["label"] == "居民c2g1m10" for x in c.get("/api/insight/search", {"q": "居民c2"}).json()["results"])
    assert client_for(world["gw"]).get("/api/insight/search", {"q": "居民c2"}).json()["results"] == []


def test_export_xlsx_opens(world):
    r = client_for(world["lead"]).get("/api/insight/stats.xlsx", {"channel": "patrol"})
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content))
    assert {"筛选条件", "按月", "按事项", "按期率", "满意度", "12345按月", "超期事件"} <= set(wb.sheetnames)
    rows = list(wb["按月"].values)
    assert rows == [("月份", "事件数"), ("2025-03", 1), ("2025-04", 1)]
    assert ("channel", "patrol") in list(wb["筛选条件"].values)


def test_pages_and_permissions(world):
    res = make_user("someone", Role.RESIDENT)
    for url in ("/map/", "/dashboard/", "/screen/"):
        assert client_for(world["gw"]).get(url).status_code == 200
        assert client_for(res).get(url).status_code == 403
    assert client_for(res).get("/api/insight/stats").status_code == 403
    assert client_for(res).get("/api/insight/layers/cases").status_code == 403
    page = client_for(world["lead"]).get("/map/")
    assert b'id="map-config"' in page.content and b"<script>" not in page.content


def test_edit_grid_geometry_updates_locator_and_reports_problems(world):
    s, lead, gw = world["street"], world["lead"], world["gw"]
    m1 = s["c1g1m1"]
    x0, y0, x1, y1 = m1.min_lon, m1.min_lat, m1.max_lon, m1.max_lat
    grown = box(x0, y0, x1 + (x1 - x0) * 0.5, y1)  # now overlaps its sibling m2
    body = {"geometry": mapping(grown), "crs": "wgs84"}
    assert client_for(gw).post(f"/api/insight/grids/{m1.code}/geometry", body, content_type="application/json").status_code == 403
    r = client_for(lead).post(f"/api/insight/grids/{m1.code}/geometry", body, content_type="application/json")
    assert r.status_code == 200, r.content
    d = r.json()
    assert d["parent"] == s["c1g1"].code
    assert {p["kind"] for p in d["problems"]} == {"overlap"}
    inside_new = (x1 + (x1 - x0) * 0.25, (y0 + y1) / 2)
    assert get_locator().finest(*inside_new).code in (m1.code, s["c1g1m2"].code)
    # shrinking it back leaves no problem; a polygon given in GCJ-02 is shifted back
    pts = [wgs84_to_gcj02(x, y) for x, y in box(x0, y0, x1, y1).exterior.coords]
    r = client_for(lead).post(f"/api/insight/grids/{m1.code}/geometry",
                              {"geometry": {"type": "Polygon", "coordinates": [pts]}, "crs": "gcj02"}, content_type="application/json")
    assert r.json()["problems"] == []
    m1.refresh_from_db()
    assert m1.min_lon == pytest.approx(x0, abs=1e-5) and m1.max_lat == pytest.approx(y1, abs=1e-5)
    bad = client_for(lead).post(f"/api/insight/grids/{m1.code}/geometry", {"geometry": {"type": "Point", "coordinates": [1, 2]}},
                                content_type="application/json")
    assert bad.status_code == 422 and "Polygon" in bad.json()["detail"]
    # a new child drawn inside a micro-grid's parent
    r = client_for(lead).post(f"/api/insight/grids/{s['c2g2'].code}/children",
                              {"geometry": mapping(box(s["c2g2"].min_lon, s["c2g2"].min_lat, s["c2g2"].center_lon, s["c2g2"].center_lat)),
                               "name": "新微网格"}, content_type="application/json")
    assert r.status_code == 200, r.content
    assert r.json()["code"].startswith(s["c2g2"].code) and {p["kind"] for p in r.json()["problems"]} == {"overlap"}


def test_ticket_hot_spots_layer(world):
    from gridgov.hotline.models import Ticket

    s = world["street"]
    at = datetime(2025, 4, 10, 9, 0, tzinfo=TZ)
    rows = [("c1g1m1", "城乡建设", "物业管理")] * 3 + [("c1g1m1", "环境保护", "噪声扰民"), ("c2g2m2", "城乡建设", "物业管理")]
    for i, (g, l1, l2) in enumerate(rows):
        Ticket.objects.create(ticket_id=f"H{i}", received_at=at, month="2025-04", content="物业不管", grid=s[g],
                              category_l1=l1, category_l2=l2)
    Ticket.objects.create(ticket_id="OLD", received_at=at, month="2025-03", content="旧", grid=s["c1g1m1"])
    fc = client_for(world["lead"]).get("/api/insight/layers/tickets").json()
    by_code = {f["properties"]["code"]: f["properties"] for f in fc["features"]}
    spot = by_code[s["c1g1m1"].code]
    assert spot["month"] == "2025-04" and spot["tickets"] == 4
    assert spot["top"][0] == {"category": "城乡建设/物业管理", "tickets": 3}
    assert by_code[s["c2g2m2"].code]["tickets"] == 1
    # a grid worker of c1g1 sees only the hot spots of their grid
    fc = client_for(world["gw"]).get("/api/insight/layers/tickets", {"month": "2025-04"}).json()
    assert [f["properties"]["code"] for f in fc["features"]] == [s["c1g1m1"].code]


def _map_layers(user):
    import re

    html = client_for(user).get("/map/").content.decode()
    return re.findall(r'data-level="(\w+)"( checked)?', html)


def test_the_map_offers_the_configured_levels(world):
    assert _map_layers(world["lead"]) == [("community", " checked"), ("grid", " checked"), ("microgrid", "")]


def test_the_map_offers_the_streets_under_a_district(db):
    from gridgov.accounts.models import Duty
    from gridgov.testing import make_district

    n = make_district()
    district_lead = make_user("district_lead", Role.LEADER)
    GridAssignment.objects.create(user=district_lead, node=n["district"], duty=Duty.SECRETARY)
    assert _map_layers(district_lead) == [("street", " checked"), ("community", " checked"), ("grid", ""), ("microgrid", "")]
    r = client_for(district_lead).get("/api/insight/layers/grids", {"level": "street"})
    assert {f["properties"]["code"] for f in r.json()["features"]} == {n["street"].code, n["s2"].code}
