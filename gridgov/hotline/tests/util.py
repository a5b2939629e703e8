"""Builders for hotline tests."""

from datetime import datetime

from django.utils import timezone

from gridgov.hotline.models import Ticket
from gridgov.registry.models import Address, Building, Compound
from gridgov.testing import DLAT, DLON, LAT0, LON0


def make_places(street):
    """阳光星苑 (c1g1m1) with 3号楼 and 5号楼 and house 3号楼2单元101; 翠海明苑 (c2g2m2);
    幸福里 twice, in both communities (c1g2m1 and c2g1m1): an ambiguous name."""
    out = {}
    n = [0]

    def addr(level, community, grid, compound, building=None, unit="", room="", text=""):
        n[0] += 1
        return Address.objects.create(
            code=f"A{n[0]:05d}", level=level, community=community, grid=grid, compound=compound,
            building=building, unit=unit, room=room, text=text,
        )

    c1, c2 = street["c1"], street["c2"]
    yg = Compound.objects.create(name="阳光星苑", community=c1, grid=street["c1g1m1"])
    out["yg"] = addr("compound", c1, street["c1g1m1"], yg, text="阳光星苑")
    for b in (3, 5):
        bld = Building.objects.create(compound=yg, name=f"{b}号楼", grid=street["c1g1m1"])
        out[f"yg{b}"] = addr("building", c1, street["c1g1m1"], yg, bld, text=f"阳光星苑{b}号楼")
        if b == 3:
            out["yg3-2-101"] = addr("house", c1, street["c1g1m1"], yg, bld, "2单元", "101", text="阳光星苑3号楼2单元101")
    ch = Compound.objects.create(name="翠海明苑小区", community=c2, grid=street["c2g2m2"])
    out["ch"] = addr("compound", c2, street["c2g2m2"], ch, text="翠海明苑小区")
    bld = Building.objects.create(compound=ch, name="12号楼", grid=street["c2g2m2"])
    out["ch12"] = addr("building", c2, street["c2g2m2"], ch, bld, text="翠海明苑小区12号楼")
    for key, comm, grid in (("xf1", c1, street["c1g2m1"]), ("xf2", c2, street["c2g1m1"])):
        cp = Compound.objects.create(name="幸福里", community=comm, grid=grid)
        out[key] = addr("compound", comm, grid, cp, text=f"{comm.name}幸福里")
    return out


def point_in(node, fx=0.5, fy=0.5):
    """A point at fractions (fx, fy) of a node's bounding box."""
    return node.min_lon + fx * (node.max_lon - node.min_lon), node.min_lat + fy * (node.max_lat - node.min_lat)


def ticket(tid, month, grid, *, contacted=True, solved=True, satisfaction="satisfied", valid=True, day=10,
           category=("城乡建设", "物业管理", ""), content=None, address=None, hour=10):
    """A ticket placed directly in `grid` (for rates and clustering tests)."""
    from gridgov.hotline.services import _Nodes

    y, m = map(int, month.split("-"))
    at = timezone.make_aware(datetime(y, m, day, hour, 0))
    return Ticket.objects.create(
        ticket_id=tid, received_at=at, month=month, content=content or f"诉求 {tid}",
        category_l1=category[0], category_l2=category[1], category_l3=category[2], category_source="import",
        grid=grid, community_id=_Nodes().community_of(grid.id) if grid else None,
        valid=valid, contacted=contacted, solved=solved, satisfaction=satisfaction,
        matched_address=address, address_match="matched" if address else "coords",
    )
