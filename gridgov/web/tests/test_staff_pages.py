"""The staff pages (/staff/...) and the bulk import of staff accounts (all or nothing, with
row and column errors, temporary passwords shown once)."""

import csv
import io
import re

import pytest
from django.test import Client

from gridgov.accounts.models import Department, Duty, GridAssignment, Role, User
from gridgov.core.models import ChangeRecord
from gridgov.testing import make_user


@pytest.fixture
def people(street, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    Department.objects.create(name="城管科", kind="section")
    return {
        "street": street,
        "admin": make_user("admin1", Role.ADMIN),
        "sec1": make_user("sec1", Role.COMMUNITY_SECRETARY, [street["c1"]], duty=Duty.SECRETARY),
        "w1": make_user("w1", Role.GRID_WORKER, [street["c1g1"]]),
        "w2": make_user("w2", Role.GRID_WORKER, [street["c2g1"]]),
        "gl": make_user("gl", Role.GRID_LEADER, [street["c1g1"]], duty=Duty.LEADER),
    }


def client_for(user):
    c = Client()
    c.force_login(user)
    return c


def test_nav_link_only_for_roles_that_may_list_staff(people):
    assert 'href="/staff/"' in client_for(people["admin"]).get("/territory/").content.decode()
    assert 'href="/staff/"' in client_for(people["sec1"]).get("/territory/").content.decode()
    assert 'href="/staff/"' not in client_for(people["gl"]).get("/territory/").content.decode()
    assert client_for(people["gl"]).get("/staff/").status_code == 403
    assert client_for(people["gl"]).get("/staff/new/").status_code == 403


def test_list_searches_filters_and_pages(people):
    for i in range(55):
        make_user(f"v{i:02d}", Role.VOLUNTEER, [people["street"]["c1"]], duty=Duty.VOLUNTEER)
    c = client_for(people["admin"])
    page = c.get("/staff/").content.decode()
    assert "共 60 人" in page and 'rel="next"' in page
    rows = c.get("/staff/", {"q": "w", "role": "grid_worker"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in rows and ">w1<" in rows and ">w2<" in rows and ">v00<" not in rows
    sec_page = client_for(people["sec1"]).get("/staff/", {"role": "grid_worker"}).content.decode()
    assert ">w1<" in sec_page and ">w2<" not in sec_page


def test_new_staff_page_shows_the_temporary_password_once(people):
    c = client_for(people["sec1"])
    page = c.get("/staff/new/").content.decode()
    roles = re.search(r'<select id="role".*?</select>', page, re.S).group(0)
    assert 'value="grid_worker"' in roles and 'value="admin"' not in roles and 'value="leader"' not in roles
    r = c.post("/staff/new/", {"username": "nw", "display_name": "新网格员", "role": "grid_worker",
                               "grid": people["street"]["c1g2"].code, "department": "城管科"})
    assert r.status_code == 200
    pw = re.search(r'id="temp-password">([^<]+)<', r.content.decode()).group(1)
    user = User.objects.get(username="nw")
    assert user.check_password(pw) and user.must_change_password and user.department == "城管科"
    assert GridAssignment.objects.get(user=user).node == people["street"]["c1g2"]
    r = c.post("/staff/new/", {"username": "nw", "display_name": "x", "role": "grid_worker"})
    assert r.status_code == 400 and "已被使用" in r.content.decode()
    r = c.post("/staff/new/", {"username": "nx", "display_name": "x", "role": "admin"})
    assert r.status_code == 400 and not User.objects.filter(username="nx").exists()


def test_detail_page_edits_disables_resets_and_shows_history(people):
    c = client_for(people["admin"])
    w1 = people["w1"]
    page = c.get(f"/staff/{w1.pk}/").content.decode()
    assert f'href="/duties/?user={w1.pk}"' in page and people["street"]["c1g1"].name in page
    r = c.post(f"/staff/{w1.pk}/edit/", {"display_name": "王小一", "role": "grid_leader", "department": "城管科",
                                          "phone": "13911112222"})
    assert r.status_code == 302
    w1.refresh_from_db()
    assert (w1.display_name, w1.role, w1.department, w1.phone_masked) == ("王小一", "grid_leader", "城管科", "139****2222")
    assert c.post(f"/staff/{w1.pk}/disable/", {"note": "离职"}).status_code == 302
    assert not User.objects.get(pk=w1.pk).is_active
    r = c.post(f"/staff/{w1.pk}/reset-password/", follow=True)
    pw = re.search(r'id="temp-password">([^<]+)<', r.content.decode()).group(1)
    assert User.objects.get(pk=w1.pk).check_password(pw)
    page = c.get(f"/staff/{w1.pk}/").content.decode()
    assert 'id="temp-password"' not in page  # shown once
    assert "重置密码" in page and "离职" in page and "139****2222" in page and "13911112222" not in page
    assert ChangeRecord.objects.filter(kind="staff", object_id=str(w1.pk)).count() == 3
    # a grid worker's account cannot be disabled by a grid leader (no staff rights at all)
    assert client_for(people["gl"]).post(f"/staff/{people['w2'].pk}/disable/").status_code == 403


# ---- bulk import ----------------------------------------------------------------------------------


HEADER = ["用户名", "姓名", "角色", "科室/部门", "手机", "网格编码", "职责", "起始日期"]


def _csv(rows):
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADER)
    w.writerows(rows)
    f = io.BytesIO(buf.getvalue().encode("utf-8"))
    f.name = "staff.csv"
    return f


def test_import_creates_every_row_with_temporary_passwords(people):
    c = client_for(people["admin"])
    g = people["street"]["c1g2"].code
    f = _csv([["imp1", "导入一", "网格员", "城管科", "13800001111", g, "", "2026-01-05"],
              ["imp2", "导入二", "grid_leader", "", "", g, "网格长", ""],
              ["imp3", "导入三", "科室人员", "城管科", "", "", "", ""]])
    r = c.post("/staff/import/", {"file": f})
    page = r.content.decode()
    assert r.status_code == 200 and "新增 3 个账号" in page
    found = dict(re.findall(r">(imp\d)</a></td><td>[^<]*</td><td><code>([^<]+)</code>", page))
    assert set(found) == {"imp1", "imp2", "imp3"}
    for username, pw in found.items():
        u = User.objects.get(username=username)
        assert u.check_password(pw) and u.must_change_password
    d1 = GridAssignment.objects.get(user__username="imp1")
    assert d1.duty == Duty.WORKER and str(d1.since) == "2026-01-05"
    assert GridAssignment.objects.get(user__username="imp2").duty == Duty.LEADER
    assert not GridAssignment.objects.filter(user__username="imp3").exists()
    assert User.objects.get(username="imp1").phone_masked == "138****1111"
    assert ChangeRecord.objects.filter(kind="staff", action="create").count() == 3


def test_import_is_all_or_nothing_with_row_and_column_errors(people):
    c = client_for(people["sec1"])
    f = _csv([["ok1", "好人", "网格员", "", "", "", "", ""],
              ["w1", "重名", "网格员", "", "", "", "", ""],
              ["bad2", "角色", "街道领导", "", "", "", "", ""],
              ["bad3", "部门", "网格员", "无此科", "", "", "", ""],
              ["bad4", "电话", "网格员", "", "123", "", "", ""],
              ["bad5", "越界", "网格员", "", "", people["street"]["c2g1"].code, "", ""],
              ["ok1", "同名", "网格员", "", "", "", "", ""],
              ["", "缺用户名", "网格员", "", "", "", "", ""]])
    r = c.post("/staff/import/", {"file": f})
    assert r.status_code == 400
    page = r.content.decode()
    errors = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>[^<]*</td><td>([^<]*)</td></tr>", page)
    by_row = {int(row): (col, reason) for row, col, reason in errors}
    assert by_row[3][0] == "用户名" and "已被使用" in by_row[3][1]
    assert by_row[4][0] == "角色"
    assert by_row[5][0] == "科室/部门"
    assert by_row[6][0] == "手机"
    assert by_row[7][0] == "网格编码"
    assert by_row[8][0] == "用户名" and "重复" in by_row[8][1]
    assert by_row[9][0] == "用户名" and "必填" in by_row[9][1]
    assert 2 not in by_row
    assert not User.objects.filter(username__in=["ok1", "bad2", "bad3", "bad4", "bad5"]).exists()
    assert not ChangeRecord.objects.filter(kind="staff").exists()


def test_import_template_and_wrong_file(people):
    from openpyxl import load_workbook

    c = client_for(people["admin"])
    r = c.get("/staff/import/template.xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content))["数据"]
    assert [cell.value for cell in ws[1]] == HEADER
    # the template filled in and uploaded as .xlsx
    from openpyxl import Workbook

    wb = Workbook()
    sheet = wb.active
    sheet.title = "数据"
    sheet.append(HEADER)
    sheet.append(["x1", "表格", "楼门长", "", "", people["street"]["c1g1m1"].code, "", ""])
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    buf.name = "staff.xlsx"
    r = c.post("/staff/import/", {"file": buf})
    assert r.status_code == 200 and GridAssignment.objects.get(user__username="x1").duty == Duty.STEWARD
    f = io.BytesIO("姓名,电话\n某,1\n".encode())
    f.name = "x.csv"
    r = c.post("/staff/import/", {"file": f})
    assert r.status_code == 400 and "缺少必填列" in r.content.decode()
    assert client_for(people["gl"]).get("/staff/import/").status_code == 403


def test_staff_pages_in_english(people):
    from gridgov.web.tests.test_i18n import EN, leftover_chinese

    c = client_for(people["admin"])
    w1 = people["w1"]
    c.post(f"/staff/{w1.pk}/edit/", {"display_name": "王小一", "role": "grid_leader", "department": "城管科"})
    data = [n.name for n in people["street"].values()] + ["王小一", "城管科", "admin1", "sec1", "w1", "w2", "gl"]
    for url in ("/staff/", "/staff/new/", f"/staff/{w1.pk}/", "/staff/import/", "/account/password/"):
        page = c.get(url, **EN).content.decode()
        assert leftover_chinese(page, data) == [], url
    assert "Role" in c.get("/staff/", **EN).content.decode()
