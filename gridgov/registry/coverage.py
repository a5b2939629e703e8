"""Coverage of the grids on a day: every grid (the configured grid level, geo.levels) should have a
grid leader and a grid worker in force (accounts.duties) and a party organization set on it
(支部建在网格上). `gridgov check-coverage` and the page /duties/coverage read this."""

from django.db.models import Q
from django.utils import timezone

from gridgov.accounts.models import Duty, GridAssignment
from gridgov.geo.levels import level_index
from gridgov.geo.models import GridNode

from .models import PartyOrganization

#: what a grid may lack, in the order reports show it
GAPS = ("without_leader", "without_worker", "without_party_org")


def coverage(day=None, user=None) -> dict:
    """The grids lacking a leader, a worker or a party organization on `day` (default today).
    `user`: only the grids they may see (None: every grid, for the command)."""
    day = day or timezone.localdate()
    level = level_index("grid")
    grids_qs = GridNode.objects.filter(level=level)
    if user is not None:
        grids_qs = grids_qs.visible_to(user)
    grids = list(grids_qs.order_by("path").values("id", "code", "name"))
    live_orgs = PartyOrganization.objects.filter(Q(ended_on__isnull=True) | Q(ended_on__gt=day))
    with_org = set(
        PartyOrganization.grids.through.objects.filter(partyorganization__in=live_orgs).values_list("gridnode_id", flat=True)
    )
    in_force = GridAssignment.objects.in_force(day).filter(node__level=level, user__is_active=True)
    with_leader = set(in_force.filter(duty=Duty.LEADER).values_list("node_id", flat=True))
    with_worker = set(in_force.filter(duty=Duty.WORKER).values_list("node_id", flat=True))

    def row(g):
        return {"code": g["code"], "name": g["name"]}

    return {
        "date": day.isoformat(),
        "level": level,
        "grids": len(grids),
        "without_leader": [row(g) for g in grids if g["id"] not in with_leader],
        "without_worker": [row(g) for g in grids if g["id"] not in with_worker],
        "without_party_org": [row(g) for g in grids if g["id"] not in with_org],
    }


def has_gaps(rep: dict) -> bool:
    return any(rep[k] for k in GAPS)
