"""The workbench (home page) and a case's page through the test client: scope, clocks, the
one-click HTMX actions and their inline errors."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from gridgov.accounts.models import Duty, GridAssignment, Role
from gridgov.cases import services
from gridgov.cases.models import Case, Clock, State
from gridgov.cases.tests.conftest import PNG
from gridgov.testing import make_user

P_C1G1 = (116.383, 39.787)
P_C2G2 = (116.397, 39.782)
HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def fast_passwords_and_scratch_media(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def people(street):
    from gridgov.cases.taxonomy import seed_taxonomy

    seed_taxonomy()
    p = {
        "gl": make_user("gl", Role.GRID_LEADER, [street["c1g1"]], duty=Duty.LEADER),
        "sec": make_user("sec", Role.COMMUNITY_SECRETARY, [street["c1"]], duty=Duty.SECRETARY),
        "sec2": make_user("sec2", Role.COMMUNITY_SECRETARY, [street["c2"]], duty=Duty.SECRETARY),
        "resident": make_user("resident", Role.RESIDENT),
    }
    GridAssignment.objects.create(user=make_user("principal", Role.LEADER), node=street["street"], duty=Duty.SECRETARY)
    return p


def _report(people, text="小区门口的路灯坏了，晚上一片漆黑", point=P_C1G1, **kw):
    case, _ = services.submit_case(reporter=people["resident"], channel="resident", text=text, lon=point[0], lat=point[1], **kw)
    return case


def test_home_is_the_workbench_in_scope(client, people):
    mine = _report(people)
    theirs = _report(people, "楼道里堆满杂物，堵住了消防通道", point=P_C2G2)
    client.force_login(people["gl"])
    page = client.get("/").content.decode()
    assert "工作台" in page and mine.number in page and theirs.number not in page
    assert 'href="/territory/"' in page
    assert client.get(f"/cases/{theirs.pk}/").status_code == 404
    client.force_login(people["resident"])
    r = client.get("/")
    assert r.status_code == 302 and r["Location"] == "/m/"  # residents are sent to their phone pages


def test_clocks_show_time_left_amber_past_80_percent_and_red_when_breached(client, people):
    case = _report(people)
    client.force_login(people["gl"])
    page = client.get("/").content.decode()
    assert 'class="clock ok"' in page and "受理 剩" in page
    now = timezone.now()
    accept = Clock.objects.get(case=case, kind="accept")
    Clock.objects.filter(pk=accept.pk).update(warn_at=now - timedelta(seconds=5), due_at=now + timedelta(minutes=3))
    page = client.get("/").content.decode()
    assert 'class="clock warn"' in page
    Clock.objects.filter(pk=accept.pk).update(due_at=now - timedelta(hours=2, minutes=5))
    page = client.get("/").content.decode()
    assert 'class="clock late"' in page and "已超时2小时5分" in page and "1 件已超时" in page


def test_row_actions_accept_arrive_resolve_and_conflict_inline(client, people):
    case = _report(people)
    client.force_login(people["gl"])
    r = client.post(f"/cases/{case.pk}/act/accept/", {"from": "row"}, headers=HX)
    html = r.content.decode()
    assert r.status_code == 200 and html.startswith(f'<tr id="case-{case.pk}"') and "已受理" in html
    assert 'data-action="arrive"' in html and 'data-action="accept"' not in html
    # a stale second click: the compare-and-set refuses, shown in the row
    html = client.post(f"/cases/{case.pk}/act/accept/", {"from": "row"}, headers=HX).content.decode()
    assert 'role="alert"' in html and "状态已变化" in html
    client.post(f"/cases/{case.pk}/act/arrive/", {"from": "row"}, headers=HX)
    # resolving on site says what was done, with a photo of the result (the row's form)
    html = client.post(f"/cases/{case.pk}/act/resolve/", {"from": "row"}, headers=HX).content.decode()
    assert 'role="alert"' in html and "请填写处置说明" in html and 'name="photos"' in html and " required>" in html
    html = client.post(f"/cases/{case.pk}/act/resolve/", {"from": "row", "note": "已更换灯泡"}, headers=HX).content.decode()
    assert "须上传处置后的照片" in html
    photo = SimpleUploadedFile("done.png", PNG, content_type="image/png")
    client.post(f"/cases/{case.pk}/act/resolve/", {"from": "row", "note": "已更换灯泡", "photos": [photo]}, headers=HX)
    case.refresh_from_db()
    assert case.state == State.RESOLVED and case.resolved_by == people["gl"]
    # the resolver may not verify; the secretary can, in one click
    html = client.get("/").content.decode()
    assert 'data-action="verify"' not in html
    client.force_login(people["sec"])
    assert 'data-action="verify"' in client.get("/").content.decode()
    client.post(f"/cases/{case.pk}/act/verify/", {"from": "row"}, headers=HX)
    case.refresh_from_db()
    assert case.state == State.VERIFIED


def test_case_page_shows_history_routing_reason_and_followers(client, people):
    case = _report(people, photos=[], address="3号楼东侧")
    client.force_login(people["sec"])
    page = client.get(f"/cases/{case.pk}/").content.decode()
    for text in ("办理经过", "提交上报", "派单", "派单依据", "第1社区第1网格", "路灯", "resident", "3号楼东侧"):
        assert text in page, text
    # return, escalate from the page: HTMX reloads on success, errors inline
    r = client.post(f"/cases/{case.pk}/act/escalate/", {"note": "需社区协调"}, headers=HX)
    assert r.status_code == 200 and r["HX-Refresh"] == "true"
    assert Case.objects.get(pk=case.pk).state == State.ESCALATED
    r = client.post(f"/cases/{case.pk}/act/verify/", headers=HX)
    assert "状态已变化" in r.content.decode() and "HX-Refresh" not in r
    # a plain form post (no script) redirects back to the page
    assert client.post(f"/cases/{case.pk}/act/accept/")["Location"] == f"/cases/{case.pk}/"
    assert Case.objects.get(pk=case.pk).state == State.ACCEPTED


def test_summon_and_merge_from_the_case_page(client, people):
    a = _report(people)
    b = _report(people, "门口路灯不亮，晚上看不见路")
    client.force_login(people["sec"])
    r = client.post(f"/cases/{a.pk}/act/summon/", {"departments": ["城市管理办公室"], "note": "需更换灯杆"}, headers=HX)
    assert r["HX-Refresh"] == "true" and a.summons.count() == 1
    r = client.post(f"/cases/{b.pk}/act/merge/", {"target": "no-such"}, headers=HX)
    assert "找不到" in r.content.decode()
    r = client.post(f"/cases/{b.pk}/act/merge/", {"target": a.number}, headers=HX)
    b.refresh_from_db()
    assert b.state == State.MERGED and b.merged_into == a
    page = client.get(f"/cases/{a.pk}/").content.decode()
    assert "并入相同事件" in page and "吹哨报到" in page


def test_filters_by_state_and_mine(client, people):
    a = _report(people)
    b = _report(people, "楼道里堆满杂物，堵住了消防通道")
    client.force_login(people["gl"])
    services.accept(a, people["gl"])
    page = client.get("/", {"state": "accepted"}).content.decode()
    assert a.number in page and b.number not in page
    page = client.get("/", {"state": "all", "mine": "1"}).content.decode()
    assert a.number in page and b.number in page  # both routed to the grid leader
    client.force_login(people["sec"])
    assert b.number in client.get("/").content.decode()
    assert b.number not in client.get("/", {"mine": "1"}).content.decode()


def test_photos_are_served_only_to_those_who_see_the_case(client, people, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from gridgov.cases.tests.images import jpeg_with_gps

    jpeg = jpeg_with_gps()
    case = _report(people, photos=[SimpleUploadedFile("a.jpg", jpeg, content_type="image/jpeg")])
    photo = case.photos.get()
    client.force_login(people["resident"])
    served = b"".join(client.get(f"/cases/{case.pk}/photos/{photo.pk}/").streaming_content)
    assert served[:3] == b"\xff\xd8\xff" and b"SecretCam" not in served  # the re-encoded copy, no EXIF
    client.force_login(people["sec2"])
    assert client.get(f"/cases/{case.pk}/photos/{photo.pk}/").status_code == 404
