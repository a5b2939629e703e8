"""A small world for grid work's tests (every slice uses it): the test street (conftest's
`street`: two communities c1, c2, each with grids g1, g2 and micro-grids m1, m2); a grid worker
on each grid c1g1, c1g2, c2g1 (duties from `SINCE`, with history); a grid leader of c1g1; the
community staff and secretary of c1; a leader and an administrator; a house in c1g1m1 with an
elderly resident living alone and a disabled one, and a house in c1g2m1 with a pregnant one.

`when(...)` gives an aware local datetime; `report(...)` files a case as a worker's patrol
report through the cases services, at a given time."""

from datetime import date, datetime

from django.utils import timezone

from gridgov.accounts import duties
from gridgov.accounts.models import Duty, Role
from gridgov.registry import services as reg
from gridgov.testing import make_user

#: the duties of the world start here (a quarter of 90 days: 2026-Q1 is Jan 1 – Mar 31)
SINCE = date(2025, 12, 1)


def when(y, m, d, hh=10, mm=0) -> datetime:
    return timezone.make_aware(datetime(y, m, d, hh, mm))


def _assign(admin, user, node, duty=Duty.WORKER, since=SINCE):
    return duties.assign_duty(admin, user, node, duty, since=since)


def build(street) -> dict:
    w = {"street": street}
    w["admin"] = make_user("admin", Role.ADMIN)
    w["leader"] = make_user("boss", Role.LEADER)
    for key in ("c1g1", "c1g2", "c2g1"):
        u = make_user(f"gw_{key}", Role.GRID_WORKER)
        _assign(w["admin"], u, street[key])
        w[f"gw_{key}"] = u
    w["gl_c1g1"] = make_user("gl_c1g1", Role.GRID_LEADER)
    _assign(w["admin"], w["gl_c1g1"], street["c1g1"], Duty.LEADER)
    w["staff_c1"] = make_user("cs_c1", Role.COMMUNITY_STAFF, [street["c1"]], duty=Duty.STAFF)
    w["sec_c1"] = make_user("sec_c1", Role.COMMUNITY_SECRETARY, [street["c1"]], duty=Duty.SECRETARY)
    w["resident"] = make_user("resident1", Role.RESIDENT)
    w["house_a"] = _house(street["c1g1m1"], "1号楼1单元101")
    w["house_b"] = _house(street["c1g2m1"], "2号楼1单元202")
    w["elderly"] = reg.create_resident(name="王大爷", house=w["house_a"], grid=street["c1g1m1"],
                                       tags=["elderly", "living_alone"])
    w["disabled"] = reg.create_resident(name="李阿姨", house=w["house_a"], grid=street["c1g1m1"], tags=["disabled"])
    w["pregnant"] = reg.create_resident(name="赵女士", house=w["house_b"], grid=street["c1g2m1"], tags=["pregnant"])
    return w


def _house(grid, text):
    community = grid
    while community.level > 1:
        community = community.parent
    address = reg.create_address(code=f"T{grid.code}{abs(hash(text)) % 10000:04d}", level="house",
                                 community=community, text=f"{community.name}{text}", grid=grid)
    return reg.create_house(address=address, grid=grid)


def report(worker, when_at, text="路灯不亮，请维修", lon=None, lat=None, grid=None):
    """A case the worker reports on patrol (channel patrol), filed at `when_at`."""
    from gridgov.cases import services as cases

    case, _ = cases.submit_case(reporter=worker, entered_by=worker, channel="patrol", text=text,
                                lon=lon, lat=lat, grid=grid, now=when_at)
    return case
