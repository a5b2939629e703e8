"""The demo street's year of points: stations with rewards and a user each, awards from the
volunteers' verified tasks and reports and the stewards' patrols, redemptions in every state;
the ledger verifies and `gridgov stats` counts it; a rebuild starts again."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from gridgov.volunteers.models import Account, Redemption, Transfer


def _stats():
    out = StringIO()
    call_command("stats", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_demo_has_a_year_of_points():
    call_command("demo", scale=0.01, quiet=True, no_tickets=True, stdout=StringIO())
    assert Account.objects.filter(kind="station", user__isnull=False).count() == 30
    from django.contrib.auth import authenticate

    from gridgov.demo.builder import DEMO_PASSWORD

    assert authenticate(username="station01", password=DEMO_PASSWORD) is not None  # accepts codes on /m/points/station/
    rules = set(Transfer.objects.filter(kind="award").values_list("rule", flat=True))
    assert {"grab", "activity:patrol"} <= rules
    states = set(Redemption.objects.values_list("state", flat=True))
    assert {"used", "cancelled"} <= states
    assert not Account.objects.filter(kind="volunteer", balance__lt=0).exists()
    s = _stats()["points"]
    assert s["transfers"] == Transfer.objects.count() > 100 and s["redemptions"] == Redemption.objects.count() > 5
    out = StringIO()
    call_command("points", "verify", stdout=out)
    assert "ledger ok" in out.getvalue()
    call_command("demo", scale=0.01, quiet=True, no_tickets=True, reset=True, stdout=StringIO())
    assert Account.objects.filter(kind="station").count() == 30
    assert _stats()["points"]["transfers"] == Transfer.objects.count()
