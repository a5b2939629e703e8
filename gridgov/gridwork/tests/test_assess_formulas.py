"""The assessment's formulas on data built so that the answer is known (2026-Q1: 90 days), the
workload adjustment, the sample rule, recomputing an old quarter after new events, and a worker
who changed grids mid-quarter assessed by the days served in each."""

import json
from datetime import date, timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.test import override_settings

from gridgov.accounts import duties
from gridgov.cases import services as cases
from gridgov.cases.models import Item
from gridgov.cases.workcal import WorkCalendar
from gridgov.gridwork import assess, day
from gridgov.gridwork.models import Dispute, DisputeEvent, LeaderMark, Patrol

from . import world

Q1 = "2026-Q1"
P_C1G1 = (116.383, 39.787)  # inside micro-grid c1g1m1 (cases.tests.conftest)


@pytest.fixture
def w(street, settings, tmp_path):
    from gridgov.cases.taxonomy import seed_taxonomy

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path / "media")
    seed_taxonomy()
    return world.build(street)


def row(data, username):
    return next(r for r in data["workers"] if r["username"] == username)


def fig(data, username, formula):
    f = row(data, username)["indicators"][formula]
    return f["numerator"], f["denominator"]


def file(worker, at, point=P_C1G1, item=None):
    case, _ = cases.submit_case(reporter=worker, channel="patrol", text="楼道灯坏了，晚上看不清", lon=point[0],
                                lat=point[1], item=item, now=at)
    return case


def test_valid_reports_count_rejections_up_to_the_quarters_end(w):
    gw, sec = w["gw_c1g1"], w["sec_c1"]
    a = file(gw, world.when(2026, 1, 5))
    file(gw, world.when(2026, 2, 5))
    b = file(gw, world.when(2026, 3, 5))
    file(gw, world.when(2026, 4, 2))  # next quarter
    with mock.patch("django.utils.timezone.now", return_value=world.when(2026, 1, 6)):
        cases.reject(a, sec, "重复上报")
    with mock.patch("django.utils.timezone.now", return_value=world.when(2026, 4, 3)):
        cases.reject(b, sec, "不属实")  # after the quarter: still valid as of its end
    data = assess.assess(Q1)
    assert fig(data, "gw_c1g1", "valid_reports") == (2, 3)
    assert row(data, "gw_c1g1")["indicators"]["valid_reports"]["value"] == pytest.approx(2 / 3, abs=1e-4)


def _handled_case(w, at, *, accept_after, resolve_after):
    """A resident's lamp report routed to the grid leader, accepted and resolved after the given
    delays: its accept, arrive and resolve time limits settle by then."""
    item = Item.objects.filter(accept_limit__isnull=False, resolve_limit__isnull=False).order_by("id").first()
    case, _ = cases.submit_case(reporter=w["resident"], channel="resident", text="路灯不亮", lon=P_C1G1[0],
                                lat=P_C1G1[1], item=item, now=at)
    gl = w["gl_c1g1"]
    assert case.handler_user == gl
    cases.accept(case, gl, now=at + accept_after)
    cases.resolve(case, gl, "已更换灯泡，恢复照明", now=at + resolve_after)
    case.refresh_from_db()
    return case


def test_on_time_is_the_share_of_time_limits_met(w):
    from gridgov.cases.models import Clock

    t = world.when(2026, 2, 2, 9)  # a Monday
    fast = _handled_case(w, t, accept_after=timedelta(seconds=30), resolve_after=timedelta(minutes=5))
    slow = _handled_case(w, t + timedelta(days=1), accept_after=timedelta(seconds=30), resolve_after=timedelta(days=20))
    clocks = Clock.objects.filter(case__in=[fast, slow], handler_user=w["gl_c1g1"])
    met = sum(1 for c in clocks if c.stopped_at and c.stopped_at <= c.due_at)
    assert (met, clocks.count()) == (4, 6)  # the slow case's arrive and resolve limits were missed
    data = assess.assess(Q1)
    assert fig(data, "gl_c1g1", "on_time") == (4, 6)


def test_rework_and_satisfaction_follow_the_resolver(w):
    t = world.when(2026, 2, 2, 9)
    sec, res = w["sec_c1"], w["resident"]
    good = _handled_case(w, t, accept_after=timedelta(minutes=1), resolve_after=timedelta(minutes=10))
    cases.verify(good, sec, now=t + timedelta(hours=1))
    cases.close(good, sec, now=t + timedelta(hours=2))
    cases.rate(good, res, "satisfied", now=t + timedelta(hours=3))
    bad = _handled_case(w, t + timedelta(days=2), accept_after=timedelta(minutes=1), resolve_after=timedelta(minutes=10))
    cases.verify(bad, sec, passed=False, note="灯仍不亮", now=t + timedelta(days=2, hours=1))  # rework
    cases.resolve(bad, w["gl_c1g1"], "更换整套灯具", now=t + timedelta(days=2, hours=3))
    cases.verify(bad, sec, now=t + timedelta(days=2, hours=4))
    cases.close(bad, sec, now=t + timedelta(days=2, hours=5))
    cases.rate(bad, res, "basic", now=t + timedelta(days=2, hours=6))
    data = assess.assess(Q1)
    assert fig(data, "gl_c1g1", "rework") == (1, 2)
    assert row(data, "gl_c1g1")["indicators"]["rework"]["value"] == 0.5  # 1 − the rework rate
    basic = data["settings"]["HOTLINE_BASIC_WEIGHT"]
    assert fig(data, "gl_c1g1", "satisfaction") == (pytest.approx(1 + basic), 2)


@override_settings(GRIDWORK_VISIT_DAYS_ELDERLY=30, GRIDWORK_VISIT_DAYS_DISABLED=45, GRIDWORK_VISIT_DAYS_ALONE=15,
                   GRIDWORK_VISIT_DAYS_PREGNANT=30)
def test_visit_coverage_is_visits_made_over_visits_due(w):
    gw = w["gw_c1g1"]
    # c1g1's special-care residents: 王大爷 (elderly, living alone: every 15 days → 6 due in 90 days),
    # 李阿姨 (disabled: every 45 days → 2 due); four visit days of the house checking both
    for d in (5, 20, 35, 50):
        day.record_visit(gw, w["house_a"], residents=[(w["elderly"], ""), (w["disabled"], "")],
                         now=world.when(2026, 1, 1) + timedelta(days=d))
    data = assess.assess(Q1)
    assert fig(data, "gw_c1g1", "visit_coverage") == (pytest.approx(4 + 2), pytest.approx(6 + 2))
    # the grid leader does not visit: not applicable to them
    assert fig(data, "gl_c1g1", "visit_coverage") == (0, 0)


def test_patrol_coverage_counts_working_days_with_a_patrol(w):
    gw = w["gw_c1g1"]
    cal = WorkCalendar()
    workdays = [date(2026, 1, 1) + timedelta(days=i) for i in range(90)]
    workdays = [d for d in workdays if cal.is_workday(d)]
    for d in workdays[:10]:
        at = world.when(d.year, d.month, d.day, 9)
        day.record_patrol(gw, [(116.383, 39.787, "wgs84", at, 10), (116.3832, 39.7871, "wgs84",
                                                                    at + timedelta(minutes=5), 10)],
                          at, at + timedelta(minutes=30))
    assert Patrol.objects.filter(worker=gw).count() == 10
    data = assess.assess(Q1)
    assert fig(data, "gw_c1g1", "patrol_coverage") == (10, len(workdays))


def test_disputes_and_leader_mark(w, street):
    path = street["c1g1m1"].path
    for n, state in enumerate(("agreed", "failed", "recorded")):
        at = world.when(2026, 2, 1 + n)
        d = Dispute.objects.create(number=f"JF-T-{n}", summary="楼上漏水", grid_path=path, recorded_at=at, state=state)
        if state == "agreed":
            DisputeEvent.objects.create(dispute=d, at=at + timedelta(days=1), action="agree", from_state="mediating",
                                        to_state="agreed")
    assess.set_leader_mark(w["staff_c1"], w["gw_c1g1"], Q1, 86, "走访扎实")
    data = assess.assess(Q1)
    assert fig(data, "gw_c1g1", "disputes") == (1, 3)
    assert fig(data, "gw_c1g1", "leader_mark") == (0.86, 1)
    assert fig(data, "gw_c2g1", "disputes") == (0, 0)  # none in c2g1: not applicable
    with pytest.raises(PermissionDenied):
        assess.set_leader_mark(w["gw_c1g2"], w["gw_c1g1"], Q1, 99)  # a worker may not mark a colleague


@override_settings(GRIDWORK_WORKLOAD_SPAN=0.1)
def test_workload_raises_the_busier_and_lowers_the_idle(w, street):
    from gridgov.registry import services as reg

    # households: c1g1 has house_a, c1g2 house_b; add three more occupied houses to c1g1
    for k in range(3):
        world._house(street["c1g1m2"], f"9号楼{k}01")
    data = assess.assess(Q1)
    load = {u: row(data, u)["workload"] for u in ("gw_c1g1", "gw_c1g2", "gw_c2g1", "gl_c1g1")}
    # households 4 (c1g1, its worker and its leader), 1 (c1g2) and 0 (c2g1): mean 9/4; no cases,
    # so the load is the households' part alone
    assert load["gw_c1g1"]["households"] == 4 and load["gw_c2g1"]["households"] == 0
    mean = (4 + 4 + 1 + 0) / 4
    assert load["gw_c1g1"]["load"] == pytest.approx(4 / mean, abs=1e-4)
    assert load["gw_c1g1"]["coefficient"] == pytest.approx(1 + 0.1 * (4 / mean - 1), abs=1e-4)
    assert load["gw_c1g2"]["coefficient"] == pytest.approx(1 + 0.1 * (1 / mean - 1), abs=1e-4)
    assert load["gw_c2g1"]["coefficient"] == pytest.approx(0.9)  # no workload: − the whole span
    r = row(data, "gw_c1g1")
    assert r["score"] == pytest.approx(min(100, r["base"] * load["gw_c1g1"]["coefficient"]), abs=0.01)
    assert reg  # (houses are made through the registry's services)


@override_settings(GRIDWORK_MIN_SAMPLE=3)
def test_a_small_sample_is_scored_not_ranked(w):
    for d in (5, 6, 7):
        file(w["gw_c1g1"], world.when(2026, 1, d))
    file(w["gw_c1g2"], world.when(2026, 1, 8), point=(116.383, 39.782))
    data = assess.assess(Q1)
    big, small = row(data, "gw_c1g1"), row(data, "gw_c1g2")
    assert big["rank"] == 1 and not big["unranked"]
    assert small["rank"] is None and small["score"] is not None
    assert [r["code"] for r in small["unranked"]] == ["sample"]
    assert "1 < 3" in small["unranked"][0]["text"]


def test_grades_follow_the_thresholds(w):
    s = assess.settings_at(world.when(2026, 3, 31))
    assert [assess.grade(x, s) for x in (90, 89.99, 75, 60, 40, 39.9)] == ["A", "B", "B", "C", "D", "E"]


def test_an_old_quarter_recomputed_after_new_events_is_the_same(w):
    gw, sec = w["gw_c1g1"], w["sec_c1"]
    t = world.when(2026, 3, 20, 9)
    c = _handled_case(w, t, accept_after=timedelta(minutes=1), resolve_after=timedelta(minutes=10))
    r = file(gw, world.when(2026, 3, 2))
    day.record_visit(gw, w["house_a"], residents=[(w["elderly"], "")], now=world.when(2026, 3, 3))
    before = assess.assess(Q1)
    # after the quarter: the case is sent back and rated, more reports, visits and a rejection
    cases.verify(c, sec, passed=False, note="未修好", now=world.when(2026, 4, 2))
    file(gw, world.when(2026, 4, 3))
    day.record_visit(gw, w["house_a"], residents=[(w["elderly"], "")], now=world.when(2026, 4, 4))
    with mock.patch("django.utils.timezone.now", return_value=world.when(2026, 4, 5)):
        cases.reject(r, sec, "撤销")
    after = assess.assess(Q1)
    assert json.dumps(after["workers"], sort_keys=True) == json.dumps(before["workers"], sort_keys=True)
    assert after["grids"] == before["grids"]
    # as of an earlier day the quarter had less
    early = assess.assess(Q1, as_of=world.when(2026, 3, 3))
    assert fig(early, "gw_c1g1", "valid_reports") == (1, 1) and fig(early, "gl_c1g1", "rework") == (0, 0)


@override_settings(GRIDWORK_VISIT_DAYS_ELDERLY=30, GRIDWORK_VISIT_DAYS_DISABLED=30, GRIDWORK_VISIT_DAYS_ALONE=30,
                   GRIDWORK_VISIT_DAYS_PREGNANT=30)
def test_a_worker_who_changed_grids_is_assessed_by_the_days_served_in_each(w, street):
    gw = w["gw_c1g1"]
    duties.end_duty(w["admin"], gw.assignments.get(), until=date(2026, 2, 14))  # 45 days on c1g1
    w["gw_c1g2"].assignments.update(until=date(2026, 1, 31))  # c1g2's worker left: gw takes it over
    duties.assign_duty(w["admin"], gw, street["c1g2"], "worker", since=date(2026, 2, 15))  # 45 days on c1g2
    day.record_visit(gw, w["house_a"], residents=[(w["elderly"], ""), (w["disabled"], "")],
                     now=world.when(2026, 1, 10))
    day.record_visit(gw, w["house_b"], residents=[(w["pregnant"], "")], now=world.when(2026, 3, 10))
    with pytest.raises(day.Forbidden):  # c1g1 is no longer theirs in March
        day.record_visit(gw, w["house_a"], residents=[(w["elderly"], "")], now=world.when(2026, 3, 12))
    r = row(assess.assess(Q1), "gw_c1g1")
    assert [(s["path"], s["days"]) for s in r["spans"]] == [(street["c1g1"].path, 45), (street["c1g2"].path, 45)]
    assert r["days"] == 90
    # due: c1g1 2 residents × 45/30 = 3; c1g2 1 resident × 45/30 = 1.5; made: 2 on c1g1, 1 on c1g2
    assert fig(assess.assess(Q1), "gw_c1g1", "visit_coverage") == (pytest.approx(3), pytest.approx(4.5))
    grids = {g["path"]: g for g in assess.assess(Q1)["grids"]}
    assert grids[street["c1g2"].path]["workers"] == 2  # its first worker's January and gw's spring


def test_the_command_prints_every_worker_with_each_indicator(w):
    file(w["gw_c1g1"], world.when(2026, 1, 5))
    out = StringIO()
    call_command("assess", "--period", Q1, "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["period"] == Q1 and data["first"] == "2026-01-01" and data["last"] == "2026-03-31"
    names = {r["username"] for r in data["workers"]}
    assert names == {"gw_c1g1", "gw_c1g2", "gw_c2g1", "gl_c1g1"}  # not the staff, the leader or the admin
    r = row(data, "gw_c1g1")
    assert set(r["indicators"]) == {"valid_reports", "on_time", "rework", "satisfaction", "visit_coverage",
                                    "patrol_coverage", "disputes", "leader_mark"}
    assert {"numerator", "denominator", "value", "score"} <= set(r["indicators"]["valid_reports"])
    assert r["grade"] in "ABCDE" and (r["rank"] or r["unranked"])
    text = StringIO()
    call_command("assess", "--period", Q1, stdout=text)
    assert "gw_c1g1" in text.getvalue() and "1/1=1.000" in text.getvalue()


def test_publish_keeps_the_result_and_pays_points_once(w):
    from gridgov.gridwork.models import AssessmentSnapshot, PointsTerm
    from gridgov.volunteers.models import Transfer

    for d in range(5, 12):
        file(w["gw_c1g1"], world.when(2026, 1, d))
    PointsTerm.objects.create(user=w["gw_c1g1"], since=date(2025, 1, 1), created_at=world.when(2025, 1, 1))
    with pytest.raises(PermissionDenied):
        assess.publish(w["staff_c1"], Q1)  # the street publishes
    snap = assess.publish(w["admin"], Q1, now=world.when(2026, 4, 6))
    assert AssessmentSnapshot.objects.get(period=Q1).data["workers"] == snap.data["workers"]
    assert snap.scheme.frozen_at is not None
    paid = Transfer.objects.filter(key__startswith="award:gridwork:2026-Q1:")
    score = row(snap.data, "gw_c1g1")["score"]
    assert paid.count() == 1 and paid.get().amount == round(score)
    assess.publish(w["admin"], Q1, now=world.when(2026, 4, 7))  # republished: nothing paid twice
    assert paid.count() == 1 and AssessmentSnapshot.objects.count() == 1
    assert LeaderMark.objects.count() == 0


def test_points_terms_are_set_by_the_street(w):
    from gridgov.core.models import ChangeRecord

    with pytest.raises(PermissionDenied):
        assess.set_points_term(w["staff_c1"], w["gw_c1g1"], date(2026, 1, 1))
    t = assess.set_points_term(w["admin"], w["gw_c1g1"], date(2026, 1, 1), note="兼职")
    t2 = assess.set_points_term(w["admin"], w["gw_c1g1"], date(2026, 1, 1), until=date(2026, 6, 30))
    assert t2.pk == t.pk and t2.until == date(2026, 6, 30)
    assert ChangeRecord.objects.filter(kind="gridwork", action="points_term").count() == 2
    with pytest.raises(assess.AssessError):
        assess.set_points_term(w["admin"], w["gw_c1g2"], date(2026, 2, 1), until=date(2026, 1, 1))


def test_under_a_district_the_streets_are_ranked_too(w, street):
    from gridgov.core import levels
    from gridgov.geo import services as geo
    from gridgov.geo.models import GridNode

    assert "streets" not in assess.assess(Q1)
    file(w["gw_c1g1"], world.when(2026, 1, 5))
    geo.add_root(code="110106", name="测试区", kind="district")
    levels.forget()
    data = assess.assess(Q1)
    path = GridNode.objects.get(pk=street["street"].pk).path  # the street's path now starts with the district
    assert [s["path"] for s in data["streets"]] == [path] and data["streets"][0]["rank"] == 1
    assert data["streets"][0]["workers"] == len({w_["user_id"] for w_ in data["workers"]})
    for f in data["scheme"]["indicators"]:  # the street's figures are its communities' sums
        k = f["formula"]
        assert data["streets"][0]["indicators"][k]["numerator"] == pytest.approx(
            sum(c["indicators"][k]["numerator"] for c in data["communities"]))
