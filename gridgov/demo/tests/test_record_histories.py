from io import StringIO

import pytest
from django.core.management import call_command

from gridgov.core.models import ChangeRecord
from gridgov.registry.models import House, Resident


@pytest.mark.django_db
def test_demo_has_record_histories():
    call_command("demo", scale=0.01, seed=2024, quiet=True, no_tickets=True, no_cases=True, stdout=StringIO())
    rows = ChangeRecord.objects.filter(kind__in=["residents", "houses", "places"])
    actions = {(h.kind, h.action, (h.changes.get("end_reason") or [None, None])[1]) for h in rows}
    assert ("residents", "end", "moved_out") in actions and ("residents", "end", "died") in actions
    assert ("houses", "end", "demolished") in actions
    assert sum(1 for a in actions if a[1] == "update") >= 2
    assert all(h.actor_id for h in rows)  # made by the grids' workers, as on the pages
    assert Resident.objects.filter(end_reason="died").count() == 1
    assert House.objects.filter(end_reason="demolished").count() == 1
    phone = rows.filter(kind="residents", action="update", changes__has_key="phone").first()
    assert phone is not None and "*" in phone.changes["phone"][1]
