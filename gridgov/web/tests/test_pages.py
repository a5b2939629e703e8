import pytest

from gridgov.accounts.models import Role
from gridgov.registry.models import Address, Resident
from gridgov.testing import make_user

PASSWORD = "a-long-test-password-1"


def _resident(node, name, idn="11010519491231002X", phone="13812345678"):
    addr = Address.objects.create(
        code=f"A-{name}", level="house", community=node.parent.parent if node.level == 3 else node.parent, text=f"{name}家", grid=node
    )
    r = Resident(name=name, grid=node)
    r.set_personal("id_number", idn)
    r.set_personal("phone", phone)
    r.save()
    return r, addr


@pytest.fixture
def people(street):
    a, _ = _resident(street["c1g1m1"], "张三丰")
    b, _ = _resident(street["c2g2m2"], "李四光")
    return a, b


def _login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def test_login_page_and_redirect(client, db):
    r = client.get("/")
    assert r.status_code == 302 and r["Location"].startswith("/login/")
    assert "登录" in client.get("/login/").content.decode()


def test_worker_lists_only_residents_of_own_grid(client, street, people):
    worker = make_user("w1", Role.GRID_WORKER, [street["c1g1"]])
    _login(client, worker)
    page = client.get("/records/residents/").content.decode()
    assert "张三丰" in page and "李四光" not in page
    # masked, never plaintext
    assert "13812345678" not in page and "138****5678" in page
    assert client.get(f"/residents/{people[1].pk}/").status_code == 404
    assert client.get(f"/residents/{people[0].pk}/").status_code == 200
    assert client.get(f"/grids/{street['c2g2'].code}/").status_code == 404
    assert client.get(f"/grids/{street['c1g1'].code}/").status_code == 200


def test_search_and_grid_filter(client, street, people):
    leader = make_user("boss", Role.LEADER)
    _login(client, leader)
    page = client.get("/records/residents/", {"q": "李四"}).content.decode()
    assert "李四光" in page and "张三丰" not in page
    page = client.get("/records/residents/", {"grid": street["c1"].code}).content.decode()
    assert "张三丰" in page and "李四光" not in page
    # htmx partial
    part = client.get("/records/residents/", {"q": "张"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in part and "张三丰" in part


def test_residents_and_volunteers_get_no_staff_pages(client, street, people):
    resident = make_user("r1", Role.RESIDENT, [street["c1"]])
    _login(client, resident)
    assert client.get("/records/residents/").status_code == 403
    assert client.get("/").status_code == 302  # to /m/
    assert client.get("/territory/").status_code == 403


def test_home_counts_follow_scope(client, street, people):
    sec = make_user("sec", Role.COMMUNITY_SECRETARY, [street["c2"]])
    _login(client, sec)
    page = client.get("/territory/").content.decode()
    assert "第2社区" in page and "第1社区" not in page


def test_reveal_on_the_page_is_audited_and_scoped(client, street, people):
    from gridgov.core.models import AuditEntry

    worker = make_user("w2", Role.GRID_WORKER, [street["c1g1"]])
    _login(client, worker)
    page = client.get(f"/residents/{people[0].pk}/").content.decode()
    assert "查看（将记录审计）" in page
    r = client.post(f"/residents/{people[0].pk}/reveal/phone/")
    assert r.status_code == 200 and "13812345678" in r.content.decode()
    entry = AuditEntry.objects.get()
    assert (entry.username, entry.action, entry.object_id, entry.fields) == ("w2", "reveal", str(people[0].pk), "phone")
    assert client.post(f"/residents/{people[1].pk}/reveal/phone/").status_code == 404
    # section staff may list but not reveal
    section = make_user("sec1", Role.SECTION_STAFF, [street["street"]])
    client.logout()
    _login(client, section)
    assert "查看（将记录审计）" not in client.get(f"/residents/{people[0].pk}/").content.decode()
    assert client.post(f"/residents/{people[0].pk}/reveal/phone/").status_code == 403
    assert AuditEntry.objects.count() == 1


def test_import_page_all_or_nothing_with_row_errors(client, street, tmp_path, settings):
    settings.DATA_DIR = tmp_path  # the export's file
    from django.core.files.uploadedfile import SimpleUploadedFile

    from gridgov.registry.models import Place

    leader = make_user("boss2", Role.LEADER)
    _login(client, leader)
    assert client.get("/imports/").status_code == 200
    tpl = client.get("/imports/template/places.xlsx")
    assert tpl.status_code == 200 and tpl.content[:2] == b"PK"
    m = street["c1g1m1"]
    csv_text = (
        "场所名称,场所类型,经度,纬度,所属网格\n"
        f"南苑驿站一号,服务驿站,116.383,39.787,{m.code}\n"
        f"坏行,不存在的类型,116.383,39.787,{m.code}\n"
    )
    r = client.post("/imports/", {"kind": "places", "file": SimpleUploadedFile("p.csv", csv_text.encode("utf-8"))})
    page = r.content.decode()
    assert "未写入任何数据" in page and "不存在的类型" in page
    assert Place.objects.count() == 0
    rep = client.get("/imports/errors.xlsx")
    assert rep.status_code == 200 and rep.content[:2] == b"PK"
    good = csv_text.splitlines()[:2]
    r = client.post("/imports/", {"kind": "places", "file": SimpleUploadedFile("p.csv", ("\n".join(good) + "\n").encode("gbk"))})
    assert "导入成功" in r.content.decode(), r.content.decode()
    assert Place.objects.get().name == "南苑驿站一号"
    x = client.post("/exports/", {"kind": "places"})  # an export job: its page, then its file
    assert x.status_code == 302 and x["Location"].startswith("/exports/")
    from gridgov.registry.exporters import run_job

    assert run_job(x["Location"].split("/")[2]).state == "done"
    f = client.get(x["Location"] + "file")
    assert f.status_code == 200 and b"".join(f.streaming_content)[:2] == b"PK"
    assert client.get("/exports/places.xlsx")["Location"] == "/exports/?kind=places"  # the former link
