"""The quarterly scores by the rules of scores.py: the inspection score, the data score's four
parts, the composite with the weights in force, the ranking and its trend, and the published
snapshot recomputed from history."""

from datetime import timedelta
from decimal import Decimal

import pytest

from gridgov.property import scores, services
from gridgov.property.models import ScoreSnapshot

from .scoring import at, case, houses, ticket
from .world import inspection, photo

pytestmark = pytest.mark.django_db

Q2 = "2026Q2"


def row_of(rows, project):
    return next(r for r in rows if r["project"] == project.pk)


def answer_and_pass(w, problem, when, side="c1"):
    services.answer_problem(w[f"pm_{side}"], problem, note="已整改", photos=[photo()], now=when)
    return services.recheck_problem(w[f"staff_{side}"], problem, passed=True, now=when + timedelta(hours=1))


def test_full_marks_and_no_complaints_scores_100_100_100(w):
    houses(w, "c1", 3)
    inspection(w, now=at(2026, 4, 7, 10))
    r = row_of(scores.compute(Q2), w["project_c1"])
    assert r["inspection_score"] == Decimal("100.00") and r["n_inspections"] == 1
    assert r["data_score"] == Decimal("100.00") and r["composite"] == Decimal("100.00")
    assert {k: r["parts"][k]["points"] for k in scores.PARTS} == {
        "complaints": 40, "resolution": 20, "satisfaction": 20, "rectification": 20}
    assert r["parts"]["complaints"]["households"] == 3 and r["flags"] == []
    # the other project had no inspection: composite = data score, flagged, ranked after
    other = row_of(scores.compute(Q2), w["project_c2"])
    assert other["inspection_score"] is None and other["composite"] == other["data_score"]
    assert "no_inspection" in other["flags"] and other["rank"] == 2 and r["rank"] == 1


def test_a_deduction_lowers_the_composite_by_wi_times_its_points(w):
    clean = inspection(w, "c1", now=at(2026, 4, 7, 10))
    assert clean.score == Decimal("100.00")
    dirty = inspection(w, "c2", deductions=[("C1", 2, "楼道堆物")], now=at(2026, 4, 7, 10))
    answer_and_pass(w, dirty.problems.get(), at(2026, 4, 8, 10), side="c2")
    rows = scores.compute(Q2)
    a, b = row_of(rows, w["project_c1"]), row_of(rows, w["project_c2"])
    assert b["inspection_score"] == Decimal("98.00") and b["data_score"] == Decimal("100.00")
    wi, _wd = scores.weights(services.quarter_bounds(Q2)[1])
    assert wi == Decimal("0.6")
    assert a["composite"] - b["composite"] == wi * 2 == Decimal("1.2")
    assert (a["rank"], b["rank"]) == (1, 2)
    # the drill-down: the indicator that pulled it down, by its points on the score
    down = scores.pulled_down(b, Q2)
    assert down["indicators"][0]["code"] == "C1" and down["indicators"][0]["points"] == Decimal("2.00")
    assert down["parts"] == []


def test_what_pulled_it_down_reads_the_sets_indicators_in_one_query(w, django_assert_num_queries):
    insp = inspection(w, "c2", deductions=[("C1", 2, "楼道堆物"), ("C2", 1, "满溢"), ("D3", 1, "路灯不亮"),
                                          ("E2", 2, "飞线充电")], now=at(2026, 4, 7, 10))
    b = row_of(scores.compute(Q2), w["project_c2"])
    with django_assert_num_queries(2):  # the deductions by indicator, the sets' indicators
        down = scores.pulled_down(b, Q2)
    assert [x["code"] for x in down["indicators"]] == ["C1", "E2", "C2", "D3"]
    assert b["inspection_score"] == insp.score == Decimal("94.00")


def test_complaints_at_the_reference_rate_give_0_complaint_points(w):
    houses(w, "c1", 25)
    houses(w, "c1", 5, use="commercial")  # not households
    inspection(w, now=at(2026, 4, 7, 10))
    # 1 case + 1 ticket in 25 households = 80 per 1000: twice the reference (40): 0 points
    case(w, created_at=at(2026, 5, 3, 9))
    ticket(w, received_at=at(2026, 5, 4, 9), solved=True, satisfaction="basic")
    # not counted: a hotline case (duplicates its ticket), an invalid ticket, another category,
    # another compound's ticket, a ticket of the quarter before
    case(w, created_at=at(2026, 5, 3, 9), channel="hotline")
    ticket(w, received_at=at(2026, 5, 4, 9), valid=False)
    ticket(w, received_at=at(2026, 5, 4, 9), category="噪音扰民")
    ticket(w, "c2", received_at=at(2026, 5, 4, 9))
    ticket(w, received_at=at(2026, 3, 30, 9))
    r = row_of(scores.compute(Q2), w["project_c1"])
    c = r["parts"]["complaints"]
    assert (c["cases"], c["tickets"], c["households"], c["rate"]) == (1, 1, 25, Decimal("80.00"))
    assert c["points"] == Decimal("0.00")
    # resolution: the ticket solved, the case not: 10 of 20; satisfaction: one rated basic (0.9)
    assert r["parts"]["resolution"]["points"] == Decimal("10.00") and r["parts"]["resolution"]["resolved"] == 1
    s = r["parts"]["satisfaction"]
    assert (s["rated"], s["basic"], s["points"]) == (1, 1, Decimal("18.00"))
    assert r["data_score"] == Decimal("48.00")


def test_complaints_exactly_at_the_reference_and_half_of_it(w):
    houses(w, "c1", 50)
    inspection(w, now=at(2026, 4, 7, 10))
    case(w, created_at=at(2026, 5, 3, 9), resolved_at=at(2026, 5, 4, 9), rating="satisfied",
         rated_at=at(2026, 5, 5, 9))
    r = row_of(scores.compute(Q2), w["project_c1"])
    assert r["parts"]["complaints"]["rate"] == Decimal("20.00")  # half the reference: half the points
    assert r["parts"]["complaints"]["points"] == Decimal("20.00")
    ticket(w, received_at=at(2026, 6, 1, 9), address="", lon=None, lat=None,
           matched_address=w["compound_c1"].addresses.first())  # placed by its standard address
    r = row_of(scores.compute(Q2), w["project_c1"])
    assert r["parts"]["complaints"]["rate"] == Decimal("40.00") and r["parts"]["complaints"]["points"] == 0
    assert r["parts"]["satisfaction"]["points"] == Decimal("20.00")  # the case rated satisfied, the ticket unrated


def test_a_problem_late_and_reopened_counts_once(w):
    insp = inspection(w, deductions=[("C1", 1, "楼道堆物"), ("C2", None, "垃圾满溢")], now=at(2026, 4, 7, 10))
    p1, p2 = insp.problems.order_by("id")
    # p1: answered after its deadline (late), then failed the re-check (reopened): one bad problem
    late = p1.due_at + timedelta(days=2)
    services.answer_problem(w["pm_c1"], p1, note="已整改", photos=[photo()], now=late)
    services.recheck_problem(w["staff_c1"], p1, passed=False, note="仍有堆物", now=late + timedelta(hours=2))
    p1.refresh_from_db()
    answer_and_pass(w, p1, p1.due_at - timedelta(hours=1))
    # p2: in time, passed
    answer_and_pass(w, p2, at(2026, 4, 8, 10))
    r = row_of(scores.compute(Q2), w["project_c1"])
    f = r["parts"]["rectification"]
    assert (f["problems"], f["late"], f["reopened"], f["bad"]) == (2, 1, 1, 1)
    assert f["points"] == Decimal("10.00")
    assert r["data_score"] == Decimal("90.00")


def test_a_problem_unanswered_at_the_end_past_its_deadline_is_late_and_a_cancelled_one_is_not(w):
    insp = inspection(w, deductions=[("C1", 1, "楼道堆物"), ("C2", None, "垃圾满溢")], now=at(2026, 6, 1, 10))
    p1, p2 = insp.problems.order_by("id")
    services.cancel_problem(w["staff_c1"], p2, reason="误报", now=at(2026, 6, 2, 10))
    f = row_of(scores.compute(Q2), w["project_c1"])["parts"]["rectification"]
    assert (f["problems"], f["late"], f["reopened"], f["points"]) == (1, 1, 0, Decimal("0.00"))


def test_weights_changed_from_a_later_date_leave_an_earlier_quarter_unchanged(w):
    from gridgov.core import settings_rows

    inspection(w, deductions=[("C1", 2, "楼道堆物")], now=at(2026, 4, 7, 10))
    inspection(w, deductions=[("C1", 2, "楼道堆物")], now=at(2026, 7, 7, 10))
    before = row_of(scores.compute(Q2), w["project_c1"])
    settings_rows.set_values(w["admin"], {"PROPERTY_INSPECTION_WEIGHT": "0.2", "PROPERTY_DATA_WEIGHT": "0.8"},
                             valid_from=services.quarter_bounds("2026Q3")[0])
    settings_rows.clear_cache()
    after = row_of(scores.compute(Q2), w["project_c1"])
    assert after["composite"] == before["composite"] and after["weights"] == {"inspection": Decimal("0.6"),
                                                                               "data": Decimal("0.4")}
    q3 = row_of(scores.compute("2026Q3"), w["project_c1"])
    assert q3["weights"] == {"inspection": Decimal("0.2"), "data": Decimal("0.8")}
    assert q3["composite"] == scores.d2(Decimal("0.2") * q3["inspection_score"] + Decimal("0.8") * q3["data_score"])


def test_trend_the_previous_quarters_rank_and_composite(w):
    inspection(w, "c1", deductions=[("C1", 2, "楼道堆物")], now=at(2026, 2, 7, 10))
    inspection(w, "c2", now=at(2026, 2, 7, 10))
    inspection(w, "c1", now=at(2026, 5, 7, 10))
    inspection(w, "c2", deductions=[("C1", 1, "楼道堆物")], now=at(2026, 5, 7, 10))
    rows = scores.compute(Q2)
    a, b = row_of(rows, w["project_c1"]), row_of(rows, w["project_c2"])
    assert (a["rank"], a["prev_rank"], a["rank_delta"]) == (1, 2, 1)
    assert (b["rank"], b["prev_rank"], b["rank_delta"]) == (2, 1, -1)
    assert a["delta"] == a["composite"] - a["prev_composite"]


def test_published_snapshot_equals_the_recomputation_after_later_events(w):
    houses(w, "c1", 10)
    insp = inspection(w, deductions=[("C1", 1, "楼道堆物"), ("C2", None, "垃圾满溢")], now=at(2026, 6, 20, 10))
    p1, p2 = insp.problems.order_by("id")
    case(w, created_at=at(2026, 6, 25, 9))
    ticket(w, received_at=at(2026, 6, 26, 9), satisfaction="unsatisfied")
    with pytest.raises(services.Conflict):  # the quarter is not over yet
        scores.publish(w["section"], Q2, now=at(2026, 6, 30, 12))
    with pytest.raises(services.Forbidden):  # a community's staff cannot publish the street's ranking
        scores.publish(w["staff_c1"], Q2, now=at(2026, 7, 2, 12))
    snaps = scores.publish(w["section"], Q2, now=at(2026, 7, 2, 12))
    first = scores.compute(Q2)
    assert len(snaps) == 2
    # after the quarter's end: the problems answered and re-checked, the case resolved and rated
    services.answer_problem(w["pm_c1"], p1, note="已整改", photos=[photo()], now=at(2026, 7, 10, 10))
    services.recheck_problem(w["staff_c1"], p1, passed=False, note="仍有", now=at(2026, 7, 10, 12))
    answer_and_pass(w, p2, at(2026, 7, 11, 10))
    from gridgov.cases.models import Case, Rating

    c = Case.objects.get()
    Case.objects.filter(pk=c.pk).update(resolved_at=at(2026, 7, 3, 9), state="resolved")
    Rating.objects.create(case=c, user=w["worker_c1"], round=0, score="satisfied", at=at(2026, 7, 4, 9))
    again = scores.compute(Q2)
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("prev_rank", "prev_composite", "delta",  # noqa: E731
                                                                    "rank_delta")} for r in rows]
    assert strip(again) == strip(first)
    for r in again:
        s = ScoreSnapshot.objects.get(quarter=Q2, project_id=r["project"])
        assert (s.inspection_score, s.data_score, s.composite, s.rank) == (
            r["inspection_score"], r["data_score"], r["composite"], r["rank"])
        assert s.detail["parts"] == scores.plain(r["parts"])
    f = row_of(again, w["project_c1"])["parts"]["rectification"]
    assert (f["problems"], f["late"], f["reopened"]) == (2, 2, 0)
    from gridgov.core.models import ChangeRecord

    assert ChangeRecord.objects.filter(kind="property_scores", object_id=Q2, action="publish").count() == 1


def test_publish_refuses_a_malformed_quarter_and_forced_publishes_an_open_one(w):
    with pytest.raises(services.PropertyError):
        scores.publish(w["section"], "2026-Q5")
    snaps = scores.publish(w["section"], "2026Q4", force=True, now=at(2026, 11, 2, 12))
    assert {s.rank for s in snaps} == {1, 2}
    assert scores.is_published("2026Q4")


def test_the_periodic_task_publishes_the_previous_quarter_once(w):
    from gridgov.property import tasks

    inspection(w, now=at(2026, 5, 7, 10))
    assert tasks.publish_scores.call_local(now=at(2026, 7, 5, 6)) == {"quarter": Q2, "published": 2}
    assert tasks.publish_scores.call_local(now=at(2026, 7, 5, 7)) == {"quarter": Q2, "published": 0}
    assert ScoreSnapshot.objects.filter(quarter=Q2).count() == 2


def test_tickets_placed_by_name_then_nearest_building_in_one_pass(w):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from gridgov.registry.property import compound_at, compound_ids_for

    b = w["compound_c1"].buildings.get()
    b.lon, b.lat = 116.30, 39.90
    b.save(update_fields=["lon", "lat"])
    rows = [
        {"address": "c1花园3号楼门口", "community_id": w["street"]["c1"].pk},  # by name
        {"address": "c1花园", "community_id": w["street"]["c2"].pk},  # the name is not of c2's compounds
        {"address": "某路口", "lon": 116.3005, "lat": 39.9003},  # ~50 m from c1's building
        {"address": "某路口", "lon": 116.31, "lat": 39.91},  # far from everything
        {"compound_id": w["compound_c2"].pk, "address": "c1花园"},  # matched address wins
    ]
    with CaptureQueriesContext(connection) as ctx:
        got = compound_ids_for(rows * 20)
    assert len(ctx.captured_queries) == 2
    c1, c2 = w["compound_c1"].pk, w["compound_c2"].pk
    assert got[:5] == [c1, None, c1, None, c2]
    # the same answers as the one-at-a-time rule of intake
    assert compound_at(lon=116.3005, lat=39.9003).pk == c1 and compound_at(lon=116.31, lat=39.91) is None
    inspection(w, now=at(2026, 4, 7, 10))
    ticket(w, received_at=at(2026, 5, 4, 9), address="某路口", lon=116.3005, lat=39.9003)
    assert row_of(scores.compute(Q2), w["project_c1"])["parts"]["complaints"]["tickets"] == 1
