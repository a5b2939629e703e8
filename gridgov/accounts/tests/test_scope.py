from gridgov.accounts.models import Role
from gridgov.geo.models import GridNode
from gridgov.testing import make_user


def test_grid_worker_sees_only_own_grid_subtree(street):
    worker = make_user("w1", Role.GRID_WORKER, [street["c1g1"]])
    visible = set(GridNode.objects.visible_to(worker).values_list("code", flat=True))
    assert visible == {street["c1g1"].code, street["c1g1m1"].code, street["c1g1m2"].code}


def test_secretary_sees_community_and_leader_everything(street):
    sec = make_user("s1", Role.COMMUNITY_SECRETARY, [street["c2"]])
    leader = make_user("l1", Role.LEADER)
    assert GridNode.objects.visible_to(sec).count() == 7
    assert not GridNode.objects.visible_to(sec).filter(path__startswith=street["c1"].path).exists()
    assert GridNode.objects.visible_to(leader).count() == GridNode.objects.count() == 15


def test_resident_and_anonymous_see_nothing(street):
    from django.contrib.auth.models import AnonymousUser

    resident = make_user("r1", Role.RESIDENT, [street["c1"]])
    assert GridNode.objects.visible_to(resident).count() == 0
    assert GridNode.objects.visible_to(AnonymousUser()).count() == 0


def test_moving_a_node_moves_its_subtree(street):
    from gridgov.geo import services

    g = street["c1g1"]
    g.parent = street["c2"]
    services.save_node(g)
    m = GridNode.objects.get(code=street["c1g1m1"].code)
    assert m.path.startswith(street["c2"].path)
