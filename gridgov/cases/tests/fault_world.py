"""Run as a subprocess by test_faults.py against a scratch database (DATABASE_URL or
GRIDGOV_DATA_DIR): `build N` makes the small street and N accepted cases whose arrive limit is
past; `count` prints the breaches and escalation events per case as JSON; `resident` makes the
small street, the taxonomy and a resident, and prints a logged-in session key; `keys` prints the
number of cases per idempotency key (and the cases without one) as JSON."""

import json
import sys
from unittest import mock


def main():
    import django

    django.setup()
    from datetime import datetime

    from django.utils import timezone

    from gridgov.accounts.models import Duty, Role
    from gridgov.cases import services
    from gridgov.cases.models import Breach, Case, CaseEvent
    from gridgov.cases.taxonomy import seed_taxonomy
    from gridgov.testing import make_small_street, make_user

    if sys.argv[1] == "build":
        n = int(sys.argv[2])
        street = make_small_street()
        seed_taxonomy()
        gl = make_user("gl", Role.GRID_LEADER, [street["c1g1"]], duty=Duty.LEADER)
        make_user("sec", Role.COMMUNITY_SECRETARY, [street["c1"]], duty=Duty.SECRETARY)
        resident = make_user("resident", Role.RESIDENT)
        t0 = timezone.make_aware(datetime(2025, 9, 30, 10, 0))
        with mock.patch("django.utils.timezone.now", return_value=t0):
            for i in range(n):
                case, _ = services.submit_case(reporter=resident, channel="resident", text=f"小区门口的路灯坏了{i}",
                                               lon=116.383, lat=39.787)
                services.accept(case, gl)
        print(json.dumps({"cases": Case.objects.count()}))
    elif sys.argv[1] == "resident":
        from django.test import Client

        make_small_street()
        seed_taxonomy()
        client = Client()
        client.force_login(make_user("resident", Role.RESIDENT))
        print(json.dumps({"session": client.cookies["sessionid"].value}))
    elif sys.argv[1] == "keys":
        from django.db.models import Count

        rows = Case.objects.values("idempotency_key").annotate(n=Count("id"))
        print(json.dumps({str(r["idempotency_key"]): r["n"] for r in rows}))
    else:
        out = {}
        for c in Case.objects.all():
            out[c.number] = {
                "breaches": Breach.objects.filter(case=c, kind="arrive").count(),
                "escalations": CaseEvent.objects.filter(case=c, action="escalate").count(),
                "state": c.state,
            }
        print(json.dumps(out))


if __name__ == "__main__":
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridgov.settings")
    main()
