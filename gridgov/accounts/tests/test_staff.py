"""Staff accounts: the services, the API (/api/accounts/users), the scope of a community
secretary, the required password change and the required second factor."""

import json
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from gridgov.accounts import services
from gridgov.accounts.models import Department, Duty, GridAssignment, Role, User
from gridgov.core.models import ChangeRecord, SettingValue
from gridgov.testing import make_user

PASSWORD = "a-long-test-password-1"


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def people(street):
    Department.objects.create(name="城管科", kind="section")
    admin = make_user("admin1", Role.ADMIN)
    sec1 = make_user("sec1", Role.COMMUNITY_SECRETARY, [street["c1"]], duty=Duty.SECRETARY)
    sec2 = make_user("sec2", Role.COMMUNITY_SECRETARY, [street["c2"]], duty=Duty.SECRETARY)
    w1 = make_user("w1", Role.GRID_WORKER, [street["c1g1"]])
    w2 = make_user("w2", Role.GRID_WORKER, [street["c2g1"]])
    loose = make_user("loose", Role.GRID_WORKER)  # no duty at all
    return {"street": street, "admin": admin, "sec1": sec1, "sec2": sec2, "w1": w1, "w2": w2, "loose": loose}


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def post(c, url, body=None, method="post"):
    return getattr(c, method)(url, json.dumps(body or {}), content_type="application/json")


# ---- services ---------------------------------------------------------------------------------


def test_create_staff_with_a_temporary_password_and_a_history_row(people):
    user, pw = services.create_staff(people["admin"], username="gw9", display_name="王网格", role="grid_worker",
                                     department="城管科", phone="13812345678", grid=people["street"]["c1g2"].code)
    user.refresh_from_db()
    assert user.check_password(pw) and user.must_change_password and user.role == "grid_worker"
    assert user.department == "城管科" and user.phone_masked == "138****5678" and "13812345678" not in user.phone_enc
    duty = GridAssignment.objects.get(user=user)
    assert duty.node == people["street"]["c1g2"] and duty.duty == Duty.WORKER and duty.since == timezone.localdate()
    (row,) = ChangeRecord.objects.filter(kind="staff", object_id=str(user.pk))
    assert row.action == "create" and row.actor == people["admin"]
    assert row.changes["phone"] == [None, "138****5678"] and "13812345678" not in json.dumps(row.changes)
    assert row.grid_path == people["street"]["c1"].path


def test_create_staff_refuses_bad_input_with_codes(people):
    admin = people["admin"]
    cases = [
        (dict(username="w1", display_name="x", role="grid_worker"), services.StaffConflict, "username_taken"),
        (dict(username="a b", display_name="x", role="grid_worker"), services.StaffInvalid, "invalid_username"),
        (dict(username="n1", display_name="", role="grid_worker"), services.StaffInvalid, "display_name_required"),
        (dict(username="n1", display_name="x", role="king"), services.StaffInvalid, "invalid_role"),
        (dict(username="n1", display_name="x", role="grid_worker", department="无此科"), services.StaffInvalid,
         "unknown_department"),
        (dict(username="n1", display_name="x", role="grid_worker", phone="123"), services.StaffInvalid, "invalid_phone"),
        (dict(username="n1", display_name="x", role="grid_worker", password="short"), services.StaffInvalid,
         "weak_password"),
        (dict(username="n1", display_name="x", role="grid_worker", password="onlyletterslong"), services.StaffInvalid,
         "weak_password"),
        (dict(username="n1", display_name="x", role="grid_worker", grid="999"), services.StaffInvalid, "unknown_grid"),
    ]
    for kwargs, exc, code in cases:
        with pytest.raises(exc) as info:
            services.create_staff(admin, **kwargs)
        assert info.value.code == code, kwargs
    assert not User.objects.filter(username="n1").exists()
    assert not ChangeRecord.objects.filter(kind="staff").exists()


def test_secretary_gives_community_roles_only_and_new_staff_land_in_their_community(people):
    sec1, street = people["sec1"], people["street"]
    for role in ("leader", "admin", "section_staff", "property_staff", "community_secretary"):
        with pytest.raises(services.StaffNotAllowed) as info:
            services.create_staff(sec1, username=f"x_{role}", display_name="x", role=role)
        assert info.value.code == "role_not_allowed"
    user, _pw = services.create_staff(sec1, username="s_new", display_name="新人", role="steward")
    duty = GridAssignment.objects.get(user=user)
    assert duty.node == street["c1"] and duty.duty == Duty.STEWARD
    assert User.objects.visible_to(sec1).filter(pk=user.pk).exists()
    assert not User.objects.visible_to(people["sec2"]).filter(pk=user.pk).exists()
    with pytest.raises(services.StaffNotAllowed) as info:
        services.create_staff(sec1, username="s_far", display_name="x", role="grid_worker", grid=street["c2g1"].code)
    assert info.value.code == "grid_out_of_scope"
    services.create_staff(sec1, username="s_g", display_name="x", role="grid_leader", grid=street["c1g2"].code)
    assert GridAssignment.objects.get(user__username="s_g").duty == Duty.LEADER


def test_visible_to_follows_duties_in_force(people):
    sec1, w1 = people["sec1"], people["w1"]
    assert set(User.objects.visible_to(sec1).values_list("username", flat=True)) == {"sec1", "w1"}
    admin_sees = set(User.objects.visible_to(people["admin"]).values_list("username", flat=True))
    assert {"loose", "w2", "sec2", "w1", "admin1"} <= admin_sees
    make_user("res", Role.RESIDENT, [people["street"]["c1"]])
    assert "res" not in set(User.objects.visible_to(people["admin"]).values_list("username", flat=True))
    # an ended duty: no longer the community's staff
    GridAssignment.objects.filter(user=w1).update(until=timezone.localdate() - timedelta(days=1))
    sec1 = User.objects.get(pk=sec1.pk)
    assert not User.objects.visible_to(sec1).filter(pk=w1.pk).exists()
    # nor is a secretary whose own duty ended in charge of anything
    GridAssignment.objects.filter(user=sec1).update(until=timezone.localdate() - timedelta(days=1))
    assert not User.objects.visible_to(User.objects.get(pk=sec1.pk)).exists()
    assert not User.objects.visible_to(people["w2"]).exists()  # a grid worker sees no staff


def test_update_disable_enable_reset_each_keep_one_history_row(people):
    admin, w1 = people["admin"], people["w1"]
    changes = services.update_staff(admin, w1, display_name="王一", role="grid_leader", department="城管科",
                                    phone="13900001111")
    assert set(changes) == {"display_name", "role", "department", "phone"}
    assert services.update_staff(admin, w1, display_name="王一") == {}  # nothing changed: no row
    assert services.set_staff_active(admin, w1, False)
    assert not services.set_staff_active(admin, w1, False)
    assert services.set_staff_active(admin, w1, True)
    pw = services.reset_staff_password(admin, w1)
    w1.refresh_from_db()
    assert w1.check_password(pw) and w1.must_change_password and w1.is_active and w1.role == "grid_leader"
    rows = list(services.staff_history(w1))
    assert [r.action for r in rows] == ["reset_password", "enable", "disable", "update"]
    assert rows[-1].changes["phone"] == ["", "139****1111"]
    assert pw not in json.dumps([r.changes for r in rows])


def test_secretary_may_not_manage_above_their_grants_or_themselves(people):
    sec1, street = people["sec1"], people["street"]
    boss = make_user("boss_c1", Role.LEADER, [street["c1"]])  # visible (a duty in c1), not manageable
    assert User.objects.visible_to(sec1).filter(pk=boss.pk).exists()
    for target in (boss, sec1):
        with pytest.raises(services.StaffNotAllowed):
            services.update_staff(sec1, target, display_name="x")
        with pytest.raises(services.StaffNotAllowed):
            services.reset_staff_password(sec1, target)
    with pytest.raises(services.StaffNotAllowed) as info:
        services.update_staff(sec1, people["w1"], role="admin")
    assert info.value.code == "role_not_allowed"
    services.update_staff(sec1, people["w1"], role="grid_leader")


# ---- API --------------------------------------------------------------------------------------


def test_api_create_201_400_403_409(people):
    c = client_for(people["admin"])
    r = post(c, "/api/accounts/users", {"username": "api1", "display_name": "接口", "role": "grid_worker",
                                        "password": "Strong-pass-2024"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["must_change_password"] and "temporary_password" not in body
    assert User.objects.get(pk=body["id"]).check_password("Strong-pass-2024")
    r = post(c, "/api/accounts/users", {"username": "api2", "display_name": "接口", "role": "grid_worker"})
    assert r.status_code == 201 and User.objects.get(pk=r.json()["id"]).check_password(r.json()["temporary_password"])
    r = post(c, "/api/accounts/users", {"username": "api3", "display_name": "接口", "role": "grid_worker", "password": "123"})
    assert r.status_code == 400 and r.json()["code"] == "weak_password" and "密码" in r.json()["detail"]
    r = post(c, "/api/accounts/users", {"username": "api1", "display_name": "接口", "role": "grid_worker"})
    assert r.status_code == 409 and r.json()["code"] == "username_taken"
    r = post(client_for(people["sec1"]), "/api/accounts/users", {"username": "api4", "display_name": "x", "role": "admin"})
    assert r.status_code == 403 and r.json()["code"] == "role_not_allowed"
    r = post(client_for(people["w1"]), "/api/accounts/users", {"username": "api5", "display_name": "x", "role": "volunteer"})
    assert r.status_code == 403
    assert Client().post("/api/accounts/users", "{}", content_type="application/json").status_code == 401


def test_api_list_is_scoped_paged_and_searchable(people):
    c = client_for(people["sec1"])
    body = c.get("/api/accounts/users").json()
    assert {i["username"] for i in body["items"]} == {"sec1", "w1"} and body["count"] == 2
    w1 = next(i for i in body["items"] if i["username"] == "w1")
    assert w1["duties"][0]["grid"]["code"] == people["street"]["c1g1"].code
    admin = client_for(people["admin"])
    body = admin.get("/api/accounts/users", {"q": "w", "role": "grid_worker", "page_size": 1}).json()
    assert body["count"] == 2 and len(body["items"]) == 1
    assert admin.get("/api/accounts/users", {"q": "w", "page": 2, "page_size": 1}).json()["items"]
    services.update_staff(people["admin"], people["w2"], phone="13700002222")
    assert [i["username"] for i in admin.get("/api/accounts/users", {"q": "13700002222"}).json()["items"]] == ["w2"]
    assert client_for(people["w1"]).get("/api/accounts/users").status_code == 403


def test_api_detail_patch_and_acts(people):
    c = client_for(people["admin"])
    w1 = people["w1"]
    d = c.get(f"/api/accounts/users/{w1.pk}").json()
    assert d["username"] == "w1" and d["may_manage"] and d["history"] == []
    r = post(c, f"/api/accounts/users/{w1.pk}", {"display_name": "改名", "department": "城管科"}, "patch")
    assert r.status_code == 200 and r.json()["changed"] == ["department", "display_name"]
    r = post(c, f"/api/accounts/users/{w1.pk}", {"department": "无此科"}, "patch")
    assert r.status_code == 400 and r.json()["code"] == "unknown_department"
    assert post(c, f"/api/accounts/users/{w1.pk}/disable").json()["is_active"] is False
    assert not User.objects.get(pk=w1.pk).is_active
    assert post(c, f"/api/accounts/users/{w1.pk}/enable").status_code == 200
    pw = post(c, f"/api/accounts/users/{w1.pk}/reset-password").json()["temporary_password"]
    assert User.objects.get(pk=w1.pk).check_password(pw)
    d = c.get(f"/api/accounts/users/{w1.pk}").json()
    assert [h["action"] for h in d["history"]] == ["reset_password", "enable", "disable", "update"]
    assert c.get("/api/accounts/users/999999").status_code == 404
    # one's own account is managed elsewhere (the password page), never disabled from here
    r = post(c, f"/api/accounts/users/{people['admin'].pk}/disable")
    assert r.status_code == 403 and User.objects.get(pk=people["admin"].pk).is_active


def test_secretary_never_touches_another_communitys_staff(people):
    """List, read, update, disable, reset: the other community's staff (and staff without any
    duty) answer 404 like a missing account, and nothing changes."""
    c = client_for(people["sec1"])
    listed = {i["username"] for i in c.get("/api/accounts/users", {"page_size": 200}).json()["items"]}
    for other in (people["w2"], people["sec2"], people["loose"], people["admin"]):
        assert other.username not in listed
        before = (other.display_name, other.is_active, other.password)
        assert c.get(f"/api/accounts/users/{other.pk}").status_code == 404
        assert post(c, f"/api/accounts/users/{other.pk}", {"display_name": "x"}, "patch").status_code == 404
        for act in ("disable", "enable", "reset-password"):
            assert post(c, f"/api/accounts/users/{other.pk}/{act}").status_code == 404
        other.refresh_from_db()
        assert (other.display_name, other.is_active, other.password) == before
        # the pages too
        assert c.get(f"/staff/{other.pk}/").status_code == 404
        for act in ("disable", "enable", "reset-password", "edit"):
            assert c.post(f"/staff/{other.pk}/{act}/", {"display_name": "x"}).status_code == 404
        other.refresh_from_db()
        assert (other.display_name, other.is_active, other.password) == before
    # (a row's link names the user; a bare "w2" may occur by chance in the page's random CSRF token)
    page = c.get("/staff/").content.decode()
    assert f'/staff/{people["w1"].pk}/">w1</a>' in page and f'/staff/{people["w2"].pk}/">w2</a>' not in page
    assert not ChangeRecord.objects.filter(kind="staff").exists()


# ---- the password someone else set must be changed ------------------------------------------------


def test_must_change_password_redirects_pages_and_refuses_the_api(people):
    admin = people["admin"]
    user, pw = services.create_staff(admin, username="fresh", display_name="新人", role="grid_worker",
                                     grid=people["street"]["c1g1"].code)
    c = Client()
    r = c.post("/login/", {"username": "fresh", "password": pw})
    assert r.status_code == 302
    r = c.get("/")
    assert r.status_code == 302 and r["Location"].startswith("/account/password/")
    assert c.get("/records/residents/")["Location"].startswith("/account/password/?next=")
    r = c.get("/api/cases/")
    assert r.status_code == 403 and r.json()["code"] == "password_change_required"
    assert c.get("/account/password/").status_code == 200
    r = c.post("/account/password/", {"old_password": pw, "new_password1": "short", "new_password2": "short"})
    assert r.status_code == 400 and User.objects.get(pk=user.pk).must_change_password
    r = c.post("/account/password/", {"old_password": pw, "new_password1": "New-pass-2024x",
                                      "new_password2": "New-pass-2024x"})
    assert r.status_code == 302
    user.refresh_from_db()
    assert not user.must_change_password and user.check_password("New-pass-2024x")
    assert c.get("/").status_code == 200  # still signed in, free to work
    assert c.get("/api/cases/").status_code == 200
    assert services.staff_history(user).first().action == "change_password"
    # logging out stays possible while a change is pending
    services.reset_staff_password(admin, user)
    c2 = Client()
    c2.force_login(User.objects.get(pk=user.pk))
    assert c2.post("/logout/").status_code == 302


# ---- the second factor required of leaders and administrators -----------------------------------


def test_second_factor_setting_sends_leaders_and_admins_to_enrol(people):
    import pyotp

    from gridgov.core import crypto

    admin = people["admin"]
    c = client_for(admin)
    assert c.get("/").status_code == 200  # off by default
    with override_settings(ACCOUNTS_REQUIRE_SECOND_FACTOR="1"):
        r = c.get("/")
        assert r.status_code == 302 and r["Location"].startswith("/account/2fa/")
        r = c.get("/api/accounts/users")
        assert r.status_code == 403 and r.json()["code"] == "second_factor_required"
        assert client_for(people["w1"]).get("/").status_code == 200  # a grid worker: not concerned
        assert c.get("/account/2fa/").status_code == 200
        c.post("/account/2fa/", {"action": "start"})
        secret = crypto.decrypt(User.objects.get(pk=admin.pk).totp_secret_enc)
        c.post("/account/2fa/", {"action": "confirm", "code": pyotp.TOTP(secret).now()})
        assert User.objects.get(pk=admin.pk).totp_enabled
        assert c.get("/").status_code == 200


def test_second_factor_setting_row_overrides_and_names_roles(people, settings):
    from gridgov.accounts import conf

    leader = make_user("boss", Role.LEADER)
    assert not conf.needs_second_factor(leader)
    now = timezone.now()
    SettingValue.objects.create(key="ACCOUNTS_REQUIRE_SECOND_FACTOR", value="on", valid_from=now - timedelta(minutes=1),
                                changed_at=now)
    assert conf.needs_second_factor(leader) and conf.needs_second_factor(people["admin"])
    assert not conf.needs_second_factor(people["sec1"])
    SettingValue.objects.create(key="ACCOUNTS_REQUIRE_SECOND_FACTOR", value="community_secretary",
                                valid_from=now + timedelta(hours=1), changed_at=now)
    assert conf.needs_second_factor(leader)  # the later row is not in force yet
    assert conf.needs_second_factor(people["sec1"], ) is False
    assert conf.second_factor_roles(at=now + timedelta(hours=2)) == {"community_secretary"}
    assert client_for(leader).get("/territory/").status_code == 302
