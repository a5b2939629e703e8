"""The duty pages: /duties/ (list, filters, assign, end), /duties/coverage/, and the grid page's
people in force and duty history."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from gridgov.accounts.models import Duty, GridAssignment, Role
from gridgov.cases.models import Case, CaseEvent
from gridgov.testing import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def client(user):
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def w(street):
    return {
        "sec": make_user("sec", Role.COMMUNITY_SECRETARY, [street["c1"]], duty=Duty.SECRETARY),
        "gl": make_user("gl", Role.GRID_LEADER, [street["c1g1"]], duty=Duty.LEADER),
        "gw": make_user("gw", Role.GRID_WORKER),
        "gw2": make_user("gw2", Role.GRID_WORKER, [street["c2g1"]], duty=Duty.WORKER),
    }


def test_assign_and_end_on_the_page(street, w):
    c = client(w["sec"])
    page = c.get("/duties/").content.decode()
    assert 'href="/duties/"' in page and "任命职务" in page
    assert "gw2" not in page.split("任命职务")[0]  # another community's duty is not listed
    assert street["c2g1"].code not in page.split('id="a-grid"')[1].split("</select>")[0]  # nor offered
    resp = c.post("/duties/assign/", {"user": w["gw"].pk, "grid": street["c1g1"].code, "duty": "worker",
                                      "since": (timezone.localdate() - timedelta(days=10)).isoformat(), "next": "/duties/"})
    assert resp.status_code == 302
    a = GridAssignment.objects.get(user=w["gw"])
    now = timezone.now()
    case = Case.objects.create(channel="patrol", text="路灯不亮", grid=street["c1g1m1"], grid_path=street["c1g1m1"].path,
                               state="accepted", handler_user=w["gw"], number="P0001", created_at=now, updated_at=now)
    page = c.get(f"/duties/?grid={street['c1g1'].code}&end={a.pk}").content.decode()
    assert f'action="/duties/{a.pk}/end/"' in page
    yesterday = timezone.localdate() - timedelta(days=1)
    resp = c.post(f"/duties/{a.pk}/end/", {"until": yesterday.isoformat(), "successor": "", "note": "离职"}, follow=True)
    assert "移交在办事件 1 件" in resp.content.decode(), resp.content.decode().split("<main>")[1][:1500]
    assert Case.objects.get(pk=case.pk).handler_user == w["gl"]
    assert CaseEvent.objects.filter(case=case, action="hand_over").exists()
    # today's list no longer has them; the history does; so does the grid page
    assert "gw</small>" not in c.get("/duties/").content.decode()
    assert "gw</small>" in c.get("/duties/?all=1").content.decode()
    grid_page = c.get(f"/grids/{street['c1g1'].code}/").content.decode()
    assert "职务记录" in grid_page and "离职" in grid_page
    people = grid_page.split("负责人")[1].split("职务记录")[0]
    assert "gl" in people and ">gw<" not in people and "：gw" not in people
    # the case page shows the hand-over
    assert "离岗移交" in client(w["gl"]).get(f"/cases/{case.pk}/").content.decode()
    # an error is shown, not a 500: ended twice
    resp = c.post(f"/duties/{a.pk}/end/", {"until": yesterday.isoformat()}, follow=True)
    assert "该职务已结束" in resp.content.decode()


def test_who_gets_the_pages(street, w):
    assert client(w["gw2"]).get("/duties/").status_code == 200  # may list their grid's duties
    assert "任命职务" not in client(w["gw2"]).get("/duties/").content.decode()
    assert client(w["gw2"]).post("/duties/assign/", {"user": w["gw"].pk, "grid": street["c2g1"].code,
                                                     "duty": "worker"}).status_code == 403
    other = GridAssignment.objects.get(user=w["gw2"])
    assert client(w["sec"]).post(f"/duties/{other.pk}/end/", {}).status_code == 404  # another community's
    assert client(make_user("prop", Role.PROPERTY_STAFF)).get("/duties/").status_code == 403
    assert client(make_user("res", Role.RESIDENT)).get("/duties/coverage/").status_code == 403


def test_coverage_page(street, w):
    page = client(w["sec"]).get("/duties/coverage/").content.decode()
    # the secretary's community only: c1g2 lacks a leader, both lack a worker and a party org
    assert street["c1g2"].name in page and street["c2g2"].name not in page
    assert "无网格员的网格" in page
    admin = make_user("adm", Role.ADMIN)
    page = client(admin).get("/duties/coverage/?at=2020-01-01").content.decode()
    assert street["c2g2"].name in page and "2020-01-01" in page


def test_duty_pages_in_english(street, w):
    from gridgov.web.tests.test_i18n import EN, leftover_chinese

    c = client(w["sec"])
    a = GridAssignment.objects.get(user=w["gl"])
    data = [n.name for n in street.values()] + ["sec", "gl", "gw", "gw2"]
    for url in ("/duties/", f"/duties/?all=1&end={a.pk}", "/duties/coverage/", f"/grids/{street['c1g1'].code}/"):
        page = c.get(url, **EN).content.decode()
        assert leftover_chinese(page, data) == [], url
