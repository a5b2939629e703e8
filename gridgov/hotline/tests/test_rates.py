import io
import json

import openpyxl
import pytest
from django.core.management import call_command

from gridgov.accounts.models import Role
from gridgov.hotline import rates
from gridgov.hotline.models import RateSettings
from gridgov.testing import make_user

from .util import ticket

C1_MARCH = (  # (contacted, solved, satisfaction) of the 12 valid tickets of 第1社区 in 2024-03
    [(True, True, "satisfied")] * 6 + [(True, True, "basic")] * 3
    + [(True, False, "unsatisfied"), (True, False, ""), (False, False, "")]
)


@pytest.fixture
def month_data(street):
    g1, g2 = street["c1g1m1"], street["c2g2m1"]
    for i, (c, s, sat) in enumerate(C1_MARCH, start=1):
        ticket(f"M{i}", "2024-03", g1 if i % 2 else street["c1g2m2"], contacted=c, solved=s, satisfaction=sat)
    ticket("M13", "2024-03", g1, contacted=False, solved=False, satisfaction="unsatisfied", valid=False)
    for i in range(3):
        ticket(f"N{i}", "2024-03", g2)
    for i in range(10):  # February: all contacted and satisfied, half solved
        ticket(f"F{i}", "2024-02", g1, solved=i < 5)
    for i in range(20):  # a year earlier: more tickets, all good
        ticket(f"Y{i}", "2023-03", g1)
    return street


def unit(report, name):
    return next(u for u in report["units"] if u["name"] == name)


def test_three_rates_hand_computed(month_data):
    r = rates.unit_rates("2024-03")
    c1 = unit(r, "第1社区")
    assert c1["counts"] == {"all": 13, "valid": 12, "contacted": 11, "solved": 9, "rated": 10,
                            "satisfied": 6, "basic": 3, "unsatisfied": 1}
    assert c1["response"] == pytest.approx(11 / 12)
    assert c1["resolution"] == pytest.approx(0.75)
    assert c1["satisfaction"] == pytest.approx((6 + 0.9 * 3) / 10)  # 0.87
    assert c1["composite"] == pytest.approx(0.1 * 11 / 12 + 0.5 * 0.75 + 0.4 * 0.87)  # 0.814667
    # month on month: February 1, 0.5, 1 → composite 0.75
    assert c1["mom"]["composite"] == pytest.approx(0.8146667 - 0.75, abs=1e-6)
    assert c1["mom"]["resolution"] == pytest.approx(0.25)
    # year on year: 20 tickets in 2023-03, all perfect
    assert c1["yoy"]["tickets"] == pytest.approx((13 - 20) / 20)
    assert c1["yoy"]["composite"] == pytest.approx(0.8146667 - 1.0, abs=1e-6)
    street_row = r["street"]
    assert street_row["counts"]["valid"] == 15 and street_row["counts"]["rated"] == 13
    assert street_row["satisfaction"] == pytest.approx((9 + 0.9 * 3) / 13)


def test_min_sample_and_ranking(month_data):
    r = rates.unit_rates("2024-03")
    c1, c2 = unit(r, "第1社区"), unit(r, "第2社区")
    assert c1["rank"] == 1 and c1["note"] == ""
    assert c2["composite"] == pytest.approx(1.0) and c2["rank"] is None and c2["note"] == "样本不足"
    RateSettings.objects.create(pk=1, min_sample=2)
    r = rates.unit_rates("2024-03")
    assert unit(r, "第2社区")["rank"] == 1 and unit(r, "第1社区")["rank"] == 2


def test_configured_weights(month_data):
    RateSettings.objects.create(pk=1, response_weight=0.3, resolution_weight=0.35, satisfaction_weight=0.35, basic_weight=1.0)
    c1 = unit(rates.unit_rates("2024-03"), "第1社区")
    assert c1["satisfaction"] == pytest.approx(0.9)
    assert c1["composite"] == pytest.approx(0.3 * 11 / 12 + 0.35 * 0.75 + 0.35 * 0.9)  # 0.8525


def test_grid_level_rolls_up_microgrids(month_data, street):
    r = rates.unit_rates("2024-03", level=2)
    g = next(u for u in r["units"] if u["code"] == street["c1g1"].code)
    assert g["counts"]["all"] == 6 + 1  # the six odd-numbered M tickets and M13


def test_dragging_rising_ytd(month_data):
    d = rates.dragging_tickets("2024-03")
    assert [x["ticket_id"] for x in d[:3]] == ["M10", "M12", "M11"]
    assert d[0]["cost"] == pytest.approx(0.5 / 15 + 0.4 / 13)
    assert d[1]["cost"] == pytest.approx(0.6 / 15)
    ytd = rates.year_to_date("2024-03")
    assert (ytd["tickets"], ytd["previous"]) == (26, 20)
    rising = rates.rising_categories("2024-03")
    assert rising[0]["category"] == "城乡建设/物业管理" and rising[0]["mom"] == 16 - 10


def test_cell_drill_down_api_and_visibility(month_data, client, street):
    client.force_login(make_user("sec1", Role.COMMUNITY_SECRETARY, nodes=[street["c1"]]))
    r = client.get("/api/hotline/rates/cell", {"month": "2024-03", "measure": "unsolved", "scope": street["c1"].code})
    assert r.status_code == 200
    assert sorted(t["ticket_id"] for t in r.json()["tickets"]) == ["M10", "M11", "M12"]
    r = client.get("/api/hotline/rates/cell", {"month": "2024-03", "measure": "valid"})
    assert r.json()["count"] == 12  # the secretary sees only her community
    assert client.get("/api/hotline/rates/cell", {"month": "2024-03", "measure": "valid", "scope": street["c2"].code}).status_code == 404
    # one month parser for every door (rates.check_month): 2024-3 is 2024-03, a 13th month is refused
    assert client.get("/api/hotline/rates/cell", {"month": "2024-3", "measure": "valid"}).json()["count"] == 12
    assert client.get("/api/hotline/rates/cell", {"month": "2024-13", "measure": "valid"}).status_code == 422
    report = client.get("/api/hotline/rates", {"month": "2024-03"}).json()
    assert [u["name"] for u in report["units"]] == ["第1社区"] and report["street"]["counts"]["all"] == 13


def test_rates_command_and_xlsx(month_data, tmp_path):
    out = io.StringIO()
    call_command("hotline", "rates", "--month", "2024-03", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert unit(data, "第1社区")["composite"] == pytest.approx(0.8146667, abs=1e-6)
    out = io.StringIO()
    call_command("hotline", "rates", "--month", "2024-03", "--xlsx", str(tmp_path / "r.xlsx"), stdout=out)
    assert "第1社区" in out.getvalue() and "样本不足" in out.getvalue()
    ws = openpyxl.load_workbook(tmp_path / "r.xlsx")["排名"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[2][2] == "第1社区" and rows[2][8] == pytest.approx(81.47, abs=0.01)


def test_settings_admin_only(street, client):
    client.force_login(make_user("lead", Role.LEADER))
    assert client.put("/api/hotline/settings", {"min_sample": 5}, content_type="application/json").status_code == 403
    client.force_login(make_user("adm", Role.ADMIN))
    r = client.put("/api/hotline/settings", {"response_weight": 0.3, "resolution_weight": 0.35,
                                             "satisfaction_weight": 0.35}, content_type="application/json")
    assert r.status_code == 200 and r.json()["response_weight"] == 0.3
    r = client.put("/api/hotline/settings", {"response_weight": 0.5}, content_type="application/json")
    assert r.status_code == 422 and "sum to 1" in r.json()["detail"]


@pytest.mark.django_db
def test_streets_of_a_district_are_ranked_against_each_other():
    """Under a district, the report ranks the streets (level "street"), with the minimum sample
    rule; a street's leader sees their own street only."""
    from gridgov.accounts.models import Duty
    from gridgov.testing import make_district

    n = make_district()
    for i, (c, s, sat) in enumerate(C1_MARCH, start=1):  # the first street: 12 valid, composite 0.815
        ticket(f"A{i}", "2024-03", n["c1g1m1"], contacted=c, solved=s, satisfaction=sat)
    for i in range(12):  # the second street: 12 valid, all good
        ticket(f"B{i}", "2024-03", n["s2c1g1"])
    d_leader = make_user("d_leader", Role.LEADER, [n["district"]], Duty.SECRETARY)
    r = rates.unit_rates("2024-03", d_leader, level="street")
    assert [(u["name"], u["rank"]) for u in sorted(r["units"], key=lambda u: u["rank"])] == [("第二街道", 1), ("测试街道", 2)]
    assert r["street"]["counts"]["valid"] == 24  # the district: everything the leader sees
    for i in range(12, 20):
        ticket(f"B{i}", "2024-03", n["s2c1g1"], valid=False)
    RateSettings.objects.create(pk=1, min_sample=13)
    r = rates.unit_rates("2024-03", d_leader, level=0)
    assert all(u["rank"] is None and u["note"] == "样本不足" for u in r["units"])
    s2_leader = make_user("s2_leader", Role.LEADER, [n["s2"]], Duty.SECRETARY)
    mine = rates.unit_rates("2024-03", s2_leader, level="street")
    assert [u["name"] for u in mine["units"]] == ["第二街道"] and mine["street"]["counts"]["all"] == 20
    # the communities of the district (level 1 below each street) are ranked together too
    assert {u["name"] for u in rates.unit_rates("2024-03", d_leader)["units"]} == {"第1社区", "第2社区", "第二街道第1社区"}
    with pytest.raises(ValueError):
        rates.unit_level("county")
