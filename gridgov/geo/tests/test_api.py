import pytest

from gridgov.accounts.models import Role
from gridgov.geo.coords import wgs84_to_gcj02
from gridgov.testing import DLAT, DLON, LAT0, LON0, make_user


def login(client, user):
    client.force_login(user)
    return client


def test_requires_login(street, client):
    assert client.get("/api/geo/locate", {"lon": LON0, "lat": LAT0}).status_code == 401
    assert client.get("/api/geo/grids").status_code == 401


def test_locate_chain(street, client):
    login(client, make_user("w1", nodes=[street["c1g1"]]))
    x, y = LON0 + DLON * 0.1, LAT0 + DLAT * 0.9
    r = client.get("/api/geo/locate", {"lon": x, "lat": y})
    assert r.status_code == 200
    grids = r.json()["grids"]
    assert [g["code"] for g in grids] == [street[k].code for k in ("street", "c1", "c1g1", "c1g1m1")]
    assert [g["level_name"] for g in grids] == ["street", "community", "grid", "microgrid"]
    gx, gy = wgs84_to_gcj02(x, y)
    assert client.get("/api/geo/locate", {"lon": gx, "lat": gy, "crs": "gcj02"}).json()["grids"] == grids
    assert client.get("/api/geo/locate", {"lon": 0, "lat": 0}).json()["grids"] == []
    r = client.get("/api/geo/locate", {"lon": x, "lat": y, "crs": "mars"})
    assert r.status_code == 422 and "unknown coordinate system" in r.json()["detail"]


def test_grids_visible_to_user(street, client):
    login(client, make_user("w1", nodes=[street["c1g1"]]))
    data = client.get("/api/geo/grids").json()
    assert data["type"] == "FeatureCollection"
    assert {f["properties"]["code"] for f in data["features"]} == {street[k].code for k in ("c1g1", "c1g1m1", "c1g1m2")}
    f = next(f for f in data["features"] if f["properties"]["code"] == street["c1g1"].code)
    assert f["geometry"]["type"] == "Polygon" and f["properties"]["parent_code"] == street["c1"].code
    assert f["properties"]["area_m2"] == pytest.approx(street["c1g1"].area_m2, abs=0.1)
    micro = client.get("/api/geo/grids", {"level": "microgrid"}).json()
    assert len(micro["features"]) == 2
    assert client.get("/api/geo/grids", {"level": "3"}).json() == micro
    assert client.get("/api/geo/grids", {"level": "bogus"}).status_code == 422


def test_grid_detail_404_when_not_visible(street, client):
    login(client, make_user("w1", nodes=[street["c1g1"]]))
    r = client.get(f"/api/geo/grids/{street['c1g1m1'].code}")
    assert r.status_code == 200 and r.json()["properties"]["name"] == street["c1g1m1"].name
    hidden = client.get(f"/api/geo/grids/{street['c2g1'].code}")
    missing = client.get("/api/geo/grids/999999")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content


def test_leader_sees_everything_resident_nothing(street, client):
    login(client, make_user("boss", Role.LEADER))
    assert len(client.get("/api/geo/grids").json()["features"]) == 15
    login(client, make_user("r1", Role.RESIDENT))
    assert client.get("/api/geo/grids").status_code == 403  # never, in the access table
    assert client.get(f"/api/geo/grids/{street['street'].code}").status_code == 404
    # a resident may still ask which grid a point is in (to report a problem there)
    assert len(client.get("/api/geo/locate", {"lon": LON0 + 0.001, "lat": LAT0 + 0.001}).json()["grids"]) == 4
