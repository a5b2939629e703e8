"""Redemption races with real threads (gridgov.testing.race: overlapping on PostgreSQL, taking
turns on SQLite): stock and balances never go below zero, exactly as many win as there is
stock (or points), and the ledger still balances."""

import pytest

from gridgov.accounts.models import Role
from gridgov.registry.models import Place
from gridgov.testing import make_user, race
from gridgov.volunteers import services
from gridgov.volunteers.models import Account, Redemption, Reward

pytestmark = [
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def shop(street):
    admin = make_user("admin", Role.ADMIN)
    place = Place.objects.create(name="驿站", kind="service_station", grid=street["c1g1"], lat=39.787, lon=116.383)
    station = services.station_account(place, user=make_user("st", Role.RESIDENT))
    return admin, station


def _volunteer(admin, name, points):
    u = make_user(name, Role.VOLUNTEER)
    services.correct(admin, services.volunteer_account(u), points, "测试", key=f"seed:{name}")
    return u


def test_twenty_volunteers_race_for_the_last_five(shop):
    admin, station = shop
    reward = services.add_reward(admin, station, "热门奖品", price=10, stock=5)
    vols = [_volunteer(admin, f"v{i}", 50) for i in range(20)]
    results = race(lambda i: services.redeem(vols[i], reward.pk), 20)
    won = [r for r in results if isinstance(r, tuple)]
    lost = [r for r in results if isinstance(r, services.OutOfStock)]
    assert len(won) == 5 and len(lost) == 15, results
    reward.refresh_from_db()
    assert reward.stock == 0
    assert Redemption.objects.count() == 5
    assert not Account.objects.filter(kind="volunteer", balance__lt=0).exists()
    station.refresh_from_db()
    assert station.balance == 50
    assert len({code for _, code in won}) == 5


def test_points_for_three_redeemed_ten_times_at_once(shop):
    admin, station = shop
    reward = services.add_reward(admin, station, "小礼品", price=10, stock=100)
    vol = _volunteer(admin, "v", 30)
    results = race(lambda i: services.redeem(vol, reward.pk), 10)
    won = [r for r in results if isinstance(r, tuple)]
    short = [r for r in results if isinstance(r, services.InsufficientPoints)]
    assert len(won) == 3 and len(short) == 7, results
    acc = services.volunteer_account(vol)
    reward.refresh_from_db()
    assert acc.balance == 0 and reward.stock == 97


def test_awards_and_redemptions_together_never_deadlock(shop):
    """Awards (issuer, volunteer) and redemptions (reward, volunteer, station) and corrections
    (issuer, volunteer) on the same accounts at once: every writer locks in one order."""
    admin, station = shop
    reward = services.add_reward(admin, station, "小礼品", price=5, stock=100)
    vol = _volunteer(admin, "v", 50)

    def act(i):
        if i % 3 == 0:
            return services.redeem(vol, reward.pk)
        if i % 3 == 1:
            return services.award(vol, f"race:{i}", "activity:other", 1, None)
        return services.correct(admin, services.volunteer_account(vol), 1, "并发", key=f"c:{i}")

    results = race(act, 12)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Reward.objects.get(pk=reward.pk).stock == 96


def test_expiry_runs_while_volunteers_redeem(shop):
    """Two expiry runs for the same month and volunteers redeeming at once: each account loses
    its old points once, never more than it holds, and nothing waits forever."""
    import datetime as dt

    from django.utils import timezone

    from gridgov.volunteers.models import Movement, Transfer

    admin, station = shop
    reward = services.add_reward(admin, station, "毛巾", price=10, stock=100)
    issuer = services.issuing_account(None)
    old = timezone.now() - dt.timedelta(days=120)
    users = []
    for i in range(6):
        u = make_user(f"v{i}", Role.VOLUNTEER)
        acc = services.volunteer_account(u)
        services.post("award", f"t:old:{i}", [(issuer, -50), (acc, 50)], at=old)
        services.post("award", f"t:new:{i}", [(issuer, -20), (acc, 20)])
        users.append(u)

    def work(i):
        if i < 2:
            return services.expire_points(months=1)["total"]
        u = users[i - 2]
        won = 0
        for _ in range(3):
            try:
                services.redeem(u, reward.pk)
                won += 1
            except services.InsufficientPoints:
                pass
        return won

    results = race(work, 8)
    assert not [r for r in results if isinstance(r, Exception)], results
    for u in users:
        acc = Account.objects.get(user=u)
        expired = Transfer.objects.filter(kind="expire", key__startswith=f"expire:{acc.pk}:").count()
        assert expired == 1
        spent = -sum(Movement.objects.filter(account=acc, transfer__kind="redeem").values_list("amount", flat=True))
        lost = -sum(Movement.objects.filter(account=acc, transfer__kind="expire").values_list("amount", flat=True))
        assert acc.balance + spent + lost == 70 and 0 <= acc.balance <= 20
    assert Account.objects.filter(kind="sink").count() == 1
    assert sum(r for r in results[:2]) == services.sink_account().balance
