import pytest
from django.core.exceptions import PermissionDenied

from gridgov.accounts.models import Role
from gridgov.hotline import services
from gridgov.hotline.addressing import AddressIndex, normalize, parse_address
from gridgov.hotline.models import Ticket
from gridgov.testing import make_user


@pytest.mark.parametrize("text,expected", [
    ("阳光星苑三号楼２单元１０１室", ("3", "2", "101")),
    ("阳光星苑3栋2单元101", ("3", "2", "101")),
    ("北京市丰台区南苑街道阳光星苑小区3幢二单元101号", ("3", "2", "101")),
    ("阳光星苑3-2-101", ("3", "2", "101")),
    ("翠海明苑十二号楼", ("12", "", "")),
    ("南苑路12号院3号楼2门302", ("3", "2", "302")),
])
def test_parse_variants(text, expected):
    p = parse_address(text)
    assert (p.building, p.unit, p.room) == expected


def test_normalize_numerals():
    assert normalize("二十三号楼") == "23号楼" and normalize("一百零五室") == "105室" and normalize("３栋") == "3栋"


def test_exact_and_variant_matches(places):
    idx = AddressIndex()
    for text in ("阳光星苑3号楼2单元101室", "丰台区阳光星苑三号楼二单元一〇一室", "阳光星苑小区3栋2单元101"):
        c = idx.candidates(text)
        assert c[0]["id"] == places["yg3-2-101"].id and c[0]["score"] == 1.0, text
    # a room the registry lacks: the building is taken (coarser but right)
    c = idx.candidates("阳光星苑5号楼1单元202")
    assert c[0]["id"] == places["yg5"].id and c[0]["score"] == pytest.approx(0.85)
    assert idx.candidates("翠海明苑12号楼")[0]["id"] == places["ch12"].id
    assert idx.candidates("人民路100号") == []


def test_ambiguous_goes_to_queue_then_confirm(places, street, client):
    boss = make_user("boss", Role.LEADER)
    services.import_records(boss, [
        {"ticket_id": "Q1", "received_at": "2024-03-01", "content": "楼道灯坏", "address": "幸福里"},
        {"ticket_id": "Q2", "received_at": "2024-03-01", "content": "楼道灯坏", "address": "幸福里", "community": "第2社区"},
        {"ticket_id": "Q3", "received_at": "2024-03-01", "content": "漏水", "address": "阳光星苑3号楼2单元101"},
    ])
    q1 = Ticket.objects.get(ticket_id="Q1")
    assert q1.address_match == "pending" and q1.grid is None
    assert {c["id"] for c in q1.address_candidates} == {places["xf1"].id, places["xf2"].id}
    # the file's community breaks the tie
    q2 = Ticket.objects.get(ticket_id="Q2")
    assert q2.address_match == "matched" and q2.matched_address == places["xf2"] and q2.grid == street["c2g1m1"]

    client.force_login(boss)
    queue = client.get("/api/hotline/address-queue").json()
    assert [t["ticket_id"] for t in queue["tickets"]] == ["Q1"] and len(queue["tickets"][0]["candidates"]) == 2
    r = client.post(f"/api/hotline/tickets/{q1.id}/address", {"address_id": places["xf1"].id}, content_type="application/json")
    assert r.status_code == 200 and r.json()["address_match"] == "confirmed" and r.json()["community"] == "第1社区"
    q1.refresh_from_db()
    assert q1.grid == street["c1g2m1"] and q1.community == street["c1"] and q1.address_candidates == []
    assert client.get("/api/hotline/address-queue").json()["count"] == 0
    # re-importing the same address keeps the staff's confirmation
    services.import_records(boss, [{"ticket_id": "Q1", "received_at": "2024-03-01", "content": "楼道灯坏", "address": "幸福里", "solved": "是"}])
    q1.refresh_from_db()
    assert q1.address_match == "confirmed" and q1.solved


def test_confirm_needs_scope(places, street):
    boss = make_user("boss", Role.LEADER)
    services.import_records(boss, [{"ticket_id": "Q1", "received_at": "2024-03-01", "content": "x", "address": "幸福里", "community": "第1社区"}])
    t = Ticket.objects.get(ticket_id="Q1")
    w2 = make_user("w2", nodes=[street["c2g1"]])
    with pytest.raises(PermissionDenied):
        services.confirm_address(w2, t, places["xf2"])
    res = make_user("res", Role.RESIDENT)
    with pytest.raises(PermissionDenied):
        services.confirm_address(res, t, places["xf1"])


def test_grid_worker_sees_only_own_tickets(places, street, client):
    from .util import ticket

    ticket("V1", "2024-03", street["c1g1m1"])
    ticket("V2", "2024-03", street["c1g2m1"])
    ticket("V3", "2024-03", street["c2g1m2"])
    client.force_login(make_user("w", nodes=[street["c1g1"]]))
    assert [t["ticket_id"] for t in client.get("/api/hotline/tickets").json()["tickets"]] == ["V1"]
    other = Ticket.objects.get(ticket_id="V3")
    r = client.post(f"/api/hotline/tickets/{other.id}/address", {"address_id": places["yg"].id}, content_type="application/json")
    assert r.status_code == 404
    client.force_login(make_user("res", Role.RESIDENT))
    assert client.get("/api/hotline/tickets").status_code == 403
