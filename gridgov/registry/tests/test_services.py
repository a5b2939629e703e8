import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from gridgov.accounts.models import Role
from gridgov.core.models import AuditEntry
from gridgov.registry import services
from gridgov.registry.models import House, Resident
from gridgov.testing import make_user

from .conftest import make_id


def test_resident_takes_grid_birth_and_gender_from_house_and_id(base):
    r = services.create_resident(name="张三", id_number=make_id("19850611", 13), phone="13812345678", house=base["house_a1"])
    assert r.grid_id == base["c1g1m1"].id
    assert r.birth_date.isoformat() == "1985-06-11"
    assert r.gender == "M"  # the 17th digit (3) is odd
    assert r.id_number_masked.startswith("110") and "*" in r.id_number_masked
    assert r.phone_masked == "138****5678"
    assert make_id("19850611", 13) not in r.id_number_enc


def test_invalid_or_duplicate_id_number_is_refused(base):
    bad = make_id()[:-1] + ("0" if make_id()[-1] != "0" else "1")
    with pytest.raises(ValidationError):
        services.create_resident(name="李四", id_number=bad, house=base["house_a1"])
    services.create_resident(name="李四", id_number=make_id(), house=base["house_a1"])
    with pytest.raises(ValidationError):
        services.create_resident(name="李四二", id_number=make_id().lower(), house=base["house_a2"])
    assert Resident.objects.count() == 1


def test_moving_an_address_to_another_grid_moves_house_and_residents(base):
    r = services.create_resident(name="王五", id_number=make_id(), house=base["house_a1"])
    services.update(base["a1"], grid=base["c1g1m2"])
    assert House.objects.get(pk=base["house_a1"].pk).grid_id == base["c1g1m2"].id
    assert Resident.objects.get(pk=r.pk).grid_id == base["c1g1m2"].id


def test_reveal_in_scope_is_audited(base):
    idn = make_id("19700101", 5)
    r = services.create_resident(name="赵六", id_number=idn, phone="13912345678", house=base["house_a1"])
    worker = make_user("w1", Role.GRID_WORKER, [base["c1g1"]])
    assert services.reveal(worker, r, "id_number") == idn
    assert services.reveal(worker, r, "phone") == "13912345678"
    entries = list(AuditEntry.objects.filter(action="reveal").order_by("id"))
    assert [(e.username, e.object_type, e.object_id, e.fields) for e in entries] == [
        ("w1", "registry.resident", str(r.pk), "id_number"),
        ("w1", "registry.resident", str(r.pk), "phone"),
    ]


def test_reveal_refused_outside_scope_or_role(base):
    r = services.create_resident(name="赵六", id_number=make_id(), house=base["house_a1"])
    other = make_user("w2", Role.GRID_WORKER, [base["c1g2"]])
    section = make_user("s1", Role.SECTION_STAFF, [base["c1"]])  # in scope, but no personal-data role
    resident = make_user("r1", Role.RESIDENT)
    for user in (other, section, resident):
        with pytest.raises(PermissionDenied):
            services.reveal(user, r, "id_number")
    assert not AuditEntry.objects.filter(action="reveal").exists()
    with pytest.raises(ValueError):
        services.reveal(make_user("admin", Role.ADMIN), r, "name")


def test_find_resident_by_id_number_respects_scope(base):
    idn = make_id("19600202", 7)
    r = services.create_resident(name="孙七", id_number=idn, house=base["house_a2"])
    inside = make_user("w2", Role.GRID_WORKER, [base["c1g2"]])
    outside = make_user("w1", Role.GRID_WORKER, [base["c1g1"]])
    assert services.find_resident_by_id_number(inside, idn.lower()) == r
    assert services.find_resident_by_id_number(outside, idn) is None


def test_party_org_volunteer_and_property_project(base):
    org = services.create_party_org(name="第1网格党支部", grid=base["c1g1"], grids=[base["c1g1"], base["c1g2"]])
    assert set(org.grids.values_list("code", flat=True)) == {base["c1g1"].code, base["c1g2"].code}
    services.update(org, grids=[base["c1g1"]])
    assert org.grids.count() == 1
    team = services.create_volunteer_team(name="平安巡逻队", kind="patrol", grid=base["c1"])
    v = services.create_volunteer(name="钱八", kind="volunteer", team=team, phone="13700001111")
    assert v.grid_id == base["c1"].id and v.phone_masked == "137****1111"
    with pytest.raises(ValidationError):
        services.create_volunteer(name="坏号", kind="volunteer", team=team, phone="123")
    company = services.create_organization(name="阳光物业", kind="property_company", address=base["a1"])
    assert company.grid_id == base["c1g1m1"].id and company.address_text == base["a1"].text
    p = services.create_property_project(
        name="阳光物业一期", company=company, compounds=[base["a1"].compound], grid=base["c1"]
    )
    assert list(p.compounds.all()) == [base["a1"].compound]
    services.update(base["a1"].building, floors=6)
    services.update(base["a1"].compound, kind="old")
    place = services.create_place(name="服务驿站", kind="service_station", lat=39.785, lon=116.385, grid=base["c1g1m1"])
    services.update(place, open_hours="9:00-17:00")
    assert place.open_hours == "9:00-17:00"


def test_reveal_phone_of_organization_and_volunteer(base):
    org = services.create_organization(name="小店", kind="shop", address=base["a3"], phone="010-67991234")
    team = services.create_volunteer_team(name="队", kind="patrol", grid=base["c2g1"])
    vol = services.create_volunteer(name="志愿者", kind="volunteer", team=team, phone="13700001111")
    sec = make_user("sec2", Role.COMMUNITY_SECRETARY, [base["c2"]])
    assert services.reveal(sec, org, "phone") == "010-67991234"
    assert services.reveal(sec, vol, "phone") == "13700001111"
    with pytest.raises(ValueError):
        services.reveal(sec, org, "id_number")  # organizations hold no ID number
    with pytest.raises(PermissionDenied):
        services.reveal(make_user("w1", Role.GRID_WORKER, [base["c1g1"]]), org, "phone")
    assert AuditEntry.objects.filter(action="reveal").count() == 2
