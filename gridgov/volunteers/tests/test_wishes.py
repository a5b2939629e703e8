"""The wish wall (微心愿) through its services and API: the whole loop with its points, exactly one
claimer, the public card without the person, staff scope and personal data, who may act."""

import json

import pytest
from django.test import Client

from gridgov.cases.models import Notification
from gridgov.core.models import AuditEntry, ChangeRecord
from gridgov.volunteers import services, wishes
from gridgov.volunteers.models import PointRule, ServiceRecord, Transfer, Wish

from .wishes_world import build, jpeg, point

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(street):
    return build(street)


def _client(user):
    c = Client()
    c.force_login(user)
    return c


def _post(c, url, body=None):
    return c.post(url, json.dumps(body or {}), content_type="application/json")


API = "/api/volunteers/wishes"
PERSON_FIELDS = ("person_name", "resident", "house", "owner", "address")


def _assert_no_person(body: str, *names):
    for name in names:
        assert name not in body, name
    for f in PERSON_FIELDS:
        assert f'"{f}"' not in body, f


def test_the_whole_loop_posted_by_a_grid_worker_counts_the_service_with_points(w):
    worker, vol = w["worker_c1"], w["vol"]
    elder = w["elder_c1"]
    wc = _client(worker)
    r = _post(wc, API, {"resident": elder.pk, "title": "想要一台收音机", "description": "听戏用"})
    assert r.status_code == 201, r.content
    wid = r.json()["id"]
    wish = Wish.objects.get(pk=wid)
    assert wish.person_name == elder.name and wish.resident == elder and wish.owner is None
    assert wish.entered_by == worker and wish.node == elder.grid and wish.group == "elderly"
    # the volunteer claims it and sees whom to visit (audited)
    vc = _client(vol)
    assert _post(vc, f"{API}/{wid}/claim", {"kind": "volunteer"}).status_code == 200
    assert Notification.objects.filter(recipient=worker, kind="wish_claimed").exists()
    person = vc.get(f"{API}/{wid}/person")
    assert person.status_code == 200
    assert person.json()["name"] == elder.name and "1号楼1单元101" in person.json()["address"]
    assert person.json()["contact_is_worker"] and person.json()["contact_name"] == worker.display_name
    assert AuditEntry.objects.filter(user=vol, action="reveal", object_id=str(wid)).exists()
    # only the claimer fulfils, with a photo
    other = _client(w["vol2"])
    assert other.post(f"{API}/{wid}/fulfil", {"note": "x", "photo": _upload()}).status_code == 403
    assert vc.post(f"{API}/{wid}/fulfil", {"note": "送去了"}).status_code == 400  # no photo
    bad = vc.post(f"{API}/{wid}/fulfil", {"note": "x", "photo": _upload(b"not an image")})
    assert bad.status_code == 400 and bad.json()["code"] == "photo"
    ok = vc.post(f"{API}/{wid}/fulfil", {"note": "送去了收音机", "photo": _upload()})
    assert ok.status_code == 200 and ok.json()["state"] == "fulfilled", ok.content
    assert Notification.objects.filter(recipient=worker, kind="wish_fulfilled").exists()
    # the photo: the claimer and the worker see it, another volunteer does not
    assert vc.get(f"{API}/{wid}/photo").status_code == 200
    assert wc.get(f"{API}/{wid}/photo")["Content-Type"] == "image/jpeg"
    assert other.get(f"{API}/{wid}/photo").status_code == 403
    # only the worker who posted it (or staff of its grid) confirms; not the claimer
    assert _post(vc, f"{API}/{wid}/confirm").status_code == 403
    assert _post(_client(w["worker_c2"]), f"{API}/{wid}/confirm").status_code == 403
    assert not ServiceRecord.objects.filter(key=f"wish:{wid}").exists()
    done = _post(wc, f"{API}/{wid}/confirm")
    assert done.status_code == 200 and done.json()["state"] == "confirmed"
    rec = ServiceRecord.objects.get(key=f"wish:{wid}")
    assert rec.user == vol and rec.source == "wish" and rec.node == elder.grid
    rule = PointRule.objects.get(key="wish")
    assert rec.transfer and rec.transfer.amount == rule.points and rec.transfer.rule == "wish"
    assert services.volunteer_account(vol).balance == rule.points
    assert Notification.objects.filter(recipient=vol, kind="wish_confirmed").exists()
    # a second confirm changes nothing
    assert _post(wc, f"{API}/{wid}/confirm").status_code == 409
    assert Transfer.objects.filter(key=f"award:wish:{wid}").count() == 1
    assert list(ChangeRecord.objects.filter(kind="wishes", object_id=str(wid)).order_by("id")
                .values_list("action", flat=True)) == ["create", "claim", "fulfil", "confirm"]


def _upload(data=None, name="p.jpg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data or jpeg(), content_type="image/jpeg")


def test_confirm_seeds_the_wish_rule_when_missing(w):
    PointRule.objects.filter(key="wish").delete()
    wish = wishes.post_for(w["worker_c1"], w["elder_c1"].pk, "理发")
    wishes.claim(w["vol"], wish.pk)
    wishes.fulfil(w["vol"], wish.pk, jpeg(), "理好了")
    wishes.confirm(w["worker_c1"], wish.pk)
    assert PointRule.objects.get(key="wish").points == 10
    assert services.volunteer_account(w["vol"]).balance == 10


def test_a_resident_posts_their_own_wish_and_confirms_it(w):
    user = w["resident_user"]
    c = _client(user)
    r = _post(c, API, {"title": "想学用智能手机"})
    assert r.status_code == 201, r.content
    wish = Wish.objects.get(pk=r.json()["id"])
    # linked to the registry by the phone: their grid, their resident, their group
    assert wish.owner == user and wish.resident == w["linked_resident"] and wish.node == w["linked_resident"].grid
    assert wish.group == "disabled"
    # the owner cannot claim their own wish
    assert _post(c, f"{API}/{wish.pk}/claim").status_code == 403
    pm = _client(w["party"])
    assert _post(pm, f"{API}/{wish.pk}/claim", {"kind": "party_member"}).status_code == 200
    assert Notification.objects.filter(recipient=user, kind="wish_claimed").exists()
    # the claimer sees the owner's own phone as the contact
    person = pm.get(f"{API}/{wish.pk}/person").json()
    assert person["contact_phone"] == "13922220001" and not person["contact_is_worker"]
    wishes.fulfil(w["party"], wish.pk, jpeg(), "教会了")
    # the worker of the grid may not confirm a resident's own wish; the owner does
    assert _post(_client(w["worker_c1"]), f"{API}/{wish.pk}/confirm").status_code == 403
    # the owner sends it back first (a reason is needed), then confirms
    assert _post(c, f"{API}/{wish.pk}/reject", {"reason": ""}).status_code == 400
    back = _post(c, f"{API}/{wish.pk}/reject", {"reason": "还不会发微信"})
    assert back.status_code == 200 and back.json()["state"] == "claimed"
    assert Notification.objects.filter(recipient=w["party"], kind="wish_rejected").exists()
    wishes.fulfil(w["party"], wish.pk, jpeg(), "再教一次")
    assert _post(c, f"{API}/{wish.pk}/confirm").status_code == 200
    assert ServiceRecord.objects.get(key=f"wish:{wish.pk}").user == w["party"]
    mine = c.get(f"{API}/mine").json()
    assert [x["id"] for x in mine["posted"]] == [wish.pk] and mine["posted"][0]["state"] == "confirmed"
    assert [x["id"] for x in pm.get(f"{API}/mine").json()["claimed"]] == [wish.pk]


def test_a_resident_outside_the_registry_gives_a_location(w):
    c = _client(w["stranger"])
    r = _post(c, API, {"title": "修一下轮椅"})
    assert r.status_code == 400 and r.json()["code"] == "location"
    lon, lat = point("c2")
    r = _post(c, API, {"title": "修一下轮椅", "group": "disabled", "lon": lon, "lat": lat})
    assert r.status_code == 201
    wish = Wish.objects.get(pk=r.json()["id"])
    assert wish.node.path.startswith(w["street"]["c2"].path) and wish.resident is None
    assert _post(c, API, {"title": "x", "group": "nobody", "lon": lon, "lat": lat}).status_code == 400


def test_a_wish_with_a_sensitive_word_is_refused(w):
    from gridgov.cases.models import SensitiveWord

    SensitiveWord.objects.get_or_create(word="刷单返利", defaults={"category": "spam"})
    r = _post(_client(w["worker_c1"]), API, {"resident": w["elder_c1"].pk, "title": "帮忙 刷单 返利"})
    assert r.status_code == 400 and r.json()["code"] == "sensitive"
    assert not Wish.objects.exists()


def test_the_public_card_never_shows_the_person(w):
    elder = w["elder_c1"]
    wish = wishes.post_for(w["worker_c1"], elder.pk, "想要一台收音机")
    own = wishes.post_own(w["resident_user"], "想学用智能手机")
    wishes.claim(w["vol"], own.pk, "unit", "安宁供电所")
    c = _client(w["vol2"])
    wall = c.get(API)
    assert wall.status_code == 200
    body = wall.content.decode()
    assert {x["id"] for x in wall.json()["items"]} == {wish.pk, own.pk}
    _assert_no_person(body, elder.name, "李大爷", "1号楼", w["house_c1"].address.text)
    card = next(x for x in wall.json()["items"] if x["id"] == own.pk)
    assert card["claimer"] == "安宁供电所" and card["state"] == "claimed" and card["community"] == "第1社区"
    one = c.get(f"{API}/{wish.pk}")
    assert one.status_code == 200
    _assert_no_person(one.content.decode(), elder.name)
    # someone without a relation may not read whose it is
    assert c.get(f"{API}/{wish.pk}/person").status_code == 403
    # the wall is for signed-in users
    assert Client().get(API).status_code == 401
    # filters: community and group
    assert [x["id"] for x in c.get(API, {"community": w["street"]["c2"].code}).json()["items"]] == []
    assert [x["id"] for x in c.get(API, {"group": "disabled"}).json()["items"]] == [own.pk]


def test_staff_scope_and_personal_data(w):
    a = wishes.post_for(w["worker_c1"], w["elder_c1"].pk, "c1的心愿")
    b = wishes.post_for(w["worker_c2"], w["elder_c2"].pk, "c2的心愿")
    wishes.claim(w["vol"], b.pk)
    s1 = _client(w["staff_c1"]).get(API, {"scope": "staff"})
    assert s1.status_code == 200
    items = s1.json()["items"]
    assert [x["id"] for x in items] == [a.pk]
    assert items[0]["person_name"] == w["elder_c1"].name and "1号楼" in items[0]["address"]
    assert s1.json()["counts"]["open"] == 1 and s1.json()["counts"]["claimed"] == 0
    # the leader lists everything but sees no personal data (wishes × personal: never)
    lead = _client(w["leader"]).get(API, {"scope": "staff"}).json()
    assert {x["id"] for x in lead["items"]} == {a.pk, b.pk}
    assert lead["counts"]["claimed"] == 1
    _assert_no_person(json.dumps(lead), w["elder_c1"].name, w["elder_c2"].name)
    assert _client(w["leader"]).get(f"{API}/{a.pk}/person").status_code == 403
    # staff of c1 read whose c1's wish is (audited), not c2's
    assert _client(w["staff_c1"]).get(f"{API}/{a.pk}/person").status_code == 200
    assert AuditEntry.objects.filter(user=w["staff_c1"], action="reveal").count() == 1
    assert _client(w["staff_c1"]).get(f"{API}/{b.pk}/person").status_code == 403
    # a volunteer has no staff list
    assert _client(w["vol"]).get(API, {"scope": "staff"}).status_code == 403
    # state filter
    assert _client(w["leader"]).get(API, {"scope": "staff", "state": "claimed"}).json()["items"][0]["id"] == b.pk


def test_posting_for_a_resident_needs_the_grid_in_scope(w):
    c = _client(w["worker_c1"])
    r = _post(c, API, {"resident": w["elder_c2"].pk, "title": "不在我的网格"})
    assert r.status_code == 403
    assert _post(_client(w["vol"]), API, {"resident": w["elder_c1"].pk, "title": "志愿者代发"}).status_code == 403
    assert _post(c, API, {"resident": 999999, "title": "没有这个人"}).status_code == 404


def test_one_claimer_release_and_cancel(w):
    wish = wishes.post_for(w["worker_c1"], w["elder_c1"].pk, "陪同就医")
    v1, v2 = _client(w["vol"]), _client(w["vol2"])
    assert _post(v1, f"{API}/{wish.pk}/claim").status_code == 200
    second = _post(v2, f"{API}/{wish.pk}/claim")
    assert second.status_code == 409 and second.json()["code"] == "claimed"
    assert _post(v1, f"{API}/{wish.pk}/claim").status_code == 409  # (its own claim stands)
    # only the claimer releases; then the other may claim it
    assert _post(v2, f"{API}/{wish.pk}/release").status_code == 403
    assert _post(v1, f"{API}/{wish.pk}/release").json()["state"] == "open"
    # a unit needs its name
    assert _post(v2, f"{API}/{wish.pk}/claim", {"kind": "unit"}).status_code == 400
    assert _post(v2, f"{API}/{wish.pk}/claim", {"kind": "unit", "unit": "安宁中学"}).status_code == 200
    # the claimer may not cancel; staff of another community may not; staff of c1 may
    assert _post(v2, f"{API}/{wish.pk}/cancel").status_code == 403
    assert _post(_client(w["staff_c2"]), f"{API}/{wish.pk}/cancel").status_code == 403
    r = _post(_client(w["staff_c1"]), f"{API}/{wish.pk}/cancel", {"reason": "家属已解决"})
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert Notification.objects.filter(recipient=w["vol2"], kind="wish_cancelled").exists()
    # a cancelled wish is off the wall and cannot be claimed
    assert wish.pk not in [x["id"] for x in v1.get(API).json()["items"]]
    assert _post(v1, f"{API}/{wish.pk}/claim").status_code == 409
    wish.refresh_from_db()
    assert wish.cancel_reason == "家属已解决"
    assert list(ChangeRecord.objects.filter(kind="wishes", object_id=str(wish.pk)).order_by("id")
                .values_list("action", flat=True)) == ["create", "claim", "release", "claim", "cancel"]


def test_the_claimer_no_longer_sees_the_person_once_released(w):
    wish = wishes.post_for(w["worker_c1"], w["elder_c1"].pk, "送菜")
    wishes.claim(w["vol"], wish.pk)
    assert wishes.may_see_person(w["vol"], Wish.objects.get(pk=wish.pk))
    wishes.release(w["vol"], wish.pk)
    assert not wishes.may_see_person(w["vol"], Wish.objects.get(pk=wish.pk))
    with pytest.raises(wishes.Forbidden):
        wishes.person(w["vol"], Wish.objects.get(pk=wish.pk))


def test_demo_builds_wishes_through_the_services(w):
    import random
    from datetime import timedelta

    from django.utils import timezone

    from gridgov.volunteers import demo_wishes

    now = timezone.now()
    counts = demo_wishes.build(random.Random(7), now - timedelta(days=365), now, None, password_hash="!",
                               email_domain="demo.invalid")
    assert counts["wishes"] == Wish.objects.count() >= 2
    for wish in Wish.objects.all():
        assert wish.entered_by in (w["worker_c1"], w["worker_c2"]) and wish.resident.special_care
        actions = list(ChangeRecord.objects.filter(kind="wishes", object_id=str(wish.pk)).order_by("id")
                       .values_list("action", flat=True))
        assert actions[0] == "create"
        if wish.state == "confirmed":
            assert ServiceRecord.objects.filter(key=f"wish:{wish.pk}", user=wish.claimed_by).exists()
            assert wish.photo and wish.confirmed_at <= now
        if wish.state in ("claimed", "fulfilled", "confirmed"):
            assert wish.claimed_by and (wish.claimer_kind != "unit" or wish.claimer_unit)
    assert not Notification.objects.filter(kind__startswith="wish_").exists()


def test_nobody_confirms_their_own_service(w):
    """A grid worker cannot claim the wish they posted; staff who claimed a wish of their grid
    cannot confirm it themselves (another confirmer can)."""
    wish = wishes.post_for(w["worker_c1"], w["elder_c1"].pk, "买药")
    assert _post(_client(w["worker_c1"]), f"{API}/{wish.pk}/claim").status_code == 403
    sc = _client(w["staff_c1"])
    assert _post(sc, f"{API}/{wish.pk}/claim").status_code == 200
    wishes.fulfil(w["staff_c1"], wish.pk, jpeg(), "送到了")
    assert _post(sc, f"{API}/{wish.pk}/confirm").status_code == 403
    assert not ServiceRecord.objects.exists()
    assert _post(_client(w["worker_c1"]), f"{API}/{wish.pk}/confirm").status_code == 200
    assert ServiceRecord.objects.get().user == w["staff_c1"]


def test_a_resident_has_a_few_wishes_under_way_at_most(w):
    user = w["resident_user"]
    first = [wishes.post_own(user, f"心愿{i}") for i in range(wishes.MAX_OWN_UNDER_WAY)]
    r = _post(_client(user), API, {"title": "再来一个"})
    assert r.status_code == 400 and r.json()["code"] == "too_many"
    wishes.cancel(user, first[0].pk, "不需要了")
    assert _post(_client(user), API, {"title": "再来一个"}).status_code == 201
