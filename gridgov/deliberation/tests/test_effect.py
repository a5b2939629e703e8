"""Whether it worked: the effect measure on data built for the test, where the answer is known.

The problem: noise (12345 category 城乡建设/噪音扰民问题, which names the case item WG03) at
c1小区. Its months are counted as gridgov.hotline.clusters counts a (place, category) pair:
tickets matched to the compound and the residents' cases there of the same item. The clock is
fixed everywhere (now=)."""

import math
from datetime import datetime
from itertools import count

import pytest
from django.test import Client
from django.utils import timezone

from gridgov.cases.models import Case, Item
from gridgov.cases.taxonomy import seed_taxonomy
from gridgov.deliberation import effect as fx
from gridgov.deliberation.models import Topic
from gridgov.hotline.rates import add_months
from gridgov.hotline.tests.util import ticket
from gridgov.registry.models import Address

from .world import topic

NOISE = ("城乡建设", "噪音扰民问题", "")
NOISE_KEY = "城乡建设/噪音扰民问题"
OTHER = ("城乡建设", "物业管理", "")
DECIDED = timezone.make_aware(datetime(2025, 1, 10, 15, 0))
NOW = timezone.make_aware(datetime(2025, 8, 5, 9, 0))  # 2025-02 … 2025-07 have ended
BEFORE = [add_months("2025-01", -k) for k in range(6, 0, -1)]  # 2024-07 … 2024-12
AFTER = [add_months("2025-01", k) for k in range(1, 7)]  # 2025-02 … 2025-07
_n = count(1)


def aware(*args):
    return timezone.make_aware(datetime(*args))


@pytest.fixture
def noise(w):
    """The world with the case taxonomy, c1小区's address and a topic about noise there."""
    seed_taxonomy()
    w["addr_c1"] = Address.objects.get(code="Dc1101")
    w["addr_c2"] = Address.objects.get(code="Dc2101")
    return w


def tickets(w, months, counts, *, category=NOISE, where="c1", address=True):
    """`counts[i]` tickets in `months[i]` at c<where>小区 (matched to its address), or in its
    grid without a compound (address=False)."""
    grid = w["street"][f"{where}g1m1"]
    for month, n in zip(months, counts):
        for k in range(n):
            ticket(f"T{next(_n)}", month, grid, category=category, address=w[f"addr_{where}"] if address else None,
                   day=1 + k % 27, content=f"夜间噪音扰民 {month} {k}")


def cases(w, month, n, *, item="WG03", where="c1"):
    """`n` residents' cases of `item` in `month` whose address names c<where>小区."""
    grid = w["street"][f"{where}g1m1"]
    y, m = map(int, month.split("-"))
    for k in range(n):
        at = aware(y, m, 3 + k, 10, 0)
        Case.objects.create(number=f"K{next(_n)}", channel="resident", text="楼下商铺夜间噪音扰民", item=Item.objects.get(code=item),
                            grid=grid, grid_path=grid.path, address=f"{where}小区1号楼", lon=grid.center_lon,
                            lat=grid.center_lat, state="submitted", created_at=at, updated_at=at)


def noise_topic(w, *, decided_at=DECIDED, place=None, category=NOISE_KEY):
    t = topic(w, title="夜间噪音", problem={"place": place or f"compound:{w['compound_c1'].pk}", "category": category})
    Topic.objects.filter(pk=t.pk).update(decided_at=decided_at)
    t.refresh_from_db()
    return t


# --- the test itself ---------------------------------------------------------------------------


def test_exact_p_of_a_tiny_case_by_hand():
    # before 5, 3; after 1, 2: the C(4, 2) = 6 splits' after-sums are 8, 6, 7, 4, 5, 3: one (the
    # real one, 3) is at most 3
    t = fx.permutation_test([5, 3], [1, 2])
    assert (t["method"], t["splits"], t["hits_fell"], t["p_fell"]) == ("exact", 6, 1, 1 / 6)
    assert t["p_rose"] == 6 / 6  # every split's rise is at least this (negative) one
    # ties: values 3, 2, 2, 1, after 2 + 1 = 3: the splits {2, 1} and {2, 1} both reach it
    t = fx.permutation_test([3, 2], [2, 1])
    assert (t["hits_fell"], t["p_fell"]) == (2, 2 / 6)
    # the most extreme split of 12 months choose 6
    t = fx.permutation_test([10, 9, 11, 10, 12, 9], [2, 1, 2, 3, 1, 2])
    assert t["splits"] == 924 == math.comb(12, 6) and t["p_fell"] == 1 / 924


def test_many_splits_are_sampled_with_a_fixed_seed():
    before, after = [9, 8, 10, 9, 11, 8, 9, 10, 9, 8, 10, 9], [3, 2, 4, 3, 2, 3, 2, 3, 4, 2, 3, 2]
    t = fx.permutation_test(before, after)  # C(24, 12) = 2,704,156 splits > 50,000
    assert t["method"] == "monte_carlo" and t["samples"] == 20_000 and t["splits"] == math.comb(24, 12)
    assert t["p_fell"] == (t["hits_fell"] + 1) / 20_001 and t["p_fell"] < 0.001
    assert fx.permutation_test(before, after) == t  # seeded: the same answer every time


# --- the effect of a topic -----------------------------------------------------------------------


def test_a_clear_drop_fell_with_p_one_in_924(noise):
    w = noise
    # 10, 9, 11, 10, 12, 9 before (two of 2024-09's as residents' cases), 2, 1, 2, 3, 1, 2 after
    tickets(w, BEFORE, [10, 9, 9, 10, 12, 9])
    cases(w, "2024-09", 2)
    tickets(w, AFTER, [2, 1, 2, 3, 1, 2])
    tickets(w, ["2025-01"], [30])  # the decision's month: not counted
    tickets(w, ["2025-08"], [20])  # after the window
    # not counted: another category at the same place, the same category elsewhere
    tickets(w, AFTER, [9, 9, 9, 9, 9, 9], category=OTHER)
    tickets(w, AFTER, [7, 7, 7, 7, 7, 7], where="c2")
    cases(w, "2025-03", 3, item="WG03", where="c2")
    # the reference: the same category in c1's grid outside the compound
    tickets(w, BEFORE + AFTER, [4] * 6 + [3] * 6, address=False)
    t = noise_topic(w)
    e = fx.effect(t, now=NOW)
    assert e["verdict"] == "fell"
    assert e["decision_month"] == "2025-01" and e["place_name"] == "c1小区" and e["category"] == NOISE_KEY
    assert [r["total"] for r in e["by_month"] if r["side"] == "before"] == [10, 9, 11, 10, 12, 9]
    assert [r["total"] for r in e["by_month"] if r["side"] == "after"] == [2, 1, 2, 3, 1, 2]
    assert [(r["month"], r["tickets"], r["cases"]) for r in e["by_month"] if r["month"] == "2024-09"] == [("2024-09", 9, 2)]
    assert [r["month"] for r in e["by_month"]] == BEFORE + ["2025-01"] + AFTER
    assert [r["side"] for r in e["by_month"] if r["month"] == "2025-01"] == ["decision"]
    assert e["before"]["mean"] == pytest.approx(61 / 6) and e["after"]["mean"] == pytest.approx(11 / 6)
    assert e["change"] == pytest.approx((11 - 61) / 61) and e["ratio"] == pytest.approx(11 / 61)
    assert e["test"]["method"] == "exact" and e["test"]["p"] == e["test"]["p_fell"] == 1 / 924
    assert e["sentence"] == ("决定后 6 个月平均每月 1.8 件，决定前 6 个月平均每月 10.2 件，下降 82%；若决定没有作用，"
                             "12 个月中任意 6 个月作为“决定后”时出现这么大下降的概率为 0.1%，超出月度波动。")
    ref = e["reference"]
    assert (ref["places"], ref["before_mean"], ref["after_mean"]) == (1, 4, 3) and ref["change"] == pytest.approx(-0.25)
    assert len(e["limits"]) == 4 and "回归均值" in e["limits"][0]


def test_a_flat_noisy_series_is_within_noise(noise):
    w = noise
    tickets(w, BEFORE, [5, 7, 4, 6, 5, 8])
    tickets(w, AFTER, [6, 5, 7, 4, 6, 5])
    e = fx.effect(noise_topic(w), now=NOW)
    assert e["verdict"] == "within_noise"
    assert e["after"]["mean"] < e["before"]["mean"] and e["test"]["p"] == e["test"]["p_fell"] > 0.3
    assert "在月度波动范围之内" in e["sentence"] and "下降" in e["sentence"]


def test_a_rise_rose(noise):
    w = noise
    tickets(w, BEFORE, [1, 2, 1, 2, 1, 1])
    tickets(w, AFTER, [6, 8, 7, 9, 6, 7])
    e = fx.effect(noise_topic(w), now=NOW)
    assert e["verdict"] == "rose" and e["test"]["p"] == e["test"]["p_rose"] == 1 / 924
    assert "上升" in e["sentence"] and "超出月度波动" in e["sentence"]


def test_a_decision_one_month_ago_is_too_early(noise):
    w = noise
    tickets(w, BEFORE, [10, 9, 11, 10, 12, 9])
    tickets(w, AFTER[:2], [1, 1])
    t = noise_topic(w)
    e = fx.effect(t, now=aware(2025, 2, 20, 12, 0))  # 2025-02 has not ended
    assert e["verdict"] == "too_early" and e["after"]["months"] == [] and e["test"] is None
    e = fx.effect(t, now=aware(2025, 4, 2, 12, 0))  # two ended: still too early
    assert e["verdict"] == "too_early" and e["after"]["months"] == ["2025-02", "2025-03"]
    assert [r["side"] for r in e["by_month"]][-6:] == ["after"] * 2 + ["pending"] * 4
    assert "2 个完整月" in e["sentence"]
    e = fx.effect(t, now=aware(2025, 5, 2, 12, 0))  # three: measured on three after-months
    assert e["verdict"] in ("fell", "within_noise") and e["test"]["k"] == 3 and e["test"]["splits"] == math.comb(9, 3)


def test_no_problem_and_not_decided(noise):
    w = noise
    bare = topic(w, title="健身器材")
    Topic.objects.filter(pk=bare.pk).update(decided_at=DECIDED)
    bare.refresh_from_db()
    assert fx.effect(bare, now=NOW)["verdict"] == "no_problem"
    t = topic(w, title="噪音", problem={"place": f"compound:{w['compound_c1'].pk}", "category": NOISE_KEY})
    e = fx.effect(t, now=NOW)
    assert e["verdict"] == "not_decided" and e["by_month"] == []
    assert fx.effect(noise_topic(w, place="compound:999999"), now=NOW)["verdict"] == "no_problem"


def test_a_grid_place_and_a_case_item_category(noise):
    """A problem at a grid (reports not in a compound), and a cases-only one named by its item."""
    w = noise
    tickets(w, BEFORE, [6, 7, 6, 8, 7, 6], address=False)
    tickets(w, AFTER, [1, 0, 1, 0, 1, 0], address=False)
    e = fx.effect(noise_topic(w, place=f"grid:{w['street']['c1g1m1'].pk}"), now=NOW)
    assert e["verdict"] == "fell" and e["before"]["total"] == 40 and e["after"]["total"] == 3
    for month in BEFORE:
        cases(w, month, 3, item="PS01", where="c2")
    for month in AFTER[:2]:
        cases(w, month, 1, item="PS01", where="c2")
    item = Item.objects.select_related("scenario").get(code="PS01")
    for category in ("PS01", f"{item.scenario.name}/{item.name}"):
        e = fx.effect(noise_topic(w, place=f"compound:{w['compound_c2'].pk}", category=category), now=NOW)
        assert (e["before"]["total"], e["after"]["total"], e["verdict"]) == (18, 2, "fell")


def test_the_months_setting(noise, settings):
    w = noise
    tickets(w, BEFORE[-2:], [5, 3])
    tickets(w, AFTER[:2], [1, 2])
    settings.DELIBERATION_EFFECT_MONTHS = 2
    t = noise_topic(w)
    e = fx.effect(t, now=NOW)
    assert e["months"] == 2 and e["before"]["months"] == ["2024-11", "2024-12"]
    assert e["verdict"] == "too_early"  # two after-months are fewer than three
    e = fx.effect(t, months=3, now=NOW)
    assert e["before"]["months"] == BEFORE[-3:] and e["after"]["months"] == AFTER[:3]


# --- the doors -------------------------------------------------------------------------------------


@pytest.fixture
def fixed_clock(monkeypatch):
    """The pages and the API read the clock: it is NOW."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def _client(user):
    c = Client()
    c.force_login(user)
    return c


def test_api_one_topic_and_the_record(noise, fixed_clock):
    w = noise
    tickets(w, BEFORE, [10, 9, 11, 10, 12, 9])
    tickets(w, AFTER, [2, 1, 2, 3, 1, 2])
    t = noise_topic(w)
    undecided = topic(w, title="停车难", problem={"place": f"compound:{w['compound_c1'].pk}", "category": NOISE_KEY})
    r = _client(w["staff_c1"]).get(f"/api/deliberation/effect/{t.pk}")
    assert r.status_code == 200
    body = r.json()
    assert body["verdict"] == "fell" and body["test"]["p"] == 1 / 924 and body["title"] == "夜间噪音"
    assert _client(w["user_c1"]).get(f"/api/deliberation/effect/{t.pk}").json()["verdict"] == "fell"  # a resident of the compound
    r = _client(w["user_c2"]).get(f"/api/deliberation/effect/{t.pk}")  # another community's resident
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert _client(w["staff_c1"]).get(f"/api/deliberation/effect/{undecided.pk}").json()["verdict"] == "not_decided"
    r = _client(w["staff_c1"]).get("/api/deliberation/effect/")
    assert r.status_code == 200
    assert [i["id"] for i in r.json()["items"]] == [t.pk] and r.json()["counts"]["fell"] == 1
    assert _client(w["staff_c2"]).get("/api/deliberation/effect/").json()["items"] == []  # not in scope
    assert _client(w["leader"]).get(f"/api/deliberation/effect/?community={w['street']['c1'].pk}").json()["counts"]["fell"] == 1
    r = _client(w["user_c1"]).get("/api/deliberation/effect/")
    assert r.status_code == 403 and r.json()["code"] == "not_allowed"
    assert Client().get("/api/deliberation/effect/").status_code == 401


def test_pages(noise, fixed_clock):
    w = noise
    tickets(w, BEFORE, [10, 9, 11, 10, 12, 9])
    tickets(w, AFTER, [2, 1, 2, 3, 1, 2])
    t = noise_topic(w)
    staff = _client(w["staff_c1"])
    r = staff.get("/deliberation/effect/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "夜间噪音" in html and "明显下降" in html and 'id="effects"' in html
    assert staff.get(f"/deliberation/effect/?community={w['street']['c2'].pk}").status_code == 200
    html = staff.get(f"/deliberation/topics/{t.pk}/").content.decode()
    assert "<svg" in html and "下降 82%" in html and "置换检验" in html and "回归均值" in html
    assert "<script" not in html.split('id="effect"')[1].split("</section>")[0]  # the chart needs no script
    resident = _client(w["user_c1"])
    html = resident.get(f"/m/deliberation/topics/{t.pk}/").content.decode()
    assert "<svg" in html and "下降 82%" in html and "回归均值" not in html
    html = resident.get("/m/deliberation/effect/").content.decode()
    assert "夜间噪音" in html and "<svg" in html
    assert resident.get("/deliberation/effect/").status_code == 403
    assert _client(w["user_c2"]).get("/m/deliberation/effect/").content.decode().count("夜间噪音") == 0


def test_decided_effects_is_the_record_of_what_the_user_reads(noise):
    w = noise
    tickets(w, BEFORE, [10, 9, 11, 10, 12, 9])
    tickets(w, AFTER, [2, 1, 2, 3, 1, 2])
    t = noise_topic(w)
    older = noise_topic(w, decided_at=aware(2024, 12, 1, 9, 0))
    other = topic(w, "c2", title="c2 的议题", problem={"place": f"compound:{w['compound_c2'].pk}", "category": NOISE_KEY})
    Topic.objects.filter(pk=other.pk).update(decided_at=DECIDED)
    got = fx.decided_effects(w["staff_c1"], now=NOW)
    assert [i["topic"].pk for i in got] == [t.pk, older.pk]
    assert got[0]["effect"]["verdict"] == "fell"
    assert [i["topic"].pk for i in fx.decided_effects(w["leader"], w["street"]["c2"], now=NOW)] == [other.pk]
    assert fx.summary(got)["fell"] >= 1
