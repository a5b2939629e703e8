"""A year of volunteer life on the demo street, one part per slice of the volunteers app, each
booked through its own services (so every rule holds: places never over-subscribed, one claimer
per wish, the ledger balancing):

1. teams (demo_teams): logins for a share of the registry's volunteers, team leaders, residents'
   applications to join in every state, the stewards' patrols;
2. activities (demo_activities): activities of every team, the communities and the branches,
   sign-ups, check-ins, check-outs, confirmed hours, corrections, no-shows;
3. wishes (demo_wishes): wishes of the special groups in every state;
4. party (demo_party): 双报到 of members and units, vanguard posts and their holders.

Each part is a module `gridgov.volunteers.demo_<part>` with
`build(rng, start, now, progress, *, password_hash, email_domain) -> dict of counts`. Runs before
the points demo (build_demo_points), whose redemptions spend what this year earned."""

import random
from datetime import timedelta

from django.utils import timezone

from . import demo_activities, demo_party, demo_teams, demo_wishes

PARTS = (demo_teams, demo_activities, demo_wishes, demo_party)
#: the history kinds of volunteer life: an earlier demo's rows would name the rebuilt rows' ids
#: (the registry's own kinds, volunteers and volunteer_teams, go with the registry demo's)
HISTORY_KINDS = ("activities", "activity_signups", "wishes", "party", "team_applications", "patrols",
                 "points_rewards", "points_accounts")


def build_demo_volunteer_life(seed: int = 2024, progress=None, now=None, *, password_hash: str = "!",
                              email_domain: str = "demo.gridgov.invalid") -> dict:
    from gridgov.core.models import ChangeRecord

    from . import services

    ChangeRecord.objects.filter(kind__in=HISTORY_KINDS).delete()
    services.seed_rules()
    now = now or timezone.now()
    start = now - timedelta(days=365)
    counts: dict = {}
    for i, part in enumerate(PARTS):
        rng = random.Random(seed * 31 + i)
        counts.update(part.build(rng, start, now, progress, password_hash=password_hash, email_domain=email_domain))
    return counts
