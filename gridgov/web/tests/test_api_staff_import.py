"""POST /api/accounts/users/import: the staff import page's all-or-nothing import as JSON."""

from gridgov.accounts.models import Duty, GridAssignment, User
from gridgov.core.models import ChangeRecord
from gridgov.web.tests.test_staff_pages import _csv, client_for, people  # noqa: F401

URL = "/api/accounts/users/import"


def test_import_creates_every_row_and_shows_the_passwords_once(people):
    c = client_for(people["admin"])
    g = people["street"]["c1g2"].code
    f = _csv([["api1", "接口一", "网格员", "城管科", "13800001111", g, "", "2026-01-05"],
              ["api2", "接口二", "grid_leader", "", "", g, "网格长", ""]])
    r = c.post(URL, {"file": f})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["created"] == 2 and not body["dry_run"]
    found = {u["username"]: u["temporary_password"] for u in body["users"]}
    assert set(found) == {"api1", "api2"}
    for username, password in found.items():
        u = User.objects.get(username=username)
        assert u.check_password(password) and u.must_change_password
    assert GridAssignment.objects.get(user__username="api2").duty == Duty.LEADER
    assert ChangeRecord.objects.filter(kind="staff", action="create").count() == 2
    # the accounts' own routes still answer next to it
    assert c.get(f"/api/accounts/users/{User.objects.get(username='api1').pk}").status_code == 200


def test_dry_run_checks_every_row_and_writes_nothing(people):
    c = client_for(people["admin"])
    r = c.post(URL, {"file": _csv([["dry1", "试一", "网格员", "", "", "", "", ""]]), "dry_run": "true"})
    assert r.status_code == 200, r.content
    assert r.json()["created"] == 1 and r.json()["dry_run"]
    assert r.json()["users"] == [{"username": "dry1", "temporary_password": None}]
    assert not User.objects.filter(username="dry1").exists() and not ChangeRecord.objects.filter(kind="staff").exists()


def test_an_error_names_row_and_column_and_nothing_is_written(people):
    c = client_for(people["sec1"])
    f = _csv([["ok1", "好人", "网格员", "", "", "", "", ""],
              ["bad2", "角色", "街道领导", "", "", "", "", ""],
              ["bad4", "电话", "网格员", "", "123", "", "", ""]])
    r = c.post(URL, {"file": f})
    assert r.status_code == 400
    errors = {e["row"]: e for e in r.json()["errors"]}
    assert errors[3]["column"] == "角色" and errors[3]["message"]
    assert errors[4]["column"] == "手机" and errors[4]["value"] == "123"
    assert 2 not in errors
    assert not User.objects.filter(username__in=["ok1", "bad2", "bad4"]).exists()
    assert not ChangeRecord.objects.filter(kind="staff").exists()
    r = c.post(URL, {})
    assert r.status_code == 400 and "请选择要导入的文件" in r.json()["errors"][0]["message"]


def test_refused_by_the_policy(people):
    f = _csv([["gx1", "越权", "网格员", "", "", "", "", ""]])
    r = client_for(people["gl"]).post(URL, {"file": f})
    assert r.status_code == 403
    r = client_for(people["w1"]).post(URL, {"file": _csv([["gx2", "越权", "网格员", "", "", "", "", ""]])})
    assert r.status_code == 403
    assert not User.objects.filter(username__in=["gx1", "gx2"]).exists()
