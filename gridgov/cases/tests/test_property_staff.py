"""Property companies become users (issue 10): a case lies in a compound (decided at intake), a
物业 item goes to the property company serving that compound, and the company's staff (物业人员)
see and handle exactly those cases and their company's summonses there: no other company's
compounds, no other cases, no residents."""

import json

import pytest
from django.test import Client

from gridgov.accounts.models import Duty, GridAssignment, Role
from gridgov.cases import services
from gridgov.cases.models import Case, Item, RoutingPath, RoutingRule, Summons
from gridgov.registry import services as reg
from gridgov.testing import make_property_company, make_user

from .conftest import P_C1G1, P_C2G2


@pytest.fixture
def estate(people, street):
    """Compound 甲 in community 1 (a building at P_C1G1), compound 乙 in community 2 (at P_C2G2),
    each served by its own company with one property-staff user; an item routed to 物业."""
    ca = reg.create_compound(name="甲小区", community=street["c1"], grid=street["c1g1"])
    reg.create_building(compound=ca, name="1号楼", grid=street["c1g1m1"], lon=P_C1G1[0], lat=P_C1G1[1])
    cb = reg.create_compound(name="乙小区", community=street["c2"], grid=street["c2g2"])
    reg.create_building(compound=cb, name="1号楼", grid=street["c2g2m1"], lon=P_C2G2[0], lat=P_C2G2[1])
    _, da = make_property_company("甲物业", [ca], street["c1g1"])
    _, db = make_property_company("乙物业", [cb], street["c2g2"])
    pa = make_user("pa", Role.PROPERTY_STAFF)
    pa.department = da.name
    pa.save()
    pb = make_user("pb", Role.PROPERTY_STAFF)
    pb.department = db.name
    pb.save()
    item = Item.objects.create(scenario=Item.objects.first().scenario, code="PM01", name="电梯故障", keywords="电梯",
                               department="物业", accept_limit=30, arrive_limit=60, resolve_limit=8)
    path = RoutingPath.objects.create(code="property_community", name="物业→社区", steps=[["section"], ["community_secretary"]])
    RoutingRule.objects.create(item=item, path=path, note="物业事项先交小区物业")
    GridAssignment.objects.create(user=pa, node=street["c1"], duty=Duty.STAFF)  # an assignment widens nothing
    return {"ca": ca, "cb": cb, "pa": pa, "pb": pb, "item": item}


def _report(people, point, item="PM01", text="电梯坏了，困在楼下上不去", address=""):
    case, _ = services.submit_case(reporter=people["resident"], channel="resident", text=text,
                                   lon=point[0], lat=point[1], item=item, address=address)
    return case


def _client(user):
    c = Client()
    c.force_login(user)
    return c


def test_a_case_lies_in_the_compound_of_its_place_or_address(people, estate, street):
    assert _report(people, P_C1G1).compound == estate["ca"]
    assert _report(people, P_C2G2).compound == estate["cb"]
    far = (P_C1G1[0] + 0.004, P_C1G1[1])  # ~340 m east, still community 1, no building near
    assert _report(people, far).compound is None
    assert _report(people, far, address="第1社区甲小区3号楼").compound == estate["ca"]


def test_a_property_item_goes_to_the_compounds_company(people, estate):
    case = _report(people, P_C1G1)
    assert case.handler_department == "甲物业" and case.handler_user == estate["pa"]
    assert "甲小区" in case.routing_reason["current"]["handler"]["via"]
    # the next step of the path: the community takes it up
    services.escalate(case, people["sec"], "物业未处理")
    assert case.handler_user == people["sec"] and case.handler_department == ""
    outside = _report(people, (P_C1G1[0] + 0.004, P_C1G1[1]))
    assert outside.handler_department == ""  # no compound: the level is skipped, the community handles it
    assert outside.handler_user == people["sec"]


def test_property_staff_see_and_handle_only_their_compounds_property_cases(people, estate):
    mine = _report(people, P_C1G1)
    theirs = _report(people, P_C2G2)
    lamp = _report(people, P_C1G1, item="PS01", text="路灯坏了")  # in their compound, not a property item
    # a case outside their compounds named to their department all the same (by hand): still not theirs
    stray = _report(people, P_C2G2, item="PS01", text="路灯坏了")
    Case.objects.filter(pk=stray.pk).update(handler_department="甲物业")
    pa, pb = estate["pa"], estate["pb"]
    assert set(Case.objects.visible_to(pa).values_list("pk", flat=True)) == {mine.pk}
    assert set(Case.objects.visible_to(pb).values_list("pk", flat=True)) == {theirs.pk}
    assert set(Case.objects.queue_of(pa).values_list("pk", flat=True)) == {mine.pk}
    assert not services.may_handle(pa, Case.objects.get(pk=stray.pk))
    assert not services.may_handle(pa, lamp)
    c = _client(pa)
    assert [x["id"] for x in c.get("/api/cases/").json()] == [mine.pk]
    for other in (theirs, lamp, stray):
        assert c.get(f"/api/cases/{other.pk}").status_code == 404
        assert c.post(f"/api/cases/{other.pk}/actions/accept", "{}", content_type="application/json").status_code == 404
    r = c.post(f"/api/cases/{mine.pk}/actions/accept", json.dumps({"note": "马上到"}), content_type="application/json")
    assert r.status_code == 200, r.content
    # the workbench and the phone pages list their work
    page = c.get("/").content.decode()
    assert mine.number in page and theirs.number not in page and lamp.number not in page
    phone = c.get("/m/work/").content.decode()
    assert mine.number in phone and lamp.number not in phone
    # no residents, no base data
    assert c.get("/api/registry/residents").status_code == 403
    assert c.get("/records/residents/").status_code in (403, 404)


def test_property_company_summoned_only_in_its_compounds(people, estate):
    mine = _report(people, P_C1G1, item="PS01", text="路灯坏了")
    theirs = _report(people, P_C2G2, item="PS01", text="路灯坏了")
    with pytest.raises(services.InvalidInput) as err:
        services.summon(theirs, people["sec2"], ["甲物业"], "协同")
    assert err.value.code == "not_its_compound"
    services.summon(mine, people["sec"], ["甲物业"], "请物业配合", hours=2)
    pa = estate["pa"]
    assert set(Case.objects.visible_to(pa).values_list("pk", flat=True)) == {mine.pk}
    c = _client(pa)
    assert mine.number in c.get("/summons/").content.decode()
    s = Summons.objects.get(case=mine)
    r = c.post(f"/api/cases/summons/{s.pk}/report", json.dumps({"report": "已派维修工"}), content_type="application/json")
    assert r.status_code == 200, r.content
    assert _client(estate["pb"]).get("/summons/").content.decode().count(mine.number) == 0
