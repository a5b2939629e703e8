"""Visits, needs (to a case once, to a service item), the day's figures, the visit plan, scope."""

from datetime import date, timedelta

import pytest
from django.test import override_settings

from gridgov.cases.models import Case
from gridgov.gridwork import day
from gridgov.gridwork.models import DailyLog, Need, VisitResident

from . import world
from .world_day import LAT_G1, LON_M1, LON_M2, client, post


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def w(street):
    return world.build(street)


def _visit(w, at, needs=(("living", "想找人帮忙买菜", None),)):
    return day.record_visit(w["gw_c1g1"], w["house_a"], "met", "王大爷本人", "身体尚可",
                            [(w["elderly"], "腿脚不便"), (w["disabled"], "")], needs, now=at)


def test_a_visit_records_the_groups_and_the_needs(w):
    c = client(w["gw_c1g1"])
    body = {"house": w["house_a"].pk, "outcome": "met", "met": "王大爷",
            "residents": [{"id": w["elderly"].pk, "concern": "血压偏高"}, {"id": w["disabled"].pk}],
            "needs": [{"kind": "health", "text": "需要上门量血压", "resident": w["elderly"].pk}]}
    r = post(c, "/api/gridwork/day/visits", body)
    assert r.status_code == 200, r.content
    v = r.json()
    assert {x["name"]: x["groups"] for x in v["residents"]} == {"王大爷": ["elderly"], "李阿姨": ["disabled"]}
    assert v["needs"][0]["state"] == "heard" and v["needs"][0]["resident"] == "王大爷"
    assert v["grid_path"] == w["street"]["c1g1m1"].path
    # a house of another grid: not found; a resident of another house: refused
    assert post(c, "/api/gridwork/day/visits", {**body, "house": w["house_b"].pk}).status_code == 404
    bad = {**body, "residents": [{"id": w["pregnant"].pk}]}
    assert post(c, "/api/gridwork/day/visits", bad).status_code == 400
    # the house search of the visit form
    found = c.get("/api/gridwork/day/houses", {"q": "101"}).json()
    assert [h["id"] for h in found] == [w["house_a"].pk]
    assert c.get(f"/api/gridwork/day/houses/{w['house_a'].pk}").json()["residents"][0]["living_alone"] is True


def test_a_need_becomes_one_case_however_often_tapped(w):
    v = _visit(w, world.when(2026, 1, 7, 10))
    need = v.needs.get()
    c = client(w["gw_c1g1"])
    one = post(c, f"/api/gridwork/day/needs/{need.pk}/case")
    two = post(c, f"/api/gridwork/day/needs/{need.pk}/case")
    assert one.status_code == two.status_code == 200, one.content
    assert one.json()["case"]["id"] == two.json()["case"]["id"]
    assert Case.objects.count() == 1
    case = Case.objects.get()
    assert (case.channel, case.reporter_id, case.grid_id) == ("patrol", w["gw_c1g1"].pk, w["street"]["c1g1m1"].pk)
    assert "买菜" in case.text
    need.refresh_from_db()
    assert need.state == "case" and need.case_id == case.pk
    # another worker (not the one who heard it, no update right) may not
    assert post(client(w["gw_c1g2"]), f"/api/gridwork/day/needs/{need.pk}/case").status_code == 404


def test_service_items_by_the_community(w):
    v = _visit(w, world.when(2026, 1, 7, 10), needs=[("living", "需要助餐服务", None), ("policy", "咨询高龄补贴", None)])
    meal, subsidy = v.needs.order_by("id")
    gw, staff = client(w["gw_c1g1"]), client(w["staff_c1"])
    assert post(gw, f"/api/gridwork/day/needs/{meal.pk}/service", {"provider": "社区"}).status_code == 403
    r = post(staff, f"/api/gridwork/day/needs/{meal.pk}/service", {"provider": "社区养老驿站", "version": 1})
    assert r.status_code == 200 and r.json()["state"] == "service"
    assert post(staff, f"/api/gridwork/day/needs/{meal.pk}/done", {"result": "已安排", "version": 1}).status_code == 409
    r = post(staff, f"/api/gridwork/day/needs/{meal.pk}/done", {"result": "每日送餐上门", "version": 2})
    assert r.json()["state"] == "done"
    r = post(staff, f"/api/gridwork/day/needs/{subsidy.pk}/close", {"reply": "已告知申领流程"})
    assert r.json()["state"] == "closed"
    ledger = staff.get("/api/gridwork/day/needs", {"scope": "staff"}).json()
    assert ledger["counts"] == {"done": 1, "closed": 1}
    # the leader sees them; another community's staff nothing
    assert gw.get("/api/gridwork/day/needs", {"scope": "staff"}).status_code == 403
    assert gw.get("/api/gridwork/day/needs").json()["count"] == 2


def test_gathered_figures_of_a_day(w):
    from gridgov.cases import services as cases
    from gridgov.cases.taxonomy import seed_taxonomy

    seed_taxonomy()
    gw, d = w["gw_c1g1"], date(2026, 1, 8)
    t = world.when(2026, 1, 8, 9)
    day.record_patrol(gw, [(LON_M1, LAT_G1, "wgs84", t), (LON_M2, LAT_G1, "wgs84", t + timedelta(minutes=12))],
                      t, t + timedelta(minutes=15), now=t + timedelta(minutes=15))
    v = _visit(w, t + timedelta(hours=1))
    day.need_to_case(v.needs.get(), gw, now=t + timedelta(hours=1, minutes=5))
    world.report(gw, t + timedelta(hours=2), text="井盖破损", grid=w["street"]["c1g1m2"])
    # a case the worker handles that day
    other = world.report(w["gw_c1g2"], t, text="路灯不亮", grid=w["street"]["c1g1m1"])
    other.refresh_from_db()
    if other.state == "dispatched" and cases.may_handle(gw, other):
        cases.accept(other, gw, now=t + timedelta(hours=3))
        handled = 1
    else:
        handled = 0
    # another day's visit does not count
    _visit(w, world.when(2026, 1, 9, 9), needs=())
    g = day.gathered(gw, d)
    assert g["patrols"]["count"] == 1 and g["patrols"]["grids"] == [w["street"]["c1g1m1"].path, w["street"]["c1g1m2"].path]
    assert 450 < g["patrols"]["distance_m"] < 550
    assert (g["visits"]["count"], g["visits"]["residents"], g["visits"]["special_care"]) == (1, 2, 2)
    assert g["visits"]["by_group"] == {"disabled": 1, "elderly": 1}
    assert g["needs"] == {"count": 1, "by_kind": {"living": 1}, "to_case": 1}
    assert g["reports"]["count"] == 2  # the need's case and the manhole cover
    assert g["handled"]["count"] == handled == 1, other.state
    # save, then submit: the figures frozen
    c = client(gw)
    r = c.post("/api/gridwork/day/logs/2026-01-08", {"notes": "走访独居老人"})
    assert r.status_code == 200, r.content
    r = post(c, "/api/gridwork/day/logs/2026-01-08/submit", {"version": r.json()["version"]})
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "submitted" and r.json()["figures"]["visits"]["count"] == 1
    assert c.post("/api/gridwork/day/logs/2026-01-08", {"notes": "改"}).status_code == 409
    got = c.get("/api/gridwork/day/logs/2026-01-08").json()
    assert got["log"]["notes"] == "走访独居老人" and got["gathered"]["visits"]["count"] == 1
    assert DailyLog.objects.get().grid_path == w["street"]["c1g1"].path
    lead = client(w["gl_c1g1"]).get("/api/gridwork/day/logs", {"day": "2026-01-08"}).json()
    assert lead["count"] == 1
    assert client(w["gw_c2g1"]).get("/api/gridwork/day/logs/2026-01-08", {"worker": gw.pk}).status_code == 403


@override_settings(GRIDWORK_VISIT_DAYS_ELDERLY=30, GRIDWORK_VISIT_DAYS_DISABLED=60, GRIDWORK_VISIT_DAYS_ALONE=7)
def test_the_plan_of_visits(w):
    _visit(w, world.when(2026, 1, 1, 10), needs=())
    rows = {r["name"]: r for r in day.due_visits(w["gw_c1g1"], date(2026, 1, 20))}
    assert set(rows) == {"王大爷", "李阿姨"}  # 赵女士 is in another grid
    old, dis = rows["王大爷"], rows["李阿姨"]
    assert (old["interval_days"], old["next_due"], old["overdue_days"], old["late"]) == (7, date(2026, 1, 8), 12, True)
    assert (dis["interval_days"], dis["next_due"], dis["overdue_days"], dis["late"]) == (60, date(2026, 3, 2), 0, False)
    never = day.due_visits(w["gw_c1g2"], date(2026, 1, 20))
    assert [(r["name"], r["never"], r["late"], r["interval_days"]) for r in never] == [("赵女士", True, True, 30)]
    # the API: a leader's grid, overdue only
    r = client(w["gl_c1g1"]).get("/api/gridwork/day/plan", {"late": 1, "as_of": "2026-01-20"}).json()
    assert [i["name"] for i in r["items"]] == ["王大爷"] and r["summary"]["late"] == 1
    assert client(w["resident"]).get("/api/gridwork/day/plan").status_code == 403
    # a visit after as_of does not count
    assert VisitResident.objects.count() == 2


def test_scope_of_the_lists(w):
    t = world.when(2026, 1, 10, 9)
    day.record_patrol(w["gw_c1g1"], [(LON_M1, LAT_G1, "wgs84", t)], t, t + timedelta(minutes=5), now=t + timedelta(hours=1))
    _visit(w, t)
    mine = client(w["gw_c1g1"]).get("/api/gridwork/day/patrols").json()
    assert mine["count"] == 1
    assert client(w["gw_c1g2"]).get("/api/gridwork/day/patrols").json()["count"] == 0
    assert client(w["gw_c1g2"]).get("/api/gridwork/day/patrols", {"scope": "staff"}).status_code == 403
    assert client(w["gl_c1g1"]).get("/api/gridwork/day/patrols", {"scope": "staff"}).json()["count"] == 1
    assert client(w["staff_c1"]).get("/api/gridwork/day/visits", {"scope": "staff"}).json()["count"] == 1
    from gridgov.accounts.models import Duty, Role
    from gridgov.testing import make_user

    other = make_user("cs_c2", Role.COMMUNITY_STAFF, [w["street"]["c2"]], duty=Duty.STAFF)
    oc = client(other)
    assert oc.get("/api/gridwork/day/patrols", {"scope": "staff"}).json()["count"] == 0
    assert oc.get("/api/gridwork/day/visits", {"scope": "staff"}).json()["count"] == 0
    pid = mine["items"][0]["id"]
    assert oc.get(f"/api/gridwork/day/patrols/{pid}").status_code == 404
    need = Need.objects.get()
    assert post(oc, f"/api/gridwork/day/needs/{need.pk}/service", {"provider": "x"}).status_code == 404
