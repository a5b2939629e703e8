"""Points expiry (VOLUNTEERS_POINTS_EXPIRE_MONTHS): what was received before the cutoff and not
spent expires, first in, first out; once per account and cutoff; never when the policy is 0; the
command, the monthly task and what the volunteer sees coming."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.cases.models import Notification
from gridgov.testing import make_user
from gridgov.volunteers import services
from gridgov.volunteers.models import Account, Transfer

pytestmark = pytest.mark.django_db


def at(y, m, d, h=10):
    return timezone.make_aware(dt.datetime(y, m, d, h))


@pytest.fixture
def book(street):
    """A volunteer, their community's issuing account and a shop, and helpers to receive and
    spend points on given days."""
    vol = make_user("vol", Role.VOLUNTEER)
    acc = services.volunteer_account(vol)
    issuer = services.issuing_account(street["c1"])
    shop = services.station_account(name="小卖部")
    n = {"k": 0}

    def receive(points, when, account=None):
        n["k"] += 1
        services.post("award", f"t:recv:{n['k']}", [(issuer, -points), (account or acc, points)], at=when)

    def spend(points, when, account=None):
        n["k"] += 1
        services.post("redeem", f"t:spend:{n['k']}", [(account or acc, -points), (shop, points)], at=when)

    def balance(account=None):
        return Account.objects.get(pk=(account or acc).pk).balance

    return {"vol": vol, "acc": acc, "receive": receive, "spend": spend, "balance": balance, "street": street}


def test_expiry_dates_follow_the_policy():
    # points received in January 2026 expire 2 months after the end of January: on 1 April
    expires_at, cutoff = services.expiry_dates(dt.date(2026, 4, 17), months=2)
    assert (expires_at, cutoff) == (at(2026, 4, 1, 0), at(2026, 2, 1, 0))
    expires_at, cutoff = services.expiry_dates(dt.date(2026, 1, 3), months=24)
    assert cutoff == at(2024, 1, 1, 0) and expires_at == at(2026, 1, 1, 0)
    assert services.expiry_dates(dt.date(2026, 1, 3), months=0) is None


def test_fifo_spending_uses_the_oldest_points_first(book):
    r, s, bal = book["receive"], book["spend"], book["balance"]
    r(50, at(2026, 1, 10))
    r(30, at(2026, 2, 5))
    s(60, at(2026, 2, 20))  # all of January's 50, then 10 of February's
    r(20, at(2026, 3, 3))
    assert bal() == 40
    # 1 April: January's points expire: none left of them
    out = services.expire_points(dt.date(2026, 4, 1), months=2)
    assert out["total"] == 0 and out["accounts"] == [] and bal() == 40
    # 1 May: February's: 20 of them are left
    out = services.expire_points(dt.date(2026, 5, 1), months=2)
    assert out["accounts"] == [(book["acc"].pk, book["acc"].name, 20)] and bal() == 20
    t = Transfer.objects.get(kind="expire")
    assert t.key == f"expire:{book['acc'].pk}:2026-03" and t.at == at(2026, 5, 1, 0) and t.amount == 20
    assert services.sink_account().balance == 20
    # later in May the same run books nothing again, even after new points and spending
    r(5, at(2026, 5, 10))
    assert services.expire_points(dt.date(2026, 5, 20), months=2)["total"] == 0
    assert bal() == 25 and Transfer.objects.filter(kind="expire").count() == 1
    # 1 June: March's 20 expire; May's 5 stay
    assert services.expire_points(dt.date(2026, 6, 1), months=2)["total"] == 20
    assert bal() == 5


def test_unspent_old_points_expire_and_new_ones_stay(book):
    r, s, bal = book["receive"], book["spend"], book["balance"]
    r(50, at(2026, 1, 10))
    s(20, at(2026, 2, 1))
    r(40, at(2026, 3, 31, 23))
    out = services.expire_points(dt.date(2026, 4, 2), months=2)
    assert out["total"] == 30 and bal() == 40
    # a run for an earlier cutoff afterwards finds nothing more (its points went already)
    assert services.expire_points(dt.date(2026, 3, 1), months=2)["total"] == 0
    assert bal() == 40


def test_points_spent_after_the_cutoff_day_still_come_from_the_oldest(book):
    r, s, bal = book["receive"], book["spend"], book["balance"]
    r(50, at(2026, 1, 10))
    r(30, at(2026, 3, 10))
    s(60, at(2026, 4, 1, 1))  # spent before the monthly run: January's 50 and 10 of March's
    assert services.expire_points(dt.date(2026, 4, 1), months=2)["total"] == 0 and bal() == 20


def test_zero_means_never(book, settings):
    book["receive"](50, at(2020, 1, 10))
    settings.VOLUNTEERS_POINTS_EXPIRE_MONTHS = 0
    out = services.expire_points(dt.date(2026, 4, 1))
    assert out["months"] == 0 and out["total"] == 0 and book["balance"]() == 50
    assert services.expiring(Account.objects.get(pk=book["acc"].pk)) == (0, None)
    assert not Transfer.objects.filter(kind="expire").exists()


def test_dry_run_books_nothing_and_the_command_reports(book, settings, capsys):
    settings.VOLUNTEERS_POINTS_EXPIRE_MONTHS = 2
    book["receive"](50, at(2026, 1, 10))
    other = services.volunteer_account(make_user("vol2", Role.VOLUNTEER))
    book["receive"](7, at(2026, 1, 11), other)
    book["receive"](9, at(2026, 3, 11), other)
    call_command("points", "expire", "--as-of", "2026-04-01", "--dry-run")
    out = capsys.readouterr().out
    assert f"account {book['acc'].pk} {book['acc'].name}: 50 would expire" in out
    assert f"account {other.pk} {other.name}: 7 would expire" in out
    assert "dry run: 57 points would expire on 2026-04-01 from 2 account(s)" in out
    assert not Transfer.objects.filter(kind="expire").exists()
    call_command("points", "expire", "--as-of", "2026-04-01")
    assert "57 points expired on 2026-04-01 from 2 account(s) (received before 2026-02-01" in capsys.readouterr().out
    assert book["balance"]() == 0 and book["balance"](other) == 9
    # the volunteer with a login is told
    assert Notification.objects.filter(recipient=book["vol"], kind="points_expired").exists()
    call_command("points", "expire", "--as-of", "2026-04-09")
    assert "0 points expired" in capsys.readouterr().out
    call_command("points", "verify")
    settings.VOLUNTEERS_POINTS_EXPIRE_MONTHS = 0
    call_command("points", "expire")
    assert "never expire" in capsys.readouterr().out


def test_monthly_task_runs_on_the_first(book, settings):
    from gridgov.volunteers.tasks import expire_points_monthly

    task = expire_points_monthly.task_class()
    assert task.validate_datetime(dt.datetime(2026, 5, 1, 3, 10))
    assert not task.validate_datetime(dt.datetime(2026, 5, 2, 3, 10))
    settings.VOLUNTEERS_POINTS_EXPIRE_MONTHS = 1
    book["receive"](12, timezone.now() - dt.timedelta(days=120))
    assert expire_points_monthly.call_local() == {"accounts": 1, "total": 12}
    assert book["balance"]() == 0


def test_the_volunteer_sees_what_expires_next(book, settings):
    settings.VOLUNTEERS_POINTS_EXPIRE_MONTHS = 2
    r, s = book["receive"], book["spend"]
    r(50, at(2026, 1, 10))
    r(30, at(2026, 2, 5))
    s(10, at(2026, 2, 6))
    acc = Account.objects.get(pk=book["acc"].pk)
    # in mid-March the next expiry is 1 April, for what was received before February: 40 left
    assert services.expiring(acc, at(2026, 3, 15)) == (40, dt.date(2026, 4, 1))
    # in mid-April (if April's run had not happened): 1 May, for before March: all 70
    assert services.expiring(acc, at(2026, 4, 15)) == (70, dt.date(2026, 5, 1))
    assert services.expiring(acc, at(2026, 2, 15)) == (0, None)


def test_staff_see_what_expires_next_in_their_scope(book, settings):
    from django.test import Client

    from gridgov.accounts.models import Duty
    from gridgov.registry.models import Volunteer

    settings.VOLUNTEERS_POINTS_EXPIRE_MONTHS = 1
    street = book["street"]
    steward = Volunteer.objects.create(name="王楼长", kind="steward", grid=street["c1g1"])
    old = timezone.now() - dt.timedelta(days=100)
    book["receive"](15, old, services.registry_volunteer_account(steward))
    book["receive"](40, old)  # the fixture's volunteer: no grid, seen by those who see everything
    admin = make_user("admin", Role.ADMIN)
    assert services.expiring_in(services.accounts_for(admin))["points"] == 55
    staff = make_user("cs", Role.COMMUNITY_STAFF, [street["c1"]], duty=Duty.STAFF)
    got = services.expiring_in(services.accounts_for(staff))
    assert (got["points"], got["accounts"]) == (15, 1) and got["on"].day == 1
    c = Client()
    c.force_login(staff)
    html = c.get("/volunteers/points/").content.decode()
    assert 'id="expiring"' in html and "1 个志愿者账户共 15 分到期" in html
    from gridgov.volunteers.models import PointRule
    from gridgov.web.tests.test_i18n import EN, leftover_chinese

    html = c.get("/volunteers/points/", **EN).content.decode()
    data = ["王楼长", "第1社区", "第2社区", "小卖部"] + list(PointRule.objects.values_list("name", flat=True))
    assert "15 points of 1 volunteer accounts expire" in html and leftover_chinese(html, data) == []
    far = make_user("cs2", Role.COMMUNITY_STAFF, [street["c2"]], duty=Duty.STAFF)
    assert services.expiring_in(services.accounts_for(far)) == {"points": 0, "accounts": 0, "on": None}
