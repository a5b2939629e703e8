"""Disputes through the services: the flow with its events, failed and referred, reopening, the
version check, the risk raise, the at-risk rule, scope, the clear phones, the ledger counts."""

from datetime import date, timedelta

import pytest

from gridgov.cases.models import Notification
from gridgov.core.models import AuditEntry
from gridgov.gridwork import disputes
from gridgov.gridwork.models import Dispute

from . import world
from .world import when
from .world_disputes import record


@pytest.fixture
def w(street):
    return world.build(street)


def _states(d):
    return [(e.action, e.from_state, e.to_state) for e in d.events.order_by("at", "id")]


def test_full_flow_record_session_agreed_follow_up_closed(w):
    gw = w["gw_c1g1"]
    d = record(w)
    assert d.number == "JF202601-0001" and d.state == "recorded" and d.grid_path == w["street"]["c1g1m1"].path
    assert [p.phone_masked for p in d.parties.all()] == ["138****5678", "139****4321"]
    assert "13812345678" not in d.parties.first().phone_enc
    s = disputes.add_session(gw, d, when(2026, 1, 6), [{"kind": "grid_worker", "user": gw.pk, "name": "网格员"},
                                                       {"kind": "mediator", "name": "王调解员"}], "双方初步沟通",
                             version=1, now=when(2026, 1, 6))
    assert s.mediators[1]["kind"] == "mediator"
    d.refresh_from_db()
    assert d.state == "mediating" and d.version == 2
    d = disputes.end_dispute(gw, d, "agreed", "楼上维修防水，赔偿500元", version=2, now=when(2026, 1, 8))
    assert d.follow_up_on == date(2026, 1, 23) and d.ended_at == when(2026, 1, 8)
    d = disputes.follow_up(gw, d, "协议已履行", holds=True, version=d.version, now=when(2026, 1, 23))
    assert d.state == "closed" and d.follow_up_on is None and d.followed_up_at == when(2026, 1, 23)
    assert _states(d) == [("record", "", "recorded"), ("session", "recorded", "mediating"),
                          ("agreed", "mediating", "agreed"), ("follow_up", "agreed", "closed")]
    assert record(w, at=when(2026, 1, 9)).number == "JF202601-0002"
    assert record(w, at=when(2026, 2, 1)).number == "JF202602-0001"


def test_failed_and_referred(w):
    gw = w["gw_c1g1"]
    a = record(w)
    with pytest.raises(disputes.DisputeError):  # no session yet
        disputes.end_dispute(gw, a, "failed", "双方分歧大", now=when(2026, 1, 6))
    disputes.add_session(gw, a, now=when(2026, 1, 6))
    a = disputes.end_dispute(gw, a, "failed", "双方分歧大", now=when(2026, 1, 7))
    assert a.state == "failed" and a.follow_up_on is not None
    b = record(w, kind="labour")
    with pytest.raises(disputes.DisputeError):  # where to
        disputes.end_dispute(gw, b, "referred", now=when(2026, 1, 6))
    b = disputes.end_dispute(gw, b, "referred", "涉及欠薪", referred_to="劳动监察大队", now=when(2026, 1, 6))
    assert b.state == "referred" and b.referred_to == "劳动监察大队"
    with pytest.raises(disputes.Conflict):
        disputes.add_session(gw, b, now=when(2026, 1, 7))


def test_a_broken_agreement_reopens_and_is_at_risk(w):
    gw = w["gw_c1g1"]
    d = record(w)
    disputes.add_session(gw, d, now=when(2026, 1, 6))
    d = disputes.end_dispute(gw, d, "agreed", "达成协议", now=when(2026, 1, 7))
    d = disputes.follow_up(gw, d, "楼上未按协议维修", holds=False, now=when(2026, 1, 22))
    assert d.state == "mediating" and d.ended_at is None and d.followed_up_at == when(2026, 1, 22)
    assert _states(d)[-1] == ("reopen", "agreed", "mediating")
    assert disputes.at_risk(d, when(2026, 1, 22))
    d = disputes.end_dispute(gw, d, "agreed", "重新达成协议", now=when(2026, 1, 25))
    d = disputes.follow_up(gw, d, "已履行", now=when(2026, 2, 10))
    d = disputes.reopen(w["staff_c1"], d, "又起争执", version=d.version, now=when(2026, 3, 1))
    assert d.state == "mediating"


def test_a_stale_version_is_a_conflict_409(w):
    d = record(w)
    disputes.add_session(w["gw_c1g1"], d, version=1, now=when(2026, 1, 6))
    with pytest.raises(disputes.Conflict) as exc:
        disputes.set_risk(w["staff_c1"], d, "medium", version=1, now=when(2026, 1, 6))
    assert exc.value.status == 409
    assert Dispute.objects.get(pk=d.pk).risk == "low"


def test_raising_the_risk_to_high_tells_the_secretary_and_the_leaders(w):
    d = record(w)
    disputes.set_risk(w["gw_c1g1"], d, "medium", "有争吵", now=when(2026, 1, 6))
    assert not Notification.objects.filter(kind="gridwork_dispute").exists()
    disputes.set_risk(w["gw_c1g1"], d, "high", "扬言动手", now=when(2026, 1, 7))
    told = set(Notification.objects.filter(kind="gridwork_dispute").values_list("recipient__username", flat=True))
    assert told == {"sec_c1", "boss"}
    assert [e.data["risk"] for e in d.events.filter(action="risk")] == [["low", "medium"], ["medium", "high"]]


def test_the_at_risk_rule(w):
    now = when(2026, 2, 1)
    low = record(w, at=when(2026, 1, 2))
    high = record(w, risk="high")
    medium_old = record(w, risk="medium", at=when(2026, 1, 10))
    medium_new = record(w, risk="medium", at=when(2026, 1, 25))
    twice = record(w)
    for day in (6, 7):
        disputes.add_session(w["gw_c1g1"], twice, now=when(2026, 1, day))
    expected = {low.pk: False, high.pk: True, medium_old.pk: True, medium_new.pk: False, twice.pk: True}
    assert {d.pk: disputes.at_risk(d, now) for d in Dispute.objects.all()} == expected
    qs = disputes.ledger(w["staff_c1"], at_risk="1", now=now)
    assert {d.pk for d in qs} == {k for k, v in expected.items() if v}
    first = list(disputes.ledger(w["staff_c1"], now=now))
    assert all(d.risky for d in first[:3]) and not any(d.risky for d in first[3:])


def test_scope(w):
    mine = record(w)  # c1g1
    c2 = record(w, by="gw_c2g1", grid="c2g1")
    other = record(w, by="staff_c1", grid="c1g2m1")  # c1g2: not gw_c1g1's grid
    vis = {u: set(Dispute.objects.visible_to(w[u]).values_list("pk", flat=True))
           for u in ("gw_c1g1", "gw_c2g1", "staff_c1", "resident", "leader")}
    assert vis["gw_c1g1"] == {mine.pk}
    assert vis["gw_c2g1"] == {c2.pk}
    assert vis["staff_c1"] == {mine.pk, other.pk}
    assert vis["resident"] == set()
    assert vis["leader"] == {mine.pk, c2.pk, other.pk}
    with pytest.raises(disputes.Forbidden):
        record(w, by="gw_c1g1", grid="c2g1")
    with pytest.raises(disputes.NotFound):
        disputes.get_dispute(w["gw_c2g1"], mine.pk)
    with pytest.raises(disputes.Forbidden):
        disputes.add_session(w["gw_c2g1"], mine, now=when(2026, 1, 6))


def test_clear_phones_need_personal_and_are_audited(w):
    d = record(w)
    before = AuditEntry.objects.count()
    phones = disputes.party_phones(w["gw_c1g1"], d)
    assert [p["phone"] for p in phones] == ["13812345678", "13987654321"]
    e = AuditEntry.objects.order_by("-id").first()
    assert AuditEntry.objects.count() == before + 1 and e.action == "reveal" and e.username == "gw_c1g1"
    for who in ("leader", "gw_c2g1"):  # the leader lists but holds no personal right; c2 is elsewhere
        with pytest.raises(disputes.Forbidden):
            disputes.party_phones(w[who], d)
    assert AuditEntry.objects.count() == before + 1


def test_ledger_counts_by_grid_and_community(w):
    now = when(2026, 3, 1)
    a = record(w)
    record(w, grid="c1g1", risk="high")
    record(w, by="staff_c1", grid="c1g2m1")
    c2 = record(w, by="gw_c2g1", grid="c2g1")
    disputes.add_session(w["gw_c1g1"], a, now=when(2026, 1, 6))
    disputes.end_dispute(w["gw_c1g1"], a, "agreed", "达成协议", now=when(2026, 1, 7))  # follow-up due 1-22: overdue
    c = disputes.ledger_counts(disputes.ledger(w["leader"], now=now), now)
    assert (c["total"], c["open"], c["at_risk"], c["overdue"]) == (4, 3, 1, 1)
    by_c = {g["path"]: g for g in c["by_community"]}
    s = w["street"]
    assert by_c[s["c1"].path]["total"] == 3 and by_c[s["c2"].path]["total"] == 1
    by_g = {g["path"]: g for g in c["by_grid"]}
    assert by_g[s["c1g1"].path]["total"] == 2 and by_g[s["c1g1"].path]["agreed"] == 1
    assert by_g[s["c1g1"].path]["name"] == s["c1g1"].name
    assert c["by_grid"][0]["at_risk"] == 1  # at-risk grids first
    assert disputes.ledger(w["leader"], community=s["c2"].path, now=now).get() == c2
    assert disputes.ledger(w["leader"], overdue="1", now=now).get() == a
    assert disputes.ledger(w["leader"], period="2026-01", now=now).count() == 4
    assert disputes.ledger(w["leader"], period="2026-02", now=now).count() == 0
    assert disputes.ledger(w["leader"], state="ended", now=now).get() == a


def test_record_from_a_phone_position_lands_in_the_finest_grid(w):
    from .world_day import LAT_G1, LON_M1

    d = disputes.record_dispute(w["gw_c1g1"], "family", "夫妻争吵", [{"name": "赵某", "phone": ""}],
                                lon=LON_M1, lat=LAT_G1, now=when(2026, 1, 5))
    assert d.grid_path == w["street"]["c1g1m1"].path and d.parties.get().phone_masked == ""
    assert d.recorded_at + timedelta(0) == when(2026, 1, 5)
