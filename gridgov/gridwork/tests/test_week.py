"""The week and the month: highlights and the community's pick, monthly summaries from the data,
notes with compare-and-set."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied

from gridgov.cases.models import Notification
from gridgov.gridwork import day, week
from gridgov.gridwork.models import Highlight

from . import world


@pytest.fixture
def w(street, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return world.build(street)


def test_highlights_are_marked_by_the_worker_or_their_leaders_on_the_weeks_monday(w):
    gw = w["gw_c1g1"]
    h = week.mark_highlight(gw, gw, date(2026, 1, 8), "帮独居老人修好水管", now=world.when(2026, 1, 8))
    assert h.week == date(2026, 1, 5) and h.grid_path.endswith("/") and h.community_path == w["street"]["c1"].path
    by_leader = week.mark_highlight(w["gl_c1g1"], gw, date(2026, 1, 9), "夜间巡查发现燃气泄漏")
    assert by_leader.author == w["gl_c1g1"]
    with pytest.raises(PermissionDenied):  # another grid's worker
        week.mark_highlight(w["gw_c2g1"], gw, date(2026, 1, 9), "冒名")
    with pytest.raises(PermissionDenied):  # one worker for another
        week.mark_highlight(w["gw_c1g2"], gw, date(2026, 1, 9), "代标")
    with pytest.raises(week.WeekError):
        week.mark_highlight(gw, gw, date(2025, 1, 9), "任职前")  # no duty that week


def test_one_best_per_community_and_week_and_the_worker_is_told(w):
    gw, gw2, sec = w["gw_c1g1"], w["gw_c1g2"], w["sec_c1"]
    a = week.mark_highlight(gw, gw, date(2026, 1, 8), "调解邻里漏水纠纷")
    b = week.mark_highlight(gw2, gw2, date(2026, 1, 7), "组织楼道清理")
    with pytest.raises(PermissionDenied):
        week.pick_best(gw, a)  # the community picks
    week.pick_best(sec, a)
    assert Notification.objects.filter(recipient=gw, kind="highlight_picked").count() == 1
    week.pick_best(sec, b)  # the pick moves
    picked = Highlight.objects.filter(picked_at__isnull=False)
    assert list(picked) == [b]
    week.unpick(sec, b)
    assert not Highlight.objects.filter(picked_at__isnull=False).exists()
    with pytest.raises(PermissionDenied):
        week.withdraw_highlight(gw2, a)  # only its author
    week.withdraw_highlight(gw, a)
    assert not Highlight.objects.filter(pk=a.pk).exists()


def test_a_months_summary_counts_the_workers_acts_and_the_grids_records(w, street):
    gw = w["gw_c1g1"]
    t = world.when(2026, 3, 2, 9)
    day.record_patrol(gw, [(116.383, 39.787, "wgs84", t, 10), (116.384, 39.787, "wgs84", t + timedelta(minutes=9), 10)],
                      t, t + timedelta(minutes=20))
    day.record_visit(gw, w["house_a"], residents=[(w["elderly"], ""), (w["disabled"], "")],
                     needs=[("health", "想预约上门体检", w["elderly"])], now=t + timedelta(hours=1))
    world.report(gw, t + timedelta(hours=2), grid=street["c1g1m1"])
    world.report(gw, world.when(2026, 4, 1), grid=street["c1g1m1"])  # the next month
    mine = week.figures("2026-03", "worker", [gw.pk])[gw.pk]
    assert (mine["patrols"], mine["patrol_days"], mine["visits"], mine["residents_visited"]) == (1, 1, 1, 2)
    assert (mine["needs"], mine["reports"]) == (1, 1) and mine["patrol_km"] > 0
    grids = week.figures("2026-03", "grid", [street["c1g1"].path, street["c1g2"].path])
    assert grids[street["c1g1"].path]["visits"] == 1 and grids[street["c1g1"].path]["cases"] == 1
    assert grids[street["c1g2"].path]["visits"] == 0
    c1 = week.figures("2026-03", "community", [street["c1"].path])[street["c1"].path]
    assert c1["patrols"] == 1 and c1["reports"] == 1


def test_summaries_are_scoped_and_notes_compare_and_set(w, street):
    gw = w["gw_c1g1"]
    rows = week.summaries(w["staff_c1"], "2026-03", "worker")
    assert {r["username"] for r in rows} == {"gw_c1g1", "gw_c1g2", "gl_c1g1"}  # c1's, not c2g1's
    assert [r["username"] for r in week.summaries(gw, "2026-03", "worker")] == ["gw_c1g1"]  # a worker: own
    grids = week.summaries(w["staff_c1"], "2026-03", "grid")
    assert {g["key"] for g in grids} == {street["c1g1"].path, street["c1g2"].path}
    n = week.annotate(w["staff_c1"], "worker", gw.pk, "2026-03", "本月走访到位", version=0)
    assert n.version == 1
    with pytest.raises(week.Conflict):
        week.annotate(gw, "worker", gw.pk, "2026-03", "补充说明", version=0)  # stale
    n2 = week.annotate(gw, "worker", gw.pk, "2026-03", "补充说明", version=1)  # the worker on their own
    assert n2.version == 2
    with pytest.raises(PermissionDenied):
        week.annotate(w["gw_c2g1"], "grid", street["c1g1"].path, "2026-03", "越权")
    assert week.summary(gw, "worker", gw.pk, "2026-03")["note"]["text"] == "补充说明"


def test_the_week_api(w, street):
    from .world_day import client, post

    gw, sec = w["gw_c1g1"], w["sec_c1"]
    r = post(client(gw), "/api/gridwork/week/highlights", {"week": "2026-01-08", "title": "入户发现燃气隐患"})
    assert r.status_code == 201, r.content
    hid = r.json()["id"]
    assert r.json()["week"] == "2026-01-05"
    assert post(client(gw), f"/api/gridwork/week/highlights/{hid}/pick", {}).status_code == 403
    assert post(client(sec), f"/api/gridwork/week/highlights/{hid}/pick", {}).json()["picked"] is True
    assert client(w["gw_c2g1"]).get("/api/gridwork/week/highlights").json() == []
    rows = client(sec).get("/api/gridwork/week/summaries", {"month": "2026-01", "subject": "grid"}).json()["rows"]
    assert {x["key"] for x in rows} == {street["c1g1"].path, street["c1g2"].path}
    assert client(sec).get("/api/gridwork/week/summaries", {"month": "2026-Q1"}).status_code == 400
    r = post(client(sec), "/api/gridwork/week/summaries/note", {"subject": "grid", "key": street["c1g1"].path,
                                                                 "month": "2026-01", "text": "本月亮点突出"})
    assert r.status_code == 200 and r.json()["version"] == 1
    one = client(sec).get("/api/gridwork/week/summaries/one", {"subject": "grid", "key": street["c1g1"].path,
                                                                "month": "2026-01"}).json()
    assert one["note"]["text"] == "本月亮点突出" and one["figures"]["highlights"] == 1 and one["figures"]["picked"] == 1
    assert client(gw).get("/api/gridwork/week/summaries/one", {"subject": "grid", "key": street["c1g1"].path,
                                                               "month": "2026-01"}).status_code == 404


def test_the_week_pages(w, street):
    from .world_day import client

    gw, sec = w["gw_c1g1"], w["sec_c1"]
    h = week.mark_highlight(gw, gw, date(2026, 1, 8), "帮独居老人修水管")
    page = client(sec).get("/gridwork/week/", {"week": "2026-01-05"})
    assert page.status_code == 200 and "帮独居老人修水管" in page.content.decode()
    r = client(sec).post(f"/gridwork/week/highlights/{h.pk}/pick/")
    assert r.status_code == 302 and Highlight.objects.get(pk=h.pk).picked_at
    month = client(sec).get("/gridwork/week/month/", {"month": "2026-01", "subject": "grid"})
    assert month.status_code == 200 and street["c1g1"].name in month.content.decode()
    url = f"/gridwork/week/summary/?subject=grid&key={street['c1g1'].path}&month=2026-01"
    assert client(sec).post(url, {"text": "亮点突出", "version": 0}).status_code == 302
    assert "亮点突出" in client(sec).get(url).content.decode()
    assert client(w["gw_c2g1"]).get(url).status_code == 404
    phone = client(gw).post("/m/gridwork/week/", {"week": "2026-01-12", "title": "清理楼道"})
    assert phone.status_code == 302 and Highlight.objects.filter(title="清理楼道", worker=gw).exists()
    assert client(gw).get("/m/gridwork/week/").status_code == 200
