"""The demo's departments and property companies' users (issue 10): sections and outside units
with contacts and members, two property companies whose users see the 物业 cases of their own
compounds only."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from gridgov.accounts.models import Department, Role, User
from gridgov.cases.models import Case
from gridgov.demo import names as N
from gridgov.demo.departments import PROPERTY_USERS, UNITS
from gridgov.property import demo as property_demo
from gridgov.registry.models import Organization, Resident


@pytest.mark.django_db
def test_demo_has_departments_with_members_and_property_users():
    out = StringIO()
    call_command("demo", scale=0.01, quiet=True, no_tickets=True, stdout=out)
    counts = json.loads(out.getvalue().splitlines()[0])
    assert counts["property_cases"] == 2 * 4
    for name in [*N.SECTIONS, *(u[0] for u in UNITS)]:
        d = Department.objects.get(name=name)
        assert d.active and d.contact_name and d.contact_phone
        assert User.objects.filter(department=name, is_active=True).exists(), name
    assert Department.objects.filter(name__contains="派出所", kind="unit").exists()
    a, b = (User.objects.get(username=u) for u in PROPERTY_USERS)
    lo, hi = property_demo._case_keys()
    alliance_cases = Case.objects.filter(idempotency_key__gte=lo, idempotency_key__lt=hi).values("pk")
    assert a.role == b.role == Role.PROPERTY_STAFF and a.department != b.department
    for u in (a, b):
        dep = Department.objects.get(name=u.department)
        assert dep.kind == "property" and Organization.objects.get(department=dep).kind == "property_company"
        # (the property alliance's demo year adds residents' reports in every project's compounds)
        mine = Case.objects.visible_to(u).exclude(pk__in=alliance_cases)
        assert mine.count() == 4
        assert all(c.handler_department == u.department and c.compound_id for c in mine)
        assert not Resident.objects.visible_to(u).exists()
    assert not set(Case.objects.visible_to(a).values_list("pk", flat=True)) & set(
        Case.objects.visible_to(b).values_list("pk", flat=True))
    assert counts["property_alliance_cases"] == len(alliance_cases)
    assert Case.objects.filter(handler_user=a, state="accepted").exists()
