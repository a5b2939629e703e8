"""Patrols: distance and grids from known points, one active patrol, idempotent batches, upload."""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from gridgov.geo.spatial import haversine_m
from gridgov.gridwork import day
from gridgov.gridwork.models import Patrol, PatrolPoint

from . import world
from .world_day import LAT_G1, LON_M1, LON_M2, client, post


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_distance_and_grids_from_known_points(street):
    w = world.build(street)
    gw, t0 = w["gw_c1g1"], world.when(2026, 1, 5, 9)
    p = day.start_patrol(gw, LON_M1, LAT_G1, now=t0)
    assert (p.grid_id, p.point_count, p.state) == (street["c1g1"].pk, 1, "active")
    # 10 minutes later in the next micro-grid (~1 km: a walk), then a 3 km jump in 30 s (noise)
    pts = [(LON_M2, LAT_G1, "wgs84", t0 + timedelta(minutes=10), 8),
           (LON_M2 + 0.035, LAT_G1, "wgs84", t0 + timedelta(minutes=10, seconds=30), 50),
           (LON_M2, LAT_G1, "wgs84", t0 + timedelta(minutes=11), 8)]
    p, kept = day.add_points(p, pts, gw, now=t0 + timedelta(minutes=11))
    assert kept == 3 and p.point_count == 4
    leg = haversine_m(LON_M1, LAT_G1, LON_M2, LAT_G1)
    assert p.distance_m == pytest.approx(leg, abs=0.2)  # the jump out and back is left out
    assert p.grid_paths == [street["c1g1m1"].path, street["c1g1m2"].path]
    p = day.end_patrol(p, gw, "正常", now=t0 + timedelta(minutes=20))
    assert p.state == "ended" and p.ended_at == t0 + timedelta(minutes=20)
    geo = day.patrol_geojson(p)
    assert geo["geometry"]["type"] == "LineString" and len(geo["geometry"]["coordinates"]) == 4


def test_a_resent_batch_is_idempotent(street):
    w = world.build(street)
    gw = w["gw_c1g1"]
    c = client(gw)
    r = post(c, "/api/gridwork/day/patrols/start", {"lon": LON_M1, "lat": LAT_G1})
    assert r.status_code == 200, r.content
    pid = r.json()["id"]
    t = r.json()["started_at"]
    from django.utils.dateparse import parse_datetime

    t0 = parse_datetime(t)
    batch = {"points": [{"lon": LON_M1, "lat": LAT_G1 + 0.0005 * i, "at": (t0 + timedelta(seconds=30 * i)).isoformat()}
                        for i in range(1, 4)]}
    one = post(c, f"/api/gridwork/day/patrols/{pid}/points", batch).json()
    two = post(c, f"/api/gridwork/day/patrols/{pid}/points", batch).json()
    assert one["kept"] == 3 and two["kept"] == 0
    assert two["patrol"]["point_count"] == 4 == PatrolPoint.objects.filter(patrol_id=pid).count()
    assert two["patrol"]["distance_m"] == one["patrol"]["distance_m"] > 150
    # someone else's patrol: not found
    assert post(client(w["gw_c1g2"]), f"/api/gridwork/day/patrols/{pid}/points", batch).status_code == 404
    detail = c.get(f"/api/gridwork/day/patrols/{pid}").json()
    assert detail["route"]["geometry"]["type"] == "LineString"
    end = post(c, f"/api/gridwork/day/patrols/{pid}/end", {"note": "完成"})
    assert end.json()["state"] == "ended"
    assert post(c, f"/api/gridwork/day/patrols/{pid}/points", batch).status_code == 409


def test_one_active_patrol(street):
    w = world.build(street)
    gw = w["gw_c1g1"]
    day.start_patrol(gw, now=world.when(2026, 1, 5, 9))
    with pytest.raises(day.Conflict):
        day.start_patrol(gw, now=world.when(2026, 1, 5, 10))
    assert post(client(gw), "/api/gridwork/day/patrols/start", {}).status_code == 409
    # a resident has no grid duty
    with pytest.raises(day.Forbidden):
        day.start_patrol(w["resident"])


@pytest.mark.django_db(transaction=True)
def test_a_race_of_two_starts_leaves_one():
    from gridgov.testing import make_small_street

    street = make_small_street()
    w = world.build(street)
    gw = w["gw_c1g1"]
    results, barrier = [], threading.Barrier(2)

    def go():
        try:
            barrier.wait()
            day.start_patrol(gw)
            results.append("ok")
        except day.Conflict:
            results.append("conflict")
        except Exception as exc:  # SQLite: "database is locked" counts as a refusal
            results.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=go) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert results.count("ok") == 1
    assert Patrol.objects.filter(worker=gw, state="active").count() == 1


def test_upload_a_whole_patrol(street):
    w = world.build(street)
    gw = w["gw_c1g1"]
    t0 = world.when(2026, 1, 6, 14)
    pts = [{"lon": LON_M1 + 0.0004 * i, "lat": LAT_G1, "at": (t0 + timedelta(minutes=3 * i)).isoformat()} for i in range(8)]
    body = {"started_at": t0.isoformat(), "ended_at": (t0 + timedelta(minutes=30)).isoformat(), "points": pts}
    c = client(gw)
    a = post(c, "/api/gridwork/day/patrols/upload", body).json()
    b = post(c, "/api/gridwork/day/patrols/upload", body).json()
    assert a["id"] == b["id"] and a["state"] == "ended" and a["point_count"] == 8
    assert a["distance_m"] == pytest.approx(7 * haversine_m(LON_M1, LAT_G1, LON_M1 + 0.0004, LAT_G1), rel=1e-3)
    assert a["day"] == "2026-01-06" and a["grid_paths"] == [street["c1g1m1"].path]
