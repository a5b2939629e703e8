"""`gridgov demo` seeds the taxonomy and builds the year of cases (or not, with --no-cases)."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from gridgov.cases.models import Case, CaseEvent, Item


@pytest.mark.django_db
def test_demo_command_builds_cases_on_the_demo_street():
    out = StringIO()
    call_command("demo", scale=0.01, quiet=True, no_tickets=True, stdout=out)
    counts = json.loads(out.getvalue().splitlines()[0])
    assert Item.objects.count() == 20 + 3  # the taxonomy's, and the demo's three 物业 items
    n = Case.objects.count()
    # the year of cases, the departments demo's 物业 reports, the property alliance's residents' reports
    assert counts["cases"] + counts["property_cases"] + counts["property_alliance_cases"] == n and 100 < n < 500
    assert CaseEvent.objects.filter(action="submit").count() == n
    # handled by the demo's people: grid leaders, secretaries, volunteers who grabbed tasks
    assert Case.objects.filter(handler_user__username__startswith="gl").exists()
    assert Case.objects.filter(state="closed", verified_by__username__startswith="s").exists()
    out = StringIO()
    call_command("demo", scale=0.01, quiet=True, no_tickets=True, no_cases=True, reset=True, stdout=out)
    assert Case.objects.count() == 0 and Item.objects.count() == 20
