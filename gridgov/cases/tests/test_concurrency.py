"""Races: volunteers grabbing one task, retried submissions, concurrent sweeps.

Run with real threads and their own connections. On PostgreSQL they overlap for real. The
SQLite test database is a shared-cache in-memory database, which answers "table is locked" at
once instead of waiting for the writer as a file database does, so there the threads take
turns (as SQLite's write lock makes them do in production). Either way exactly one must win."""

import datetime as dt
import uuid
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from gridgov.accounts.models import Role
from gridgov.cases import services
from gridgov.cases.models import Breach, Case, CaseEvent
from gridgov.testing import make_user
from gridgov.testing import race as _race

from .conftest import P_C1G1

pytestmark = pytest.mark.django_db(transaction=True)
N = 6


def race(fn, n=N):
    return _race(fn, n)


def test_exactly_one_volunteer_wins_a_grab(people, report):
    case = report(text="垃圾堆在路边没人清", item="CC01")
    assert case.grabbable and case.state == "dispatched"
    vols = [people["vol"], people["vol2"]] + [make_user(f"v{i}", Role.VOLUNTEER) for i in range(N - 2)]
    results = race(lambda i: services.grab(Case.objects.get(pk=case.pk), vols[i]))
    winners = [r for r in results if isinstance(r, Case)]
    losers = [r for r in results if isinstance(r, services.Conflict)]
    assert len(winners) == 1 and len(losers) == N - 1, results
    case.refresh_from_db()
    assert case.state == "accepted" and case.grabbed_by == case.handler_user
    assert CaseEvent.objects.filter(case=case, action="grab").count() == 1


def test_retried_submissions_make_one_case(people):
    key = str(uuid.uuid4())

    def submit(i):
        return services.submit_case(
            reporter=people["resident"], channel="resident", text="井盖丢了", lon=P_C1G1[0], lat=P_C1G1[1], idempotency_key=key
        )

    results = race(submit)
    assert all(isinstance(r, tuple) for r in results), results
    assert len({c.pk for c, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert Case.objects.count() == 1


def test_concurrent_sweeps_escalate_once(people):
    start = timezone.make_aware(dt.datetime(2025, 9, 30, 10, 0))
    with mock.patch("django.utils.timezone.now", return_value=start):
        case, _ = services.submit_case(reporter=people["resident"], channel="resident", text="路灯坏了", lon=P_C1G1[0], lat=P_C1G1[1])
    results = race(lambda i: services.sweep(start + dt.timedelta(minutes=16)), n=4)
    assert all(isinstance(r, dict) for r in results), results
    assert sum(r["escalated"] for r in results) == 1
    assert CaseEvent.objects.filter(case=case, action="escalate").count() == 1
    assert Breach.objects.filter(case=case).count() == 2  # accept (kept) and arrive (escalated)
    assert connection.vendor in ("sqlite", "postgresql")


def test_insert_conflict_reads_the_winner(people, monkeypatch):
    """The path a loser takes on PostgreSQL: its pre-check saw nothing, its insert hits the
    unique key, and it returns the winner's case."""
    key = str(uuid.uuid4())
    kw = dict(reporter=people["resident"], channel="resident", text="井盖丢了", lon=P_C1G1[0], lat=P_C1G1[1], idempotency_key=key)
    first, _ = services.submit_case(**kw)
    real = services._existing
    calls = []

    def blind_first(k, reporter, digest=""):
        calls.append(k)
        return None if len(calls) == 1 else real(k, reporter, digest)

    monkeypatch.setattr(services, "_existing", blind_first)
    again, created = services.submit_case(**kw)
    assert (again.pk, created, len(calls)) == (first.pk, False, 2)
    assert Case.objects.count() == 1
