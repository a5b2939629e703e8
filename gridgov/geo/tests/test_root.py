"""A root above the streets: an install built by today's one-street code is put under a district
(`gridgov add-root`), a second street joins it, and every door keeps each street to its own."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from gridgov.accounts.models import Duty, GridAssignment, Role
from gridgov.accounts.scope import forget_scope, scope_of
from gridgov.cases import services as cases
from gridgov.cases.models import Case
from gridgov.cases.taxonomy import seed_taxonomy
from gridgov.core import levels
from gridgov.core.models import ChangeRecord
from gridgov.geo import services
from gridgov.geo.models import GeoVersion, GridNode
from gridgov.testing import DLAT, DLON, LAT0, LON0, make_district, make_small_street, make_user

pytestmark = pytest.mark.django_db


def _case(user, lon, lat, text="小区门口的路灯坏了"):
    case, _ = cases.submit_case(reporter=user, channel="resident", text=text, lon=lon, lat=lat)
    return case


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_a_one_street_install():
    """A database at geo 0002 (the code before the levels above the street) migrates to one
    whose scheme has no level above the street: levels and codes read as before."""
    executor = MigrationExecutor(connection)
    executor.migrate([("geo", "0002_geoversion_token")])
    old = executor.loader.project_state([("geo", "0002_geoversion_token")]).apps
    old.get_model("geo", "GeoVersion").objects.update_or_create(pk=1, defaults={"version": 7, "token": "t"})
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    levels.forget()
    assert GeoVersion.objects.get(pk=1).above == []
    assert (levels.street_level(), levels.community_level(), levels.grid_level()) == (0, 1, 2)
    assert levels.level_names()[:3] == ["street", "community", "grid"]


def test_add_root_moves_everything_one_level_down():
    seed_taxonomy()
    n = make_small_street()
    leader = make_user("leader", Role.LEADER)  # no duty: served the whole (one) street
    sec = make_user("sec1", Role.COMMUNITY_SECRETARY, [n["c1"]], Duty.SECRETARY)
    resident = make_user("res", Role.RESIDENT)
    case = _case(resident, LON0 + DLON * 0.1, LAT0 + DLAT * 0.9)
    old_path = case.grid_path
    assert old_path.startswith("/110106001000000/110106001001000/")
    assert scope_of(leader).everything

    call_command("add-root", code="110106", name="测试区")

    root = GridNode.objects.get(code="110106000000000")
    assert (root.level, root.parent_id, root.path, root.kind) == (0, None, "/110106000000000/", "district")
    assert levels.above() == ["district"] and levels.level_names()[:3] == ["district", "street", "community"]
    assert (levels.street_level(), levels.community_level(), levels.grid_level()) == (1, 2, 3)
    street = GridNode.objects.get(code="110106001000000")
    assert (street.level, street.parent_id, street.path) == (1, root.pk, "/110106000000000/110106001000000/")
    assert all(g.path.startswith(root.path) and g.level == len(levels.codes_of(g.path)) - 1 for g in GridNode.objects.all())
    case.refresh_from_db()
    assert case.grid_path == "/110106000000000" + old_path
    assert not ChangeRecord.objects.exclude(grid_path="").exclude(grid_path__startswith=root.path).exists()
    # the leader who served the street keeps the street, not the district
    forget_scope(leader)
    assert GridAssignment.objects.in_force().get(user=leader).node == street
    assert scope_of(leader).paths == (street.path,)
    assert Case.objects.visible_to(sec).filter(pk=case.pk).exists()
    # a new report still finds its grid, its community's secretary and the leader
    again = _case(resident, LON0 + DLON * 0.1, LAT0 + DLAT * 0.9)
    assert again.grid_path == case.grid_path
    assert Case.objects.visible_to(leader).filter(pk=again.pk).exists()
    # the codes of new streets follow the county
    assert services.child_code(root, 1, 2) == "110106002000000"
    assert services.child_code(street, 2, 3) == "110106001003000"


def test_add_root_refuses_what_it_cannot_do():
    make_small_street()
    with pytest.raises(services.RootError, match="county"):
        services.add_root(code="370883", name="邹城市", kind="city")
    with pytest.raises(services.RootError, match="6-digit"):
        services.add_root(code="11010", name="x")
    assert levels.above() == [] and GridNode.objects.get(code="110106001000000").level == 0  # nothing half-written
    services.add_root(code="110106", name="测试区")
    with pytest.raises(CommandError, match="already"):
        call_command("add-root", code="110106", name="测试区")


def test_each_street_sees_its_own_and_the_district_sees_all():
    seed_taxonomy()
    n = make_district()
    s1_leader = make_user("s1_leader", Role.LEADER, [n["street"]], Duty.SECRETARY)
    s2_leader = make_user("s2_leader", Role.LEADER, [n["s2"]], Duty.SECRETARY)
    s2_admin = make_user("s2_admin", Role.ADMIN, [n["s2"]], Duty.STAFF)
    d_leader = make_user("d_leader", Role.LEADER, [n["district"]], Duty.SECRETARY)
    lost = make_user("no_duty", Role.LEADER)
    s2_sec = make_user("s2_sec", Role.COMMUNITY_SECRETARY, [n["s2c1"]], Duty.SECRETARY)
    resident = make_user("res", Role.RESIDENT)
    in_s1 = _case(resident, LON0 + DLON * 0.1, LAT0 + DLAT * 0.9)
    in_s2 = _case(resident, LON0 + DLON * 1.2, LAT0 + DLAT * 0.5)
    assert in_s1.grid_path.startswith(n["street"].path) and in_s2.grid_path.startswith(n["s2c1g1"].path)

    def seen(user):
        return set(Case.objects.visible_to(user).values_list("pk", flat=True))

    assert seen(s1_leader) == {in_s1.pk}
    assert seen(s2_leader) == seen(s2_admin) == seen(s2_sec) == {in_s2.pk}
    assert seen(d_leader) == {in_s1.pk, in_s2.pk}
    assert seen(lost) == set()  # a leader with no duty under a district sees nothing
    assert scope_of(d_leader).everything and not scope_of(s2_admin).everything
    assert set(GridNode.objects.visible_to(s2_leader).values_list("code", flat=True)) == {
        "110106002000000", "110106002001000", "110106002001001"}
    # the second street's report went to its own community's secretary, and is theirs to handle
    assert cases.may_handle(s2_sec, in_s2) or in_s2.assignee_id in (None, s2_sec.pk)
    assert not cases.may_manage(s1_leader, in_s2) and cases.may_manage(s2_leader, in_s2)


def test_routing_follows_the_street():
    """A case's principal leader and leader in charge are its own street's; routing rules that
    name a grid level still match the same grids after the root was added."""
    from gridgov.cases import routing
    from gridgov.cases.models import HandlerLevel, RoutingPath, RoutingRule

    seed_taxonomy()
    make_small_street()
    path = RoutingPath.objects.create(code="test", name="测试路径", steps=[["grid_leader"]])
    rule = RoutingRule.objects.create(grid_level=3, path=path, priority=1)
    services.add_root(code="110106", name="测试区")
    rule.refresh_from_db()
    assert rule.grid_level == 4  # the micro-grids, one level deeper
    n = {k: GridNode.objects.get(code=c) for k, c in (("street", "110106001000000"), ("c1g1", "110106001001001"))}
    district = GridNode.objects.get(code="110106000000000")
    s2 = services.save_node(GridNode(code="110106002000000", name="第二街道", level=1, parent=district, kind="street"))
    g2 = services.save_node(GridNode(code="110106002001001", name="第二街道网格", level=2, parent=s2, kind="grid"))
    s1_leader = make_user("s1_leader", Role.LEADER, [n["street"]], Duty.SECRETARY)
    s2_leader = make_user("s2_leader", Role.LEADER, [s2], Duty.SECRETARY)
    for level in (HandlerLevel.PRINCIPAL_LEADER, HandlerLevel.LEADER_IN_CHARGE):
        assert routing.resolve_handler(level, g2, None)["user"] == s2_leader
        assert routing.resolve_handler(level, n["c1g1"], None)["user"] == s1_leader


def test_a_streets_administrator_under_a_district():
    """A street's administrator manages their street's records but not what is the district's
    (settings, routing, the sensitive words); the district's administrator does both."""
    from gridgov.accounts import policy

    n = make_district()
    s2_admin = make_user("s2_admin", Role.ADMIN, [n["s2"]], Duty.STAFF)
    d_admin = make_user("d_admin", Role.ADMIN, [n["district"]], Duty.STAFF)
    assert policy.allows(s2_admin, "residents", "update", n["s2c1g1"].path)
    assert not policy.allows(s2_admin, "residents", "update", n["c1g1"].path)
    for kind in ("settings", "routing", "words"):
        assert policy.allows(s2_admin, kind, "list") and not policy.allows(s2_admin, kind, "update")
        assert policy.allows(d_admin, kind, "update")
    assert policy.allows(s2_admin, "insight", "read")


def test_the_doors_keep_each_street_to_its_own(client):
    """Through the API and the pages: the case list, the dashboard and the 12345 report answer a
    street's leader for their street and the district's leader for both."""
    seed_taxonomy()
    n = make_district()
    s1_leader = make_user("s1_leader", Role.LEADER, [n["street"]], Duty.SECRETARY)
    d_leader = make_user("d_leader", Role.LEADER, [n["district"]], Duty.SECRETARY)
    resident = make_user("res", Role.RESIDENT)
    for _ in range(2):
        _case(resident, LON0 + DLON * 0.1, LAT0 + DLAT * 0.9)
    far = _case(resident, LON0 + DLON * 1.2, LAT0 + DLAT * 0.5)

    def ids(user):
        client.force_login(user)
        r = client.get("/api/cases/", HTTP_HOST="127.0.0.1")
        assert r.status_code == 200
        return {c["id"] for c in r.json()}

    def total(user):
        client.force_login(user)
        r = client.get("/api/insight/stats", HTTP_HOST="127.0.0.1")
        assert r.status_code == 200
        return r.json()["summary"]["total"]

    assert far.pk not in ids(s1_leader) and len(ids(s1_leader)) == 2
    assert far.pk in ids(d_leader) and len(ids(d_leader)) == 3
    assert (total(s1_leader), total(d_leader)) == (2, 3)
    client.force_login(s1_leader)
    assert client.get(f"/api/cases/{far.pk}", HTTP_HOST="127.0.0.1").status_code == 404
    r = client.get("/hotline/report/2024-03/?level=street", HTTP_HOST="127.0.0.1")
    assert r.status_code == 200 and "测试街道" in r.content.decode() and "第二街道" not in r.content.decode()
