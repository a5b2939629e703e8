"""A small world for the wish wall's tests: the street's two communities, a special-care
resident with a house in each, their grid workers, a resident with a login linked to the
registry by their phone, volunteers and staff."""

import io

from PIL import Image

from gridgov.accounts.models import Duty, Role
from gridgov.core import crypto
from gridgov.registry import services as reg
from gridgov.testing import LAT0, LON0, DLAT, DLON, make_user


def jpeg(color=(200, 40, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buf, "JPEG")
    return buf.getvalue()


def point(side):
    x = LON0 + (0 if side == "c1" else DLON / 2) + DLON / 8
    return x, LAT0 + 0.75 * DLAT


def build(street) -> dict:
    w = {"street": street}
    for n, side in enumerate(("c1", "c2"), start=1):
        c, m = street[side], street[f"{side}g1m1"]
        lon, lat = point(side)
        compound = reg.create_compound(name=f"{side}小区", community=c, grid=c)
        building = reg.create_building(compound=compound, name="1号楼", grid=m)
        addr = reg.create_address(code=f"W{side}101", level="house", community=c, compound=compound, building=building,
                                  unit="1单元", room="101", text=f"{c.name}{side}小区1号楼1单元101", grid=m,
                                  lon=lon, lat=lat)
        house = reg.create_house(address=addr)
        w[f"elder_{side}"] = reg.create_resident(name=f"张奶奶{side}", phone=f"1391111{n:04d}", house=house,
                                                 grid=m, tags=["elderly", "living_alone"])
        w[f"house_{side}"] = house
        w[f"worker_{side}"] = make_user(f"gw_{side}", Role.GRID_WORKER, [street[f"{side}g1"]])
        w[f"staff_{side}"] = make_user(f"cs_{side}", Role.COMMUNITY_STAFF, [c], duty=Duty.STAFF)
    # a resident with a login, linked to the registry by the phone of their account
    phone = "13922220001"
    linked = reg.create_resident(name="李大爷", phone=phone, house=w["house_c1"], grid=street["c1g1m1"],
                                 tags=["disabled"])
    user = make_user("li", Role.RESIDENT)
    user.display_name = "李大爷"
    user.phone_enc, user.phone_hash, user.phone_masked = crypto.encrypt(phone), crypto.blind_index(phone), "139****0001"
    user.save()
    w["linked_resident"], w["resident_user"] = linked, user
    w["stranger"] = make_user("wang", Role.RESIDENT)  # a resident with a login, not in the registry
    w["vol"] = make_user("vol1", Role.VOLUNTEER)
    w["vol2"] = make_user("vol2", Role.VOLUNTEER)
    w["party"] = make_user("pm", Role.RESIDENT)
    w["leader"] = make_user("boss", Role.LEADER)
    return w
