"""The ledger: transfers sum to zero, balances are caches the verifier recomputes, a volunteer never
goes below zero, one source is counted once, awards follow the rules and their caps."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.core.models import ChangeRecord
from gridgov.testing import make_user
from gridgov.volunteers import services
from gridgov.volunteers.models import Account, Movement, PointRule, Transfer

pytestmark = pytest.mark.django_db


def test_post_refuses_legs_that_do_not_sum_to_zero(points):
    issuer = services.issuing_account(points["street"]["c1"])
    with pytest.raises(services.PointsError):
        services.post("award", "bad:1", [(issuer, -5), (points["account"], 4)])
    assert not Transfer.objects.filter(key="bad:1").exists()


def test_volunteer_balance_never_below_zero(points):
    acc, station = points["account"], points["station"]
    with pytest.raises(services.InsufficientPoints):
        services.post("redeem", "x:1", [(acc, -101), (station, 101)])
    acc.refresh_from_db()
    assert acc.balance == 100 and not Transfer.objects.filter(key="x:1").exists()
    # the database refuses it too, behind the service
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=acc.pk).update(balance=-1)


def test_issuing_account_goes_negative_by_what_it_issued(points):
    issuer = services.issuing_account(None)
    assert issuer.balance == -100 and points["account"].balance == 100


def test_award_is_counted_once_per_source(street):
    vol = make_user("v1", Role.VOLUNTEER)
    t1 = services.award(vol, "case:1:grab", "grab", 1, None, node=street["c1g1"])
    t2 = services.award(vol, "case:1:grab", "grab", 1, None, node=street["c1g1"])
    assert t1.pk == t2.pk
    acc = services.volunteer_account(vol)
    assert acc.balance == 10 and Transfer.objects.count() == 1
    # the points come out of community 1's issuing account
    assert services.issuing_account(street["c1g1"]).balance == -10
    assert services.issuing_account(street["c1g1"]).node == street["c1"]


def test_award_caps_per_day_and_month(street):
    vol = make_user("v1", Role.VOLUNTEER)
    day = timezone.make_aware(dt.datetime(2026, 3, 2, 10))
    for i in range(5):  # 10 each, 30 a day
        services.award(vol, f"case:{i}:grab", "grab", 1, None, at=day, node=street["c1"])
    acc = services.volunteer_account(vol)
    assert acc.balance == 30
    # the next day: again up to 30, until the month's 200
    for d in range(1, 10):
        for i in range(3):
            services.award(vol, f"case:{d}-{i}:grab", "grab", 1, None, at=day + dt.timedelta(days=d), node=street["c1"])
    acc.refresh_from_db()
    assert acc.balance == 200
    # a new month starts again
    services.award(vol, "case:april:grab", "grab", 1, None, at=timezone.make_aware(dt.datetime(2026, 4, 1, 9)), node=street["c1"])
    acc.refresh_from_db()
    assert acc.balance == 210


def test_hourly_rule_and_partial_cap(street):
    vol = make_user("v1", Role.VOLUNTEER)
    t = services.award(vol, "activity:1", "activity:patrol", 2.5, None, node=street["c1"])
    assert t.amount == 25
    t = services.award(vol, "activity:2", "activity:patrol", 3, None, node=street["c1"])
    assert t.amount == 15  # 40 a day: 25 + 15
    assert services.award(vol, "activity:3", "activity:patrol", 1, None, node=street["c1"]) is None


def test_inactive_or_missing_rule_awards_nothing(street):
    vol = make_user("v1", Role.VOLUNTEER)
    PointRule.objects.filter(key="grab").update(active=False)
    assert services.award(vol, "case:1:grab", "grab", 1, None) is None
    assert services.award(vol, "x", "no-such-rule", 1, None) is None
    assert Transfer.objects.count() == 0


def test_rules_are_edited_by_administrators_with_history(street):
    admin = make_user("admin", Role.ADMIN)
    staff = make_user("cs", Role.COMMUNITY_STAFF, [street["c1"]])
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.update_rule(staff, "grab", points=50)
    rule = services.update_rule(admin, "grab", 1, points=20, daily_cap=60)
    assert (rule.points, rule.daily_cap, rule.version) == (20, 60, 2)
    with pytest.raises(services.PointsError):  # an edit from an old version is refused
        services.update_rule(admin, "grab", 1, points=30)
    rec = ChangeRecord.objects.get(kind="points_rules", object_id=str(rule.pk))
    assert rec.changes == {"daily_cap": [30, 60], "points": [10, 20]} and rec.actor == admin
    vol = make_user("v1", Role.VOLUNTEER)
    assert services.award(vol, "case:9:grab", "grab", 1, None).amount == 20


def test_verify_command_ok_and_counts(points, capsys):
    call_command("points", "verify")
    out = capsys.readouterr().out
    assert "ledger ok" in out and "transfers" in out


def test_tampered_movement_is_detected(points, capsys):
    m = Movement.objects.filter(account=points["account"]).first()
    table = Movement._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {table} SET amount = amount + 7 WHERE id = %s", [m.pk])
    with pytest.raises(CommandError) as exc:
        call_command("points", "verify")
    assert exc.value.returncode == 1
    out = capsys.readouterr().out
    assert f"account {points['account'].pk} {points['account'].name}" in out
    assert f"transfer {m.transfer_id}" in out
    with connection.cursor() as cur:  # put it right (the fixture verifies the ledger after the test)
        cur.execute(f"UPDATE {table} SET amount = amount - 7 WHERE id = %s", [m.pk])
    call_command("points", "verify")


def test_tampered_balance_is_detected(points, capsys):
    table = Account._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {table} SET balance = balance + 1 WHERE id = %s", [points["account"].pk])
    with pytest.raises(CommandError):
        call_command("points", "verify")
    assert f"account {points['account'].pk}" in capsys.readouterr().out
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {table} SET balance = balance - 1 WHERE id = %s", [points["account"].pk])


