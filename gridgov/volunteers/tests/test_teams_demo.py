"""The teams' demo part on the small street: logins for a share of the registry's people (every
steward of a few buildings), leaders, applications in every state, weekly patrols booked as
service records with points (the ledger verifies: conftest)."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.models import Role, User
from gridgov.registry.models import Building, Resident, Volunteer, VolunteerTeam
from gridgov.testing import make_user
from gridgov.volunteers import demo_teams
from gridgov.volunteers.models import Patrol, ServiceRecord, TeamApplication, Transfer

pytestmark = pytest.mark.django_db


def test_build_on_the_small_street(street):
    make_user("admin", Role.ADMIN).__class__.objects.filter(username="admin").update(is_superuser=True)
    teams = [VolunteerTeam.objects.create(name=f"队{i}", kind=kind, grid=street[c])
             for i, (kind, c) in enumerate([("steward", "c1"), ("patrol", "c1"), ("steward", "c2"), ("culture", "c2")])]
    bld = [Building.objects.create(name=f"{i}号楼", grid=street["c1g1m1" if i < 3 else "c2g1m1"]) for i in range(5)]
    for i in range(40):
        steward = i % 2 == 0
        Volunteer.objects.create(name=f"志愿者{i}", kind="steward" if steward else "volunteer",
                                 team=teams[(0 if i < 20 else 2) if steward else (1 if i < 20 else 3)],
                                 building=bld[i % 5] if steward else None, grid=street["c1g1" if i < 20 else "c2g1"])
    for i in range(20):
        Resident.objects.create(name=f"居民{i}", grid=street["c1g2m1"])
    now = timezone.now()
    counts = demo_teams.build(random.Random(7), now - timedelta(days=365), now, None, password_hash="!",
                              email_domain="demo.test")
    logins = User.objects.filter(username__startswith="vol")
    assert counts["volunteer_logins"] == logins.count() >= 6
    assert all(u.email.endswith("@demo.test") and u.password == "!" for u in logins)
    assert Volunteer.objects.filter(user__in=logins).count() == logins.count()
    # every steward of the first buildings has a login
    first = Volunteer.objects.filter(kind="steward").order_by("building_id").values_list("building_id", flat=True).first()
    assert not Volunteer.objects.filter(kind="steward", building_id=first, user__isnull=True).exists()
    assert VolunteerTeam.objects.filter(leader__isnull=False).count() == 4
    assert set(TeamApplication.objects.values_list("state", flat=True)) == {"approved", "rejected", "withdrawn", "pending"}
    # approved applicants became volunteers
    approved = TeamApplication.objects.filter(state="approved").select_related("user")
    assert approved and all(a.user.role == Role.VOLUNTEER and a.volunteer_id for a in approved)
    ended = Patrol.objects.filter(ended_at__isnull=False)
    assert ended.count() > 50 and Patrol.objects.filter(ended_at__isnull=True).count() == 1
    assert ServiceRecord.objects.filter(source="patrol").count() == ended.count()
    assert Transfer.objects.filter(rule="activity:patrol").exists()
    assert all(p.distance_m > 0 and p.ended_at - p.started_at <= timedelta(hours=4) for p in ended[:50])
