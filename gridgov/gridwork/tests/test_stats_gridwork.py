"""`gridgov stats`, the grid work section: counts by kind and state."""

import json
from io import StringIO

from django.core.management import call_command

from gridgov.gridwork.models import Dispute, Patrol

from . import world


def stats() -> dict:
    out = StringIO()
    call_command("stats", stdout=out)
    return json.loads(out.getvalue())["gridwork"]


def test_stats_count_patrols_and_disputes(street):
    w = world.build(street)
    assert stats()["patrols"] == 0 and stats()["disputes_by_state"] == {}
    at = world.when(2026, 1, 5)
    Patrol.objects.create(worker=w["gw_c1g1"], grid=street["c1g1"], grid_path=street["c1g1"].path,
                          started_at=at, day=at.date(), state="ended")
    Dispute.objects.create(number="JF-T-1", summary="邻里漏水", grid_path=street["c1g1"].path, recorded_at=at,
                           risk="high")
    s = stats()
    assert s["patrols"] == 1 and s["patrols_by_state"] == {"ended": 1}
    assert s["disputes_by_state"] == {"recorded": 1} and s["disputes_by_risk"] == {"high": 1}
    assert s["periods_published"] == []
