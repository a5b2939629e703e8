"""Departments as records (issue 10): the services (create, rename across every row that names
the department in one transaction, end, members, history), the JSON API, and the summons
refusing a department that is not an active record."""

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone

from gridgov.accounts import departments as deps
from gridgov.accounts.models import Department, Duty, Role, User
from gridgov.cases import services
from gridgov.cases.models import Case, Clock, Item, Summons
from gridgov.core import history
from gridgov.testing import make_user

P_C1G1 = (116.383, 39.787)
DEP = "城市管理办公室"


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(street):
    from gridgov.cases.taxonomy import seed_taxonomy

    seed_taxonomy()
    w = {
        "admin": make_user("admin1", Role.ADMIN),
        "gl": make_user("gl", Role.GRID_LEADER, [street["c1g1"]], duty=Duty.LEADER),
        "sec": make_user("sec", Role.COMMUNITY_SECRETARY, [street["c1"]], duty=Duty.SECRETARY),
        "section": make_user("section", Role.SECTION_STAFF),
        "resident": make_user("resident", Role.RESIDENT),
    }
    w["section"].department = DEP
    w["section"].save()
    return w


def _client(user):
    c = Client()
    c.force_login(user)
    return c


def _post(c, url, body, method="post"):
    return getattr(c, method)(url, json.dumps(body), content_type="application/json")


def test_taxonomy_departments_exist_as_records(world):
    names = set(Item.objects.values_list("department", flat=True))
    assert names <= set(Department.objects.values_list("name", flat=True))
    assert Department.objects.get(name="综合行政执法队").kind == Department.Kind.UNIT
    assert Department.objects.get(name=DEP).kind == Department.Kind.SECTION


def test_rename_updates_every_row_that_names_it_in_one_transaction(world):
    case, _ = services.submit_case(reporter=world["resident"], channel="resident", text="路灯坏了，晚上很黑",
                                   lon=P_C1G1[0], lat=P_C1G1[1], item="PS01")
    services.summon(case, world["sec"], [DEP], "协同", hours=2)
    Case.objects.filter(pk=case.pk).update(handler_department=DEP)
    closed = Case.objects.create(channel="patrol", text="旧事", state="closed", handler_department=DEP,
                                 created_at=timezone.now(), updated_at=timezone.now())
    dep = Department.objects.get(name=DEP)
    deps.update(world["admin"], dep, version=dep.version, name="城市管理科", contact_name="王科长")
    assert Department.objects.get(pk=dep.pk).name == "城市管理科"
    assert User.objects.get(pk=world["section"].pk).department == "城市管理科"
    assert not Item.objects.filter(department=DEP).exists() and Item.objects.filter(department="城市管理科").exists()
    assert Summons.objects.get(case=case).department == "城市管理科"
    assert Case.objects.get(pk=case.pk).handler_department == "城市管理科"
    assert Clock.objects.filter(case=case, kind="summon").get().department == "城市管理科"
    assert Case.objects.get(pk=closed.pk).handler_department == DEP  # closed cases keep their history
    rows = list(history.for_object("departments", dep.pk))
    assert rows[0].action == "update" and rows[0].changes["name"] == [DEP, "城市管理科"]
    # the member still sees the summons of the renamed department
    assert Summons.objects.answered_by(User.objects.get(pk=world["section"].pk)).count() == 1


def test_a_failing_rename_changes_nothing(world, monkeypatch):
    from gridgov.cases import departments as case_deps

    def broken(sender, **kwargs):
        raise RuntimeError("boom")

    deps.department_renamed.connect(broken, dispatch_uid="test-broken")
    try:
        dep = Department.objects.get(name=DEP)
        with pytest.raises(RuntimeError):
            deps.update(world["admin"], dep, name="城市管理科")
    finally:
        deps.department_renamed.disconnect(dispatch_uid="test-broken")
    assert case_deps  # the cases' receiver ran before the broken one, and was rolled back with it
    assert Department.objects.filter(name=DEP).exists()
    assert User.objects.get(pk=world["section"].pk).department == DEP
    assert Item.objects.filter(department=DEP).exists()


def test_stale_version_is_refused_with_what_changed(world):
    dep = Department.objects.get(name=DEP)
    deps.update(world["admin"], dep, version=1, contact_phone="010-1")
    with pytest.raises(deps.VersionConflict) as err:
        deps.update(world["admin"], dep, version=1, contact_phone="010-2")
    assert "contact_phone" in err.value.changed
    assert Department.objects.get(pk=dep.pk).contact_phone == "010-1"


def test_summon_refuses_unknown_and_ended_departments(world):
    case, _ = services.submit_case(reporter=world["resident"], channel="resident", text="路灯坏了，晚上很黑",
                                   lon=P_C1G1[0], lat=P_C1G1[1], item="PS01")
    with pytest.raises(services.InvalidInput) as err:
        services.summon(case, world["sec"], ["没有这个部门"], "协同")
    assert err.value.code == "no_such_department"
    assert "没有名为“没有这个部门”的在用部门" in err.value.source_message()
    gone = deps.create(world["admin"], name="已撤销的部门")
    deps.end(world["admin"], gone)
    with pytest.raises(services.InvalidInput):
        services.summon(case, world["sec"], ["已撤销的部门"], "协同")
    assert not Summons.objects.exists()
    c = _client(world["sec"])
    r = _post(c, f"/api/cases/{case.pk}/actions/summon", {"departments": ["没有这个部门"]})
    assert r.status_code == 400 and r.json()["code"] == "no_such_department"


def test_end_is_refused_while_in_use(world):
    dep = Department.objects.get(name=DEP)
    with pytest.raises(deps.DepartmentError) as err:
        deps.end(world["admin"], dep)
    assert err.value.code == "department_in_use"
    assert Department.objects.get(pk=dep.pk).active
    spare = deps.create(world["admin"], name="临时专班", contact_name="李")
    deps.end(world["admin"], spare, "专班撤销")
    assert not Department.objects.get(pk=spare.pk).active
    assert [r.action for r in history.for_object("departments", spare.pk)] == ["end", "create"]


def test_members_and_who_may_manage(world):
    dep = deps.create(world["admin"], name="派出所", kind="unit")
    officer = make_user("officer", Role.SECTION_STAFF)
    deps.add_member(world["admin"], dep, officer)
    assert User.objects.get(pk=officer.pk).department == "派出所"
    with pytest.raises(deps.DepartmentError) as err:
        deps.add_member(world["admin"], dep, world["resident"])
    assert err.value.code == "bad_member_role"
    deps.remove_member(world["admin"], dep, officer)
    assert User.objects.get(pk=officer.pk).department == ""
    with pytest.raises(PermissionDenied):
        deps.create(world["sec"], name="社区自建部门")
    assert [r.action for r in history.for_object("departments", dep.pk)] == ["remove_member", "add_member", "create"]


def test_api(world):
    admin, sec = _client(world["admin"]), _client(world["sec"])
    r = _post(admin, "/api/accounts/departments", {"name": "市场监管所", "kind": "unit", "contact_name": "赵",
                                                    "contact_phone": "010-67000000"})
    assert r.status_code == 201, r.content
    dep = r.json()
    assert dep["kind"] == "unit" and dep["members"] == 0
    assert _post(admin, "/api/accounts/departments", {"name": "市场监管所"}).json()["code"] == "name_taken"
    assert _post(admin, "/api/accounts/departments", {"name": "x", "kind": "nope"}).status_code == 400
    assert _post(sec, "/api/accounts/departments", {"name": "社区的"}).status_code == 403
    listed = sec.get("/api/accounts/departments").json()
    assert "市场监管所" in {d["name"] for d in listed}
    assert _client(world["resident"]).get("/api/accounts/departments").status_code == 403
    officer = make_user("officer", Role.SECTION_STAFF)
    r = _post(admin, f"/api/accounts/departments/{dep['id']}/members", {"user": officer.pk})
    assert r.status_code == 200 and [m["username"] for m in r.json()["member_list"]] == ["officer"]
    r = _post(admin, f"/api/accounts/departments/{dep['id']}", {"name": "市场监管所（南苑）", "version": dep["version"]}, "patch")
    assert r.status_code == 200 and r.json()["name"] == "市场监管所（南苑）"
    assert User.objects.get(pk=officer.pk).department == "市场监管所（南苑）"
    r = _post(admin, f"/api/accounts/departments/{dep['id']}", {"contact_name": "钱", "version": dep["version"]}, "patch")
    assert r.status_code == 409 and r.json()["code"] == "version_conflict"
    assert _post(sec, f"/api/accounts/departments/{dep['id']}", {"contact_name": "钱"}, "patch").status_code == 403
    assert sec.get(f"/api/accounts/departments/{dep['id']}/members").json()[0]["username"] == "officer"
    assert admin.delete(f"/api/accounts/departments/{dep['id']}/members/{officer.pk}").status_code == 200
    r = _post(admin, f"/api/accounts/departments/{dep['id']}/end", {"note": "合并"})
    assert r.status_code == 200 and r.json()["active"] is False
    assert [h["action"] for h in admin.get(f"/api/accounts/departments/{dep['id']}/history").json()] == [
        "end", "remove_member", "update", "add_member", "create"]
