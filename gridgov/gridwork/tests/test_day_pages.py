"""The day's pages: the phone's today, visit, needs, log and plan pages; the staff's lists; one
phone browser test (a patrol with a mocked position, then a visit)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.gridwork import day
from gridgov.gridwork.models import Need, Patrol, Visit

from . import world
from .world_day import LAT_G1, LON_M1, LON_M2, client


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_phone_pages(street):
    w = world.build(street)
    gw = w["gw_c1g1"]
    c = client(gw)
    assert "开始巡查" in c.get("/m/gridwork/").content.decode()
    assert w["house_a"].address.text in c.get("/m/gridwork/visit/", {"q": "101"}).content.decode()
    page = c.get(f"/m/gridwork/visit/{w['house_a'].pk}/").content.decode()
    assert "王大爷" in page and 'data-group="living_alone"' in page
    r = c.post(f"/m/gridwork/visit/{w['house_a'].pk}/", {
        "outcome": "met", "met": "本人", "resident": [w["elderly"].pk], f"concern_{w['elderly'].pk}": "腿疼",
        "need_kind_0": "health", "need_text_0": "需要轮椅", "need_resident_0": w["elderly"].pk})
    assert r.status_code == 302 and r["Location"] == "/m/gridwork/?visited=1"
    need = Need.objects.get()
    assert need.resident_id == w["elderly"].pk
    assert "转为事件" in c.get("/m/gridwork/needs/").content.decode()
    assert "转为服务事项" not in c.get("/m/gridwork/needs/").content.decode()  # the worker may not
    r = c.post(f"/m/gridwork/needs/{need.pk}/case/")
    assert r.status_code == 302
    need.refresh_from_db()
    assert need.state == "case"
    assert "王大爷" not in c.get("/m/gridwork/plan/").content.decode()  # visited today
    assert "李阿姨" in c.get("/m/gridwork/plan/").content.decode()
    r = c.post("/m/gridwork/log/", {"notes": "今天走访一户", "action": "submit"})
    assert r.status_code == 302
    assert "已提交" in c.get("/m/gridwork/log/").content.decode()
    assert client(w["resident"]).get("/m/gridwork/").status_code == 403
    # the grid worker has no staff lists (gridwork × list); the leader does
    assert c.get("/gridwork/day/patrols/").status_code == 403


def test_staff_pages(street):
    w = world.build(street)
    gw, t = w["gw_c1g1"], world.when(2026, 1, 12, 9)
    p = day.record_patrol(gw, [(LON_M1, LAT_G1, "wgs84", t), (LON_M2, LAT_G1, "wgs84", t + timedelta(minutes=10))],
                          t, t + timedelta(minutes=12), now=t + timedelta(hours=1))
    v = day.record_visit(gw, w["house_a"], residents=[(w["elderly"], "")], needs=[("living", "需要助餐", None)], now=t)
    c = client(w["gl_c1g1"])
    html = c.get("/gridwork/day/patrols/", {"worker": gw.pk, "day": "2026-01-12"}).content.decode()
    assert f'data-patrol="{p.pk}"' in html
    assert "<polyline" in c.get(f"/gridwork/day/patrols/{p.pk}/").content.decode()
    assert f'data-visit="{v.pk}"' in c.get("/gridwork/day/visits/").content.decode()
    need = v.needs.get()
    r = c.post(f"/gridwork/day/needs/{need.pk}/service/", {"provider": "养老驿站", "version": need.version})
    assert r.status_code == 302
    need.refresh_from_db()
    assert need.state == "service"
    assert "养老驿站" in c.get("/gridwork/day/needs/", {"state": "service"}).content.decode()
    assert c.get("/gridwork/day/logs/").status_code == 200
    assert "李阿姨" in c.get("/gridwork/day/plan/").content.decode()
    other = client(w["gw_c2g1"])
    assert other.get("/gridwork/day/patrols/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_a_patrol_and_a_visit_on_the_phone(phone, live_server):
    from django.test import Client

    from gridgov.geo.coords import wgs84_to_gcj02_np
    from gridgov.testing import make_small_street

    street = make_small_street()
    w = world.build(street)
    gw = w["gw_c1g1"]
    c = Client()
    c.force_login(gw)
    phone.context.add_cookies([{"name": "sessionid", "value": c.cookies["sessionid"].value, "url": live_server.url}])
    phone.context.grant_permissions(["geolocation"])

    def at(lon, lat):  # the phone is WeChat's: it reports GCJ-02, the server converts back
        x, y = wgs84_to_gcj02_np(lon, lat)
        phone.context.set_geolocation({"longitude": float(x), "latitude": float(y), "accuracy": 10})

    at(LON_M1, LAT_G1)
    phone.goto("/m/gridwork/")
    phone.click("#start-patrol")
    phone.wait_for_selector("#end-patrol")
    p = Patrol.objects.get(worker=gw, state="active")
    phone.wait_for_function("() => Number(document.getElementById('points').textContent) >= 2")
    at(LON_M2, LAT_G1)
    phone.click("#end-patrol")
    phone.wait_for_selector("#start-patrol")
    p.refresh_from_db()
    assert p.state == "ended" and p.point_count >= 3
    assert p.distance_m == 0  # ~500 m within seconds: faster than 15 m/s, GPS noise, not walked
    assert p.grid_paths == [street["c1g1m1"].path, street["c1g1m2"].path]
    assert phone.locator("[data-fig=patrols]").inner_text() == "1"
    # a visit: find the house, tick the residents (special-care ones are ticked), a need
    phone.goto("/m/gridwork/visit/")
    phone.fill("input[name=q]", "101")
    phone.click("#house-search button")
    phone.click(f"#houses [data-house='{w['house_a'].pk}'] a")
    assert phone.locator("[data-group=living_alone]").count() == 1
    phone.fill("input[name=met]", "王大爷")
    phone.fill("input[name=need_text_0]", "楼道灯不亮")
    phone.select_option("select[name=need_kind_0]", "environment")
    phone.click("#visit-form button[type=submit]")
    phone.wait_for_url("**/m/gridwork/?visited=1")
    v = Visit.objects.get(worker=gw)
    assert sorted(v.residents.values_list("resident__name", flat=True)) == ["李阿姨", "王大爷"]
    assert v.needs.get().kind == "environment"
    assert v.day == timezone.localdate()
