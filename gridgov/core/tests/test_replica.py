"""A read replica (DATABASE_REPLICA_URL): the dashboard's and the 12345 report's reads go to it,
every other read and every write to the primary. The replica here is a second connection to the
test database (committed data, as on a replica that has caught up)."""

import pytest
from django.conf import settings
from django.db import connections
from django.test.utils import CaptureQueriesContext

from gridgov.accounts.models import Duty, Role
from gridgov.cases import services
from gridgov.cases.taxonomy import seed_taxonomy
from gridgov.core import dbrouter
from gridgov.testing import DLAT, DLON, LAT0, LON0, make_small_street, make_user


@pytest.fixture(scope="module")
def replica(django_db_setup, django_db_blocker):
    """A second connection to the test database, added once it exists."""
    settings.DATABASES[dbrouter.REPLICA] = dict(connections["default"].settings_dict)
    connections.settings[dbrouter.REPLICA] = settings.DATABASES[dbrouter.REPLICA]
    yield connections[dbrouter.REPLICA]
    connections[dbrouter.REPLICA].close()
    for table in (connections, connections.settings, settings.DATABASES):
        try:
            del table[dbrouter.REPLICA]
        except (KeyError, AttributeError):
            pass


def _tables(queries):
    return " ".join(q["sql"] for q in queries)


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_dashboards_and_reports_read_from_the_replica(replica, client):
    seed_taxonomy()
    n = make_small_street()
    leader = make_user("leader", Role.LEADER, [n["street"]], Duty.SECRETARY)
    resident = make_user("res", Role.RESIDENT)
    client.force_login(leader)
    with CaptureQueriesContext(connections["default"]) as primary, CaptureQueriesContext(replica) as rep:
        case, _ = services.submit_case(reporter=resident, channel="resident", text="路灯坏了", lon=LON0 + DLON / 4,
                                       lat=LAT0 + DLAT / 4)
    assert "INSERT INTO \"cases_case\"" in _tables(primary.captured_queries) and not rep.captured_queries
    with CaptureQueriesContext(connections["default"]) as primary, CaptureQueriesContext(replica) as rep:
        r = client.get("/api/insight/stats", HTTP_HOST="127.0.0.1")
    assert r.status_code == 200 and r.json()["summary"]["total"] == 1
    assert '"cases_case"' in _tables(rep.captured_queries)
    assert 'FROM "cases_case"' not in _tables(primary.captured_queries)  # the session and the rollups' writes only
    with CaptureQueriesContext(replica) as rep:
        assert client.get("/hotline/report/2026-01/", HTTP_HOST="127.0.0.1").status_code == 200
        assert client.get(f"/api/cases/{case.pk}", HTTP_HOST="127.0.0.1").status_code == 200
    sql = _tables(rep.captured_queries)
    assert "hotline_ticket" in sql and f"WHERE \"cases_case\".\"id\" = {case.pk}" not in sql


def test_without_a_replica_nothing_moves(monkeypatch):
    monkeypatch.setattr(dbrouter, "has_replica", lambda: False)  # as settings.py leaves it without the variable
    with dbrouter.replica_reads():
        assert dbrouter.ReplicaRouter().db_for_read(None) is None
    assert dbrouter.ReplicaRouter().allow_migrate("replica", "cases") is False
