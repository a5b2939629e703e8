import uuid

import pytest
from django.core.files.storage import default_storage

from gridgov.cases import services
from gridgov.geo.coords import wgs84_to_gcj02 as _wgs84_to_gcj02
from gridgov.cases.models import Case, CaseEvent, Clock, Notification, State

from .conftest import JPEG, P_C1G1, P_C2G2, PNG


def test_volunteer_report_is_located_recognised_and_dispatched_to_the_grid_leader(people, street, report):
    case = report(channel="volunteer", user=people["vol"], photos=[PNG, ("p.jpg", JPEG)])
    assert case.grid == street["c1g1m1"]
    assert case.item.code == "PS01" and case.item_source == "classifier"
    assert case.state == State.DISPATCHED
    assert case.handler_level == "grid_leader" and case.handler_user == people["gl"]
    reason = case.routing_reason
    assert reason["grid"]["nodes"][0]["level"] == 0 and reason["grid"]["nodes"][-1]["code"] == street["c1g1m1"].code
    assert reason["item"]["source"] == "classifier" and reason["item"]["confidence"] >= 0.45
    assert reason["current"]["rule"]["id"] and reason["current"]["path"]["code"] == "grid_community"
    assert "网格长" in reason["current"]["handler"]["via"]
    assert [e.action for e in case.events.all()] == ["submit", "dispatch"]
    photos = list(case.photos.all())
    assert [p.content_type for p in photos] == ["image/png", "image/jpeg"]
    assert default_storage.exists(photos[0].file.name)
    assert set(Clock.objects.filter(case=case, state="running").values_list("kind", flat=True)) == {"accept", "arrive", "resolve"}
    assert Notification.objects.filter(recipient=people["gl"], kind="assigned").exists()


def test_not_an_image_is_refused_with_its_position(people, report):
    with pytest.raises(services.InvalidInput, match="photo 2: not an image"):
        report(photos=[PNG, b"%PDF-1.4 hello"])
    assert not Case.objects.exists()


def test_gcj02_location_is_converted(people, street, report):
    gx, gy = _wgs84_to_gcj02(*P_C2G2)
    case = report(point=(gx, gy), crs="gcj02")
    assert case.lon == pytest.approx(P_C2G2[0], abs=1e-6) and case.lat == pytest.approx(P_C2G2[1], abs=1e-6)
    assert case.grid.path.startswith(street["c2g2"].path)


def test_unclear_text_waits_for_a_person(people, report):
    case = report(text="请尽快来看看")
    assert case.state == State.SUBMITTED and case.item is None
    assert "待人工分类" in case.routing_reason["waiting"]
    assert Notification.objects.filter(recipient=people["sec"], kind="needs_person").exists()
    services.dispatch(case, people["sec"], item=services.Item.objects.get(code="CC01"))
    case.refresh_from_db()
    assert case.state == State.DISPATCHED and case.item.code == "CC01" and case.item_source == "staff"
    assert case.handler_level == "grid_leader"  # minor: stays in the grid
    assert case.path.code == "grid_only"
    assert case.corrections.get().new_item.code == "CC01"


def test_outside_every_grid_is_refused_but_a_hotline_ticket_waits(people, report):
    with pytest.raises(services.InvalidInput, match="位置不在本街道的网格内"):
        report(point=(116.5, 39.9))
    case = report(point=(116.5, 39.9), channel="hotline", user=None)
    assert case.grid is None and case.state == State.SUBMITTED


def test_idempotent_retry_returns_the_same_case(people):
    key = str(uuid.uuid4())
    kw = dict(reporter=people["resident"], channel="resident", text="井盖丢了", lon=P_C1G1[0], lat=P_C1G1[1], idempotency_key=key)
    first, created1 = services.submit_case(**kw)
    second, created2 = services.submit_case(**kw)
    assert created1 and not created2 and first.pk == second.pk
    assert Case.objects.count() == 1
    with pytest.raises(services.Conflict):
        services.submit_case(**{**kw, "reporter": people["neighbour"]})
    with pytest.raises(services.InvalidInput, match="not a UUID"):
        services.submit_case(**{**kw, "idempotency_key": "abc"})


def test_reporter_chosen_item_and_emergency_routing(people, report, street):
    case = report(text="这里好像有味道", item="EM01")
    assert case.item_source == "reporter" and case.urgency == "emergency"
    assert case.path.code == "emergency"
    assert case.handler_level == "section" and case.handler_department == "应急管理办公室"
    # nobody in 应急管理办公室: the section is still the handler (department queue)
    informed = case.routing_reason["current"]["informed"]
    assert informed[0]["level"] == "leader_in_charge"


def test_most_specific_rule_wins_night_noise(people, report):
    from unittest import mock
    import datetime as dt
    from django.utils import timezone

    night = timezone.make_aware(dt.datetime(2025, 9, 29, 23, 30))
    with mock.patch("django.utils.timezone.now", return_value=night):
        case = report(text="楼上装修噪音太吵", item="WG03")
    assert case.path.code == "community_section"
    assert case.handler_user == people["sec"]
    noon = timezone.make_aware(dt.datetime(2025, 9, 30, 10, 30))  # (not the real clock: it may be night)
    with mock.patch("django.utils.timezone.now", return_value=noon):
        day = report(text="楼上装修噪音太吵", item="WG03")
    assert day.path.code == "grid_community"


def test_duplicates_are_suggested_and_joined(people, report):
    first = report()
    near = (P_C1G1[0] + 0.0005, P_C1G1[1])  # about 43 m east
    found = services.suggest_duplicates(lon=near[0], lat=near[1], text="门口路灯坏了", item="PS01")
    assert [r["case"].pk for r in found] == [first.pk]
    assert 30 < found[0]["distance_m"] < 60
    far = services.suggest_duplicates(lon=P_C1G1[0] + 0.01, lat=P_C1G1[1], text="门口路灯坏了", item="PS01")
    assert far == []
    other = services.suggest_duplicates(lon=near[0], lat=near[1], text="井盖丢了", item="PS02")
    assert other == []
    services.join(first, people["neighbour"])
    assert first.followers.filter(user=people["neighbour"], source="joined").exists()
    assert CaseEvent.objects.filter(case=first, action="join").count() == 1


def test_cases_follow_their_grid_when_it_moves(street):
    from gridgov.cases.models import Case
    from gridgov.geo import services as geo_services
    from gridgov.geo.models import GridNode

    grid = street["c1g1m1"]
    from django.utils import timezone

    case = Case.objects.create(number="T-MOVE-1", text="路灯坏了", grid=grid, grid_path=grid.path, channel="patrol", created_at=timezone.now(), updated_at=timezone.now())
    g = GridNode.objects.get(pk=street["c1g1"].pk)
    g.parent = street["c2"]
    geo_services.save_node(g)
    case.refresh_from_db()
    assert case.grid_path == GridNode.objects.get(pk=grid.pk).path
    assert case.grid_path.startswith(street["c2"].path)
