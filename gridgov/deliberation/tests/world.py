"""A small world for deliberation's tests (every slice uses it): the street's two communities,
each with a compound and a building, a resident with a login linked to the registry by their
phone (so they live in the building), their neighbour, a steward of the building (楼门长, a
registry volunteer linked to a user), community staff and a grid worker; a resident of the
other community; a leader. `topic(...)` makes a topic through the services."""

from gridgov.accounts.models import Duty, Role
from gridgov.core import crypto
from gridgov.registry import services as reg
from gridgov.registry.models import Volunteer
from gridgov.testing import DLAT, DLON, LAT0, LON0, make_user


def _resident_user(username, name, phone, house, grid):
    resident = reg.create_resident(name=name, phone=phone, house=house, grid=grid)
    user = make_user(username, Role.RESIDENT)
    user.display_name = name
    user.phone_enc, user.phone_hash, user.phone_masked = crypto.encrypt(phone), crypto.blind_index(phone), phone[:3] + "****" + phone[-4:]
    user.save()
    return resident, user


def build(street) -> dict:
    w = {"street": street}
    for n, side in enumerate(("c1", "c2"), start=1):
        c, m = street[side], street[f"{side}g1m1"]
        lon, lat = LON0 + (0 if side == "c1" else DLON / 2) + DLON / 8, LAT0 + 0.75 * DLAT
        compound = reg.create_compound(name=f"{side}小区", community=c, grid=c)
        building = reg.create_building(compound=compound, name="1号楼", grid=m)
        addr = reg.create_address(code=f"D{side}101", level="house", community=c, compound=compound, building=building,
                                  unit="1单元", room="101", text=f"{c.name}{side}小区1号楼1单元101", grid=m, lon=lon, lat=lat)
        house = reg.create_house(address=addr)
        w[f"compound_{side}"], w[f"building_{side}"], w[f"house_{side}"] = compound, building, house
        w[f"resident_{side}"], w[f"user_{side}"] = _resident_user(f"res_{side}", f"居民{side}", f"1380000{n:04d}", house, m)
        w[f"staff_{side}"] = make_user(f"cs_{side}", Role.COMMUNITY_STAFF, [c], duty=Duty.STAFF)
        w[f"worker_{side}"] = make_user(f"gw_{side}", Role.GRID_WORKER, [street[f"{side}g1"]])
    # a neighbour in the same building (c1), and an elderly one without a login
    w["neighbour_resident"], w["neighbour"] = _resident_user("nb", "邻居", "13800009999", w["house_c1"], street["c1g1m1"])
    w["elder"] = reg.create_resident(name="王奶奶", phone="13800008888", house=w["house_c1"], grid=street["c1g1m1"])
    # the steward of c1's building: a registry volunteer of kind steward, linked to a user
    steward = make_user("steward_c1", Role.STEWARD)
    steward.display_name = "楼长老赵"
    steward.save()
    Volunteer.objects.create(name="老赵", kind="steward", building=w["building_c1"], grid=street["c1g1m1"], user=steward)
    w["steward"] = steward
    w["stranger"] = make_user("wang", Role.RESIDENT)  # a login not in the registry
    w["leader"] = make_user("boss", Role.LEADER)
    w["admin"] = make_user("admin", Role.ADMIN)
    return w


def topic(w, side="c1", *, process=None, title="楼道堆物清理", **kw):
    from gridgov.deliberation import services
    from gridgov.deliberation.models import Topic

    kw.setdefault("channel", Topic.Channel.STAFF)
    kw.setdefault("node", w["street"][f"{side}g1m1"])
    kw.setdefault("compound", w[f"compound_{side}"])
    kw.setdefault("building", w[f"building_{side}"])
    return services.create_topic(w[f"staff_{side}"], title=title, process=process, **kw)
