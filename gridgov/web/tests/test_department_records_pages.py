"""The department records' pages (/departments/, issue 10): who sees and who changes, a rename
from the page, members, the end refused while in use, the history, and the pages in English."""

import pytest

from gridgov.accounts.models import Department, Duty, Role, User
from gridgov.testing import make_user

from .test_i18n import EN, leftover_chinese


@pytest.fixture
def people(street, settings):
    from gridgov.cases.taxonomy import seed_taxonomy

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    seed_taxonomy()
    return {"admin": make_user("boss", Role.ADMIN), "sec": make_user("sec", Role.COMMUNITY_SECRETARY, [street["c1"]], duty=Duty.SECRETARY),
            "section": make_user("section", Role.SECTION_STAFF), "resident": make_user("resident", Role.RESIDENT)}


def test_admin_manages_departments_on_the_pages(client, people):
    client.force_login(people["admin"])
    r = client.post("/departments/new/", {"name": "南苑派出所", "kind": "unit", "contact_name": "张", "contact_phone": "010-1"})
    dep = Department.objects.get(name="南苑派出所")
    assert r.status_code == 302 and r["Location"] == f"/departments/{dep.pk}/"
    assert "已存在" in client.post("/departments/new/", {"name": "南苑派出所", "kind": "unit"}).content.decode()
    r = client.post(f"/departments/{dep.pk}/members/", {"username": "section"})
    assert r.status_code == 200 and User.objects.get(username="section").department == "南苑派出所"
    r = client.post(f"/departments/{dep.pk}/", {"name": "南苑派出所（东）", "kind": "unit", "contact_name": "张",
                                                "contact_phone": "010-1", "note": "", "version": dep.version})
    assert r.status_code == 200 and "已保存" in r.content.decode()
    assert User.objects.get(username="section").department == "南苑派出所（东）"
    r = client.post(f"/departments/{dep.pk}/", {"name": "又改名", "version": 1})  # read before the rename
    assert r.status_code == 409 and "已被他人修改" in r.content.decode()
    page = client.get("/departments/").content.decode()
    assert "南苑派出所（东）" in page and "城市管理办公室" in page
    city = Department.objects.get(name="城市管理办公室")
    r = client.post(f"/departments/{city.pk}/end/", {"note": "试试"})
    assert r.status_code == 400 and "仍在使用" in r.content.decode()
    assert Department.objects.get(pk=city.pk).active
    page = client.get(f"/departments/{dep.pk}/").content.decode()
    assert "加入成员" in page and "修改" in page and "名称：南苑派出所 → 南苑派出所（东）" in page
    r = client.post(f"/departments/{dep.pk}/members/", {"remove": str(User.objects.get(username="section").pk)})
    assert r.status_code == 200 and User.objects.get(username="section").department == ""


def test_staff_read_only_admins_change(client, people):
    dep = Department.objects.get(name="城市管理办公室")
    client.force_login(people["sec"])
    page = client.get("/departments/").content.decode()
    assert "城市管理办公室" in page and "/departments/new/" not in page
    assert client.get("/departments/new/").status_code == 403
    assert client.post(f"/departments/{dep.pk}/", {"name": "x"}).status_code == 403
    assert client.post(f"/departments/{dep.pk}/members/", {"username": "section"}).status_code == 403
    assert "department-edit" not in client.get(f"/departments/{dep.pk}/").content.decode()
    client.force_login(people["resident"])
    assert client.get("/departments/").status_code == 403


def test_department_pages_in_english(client, people):
    client.force_login(people["admin"])
    dep = Department.objects.get(name="城市管理办公室")
    data = list(Department.objects.values_list("name", flat=True)) + ["boss", "section"]
    for url in ("/departments/", "/departments/new/", f"/departments/{dep.pk}/"):
        page = client.get(url, **EN).content.decode()
        assert leftover_chinese(page, data) == [], url
    assert "<h1>Departments</h1>" in client.get("/departments/", **EN).content.decode()


def test_property_staff_nav_is_their_work(client, people):
    u = make_user("pm", Role.PROPERTY_STAFF)
    client.force_login(u)
    page = client.get("/").content.decode()
    assert 'href="/summons/"' in page and 'href="/records/residents/"' not in page and 'href="/departments/"' not in page


def test_admin_ties_a_property_department_to_its_company_on_the_page(client, people, street):
    """Without a developer: a new property company's department is tied to its registry record,
    and its members then work on that company's compounds; only administrators may."""
    from gridgov.core.models import ChangeRecord
    from gridgov.registry import services as reg
    from gridgov.registry.models import Compound, Organization
    from gridgov.registry.property import compounds_of_department

    compound = Compound.objects.create(name="丙小区", community=street["c1"], grid=street["c1g1"])
    org = reg.create_organization(name="丙物业服务有限公司", kind="property_company", grid=street["c1g1"])
    reg.create_property_project(name="丙项目", company=org, grid=street["c1g1"]).compounds.set([compound])
    shop = reg.create_organization(name="小卖部", kind="shop", grid=street["c1g1"])
    client.force_login(people["admin"])
    client.post("/departments/new/", {"name": "丙物业", "kind": "property"})
    dep = Department.objects.get(name="丙物业")
    page = client.get(f"/departments/{dep.pk}/").content.decode()
    assert 'id="department-company"' in page and "丙物业服务有限公司" in page and "小卖部" not in page
    assert list(compounds_of_department("丙物业")) == []
    r = client.post(f"/departments/{dep.pk}/company/", {"organization": org.pk})
    assert r.status_code == 200 and "物业公司：丙物业服务有限公司" in r.content.decode()
    assert Organization.objects.get(pk=org.pk).department_id == dep.pk
    assert [c["pk"] for c in compounds_of_department("丙物业")] == [compound.pk]
    assert ChangeRecord.objects.filter(kind="departments", object_id=str(dep.pk), changes__has_key="company").exists()
    assert client.post(f"/departments/{dep.pk}/company/", {"organization": shop.pk}).status_code == 400
    client.force_login(people["sec"])
    assert client.post(f"/departments/{dep.pk}/company/", {"organization": ""}).status_code == 403
    assert Organization.objects.get(pk=org.pk).department_id == dep.pk
