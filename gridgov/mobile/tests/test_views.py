"""The H5 pages through the test client: registration, login by phone, report page, my cases,
rating, volunteer tasks."""

import re
import uuid

import pytest

from gridgov.accounts.models import Role, User
from gridgov.cases import services
from gridgov.cases.models import Case, Rating, State
from gridgov.testing import make_user, sent_code

from .conftest import P_C1G1

PASSWORD = "a-long-test-password-1"


def test_register_keeps_the_phone_encrypted_and_logs_in_by_phone(client, db):
    r = client.post("/m/register/", {"phone": "13912345678", "display_name": "", "password": "garden-path-2024", "password2": "garden-path-2024"})
    assert r.status_code == 302 and r["Location"] == "/m/register/"
    r = client.post("/m/register/", {"code": sent_code("13912345678")})  # the code sent to the phone
    assert r.status_code == 302 and r["Location"] == "/m/"
    user = User.objects.get(phone_masked="139****5678")
    assert user.role == Role.RESIDENT and "13912345678" not in (user.username + user.phone_enc + user.display_name)
    from gridgov.core.crypto import decrypt

    assert decrypt(user.phone_enc) == "13912345678"
    client.logout()
    # the same phone cannot register twice (the page does not say so: the phone's owner is told)
    client.post("/m/register/", {"phone": "13912345678", "password": "garden-path-2024", "password2": "garden-path-2024"})
    r = client.post("/m/register/", {"code": "123456"})
    assert "验证码不正确" in r.content.decode() and User.objects.filter(role=Role.RESIDENT).count() == 1
    client.get("/m/register/?restart=1")
    r = client.post("/m/login/", {"username": "13912345678", "password": "garden-path-2024"})
    assert r.status_code == 302 and r["Location"] == "/m/"
    assert client.get("/m/").status_code == 200


def test_register_rejects_bad_phone_and_weak_or_mismatched_passwords(client, db):
    page = client.post("/m/register/", {"phone": "1234", "password": "garden-path-2024", "password2": "other-path-2024"}).content.decode()
    assert "11位手机号" in page and "不一致" in page
    page = client.post("/m/register/", {"phone": "13912345678", "password": "1234567890", "password2": "1234567890"}).content.decode()
    assert "role=\"alert\"" in page and not User.objects.exists()


def test_login_is_throttled_like_staff_login(client, db):
    make_user("resident1", Role.RESIDENT)
    for _ in range(12):
        r = client.post("/m/login/", {"username": "resident1", "password": "wrong-password-1"})
    assert r.status_code == 429 and int(r["Retry-After"]) > 0
    assert "次" in r.content.decode() or "稍后" in r.content.decode()
    r = client.post("/m/login/", {"username": "resident1", "password": PASSWORD})
    assert r.status_code == 429  # still throttled from this address


def test_pages_need_login_and_report_page_has_no_inline_script(client, people):
    assert client.get("/m/cases/")["Location"].startswith("/m/login/")
    assert 'action="/m/signin/"' in client.get("/m/").content.decode()  # the report page: number and code first
    client.force_login(people["resident"])
    page = client.get("/m/").content.decode()
    assert "路灯" in page and 'id="outline"' in page and "data-leaflet-js" in page
    # CSP: scripts only from files; the only inline <script> is a JSON data block
    for tag in re.findall(r"<script[^>]*>", page):
        assert "src=" in tag or 'type="application/json"' in tag
    assert " onclick=" not in page and " onload=" not in page
    assert "script-src 'self'" in client.get("/m/")["Content-Security-Policy"]


def test_my_cases_timeline_and_rating(client, people, report):
    case = report()
    other = report(text="楼道里堆满杂物", user=people["neighbour"])
    client.force_login(people["resident"])
    page = client.get("/m/cases/").content.decode()
    assert case.number in page and other.number not in page
    assert client.get(f"/m/cases/{other.pk}/").status_code == 404
    page = client.get(f"/m/cases/{case.pk}/").content.decode()
    assert "提交上报" in page and "提交评价" not in page
    # not ratable yet: the service says why, inline
    r = client.post(f"/m/cases/{case.pk}/rate/", {"score": "satisfied"})
    assert r.status_code == 400 and "状态已变化" in r.content.decode()
    services.accept(case, people["gl"])
    services.resolve(case, people["gl"], "已更换灯泡")
    services.verify(case, people["sec"])
    page = client.get(f"/m/cases/{case.pk}/").content.decode()
    assert "提交评价" in page and "满意" in page and "基本满意" in page and "不满意" in page
    r = client.post(f"/m/cases/{case.pk}/rate/", {"score": "satisfied", "comment": "很快"})
    assert r.status_code == 302
    assert Rating.objects.get(case=case).comment == "很快"
    page = client.get(r["Location"]).content.decode()
    assert "谢谢您的评价" in page and "提交评价" not in page


def test_volunteer_grabs_the_nearest_task(client, people, report):
    from gridgov.cases.models import Item

    Item.objects.update(volunteer_grabbable=True)
    near = report(text="小区门口的路灯坏了，晚上一片漆黑")
    far = report(text="路边的路灯不亮了", point=(116.391, 39.785))
    assert Case.objects.filter(grabbable=True).count() == 2
    client.force_login(people["vol"])
    page = client.get("/m/tasks/", {"lon": P_C1G1[0], "lat": P_C1G1[1]}).content.decode()
    assert page.index(f"/m/tasks/{near.pk}/grab/") < page.index(f"/m/tasks/{far.pk}/grab/")
    assert client.post(f"/m/tasks/{near.pk}/grab/").status_code == 302
    near.refresh_from_db()
    assert near.state == State.ACCEPTED and near.grabbed_by == people["vol"]
    # grabbed: gone from the free list, shown as mine; a second grab is refused inline
    page = client.get("/m/tasks/").content.decode()
    assert f"/m/tasks/{near.pk}/grab/" not in page and f"/m/tasks/{near.pk}/resolve/" in page
    client.force_login(make_user("vol2", Role.VOLUNTEER))
    assert client.post(f"/m/tasks/{near.pk}/grab/").status_code == 404  # no longer visible to others
    client.force_login(people["resident"])
    assert client.get("/m/tasks/").status_code == 403


def test_report_via_api_with_idempotency_key_is_filed_once(client, people):
    client.force_login(people["resident"])
    key = str(uuid.uuid4())
    data = {"text": "小区门口的路灯坏了", "lon": 116.392, "lat": 39.787, "crs": "gcj02", "idempotency_key": key}
    assert client.post("/api/cases/", data, headers={"Idempotency-Key": key}).status_code == 201
    assert client.post("/api/cases/", data, headers={"Idempotency-Key": key}).status_code == 200
    case = Case.objects.get()
    assert case.crs_in == "gcj02" and case.grid is not None and case.lon < 116.392  # converted to WGS-84


@pytest.mark.parametrize("ua,crs", [("Mozilla/5.0 MicroMessenger/8.0.50", "gcj02"), ("Mozilla/5.0 Safari", "wgs84")])
def test_crs_rule_is_in_the_phone_script(ua, crs):
    # the rule lives in common.js; keep the regexp and the two answers in sync with the issue
    from pathlib import Path

    js = (Path(__file__).resolve().parents[1] / "static" / "mobile" / "common.js").read_text()
    assert '/MicroMessenger/i.test(ua) ? "gcj02" : "wgs84"' in js
    assert (("MicroMessenger" in ua) and "gcj02" or "wgs84") == crs
