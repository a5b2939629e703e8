"""A summoned department works on its pages (issue 17, item 2): section staff see their
department's work on the workbench (not the whole street their scope reads), a page of their
summonses with the time left, overdue ones and past reports, and report back (报到) there or on
the case page, through `services.report_back`."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.models import Duty, Role
from gridgov.cases import services
from gridgov.cases.models import Clock, Summons
from gridgov.testing import make_user

from .test_workbench import P_C1G1, P_C2G2, fast_passwords_and_scratch_media, people  # noqa: F401 (fixtures)

HX = {"HX-Request": "true"}
DEP = "城市管理办公室"


@pytest.fixture
def staff(people, street):
    """The workbench tests' people, and two section staff assigned (as in the demo) to the
    street, so that the access table lets them read every case of it."""
    for name, dep in (("section", DEP), ("other", "平安建设办公室")):
        people[name] = make_user(name, Role.SECTION_STAFF, [street["street"]], duty=Duty.STAFF)
        people[name].department = dep
        people[name].save()
    return people


def _report(staff, text="小区门口的路灯坏了，晚上一片漆黑", point=P_C1G1):
    case, _ = services.submit_case(reporter=staff["resident"], channel="resident", text=text, lon=point[0], lat=point[1])
    return case


@pytest.fixture
def work(staff):
    """A case summoning the department, one routed to it, and one that is neither."""
    summoned = _report(staff)
    services.summon(summoned, staff["sec"], [DEP], "需更换灯杆", hours=4)
    routed = _report(staff, "井盖丢了，路上有个大坑")
    services.reroute(routed, staff["sec"], handler_user=staff["section"], note="城管负责")
    elsewhere = _report(staff, "楼道里堆满杂物，堵住了消防通道", point=P_C2G2)
    return {"summoned": summoned, "routed": routed, "elsewhere": elsewhere}


def test_section_staff_workbench_lists_their_departments_work_not_the_street(client, staff, work):
    client.force_login(staff["section"])
    page = client.get("/", {"state": "all"}).content.decode()
    assert work["summoned"].number in page and work["routed"].number in page
    assert work["elsewhere"].number not in page  # in their scope, but not their department's
    assert "共 2 件" in page
    # the routed case is theirs to handle in one click; the header and the workbench lead to
    # the summonses
    assert f'hx-post="/cases/{work["routed"].pk}/act/accept/"' in page
    assert 'href="/summons/"' in page and "1 件吹哨待报到" in page
    # another department sees neither
    client.force_login(staff["other"])
    page = client.get("/", {"state": "all"}).content.decode()
    assert work["summoned"].number not in page and work["routed"].number not in page


def test_summons_page_shows_open_summonses_with_clock_and_reports_back(client, staff, work):
    s = Summons.objects.get(case=work["summoned"])
    client.force_login(staff["section"])
    page = client.get("/summons/").content.decode()
    assert work["summoned"].number in page and "需更换灯杆" in page and "报到时限" in page
    assert 'class="clock ok"' in page and f'action="/summons/{s.pk}/report/"' in page
    assert "还没有报到记录" in page
    # an empty report is refused inline, a real one stops the clock and moves to the history
    r = client.post(f"/summons/{s.pk}/report/", {"report": "", "from": "list"}, headers=HX)
    assert 'role="alert"' in r.content.decode()
    r = client.post(f"/summons/{s.pk}/report/", {"report": "已派人更换灯杆", "from": "list"}, headers=HX)
    html = r.content.decode()
    assert html.startswith(f'<li id="summons-{s.pk}"') and "已派人更换灯杆" in html and "<form" not in html
    s.refresh_from_db()
    assert s.reported_by == staff["section"] and s.report == "已派人更换灯杆"
    assert Clock.objects.get(summons=s).state == "stopped"
    page = client.get("/summons/").content.decode()
    assert "没有待报到的吹哨" in page and "已派人更换灯杆" in page and "按时完成" in page
    assert work["summoned"].events.filter(action="report_back").count() == 1


def test_summons_page_shows_overdue_summonses(client, staff, work):
    s = Summons.objects.get(case=work["summoned"])
    past = timezone.now() - timedelta(hours=3)
    Summons.objects.filter(pk=s.pk).update(due_at=past)
    Clock.objects.filter(summons=s).update(due_at=past, warn_at=past - timedelta(hours=1))
    client.force_login(staff["section"])
    page = client.get("/summons/").content.decode()
    assert "1 件已超时" in page and 'class="clock late"' in page and "row-late" in page


def test_another_department_may_not_report_back(client, staff, work):
    s = Summons.objects.get(case=work["summoned"])
    client.force_login(staff["other"])
    page = client.get("/summons/").content.decode()
    assert work["summoned"].number not in page
    r = client.post(f"/summons/{s.pk}/report/", {"report": "不是我们", "from": "list"}, headers=HX)
    assert "无权操作" in r.content.decode()
    assert Summons.objects.get(pk=s.pk).reported_at is None
    # a resident gets nothing
    client.force_login(staff["resident"])
    assert client.post(f"/summons/{s.pk}/report/", {"report": "x"}).status_code == 403


def test_report_back_from_the_case_page(client, staff, work):
    case = work["summoned"]
    s = Summons.objects.get(case=case)
    client.force_login(staff["section"])
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert f'hx-post="/summons/{s.pk}/report/"' in page and 'data-action="report_back"' in page
    r = client.post(f"/summons/{s.pk}/report/", {"report": "灯杆已换", "from": "case"}, headers=HX)
    assert r["HX-Refresh"] == "true"
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "灯杆已换" in page and 'data-action="report_back"' not in page
    # a plain form post (no script) goes back to the case page
    s2 = services.summon(case, staff["sec"], [DEP], "再来一次")[0]
    r = client.post(f"/summons/{s2.pk}/report/", {"report": "又来了", "from": "case"})
    assert r.status_code == 302 and r["Location"] == f"/cases/{case.pk}/"
    assert Summons.objects.get(pk=s2.pk).report == "又来了"


def test_summons_history_is_paged(client, staff, work):
    now = timezone.now()
    Summons.objects.bulk_create([
        Summons(case=work["summoned"], department=DEP, at=now, due_at=now, reported_at=now, report=f"第{i}次报到", reported_by=staff["section"])
        for i in range(31)])
    client.force_login(staff["section"])
    page = client.get("/summons/").content.decode()
    assert "第 1 / 2 页" in page and 'href="?page=2"' in page
    assert "第 2 / 2 页" in client.get("/summons/", {"page": 2}).content.decode()
