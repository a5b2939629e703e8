"""Coverage of the grids by party organizations (支部建在网格上) and by grid leaders."""

from gridgov.accounts.models import Duty, GridAssignment
from gridgov.geo.levels import level_index
from gridgov.geo.models import GridNode

from .models import PartyOrganization


def coverage() -> dict:
    level = level_index("grid")
    grids = list(GridNode.objects.filter(level=level).order_by("path").values("id", "code", "name"))
    with_org = set(PartyOrganization.grids.through.objects.values_list("gridnode_id", flat=True))
    with_leader = set(
        GridAssignment.objects.filter(duty=Duty.LEADER, node__level=level, user__is_active=True).values_list("node_id", flat=True)
    )

    def row(g):
        return {"code": g["code"], "name": g["name"]}

    return {
        "level": level,
        "grids": len(grids),
        "without_party_org": [row(g) for g in grids if g["id"] not in with_org],
        "without_leader": [row(g) for g in grids if g["id"] not in with_leader],
    }
