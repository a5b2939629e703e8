"""Points administration in the services: accounts of registry volunteers without a login (and
their adoption when the volunteer signs in), corrections, rewards with history and a version,
merchants."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from gridgov.accounts.models import Role
from gridgov.cases.models import Notification
from gridgov.core.models import ChangeRecord
from gridgov.registry.models import Volunteer
from gridgov.testing import make_user
from gridgov.volunteers import services
from gridgov.volunteers.models import Account, Reward, Transfer

pytestmark = pytest.mark.django_db


@pytest.fixture
def steward(street):
    return Volunteer.objects.create(name="王楼长", kind="steward", grid=street["c1g1"])


def test_a_registry_volunteer_earns_points_before_signing_in(steward, street):
    admin = make_user("admin", Role.ADMIN)
    acc = services.registry_volunteer_account(steward)
    assert acc.user_id is None and acc.volunteer == steward and acc.node == street["c1g1"] and acc.name == "王楼长"
    assert services.registry_volunteer_account(steward).pk == acc.pk  # one account
    services.correct(admin, acc, 40, "补录三月巡逻")
    t = services.award(steward, "patrol:1", "activity:patrol", 2, admin, node=street["c1g1"])
    assert t.amount == 20
    # the points come out of the steward's community
    assert services.issuing_account(street["c1"]).balance == -60
    # they sign in: their user adopts the account, balance and statement
    user = make_user("wang", Role.STEWARD)
    steward.user = user
    steward.save()
    mine = services.volunteer_account(user, create=False)
    assert mine.pk == acc.pk and mine.balance == 60 and mine.user == user
    assert Account.objects.filter(kind="volunteer").count() == 1
    # later awards by either door land in the same account
    services.award(user, "case:1:grab", "grab", 1, None, node=street["c1g1"])
    services.award(steward, "patrol:2", "activity:patrol", 1, None, node=street["c1g1"])
    assert Account.objects.get(pk=acc.pk).balance == 80
    # the unique constraints hold: no second account for the same registry volunteer or user
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(kind="volunteer", volunteer=steward, name="dup")
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(kind="volunteer", user=user, name="dup")


def test_a_new_users_account_names_their_registry_volunteer(steward):
    user = make_user("li", Role.STEWARD)
    steward.user = user
    steward.save()
    acc = services.volunteer_account(user)
    assert acc.volunteer == steward and acc.node_id == steward.grid_id
    assert services.registry_volunteer_account(steward).pk == acc.pk


def test_two_accounts_are_merged_when_the_link_comes_late(steward, street):
    admin = make_user("admin", Role.ADMIN)
    user = make_user("zhao", Role.VOLUNTEER)
    own = services.volunteer_account(user)
    services.correct(admin, own, 15, "网上接单")
    reg = services.registry_volunteer_account(steward)
    services.correct(admin, reg, 25, "社区补录")
    steward.user = user
    steward.save()
    acc = services.registry_volunteer_account(steward)
    assert acc.pk == own.pk and acc.balance == 40 and acc.volunteer == steward
    reg.refresh_from_db()
    assert reg.balance == 0 and reg.volunteer is None and reg.user is None
    assert Transfer.objects.filter(kind="correct", key__startswith=f"merge:{reg.pk}:{own.pk}").count() == 1
    # again: nothing more moves
    services.link_accounts(acc)
    assert Account.objects.get(pk=own.pk).balance == 40


def test_corrections(points):
    admin, acc = points["admin"], points["account"]
    staff = make_user("cs", Role.COMMUNITY_STAFF, [points["street"]["c1"]])
    with pytest.raises(PermissionDenied):
        services.correct(staff, acc, 5, "x")
    with pytest.raises(services.PointsError):
        services.correct(admin, acc, 5, "  ")
    with pytest.raises(services.PointsError):
        services.correct(admin, acc, 0, "零")
    with pytest.raises(services.PointsError):
        services.correct(admin, points["station"], 5, "驿站")
    with pytest.raises(services.InsufficientPoints):
        services.correct(admin, acc, -101, "扣多了")
    t = services.correct(admin, acc, -30, "重复记分")
    assert t.kind == "correct" and t.actor == admin and t.reason == "重复记分"
    assert Account.objects.get(pk=acc.pk).balance == 70
    assert Notification.objects.filter(recipient=points["vol"], kind="points_corrected", body="重复记分").exists()


def test_rewards_are_changed_with_history_and_a_version(points):
    admin, reward = points["admin"], points["reward"]
    v = services.reward_version(reward)
    assert v == 1  # its creation
    r = services.update_reward(admin, reward.pk, v, price=40, add_stock=10, active=False)
    assert (r.price, r.stock, r.active) == (40, 15, False)
    rec = ChangeRecord.objects.filter(kind="points_rewards", object_id=str(reward.pk)).order_by("-id").first()
    assert rec.changes == {"active": [True, False], "price": [30, 40], "stock": [5, 15]} and rec.actor == admin
    with pytest.raises(services.Conflict):  # made from the version before
        services.update_reward(admin, reward.pk, v, price=50)
    with pytest.raises(services.PointsError):
        services.update_reward(admin, reward.pk, v + 1, add_stock=-16)  # never below zero
    assert Reward.objects.get(pk=reward.pk).stock == 15
    with pytest.raises(services.PointsError):
        services.update_reward(admin, reward.pk, None, price=0)
    with pytest.raises(PermissionDenied):
        services.update_reward(points["station_user"], reward.pk, None, price=1)
    # the stock moves by a delta: a redemption meanwhile is not lost
    services.update_reward(admin, reward.pk, None, active=True)
    services.redeem(points["vol"], reward.pk)
    services.update_reward(admin, reward.pk, None, add_stock=-4)
    assert Reward.objects.get(pk=reward.pk).stock == 10


def test_merchants(points, street):
    admin = points["admin"]
    shop_user = make_user("shopkeeper", Role.RESIDENT)
    with pytest.raises(services.PointsError):
        services.add_merchant(admin, "超市", username="nobody")
    m = services.add_merchant(admin, "好邻居超市", node=street["c1"], username="shopkeeper")
    assert m.kind == "station" and m.place_id is None and m.user == shop_user
    with pytest.raises(services.Conflict):
        services.add_merchant(admin, "好邻居超市")
    r = services.add_reward(admin, m, "洗衣液", price=80, stock=3)
    assert r.account == m
    with pytest.raises(services.PointsError):
        services.add_reward(admin, points["account"], "x", price=1, stock=1)  # a volunteer offers nothing
    other = make_user("shop2", Role.RESIDENT)
    services.update_station(admin, m, username="shop2")
    assert Account.objects.get(pk=m.pk).user == other
    kinds = list(ChangeRecord.objects.filter(kind="points_accounts", object_id=str(m.pk)).values_list("action", flat=True))
    assert sorted(kinds) == ["create", "update"]


def test_find_holders(points, steward, street):
    admin = points["admin"]
    got = services.find_holders(admin, "王")
    assert got["accounts"] == [] and got["registry"] == [steward]
    got = services.find_holders(admin, "vol")
    assert [a.pk for a in got["accounts"]] == [points["account"].pk]
    # staff who only read see accounts in their scope, never the registry list
    staff = make_user("cs2", Role.COMMUNITY_STAFF, [street["c2"]])
    assert services.find_holders(staff, "王") == {"accounts": [], "registry": []}
    services.registry_volunteer_account(steward)
    assert services.find_holders(admin, "王")["registry"] == []
    assert len(services.find_holders(admin, "王")["accounts"]) == 1
