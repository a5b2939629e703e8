"""Staff on the phone (issue 17, item 3): a grid worker's list of the cases that need them, and
on a case accept, arrive, resolve with a note and photos, return with a reason — through the
same services as the API, each button shown when `services.may_act` allows it."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from gridgov.accounts.models import Duty, Role
from gridgov.cases import services
from gridgov.cases.models import Case, State
from gridgov.cases.tests.images import jpeg_with_gps
from gridgov.testing import make_user

P_C2G2 = (116.397, 39.782)


@pytest.fixture
def staff(people, street):
    people["worker"] = make_user("worker", Role.GRID_WORKER, [street["c1g1"]])
    people["section"] = make_user("section", Role.SECTION_STAFF, [street["street"]], duty=Duty.STAFF)
    people["section"].department = "城市管理办公室"
    people["section"].save()
    return people


def test_staff_see_the_cases_that_need_them_with_the_work_tab(client, staff, report):
    mine = report()  # routed to the grid leader of c1g1
    theirs = report(text="楼道里堆满杂物，堵住了消防通道", point=P_C2G2, user=staff["neighbour"])
    done = report(text="路灯又坏了")
    services.accept(done, staff["gl"])
    services.resolve(done, staff["gl"], "换了灯泡")
    client.force_login(staff["gl"])
    page = client.get("/m/work/").content.decode()
    assert 'href="/m/work/"' in page  # the tab
    assert f"/m/cases/{mine.pk}/" in page and "state done mine" in page and "受理 剩" in page
    assert f"/m/cases/{theirs.pk}/" not in page  # another community's
    assert f"/m/cases/{done.pk}/" not in page  # resolved: nothing left for them
    assert "共 1 件" in page
    # a grid worker of the grid sees it too (staff of the grid handle its cases), not as theirs
    client.force_login(staff["worker"])
    page = client.get("/m/work/").content.decode()
    assert f"/m/cases/{mine.pk}/" in page and "state done mine" not in page
    assert f"/m/cases/{mine.pk}/" not in client.get("/m/work/", {"mine": "1"}).content.decode()
    # section staff: only their department's (not the street their scope reads)
    client.force_login(staff["section"])
    assert f"/m/cases/{mine.pk}/" not in client.get("/m/work/").content.decode()
    services.reroute(mine, staff["sec"], handler_user=staff["section"], note="城管负责")
    assert f"/m/cases/{mine.pk}/" in client.get("/m/work/").content.decode()
    # residents and volunteers have no work list, and no tab
    client.force_login(staff["resident"])
    assert client.get("/m/work/").status_code == 403
    assert 'href="/m/work/"' not in client.get("/m/cases/").content.decode()


def test_accept_arrive_resolve_with_note_and_photos_on_the_phone(client, staff, report):
    case = report()
    client.force_login(staff["gl"])
    page = client.get(f"/m/cases/{case.pk}/").content.decode()
    assert 'data-action="accept"' in page and 'data-action="arrive"' not in page and 'data-action="return"' in page
    r = client.post(f"/m/cases/{case.pk}/act/accept/")
    assert r.status_code == 302 and r["Location"] == f"/m/cases/{case.pk}/?done=accept"
    page = client.get(r["Location"]).content.decode()
    assert "已受理" in page and 'data-action="arrive"' in page and 'data-action="accept"' not in page
    # a stale second click: the compare-and-set refuses, shown on the page
    r = client.post(f"/m/cases/{case.pk}/act/accept/")
    assert r.status_code == 400 and "状态已变化" in r.content.decode()
    client.post(f"/m/cases/{case.pk}/act/arrive/")
    assert Case.objects.get(pk=case.pk).state == State.ON_SITE
    photo = SimpleUploadedFile("done.jpg", jpeg_with_gps(), content_type="image/jpeg")
    r = client.post(f"/m/cases/{case.pk}/act/resolve/", {"note": "已更换灯泡", "photos": [photo]})
    assert r.status_code == 302
    case.refresh_from_db()
    assert case.state == State.RESOLVED and case.resolved_by == staff["gl"]
    assert case.events.get(action="resolve").note == "已更换灯泡"
    p = case.photos.get(stage="resolve")
    with p.file.open("rb") as f:
        assert b"SecretCam" not in f.read()  # the upload path of the reports: re-encoded, no EXIF
    page = client.get(f"/m/cases/{case.pk}/").content.decode()
    assert "已更换灯泡" in page and 'data-action="resolve"' not in page


def test_photo_limits_and_return_with_a_reason(client, staff, report, settings):
    case = report()
    client.force_login(staff["gl"])
    client.post(f"/m/cases/{case.pk}/act/accept/")
    bad = SimpleUploadedFile("x.jpg", b"not an image", content_type="image/jpeg")
    r = client.post(f"/m/cases/{case.pk}/act/resolve/", {"note": "好了", "photos": [bad]})
    assert r.status_code == 400 and 'role="alert"' in r.content.decode()
    assert Case.objects.get(pk=case.pk).state == State.ACCEPTED
    # returning needs a reason
    r = client.post(f"/m/cases/{case.pk}/act/return/", {"note": ""})
    assert r.status_code == 400 and Case.objects.get(pk=case.pk).state == State.ACCEPTED
    r = client.post(f"/m/cases/{case.pk}/act/return/", {"note": "不在本网格"})
    assert r.status_code == 302 and r["Location"] == "/m/work/?done=return"
    case.refresh_from_db()
    assert case.state == State.RETURNED and case.events.get(action="return").note == "不在本网格"


def test_buttons_and_doors_follow_the_permission(client, staff, report):
    case = report()
    # the secretary of another community: not their work, no page, no act
    client.force_login(staff["sec2"])
    assert client.get(f"/m/cases/{case.pk}/").status_code == 404
    assert client.post(f"/m/cases/{case.pk}/act/accept/").status_code == 404
    # the reporter sees their case without staff buttons, and may not act through this door
    client.force_login(staff["resident"])
    page = client.get(f"/m/cases/{case.pk}/").content.decode()
    assert "data-action=" not in page
    assert client.post(f"/m/cases/{case.pk}/act/accept/").status_code == 404
    # section staff reading the street see the case but may not handle it: no buttons, refused
    client.force_login(staff["section"])
    page = client.get(f"/m/cases/{case.pk}/").content.decode()
    assert "data-action=" not in page
    r = client.post(f"/m/cases/{case.pk}/act/accept/")
    assert r.status_code == 400 and "无权操作" in r.content.decode()
    assert Case.objects.get(pk=case.pk).state == State.DISPATCHED
