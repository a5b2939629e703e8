"""The demo street's duty histories: people who left during the demo year and were replaced."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from gridgov.accounts import duties
from gridgov.accounts.models import GridAssignment
from gridgov.cases.models import CaseEvent
from gridgov.core.models import ChangeRecord


@pytest.mark.django_db
def test_demo_has_leavers_and_successors():
    out = StringIO()
    call_command("demo", scale=0.01, seed=2024, quiet=True, no_tickets=True, stdout=out)
    ended = list(GridAssignment.objects.filter(until__isnull=False).select_related("user", "node"))
    assert len(ended) == 4 and {a.duty for a in ended} == {"worker", "leader"}
    today = timezone.localdate()
    for a in ended:
        assert today - timedelta(days=366) < a.until < today and a.end_note and not a.user.is_active
        # who served the grid: the leaver on their last day, the successor the day after
        assert a.user in [d.user for d in duties.served(a.node, a.until, a.duty)]
        after = [d.user for d in duties.served(a.node, a.until + timedelta(days=1), a.duty)]
        assert a.user not in after and after
        assert list(ChangeRecord.objects.filter(kind="duties", object_id=str(a.pk)).order_by("at").values_list(
            "action", flat=True)) == ["create", "end"]
    # the grid leader who left handled their grid's cases from before they left (workers handle none)
    gone = next(a for a in ended if a.duty == "leader")
    cut = timezone.make_aware(timezone.datetime.combine(gone.until + timedelta(days=1), timezone.datetime.min.time()))
    assert gone.user.handled_cases.exists() and not gone.user.handled_cases.filter(created_at__gte=cut).exists()
    # a hand-over line only on a case still open and untouched since the last day
    for ev in CaseEvent.objects.filter(action="hand_over").select_related("case"):
        assert ev.case.handler_user.username == ev.data["to"]["username"]
