"""The demo's year of activities (demo_activities.build) on the small street: every team's, the
communities' and a branch's activities, booked through the services (the places hold, the ledger
balances), with confirmed hours, no-shows and activities still open."""

import random
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.models import Duty, Role
from gridgov.registry.models import PartyOrganization, Volunteer, VolunteerTeam
from gridgov.testing import make_user
from gridgov.volunteers import demo_activities
from gridgov.volunteers.models import Activity, ServiceRecord, SignUp

pytestmark = pytest.mark.django_db


def test_a_year_of_activities(street):
    make_user("cs1", Role.COMMUNITY_STAFF, [street["c1"]], duty=Duty.STAFF)
    make_user("cs2", Role.COMMUNITY_STAFF, [street["c2"]], duty=Duty.STAFF)
    leader = make_user("leader", Role.VOLUNTEER)
    teams = [VolunteerTeam.objects.create(name="巡逻队", kind="patrol", grid=street["c1"], leader=leader),
             VolunteerTeam.objects.create(name="为老服务队", kind="elderly_care", grid=street["c2"])]
    for i in range(12):
        u = make_user(f"v{i}", Role.VOLUNTEER)
        Volunteer.objects.create(name=f"志愿者{i}", kind="volunteer", grid=street["c1g1"], team=teams[i % 2], user=u)
    PartyOrganization.objects.create(name="第一支部", kind="branch", grid=street["c1g1"])
    now = timezone.make_aware(datetime(2026, 6, 1, 12, 0))
    counts = demo_activities.build(random.Random(7), now - timedelta(days=365), now, None,
                                   password_hash="!", email_domain="demo.gridgov.invalid")
    assert counts["activities"] > 10 and counts["activity_signups"] > 30
    assert counts["activity_no_shows"] > 0 and counts["activities_open"] > 0
    kinds = set(Activity.objects.values_list("publisher", flat=True))
    assert kinds == {"team", "community", "party"}
    assert set(Activity.objects.values_list("state", flat=True)) >= {"published", "finished"}
    for a in Activity.objects.all():
        live = SignUp.objects.filter(activity=a, state__in=SignUp.LIVE).count()
        assert a.taken == (live if a.state != "cancelled" else 0) and a.taken <= a.places
    confirmed = SignUp.objects.filter(state="confirmed")
    assert confirmed.exists() and ServiceRecord.objects.filter(source="activity").count() == confirmed.exclude(
        confirmed_hours=0).count()
    assert Activity.objects.filter(team=teams[0], organiser=leader).exists()
    assert not SignUp.objects.filter(activity__state="finished", state__in=["signed", "checked_in", "checked_out"]).exists()
