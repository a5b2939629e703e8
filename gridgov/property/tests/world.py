"""A small world for the property alliance's tests (every slice uses it): the street's two
communities, each with a compound and one property company serving it through one project;
the company's property users; community staff of each community; a street section worker in
charge of property (assigned the street); a grid worker; a leader and an administrator.
`inspection(...)` walks one inspection through the services."""

from gridgov.accounts.models import Duty, Role
from gridgov.cases.tests.images import png
from gridgov.registry import services as reg
from gridgov.testing import make_property_company, make_user


def build(street) -> dict:
    w = {"street": street}
    for side in ("c1", "c2"):
        c = street[side]
        compound = reg.create_compound(name=f"{side}花园", community=c, grid=c)
        reg.create_building(compound=compound, name="1号楼", grid=street[f"{side}g1m1"])
        org, dep = make_property_company(f"{side}物业", [compound], grid=c)
        project = org.property_projects.get()
        boss = make_user(f"pm_{side}", Role.PROPERTY_STAFF)
        boss.department = dep.name
        boss.save()
        w.update({f"compound_{side}": compound, f"company_{side}": org, f"dep_{side}": dep,
                  f"project_{side}": project, f"pm_{side}": boss,
                  f"staff_{side}": make_user(f"cs_{side}", Role.COMMUNITY_STAFF, [c], duty=Duty.STAFF),
                  f"worker_{side}": make_user(f"gw_{side}", Role.GRID_WORKER, [street[f"{side}g1"]])})
    w["section"] = make_user("wuye_ke", Role.SECTION_STAFF, [street["street"]])
    w["leader"] = make_user("boss", Role.LEADER)
    w["admin"] = make_user("admin", Role.ADMIN)
    return w


def photo(color=(200, 30, 30)) -> bytes:
    return png(color=color)


def inspection(w, side="c1", *, deductions=(), planned_on=None, now=None, submit=True):
    """An inspection of side's project by the community's staff, with `deductions`
    [(indicator code, points or None, note)], submitted unless `submit` is False."""
    from datetime import date

    from gridgov.property import services
    from gridgov.property.models import Indicator

    planned_on = planned_on or (now.date() if now else date.today())
    actor = w[f"staff_{side}"]
    insp = services.plan_inspection(actor, w[f"project_{side}"], planned_on=planned_on, now=now)
    for code, points, note in deductions:
        ind = Indicator.objects.get(category__indicator_set=insp.indicator_set, code=code)
        services.add_deduction(actor, insp, indicator=ind, points=points, note=note, photos=[photo()], now=now)
    if submit:
        insp = services.submit_inspection(actor, insp, now=now)
    return insp
