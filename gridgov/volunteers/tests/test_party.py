"""Party life's services: 双报到 (one active registration per member and community, ending,
registering again), units, the roll scoped by community, vanguard posts (take, leave, assign,
close), 亮身份, and the 实事 of the year counted from the service records against the expected."""

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from gridgov.accounts.models import Duty, Role
from gridgov.cases.models import Notification
from gridgov.core.models import ChangeRecord
from gridgov.registry import services as reg
from gridgov.testing import make_user
from gridgov.volunteers import party, services
from gridgov.volunteers.models import PartyRegistration, VanguardDuty

pytestmark = pytest.mark.django_db


def at(year, month=6, day=1):
    return timezone.make_aware(datetime(year, month, day, 10, 0))


@pytest.fixture
def world(street):
    branch1 = reg.create_party_org(name="第1社区第1网格党支部", grid=street["c1g1"], grids=[street["c1g1"]])
    branch2 = reg.create_party_org(name="第2社区第1网格党支部", grid=street["c2g1"], grids=[street["c2g1"]])
    sec = make_user("sec1", Role.RESIDENT)
    branch1.secretary = sec
    branch1.save(update_fields=["secretary"])
    return {
        **street, "b1": branch1, "b2": branch2, "sec": sec,
        "m1": make_user("m1", Role.RESIDENT), "m2": make_user("m2", Role.VOLUNTEER), "m3": make_user("m3", Role.RESIDENT),
        "cs1": make_user("cs1", Role.COMMUNITY_STAFF, [street["c1"]], duty=Duty.STAFF),
        "cs2": make_user("cs2", Role.COMMUNITY_STAFF, [street["c2"]], duty=Duty.STAFF),
        "gw1": make_user("gw1", Role.GRID_WORKER, [street["c1g1"]]),
        "leader": make_user("leader", Role.LEADER),
    }


def test_member_registers_once_per_community_ends_and_registers_again(world):
    m1 = world["m1"]
    r = party.register_member(m1, community=world["c1"].code, unit_name="区财政局", party_org=world["b1"].pk,
                              skills="法律咨询")
    assert (r.kind, r.state, r.community, r.name, r.show_identity) == ("member", "active", world["c1"], "m1", True)
    assert ChangeRecord.objects.filter(kind="party", object_id=str(r.pk), action="create").count() == 1
    # the branch's secretary is told
    assert Notification.objects.filter(recipient=world["sec"], kind="party").exists()
    with pytest.raises(party.Conflict):
        party.register_member(m1, community=world["c1"])
    # another community is another registration
    other = party.register_member(m1, community=world["c2"])
    assert other.community == world["c2"]
    # a grid is not a community: its community is meant
    assert party.register_member(world["m2"], community=world["c1g1m1"].code).community == world["c1"]
    # nobody else ends it; the member does; then registers again
    with pytest.raises(party.NotAllowed):
        party.end_registration(world["m2"], r.pk)
    with pytest.raises(party.NotAllowed):
        party.end_registration(world["cs2"], r.pk)  # staff of the other community
    party.end_registration(m1, r.pk, reason="搬家")
    r.refresh_from_db()
    assert r.state == "ended" and r.ended_at
    with pytest.raises(party.Conflict):
        party.end_registration(m1, r.pk)
    again = party.register_member(m1, community=world["c1"])
    assert again.pk != r.pk and again.state == "active"
    # staff of the community end it and the member is told
    party.end_registration(world["cs1"], again.pk, reason="组织关系转出")
    assert Notification.objects.filter(recipient=m1, kind="party").exists()


def test_without_a_community_the_home_of_the_linked_resident(world):
    res = reg.create_resident(name="张党员", party_member=True, party_org=world["b1"], grid=world["c1g1m1"])
    reg.create_volunteer(name="张党员", kind="volunteer", resident=res, user=world["m3"], grid=world["c1g1m1"])
    r = party.register_member(world["m3"])
    assert r.community == world["c1"] and r.grid == world["c1g1m1"] and r.resident == res
    with pytest.raises(party.PartyError) as e:
        party.register_member(world["m1"])  # no home known: choose one
    assert e.value.code == "community"
    with pytest.raises(party.NotAllowed):
        from django.contrib.auth.models import AnonymousUser

        party.register_member(AnonymousUser(), community=world["c1"])


def test_identity_toggle_and_badge(world):
    m1 = world["m1"]
    assert party.shows_party_identity(m1) is False
    r = party.register_member(m1, community=world["c1"])
    assert party.shows_party_identity(m1) is True
    assert party.party_identity_ids([m1.pk, world["m2"].pk]) == {m1.pk}
    party.update_registration(m1, r.pk, show_identity=False, skills="修电脑")
    r.refresh_from_db()
    assert r.show_identity is False and r.skills == "修电脑"
    assert party.shows_party_identity(m1) is False
    with pytest.raises(party.NotAllowed):
        party.update_registration(world["m2"], r.pk, show_identity=True)
    assert ChangeRecord.objects.filter(kind="party", object_id=str(r.pk), action="update").count() == 1
    party.update_registration(m1, r.pk, show_identity=True)
    party.end_registration(m1, r.pk)
    assert party.shows_party_identity(m1) is False


def test_units_register_by_contact_or_staff_once(world):
    u = party.register_unit(world["m2"], community=world["c1"], name="区财政局机关党支部", unit_name="区财政局")
    assert (u.kind, u.user, u.community) == ("unit", world["m2"], world["c1"])
    with pytest.raises(party.Conflict):
        party.register_unit(world["cs1"], community=world["c1"], name="x", unit_name="区财政局")
    with pytest.raises(party.PartyError):
        party.register_unit(world["cs1"], community=world["c1"], name="x", unit_name="")
    party.register_unit(world["cs2"], community=world["c2"], name="区医院党委", unit_name="区医院")
    # the contact ends it; the other community's staff may not
    with pytest.raises(party.NotAllowed):
        party.end_registration(world["cs2"], u.pk)
    party.end_registration(world["m2"], u.pk)


def test_roll_is_scoped_by_community(world):
    party.register_member(world["m1"], community=world["c1"])
    party.register_member(world["m2"], community=world["c2"])
    party.register_unit(world["cs1"], community=world["c1"], name="区财政局机关党支部", unit_name="区财政局")
    assert {r.name for r in party.roll(world["cs1"])} == {"m1", "区财政局机关党支部"}
    assert {r.name for r in party.roll(world["cs2"])} == {"m2"}
    assert {r.name for r in party.roll(world["leader"])} == {"m1", "m2", "区财政局机关党支部"}
    assert {r.name for r in party.roll(world["cs1"], kind="unit")} == {"区财政局机关党支部"}
    assert list(party.roll(world["cs1"], community=world["c2"])) == []
    with pytest.raises(party.NotAllowed):
        party.roll(world["m1"])
    counts = {c["community"]: c for c in party.roll_counts(world["leader"])}
    assert counts["第1社区"]["members"] == 1 and counts["第1社区"]["units"] == 1 and counts["第1社区"]["this_year"] == 2
    assert counts["第2社区"]["members"] == 1
    assert [c["community"] for c in party.roll_counts(world["cs2"])] == ["第2社区"]
    # a grid worker sees the members living on their grid
    res = reg.create_resident(name="李党员", party_member=True, grid=world["c1g1m1"])
    reg.create_volunteer(name="李党员", kind="volunteer", resident=res, user=world["m3"], grid=world["c1g1m1"])
    party.register_member(world["m3"])
    assert {r.name for r in party.roll(world["gw1"])} == {"m3"}


def test_posts_take_leave_assign_close(world):
    post = party.create_post(world["cs1"], name="垃圾分类督导岗", node=world["c1g1"].code, party_org=world["b1"].pk)
    with pytest.raises(party.NotAllowed):
        party.create_post(world["cs2"], name="x", node=world["c1g1"].code)
    with pytest.raises(party.NotAllowed):
        party.create_post(world["m1"], name="x", node=world["c1g1"].code)
    # only a member registered with the community takes it
    with pytest.raises(party.PartyError) as e:
        party.take_post(world["m1"], post.pk)
    assert e.value.code == "not_registered"
    party.register_member(world["m1"], community=world["c2"])
    with pytest.raises(party.PartyError):
        party.take_post(world["m1"], post.pk)
    party.register_member(world["m1"], community=world["c1"])
    assert [p.pk for p in party.posts_for_member(world["m1"])] == [post.pk]
    party.take_post(world["m1"], post.pk)
    with pytest.raises(party.Conflict):
        party.take_post(world["m1"], post.pk)
    party.leave_post(world["m1"], post.pk)
    with pytest.raises(party.Conflict):
        party.leave_post(world["m1"], post.pk)
    # staff assign (the member is told); another community's staff may not
    party.register_member(world["m2"], community=world["c1"])
    with pytest.raises(party.NotAllowed):
        party.assign_post(world["cs2"], post.pk, world["m2"].pk)
    party.assign_post(world["cs1"], post.pk, world["m2"].pk)
    assert Notification.objects.filter(recipient=world["m2"], kind="party").exists()
    party.take_post(world["m1"], post.pk)
    assert {d.user for d in party.holders([post])[post.pk]} == {world["m1"], world["m2"]}
    # a member may not release someone else; staff may
    with pytest.raises(party.NotAllowed):
        party.leave_post(world["m1"], post.pk, member=world["m2"].pk)
    party.leave_post(world["cs1"], post.pk, member=world["m2"].pk)
    # ending the registration ends the duties in that community
    r = PartyRegistration.objects.get(user=world["m1"], community=world["c1"], state="active")
    party.end_registration(world["m1"], r.pk)
    assert not VanguardDuty.objects.filter(post=post, until__isnull=True).exists()
    party.take_post(world["m2"], post.pk)
    party.close_post(world["cs1"], post.pk)
    assert not VanguardDuty.objects.filter(post=post, until__isnull=True).exists()
    with pytest.raises(party.Conflict):
        party.take_post(world["m2"], post.pk)
    assert ChangeRecord.objects.filter(kind="party", object_id=str(post.pk)).count() >= 8


def _deed(user, source, n, when, node=None):
    services.record_service(user, source, f"test:{user.pk}:{source}:{n}:{when:%Y%m%d}", f"{source} {n}", at=when,
                            node=node)


def test_deeds_count_service_records_of_the_year_against_the_expected(world):
    m1, m2, m3 = world["m1"], world["m2"], world["m3"]
    party.register_member(m1, community=world["c1"], party_org=world["b1"])
    party.register_member(m2, community=world["c1"], party_org=world["b1"])
    party.register_member(m3, community=world["c2"], party_org=world["b2"])
    y = timezone.localdate().year - 1
    _deed(m1, "activity", 1, at(y, 3))
    _deed(m1, "wish", 1, at(y, 5))
    _deed(m1, "patrol", 1, at(y, 5))  # a patrol is not a 实事
    _deed(m1, "grab", 1, at(y - 1, 12, 31))  # another year
    _deed(m2, "report", 1, at(y, 7))
    _deed(m3, "grab", 1, at(y, 8))
    with CaptureQueriesContext(connection) as q:
        counts = party.deed_counts(party.Q(user_id__in=[m1.pk, m2.pk, m3.pk]), y)
    assert len(q.captured_queries) == 1
    assert counts == {m1.pk: 2, m2.pk: 1, m3.pk: 1}
    t = party.deeds_table(world["leader"], y)
    rows = {m["name"]: m for m in t.members}
    assert (rows["m1"]["count"], rows["m1"]["met"], rows["m2"]["met"], t.expected) == (2, True, False, 2)
    assert {c["name"]: (c["members"], c["met"], c["deeds"]) for c in t.communities} == {"第1社区": (2, 1, 3), "第2社区": (1, 0, 1)}
    assert {b["name"]: (b["members"], b["met"]) for b in t.branches} == {"第1社区第1网格党支部": (2, 1), "第2社区第1网格党支部": (1, 0)}
    with override_settings(VOLUNTEERS_PARTY_DEEDS_EXPECTED=1):
        t1 = party.deeds_table(world["leader"], y)
        assert t1.met == 3 and t1.expected == 1
        assert party.my_deeds(m2, y)["met"] is True
    # scoped: community 1's staff see their two
    assert {m["name"] for m in party.deeds_table(world["cs1"], y).members} == {"m1", "m2"}
    with pytest.raises(party.NotAllowed):
        party.deeds_table(m1, y)
    mine = party.my_deeds(m1, y)
    assert (mine["count"], mine["expected"], mine["met"], mine["percent"]) == (2, 2, True, 100)
    assert party.my_deeds(m1, y + 1)["count"] == 0


def test_unregistered_party_member_users_are_counted_too(world):
    res = reg.create_resident(name="王党员", party_member=True, party_org=world["b1"], grid=world["c1g1m1"])
    reg.create_volunteer(name="王党员", kind="volunteer", resident=res, user=world["m3"], grid=world["c1g1m1"])
    y = timezone.localdate().year
    _deed(world["m3"], "activity", 1, timezone.now() - timedelta(minutes=5))
    t = party.deeds_table(world["cs1"], y)
    row = next(m for m in t.members if m["user_id"] == world["m3"].pk)
    assert (row["registered"], row["count"], row["community"], row["party_org"]) == (False, 1, "第1社区", "第1社区第1网格党支部")
    assert party.deeds_table(world["cs2"], y).members == []
    party.register_member(world["m3"])
    t = party.deeds_table(world["cs1"], y)
    assert [m["registered"] for m in t.members if m["user_id"] == world["m3"].pk] == [True]


def test_branch_secretary_sees_only_their_branch(world):
    party.register_member(world["m1"], community=world["c1"], party_org=world["b1"])
    party.register_member(world["m3"], community=world["c2"], party_org=world["b2"])
    y = timezone.localdate().year
    _deed(world["m1"], "activity", 1, timezone.now() - timedelta(minutes=5))
    t = party.branch_deeds(world["sec"], world["b1"], y)
    assert [(m["name"], m["count"]) for m in t.members] == [("m1", 1)]
    with pytest.raises(party.NotAllowed):
        party.branch_deeds(world["sec"], world["b2"], y)
    with pytest.raises(party.NotAllowed):
        party.branch_deeds(world["m1"], world["b1"], y)
    # staff whose scope holds the branch's grid see it, the other community's do not
    assert party.branch_deeds(world["cs2"], world["b2"], y).total == 1
    with pytest.raises(party.NotAllowed):
        party.branch_deeds(world["cs2"], world["b1"], y)
    assert [s.user for s in party.branch_service(world["b1"], y)] == [world["m1"]]
    assert list(party.branches_led(world["sec"])) == [world["b1"]]
