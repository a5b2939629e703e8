"""The party part of the demo (demo_party.build) on the small street: members who served and
registry party members registered, units, vanguard posts with holders, a secretary's login;
the 实事 come only from the service records that exist."""

import random
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.models import Duty, Role
from gridgov.registry import services as reg
from gridgov.testing import make_user
from gridgov.volunteers import demo_party, party, services
from gridgov.volunteers.models import PartyRegistration, ServiceRecord, VanguardDuty, VanguardPost

pytestmark = pytest.mark.django_db


def test_build_on_the_small_street(street):
    now = timezone.make_aware(datetime(2025, 7, 1, 12, 0))
    admin = make_user("admin", Role.ADMIN)
    make_user("cs1", Role.COMMUNITY_STAFF, [street["c1"]], duty=Duty.STAFF)
    b1 = reg.create_party_org(name="一网格党支部", grid=street["c1g1"], grids=[street["c1g1"]], secretary_name="赵书记")
    for i in range(40):
        grid = street["c1g1m1"] if i % 2 else street["c2g1m1"]
        reg.create_resident(name=f"党员{i}", party_member=True, party_org=b1 if i % 2 else None, grid=grid)
    for i in range(3):
        reg.create_organization(name=f"驻区单位{i}", kind="unit", grid=street["c1g1m1"])
    servers = []
    for i in range(12):
        u = make_user(f"v{i}", Role.VOLUNTEER)
        servers.append(u)
        for k in range(i % 4):
            services.record_service(u, "activity", f"demo:{i}:{k}", "清理楼道", at=now - timedelta(days=10 + k),
                                    node=street["c1g1m1"] if i % 3 else street["c2g1m2"])
    records = ServiceRecord.objects.count()
    counts = demo_party.build(random.Random(7), now - timedelta(days=365), now, None,
                              password_hash="!", email_domain="demo.gridgov.invalid")
    assert ServiceRecord.objects.count() == records  # no 实事 invented
    assert counts["party_registrations"] >= 3 and counts["party_units"] == 3 and counts["vanguard_posts"] >= 1
    regs = PartyRegistration.objects.filter(kind="member")
    assert regs.filter(user__in=servers).exists() and regs.filter(user__username__startswith="dangyuan").exists()
    assert regs.filter(user__username__startswith="dangyuan", resident__isnull=False).exists()
    assert VanguardDuty.objects.exists() and VanguardPost.objects.filter(node__level=2).exists()
    # demo users are marked by the demo's e-mail domain
    assert not regs.exclude(user__in=servers).exclude(user__email__endswith="@demo.gridgov.invalid").exists()
    table = party.deeds_table(admin, 2025)
    counted = {m["user_id"]: m["count"] for m in table.members}
    assert any(counted.get(u.pk) for u in servers)  # the 实事 of those who served are counted
    b1.refresh_from_db()
    if regs.filter(party_org=b1, state="active").exists():
        assert b1.secretary is not None and b1.secretary.email.endswith("@demo.gridgov.invalid")
