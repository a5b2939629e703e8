"""The security probe's attacks on the map's grid editor (issue 16, item 3), through the real
doors (`POST /api/insight/grids/{parent}/children`, `POST /api/insight/grids/{code}/geometry`):

* the editor asks the policy table (grids × create / update), not a list of roles of its own;
* a child drawn outside its parent (3,000 km away, or partly beyond the tiling tolerance) is
  refused with a clear error and nothing is saved;
* a redrawn polygon that leaves its parent, or a parent that no longer holds its children, is
  refused likewise; garbage coordinates are refused, never a server error."""

import json
import math

import pytest
from django.test import Client
from shapely.geometry import box, mapping

from gridgov.accounts import policy
from gridgov.accounts.models import GridAssignment, Role, User
from gridgov.geo.models import GridNode


def make_user(username, role, nodes=()):
    u = User.objects.create(username=username, role=role, display_name=username)
    for n in nodes:
        GridAssignment.objects.create(user=u, node=n, duty="staff")
    return u


def client_for(user):
    c = Client(raise_request_exception=False)
    c.force_login(user)
    return c


def post(c, url, body):
    return c.post(url, json.dumps(body), content_type="application/json")


def inner(node, frac=0.25):
    """A box inside `node`, `frac` of its width and height in from each side."""
    w, h = node.max_lon - node.min_lon, node.max_lat - node.min_lat
    return box(node.min_lon + frac * w, node.min_lat + frac * h, node.max_lon - frac * w, node.max_lat - frac * h)


@pytest.fixture
def lead(street):
    return make_user("lead", Role.LEADER)


def test_a_child_3000_km_from_its_parent_is_refused(street, lead):
    parent = street["c1g1"]
    before = GridNode.objects.count()
    far = box(parent.min_lon + 30, parent.min_lat, parent.min_lon + 30.01, parent.min_lat + 0.01)  # ~2,600 km east
    r = post(client_for(lead), f"/api/insight/grids/{parent.code}/children", {"geometry": mapping(far), "name": "远方网格"})
    assert r.status_code == 422, r.content
    assert "超出上级网格" in r.json()["detail"] and parent.code in r.json()["detail"]
    assert GridNode.objects.count() == before


def test_a_child_partly_outside_its_parent_is_refused_inside_is_accepted(street, lead):
    parent = street["c1g1"]
    c = client_for(lead)
    w = parent.max_lon - parent.min_lon
    # a tenth of its width sticks out west of the parent (tens of thousands of m²)
    sticking = box(parent.min_lon - 0.1 * w, parent.min_lat, parent.min_lon + 0.5 * w, parent.max_lat)
    r = post(c, f"/api/insight/grids/{parent.code}/children", {"geometry": mapping(sticking), "name": "越界"})
    assert r.status_code == 422 and "超出上级网格" in r.json()["detail"]
    assert not GridNode.objects.filter(name="越界").exists()
    # exactly on the parent's edge: inside (the tolerance of check-grids)
    r = post(c, f"/api/insight/grids/{parent.code}/children",
             {"geometry": mapping(box(parent.min_lon, parent.min_lat, parent.min_lon + 0.5 * w, parent.max_lat)), "name": "贴边"})
    assert r.status_code == 200, r.content
    assert GridNode.objects.get(code=r.json()["code"]).parent_id == parent.pk


def test_redrawing_a_grid_outside_its_parent_is_refused(street, lead):
    m1 = street["c1g1m1"]
    wkt = m1.geom_wkt
    moved = box(m1.min_lon + 20, m1.min_lat, m1.max_lon + 20, m1.max_lat)
    r = post(client_for(lead), f"/api/insight/grids/{m1.code}/geometry", {"geometry": mapping(moved)})
    assert r.status_code == 422, r.content
    assert "超出上级网格" in r.json()["detail"]
    m1.refresh_from_db()
    assert m1.geom_wkt == wkt


def test_redrawing_a_parent_that_no_longer_holds_its_children_is_refused(street, lead):
    g = street["c1g1"]
    wkt = g.geom_wkt
    half = box(g.min_lon, g.min_lat, (g.min_lon + g.max_lon) / 2, g.max_lat)  # drops its east micro-grid
    r = post(client_for(lead), f"/api/insight/grids/{g.code}/geometry", {"geometry": mapping(half)})
    assert r.status_code == 422, r.content
    assert street["c1g1m2"].code in r.json()["detail"] and street["c1g1m1"].code not in r.json()["detail"]
    g.refresh_from_db()
    assert g.geom_wkt == wkt
    # the same polygon again is fine
    r = post(client_for(lead), f"/api/insight/grids/{g.code}/geometry", {"geometry": mapping(box(g.min_lon, g.min_lat, g.max_lon, g.max_lat))})
    assert r.status_code == 200 and r.json()["problems"] == []


@pytest.mark.parametrize("coords", [
    [[0, 0], [1e20, 0], [1e20, 1e20], [0, 0]],
    [[0, 0], [float("nan"), 0], [1, 1], [0, 0]],
    [[0, 0], [float("inf"), 0], [1, 1], [0, 0]],
    [[116.38, 39.78], [116.39, 95.0], [116.39, 39.78], [116.38, 39.78]],
])
@pytest.mark.parametrize("crs", ["wgs84", "gcj02"])
def test_garbage_coordinates_are_refused(street, lead, coords, crs):
    parent = street["c1g1"]
    body = json.dumps({"geometry": {"type": "Polygon", "coordinates": [coords]}, "crs": crs, "name": "坏"},
                      allow_nan=True)
    c = client_for(lead)
    for url in (f"/api/insight/grids/{parent.code}/children", f"/api/insight/grids/{street['c1g1m1'].code}/geometry"):
        r = c.post(url, body, content_type="application/json")
        assert r.status_code == 422, (url, r.status_code, r.content[:300])
    assert not GridNode.objects.filter(name="坏").exists()
    assert math.isfinite(GridNode.objects.get(pk=street["c1g1m1"].pk).area_m2)


@pytest.mark.parametrize("role", [Role.GRID_WORKER, Role.GRID_LEADER, Role.COMMUNITY_STAFF, Role.COMMUNITY_SECRETARY,
                                  Role.SECTION_STAFF, Role.RESIDENT, Role.VOLUNTEER])
def test_roles_the_table_does_not_grant_are_refused(street, role):
    u = make_user(f"u_{role}", role, [street["c1"]])
    c = client_for(u)
    parent = street["c1g1"]
    assert policy.POLICY[(role, "grids", "create")] == policy.NEVER
    r = post(c, f"/api/insight/grids/{parent.code}/children", {"geometry": mapping(inner(parent)), "name": "新"})
    assert r.status_code == 403
    r = post(c, f"/api/insight/grids/{street['c1g1m1'].code}/geometry", {"geometry": mapping(inner(street["c1g1m1"]))})
    assert r.status_code == 403
    assert not GridNode.objects.filter(name="新").exists()
    if role in policy.ROLES and policy.allows(u, "grids", "read"):
        card = c.get(f"/api/insight/card/grid/{parent.pk}").json()
        assert card["editable"] is False


def test_the_editor_asks_the_policy_table(street, monkeypatch):
    """Grant community staff grids × create/update in their own scope (in the table only): the
    doors follow, inside their community and not outside it; the card and the map page too."""
    staff = make_user("cs", Role.COMMUNITY_STAFF, [street["c1"]])
    monkeypatch.setitem(policy.POLICY, (Role.COMMUNITY_STAFF, "grids", "create"), policy.OWN)
    monkeypatch.setitem(policy.POLICY, (Role.COMMUNITY_STAFF, "grids", "update"), policy.OWN)
    c = client_for(staff)
    own, other = street["c1g1"], street["c2g1"]
    r = post(c, f"/api/insight/grids/{own.code}/children", {"geometry": mapping(inner(own)), "name": "社区画的"})
    assert r.status_code == 200, r.content
    assert post(c, f"/api/insight/grids/{other.code}/children", {"geometry": mapping(inner(other)), "name": "别人的"}).status_code == 404
    m1 = street["c1g1m1"]
    r = post(c, f"/api/insight/grids/{m1.code}/geometry", {"geometry": mapping(box(m1.min_lon, m1.min_lat, m1.max_lon, m1.max_lat))})
    assert r.status_code == 200, r.content
    assert c.get(f"/api/insight/card/grid/{own.pk}").json()["editable"] is True
    # the community's own boundary is its parent's (the street's) business: not in their scope
    r = post(c, f"/api/insight/grids/{street['c1'].code}/geometry", {"geometry": mapping(inner(street["c1"], 0))})
    assert r.status_code == 403
    assert c.get(f"/api/insight/card/grid/{street['c1'].pk}").json()["editable"] is False
    assert b'"can_edit": true' in c.get("/map/").content


def test_a_street_leader_still_edits(street, lead):
    """The map editor is a feature street offices use (test_browser.test_map_edit_a_grid_boundary)."""
    c = client_for(lead)
    parent = street["c2g2"]
    assert c.get(f"/api/insight/card/grid/{parent.pk}").json()["editable"] is True
    assert b'"can_edit": true' in c.get("/map/").content
    r = post(c, f"/api/insight/grids/{parent.code}/children", {"geometry": mapping(inner(parent)), "name": "新微网格"})
    assert r.status_code == 200 and r.json()["code"].startswith(parent.code)
