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


@pytest.mark.django_db
def test_demo_has_a_year_of_volunteer_life():
    """One demo build (scale 0.01): every slice of volunteer life is there, in every state,
    counted by `gridgov stats`, and the ledger still verifies."""
    from gridgov.volunteers.models import (Activity, PartyRegistration, Patrol, ServiceRecord, SignUp,
                                           TeamApplication, VanguardDuty, Wish)
    from gridgov.volunteers.services import verify_ledger

    call_command("demo", scale=0.01, quiet=True, no_tickets=True, stdout=StringIO())
    assert set(TeamApplication.objects.values_list("state", flat=True)) >= {"pending", "approved", "rejected"}
    assert set(Activity.objects.values_list("state", flat=True)) >= {"published", "finished", "cancelled"}
    assert set(SignUp.objects.values_list("state", flat=True)) >= {"signed", "confirmed", "no_show"}
    assert set(ServiceRecord.objects.values_list("source", flat=True)) >= {"activity", "grab", "wish", "patrol"}
    assert set(Wish.objects.values_list("state", flat=True)) >= {"open", "claimed", "fulfilled", "confirmed", "cancelled"}
    assert set(PartyRegistration.objects.values_list("kind", flat=True)) == {"member", "unit"}
    assert Patrol.objects.exists() and VanguardDuty.objects.exists()
    # the service is real: every activity record is a confirmed sign-up's, every wish record a confirmed wish's
    confirmed = set(SignUp.objects.filter(state="confirmed").values_list("pk", flat=True))
    assert {int(k.split(":")[1]) for k in ServiceRecord.objects.filter(source="activity").values_list("key", flat=True)} == confirmed
    assert ServiceRecord.objects.filter(source="wish").count() == Wish.objects.filter(state="confirmed").count()
    # places never over-subscribed
    from django.db.models import Count, Q

    for a in Activity.objects.annotate(live=Count("signups", filter=Q(signups__state__in=SignUp.LIVE))):
        assert a.live == a.taken <= a.places, a
    life = _stats()["volunteer_life"]
    assert life["wishes"] == {s: Wish.objects.filter(state=s).count() for s in life["wishes"]}
    assert sum(life["service_records"].values()) == ServiceRecord.objects.count()
    result = verify_ledger()
    assert not result["bad_accounts"] and not result["bad_transfers"]
