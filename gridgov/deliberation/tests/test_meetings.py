"""多方商 through the services: who convenes and when, invitations, attendance, the votes of those
present (one each, never changed, never for the absent), the quorum at its boundary and after the
setting changes, the majority and a tie, the decision (one per topic) and the phase it unlocks."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.cases.models import Notification
from gridgov.core import settings_rows
from gridgov.core.models import ChangeRecord
from gridgov.deliberation import meetings, services
from gridgov.deliberation.models import Decision, Invitee, Meeting, Topic, Vote
from gridgov.testing import make_property_company

from .world import topic

pytestmark = pytest.mark.django_db


def in_meeting_phase(w, side="c1", **kw):
    t = topic(w, side, **kw)
    return services.advance(w[f"staff_{side}"], t, to=t.process.phases.get(meeting=True))


def parties(w, n=5):
    """n invitees: the staff and the resident with logins, the rest by name."""
    base = [{"party": "community", "user": w["staff_c1"].pk},
            {"party": "resident", "user": w["user_c1"].pk},
            {"party": "property", "name": "物业张经理"},
            {"party": "owners", "name": "业委会李主任"},
            {"party": "resident", "user": w["neighbour"].pk},
            {"party": "unit", "name": "驻区单位代表"},
            {"party": "department", "name": "城管执法队"}]
    return base[:n]


def convened(w, n=5, *, options=("清理楼道堆物", "设置集中存放点"), mode="onsite", **kw):
    t = kw.pop("topic", None) or in_meeting_phase(w)
    kw.setdefault("place", "社区议事厅")
    return meetings.convene(w["staff_c1"], t, title="楼道堆物议事会", mode=mode, starts_at=timezone.now(),
                            invitees=parties(w, n), options=list(options), **kw)


def present(w, m, k):
    """Mark the first k invitees present, the rest absent."""
    rows = list(m.invitees.order_by("id"))
    meetings.record_attendance(w["staff_c1"], m, {r.pk: i < k for i, r in enumerate(rows)})
    return rows


def votes(w, m, rows, choices):
    opts = list(m.options.order_by("position"))
    for row, c in zip(rows, choices):
        meetings.vote(w["staff_c1"], m, option=opts[c], invitee=row)


def test_convening_needs_the_meeting_phase_and_the_communitys_staff(w, django_capture_on_commit_callbacks):
    t = topic(w)
    kw = dict(title="议事会", place="议事厅", starts_at=timezone.now(), invitees=parties(w, 3))
    with pytest.raises(services.Conflict) as e:  # still collecting
        meetings.convene(w["staff_c1"], t, **kw)
    assert e.value.code == "phase"
    t = services.advance(w["staff_c1"], t, to=t.process.phases.get(meeting=True))
    with pytest.raises(services.Forbidden):  # a resident of the place
        meetings.convene(w["user_c1"], t, **kw)
    with pytest.raises(services.Forbidden):  # the steward of its building
        meetings.convene(w["steward"], t, **kw)
    with pytest.raises(services.NotFound):  # another community's staff do not see it
        meetings.convene(w["staff_c2"], t, **kw)
    with pytest.raises(services.DeliberationError) as e:  # one party is no meeting of parties
        meetings.convene(w["staff_c1"], t, **{**kw, "invitees": [{"party": "community", "name": "甲"},
                                                                  {"party": "community", "name": "乙"}]})
    assert e.value.code == "parties"
    with pytest.raises(services.DeliberationError):  # on site needs a place
        meetings.convene(w["staff_c1"], t, **{**kw, "place": ""})
    with django_capture_on_commit_callbacks(execute=True):
        m = meetings.convene(w["staff_c1"], t.pk, **kw)
    assert m.state == Meeting.State.SCHEDULED and m.invitees.count() == 3 and m.options.count() == 0
    # the invitees with a login are told the time and place
    n = Notification.objects.filter(kind="meeting_invitation", recipient=w["user_c1"]).first()
    assert n is not None and "议事厅" in n.body
    assert ChangeRecord.objects.filter(kind="deliberation_meetings", object_id=str(m.pk), action="convene").exists()
    with pytest.raises(services.Conflict) as e:  # one pending meeting at a time
        meetings.convene(w["staff_c1"], t, **kw)
    assert e.value.code == "scheduled"


def test_invitations_and_options(w, django_capture_on_commit_callbacks):
    m = convened(w, 3, options=())
    with django_capture_on_commit_callbacks(execute=True):
        row = meetings.invite(w["staff_c1"], m, {"party": "resident", "user": w["neighbour"].pk})
    assert row.name == "邻居" and Notification.objects.filter(recipient=w["neighbour"], kind="meeting_invitation").exists()
    with pytest.raises(services.Conflict):
        meetings.invite(w["staff_c1"], m, {"party": "resident", "user": w["neighbour"].pk})
    with pytest.raises(services.Forbidden):
        meetings.invite(w["user_c1"], m, {"party": "resident", "name": "某人"})
    meetings.uninvite(w["staff_c1"], m, row.pk)
    assert not m.invitees.filter(pk=row.pk).exists()
    # two parties remain at least
    rows = list(m.invitees.order_by("id"))
    meetings.uninvite(w["staff_c1"], m, rows[1].pk)
    with pytest.raises(services.DeliberationError):
        meetings.uninvite(w["staff_c1"], m, rows[2].pk)
    # options: set, replaced, not after a vote
    opts = meetings.set_options(w["staff_c1"], m, ["方案一", " 方案二 ", ""])
    assert [o.text for o in opts] == ["方案一", "方案二"]
    with pytest.raises(services.DeliberationError):
        meetings.set_options(w["staff_c1"], m, ["同一个", "同一个"])
    meetings.record_attendance(w["staff_c1"], m, {rows[0].pk: True})
    meetings.vote(w["staff_c1"], m, option=opts[0], invitee=rows[0])
    with pytest.raises(services.Conflict) as e:
        meetings.set_options(w["staff_c1"], m, ["方案三", "方案四"])
    assert e.value.code == "voted"


def test_votes_only_by_those_present_once_each(w):
    m = convened(w, 5)
    rows = list(m.invitees.order_by("id"))  # staff, user_c1, property, owners, neighbour
    opts = list(m.options.order_by("position"))
    with pytest.raises(services.Conflict) as e:  # nobody present yet
        meetings.vote(w["user_c1"], m, option=opts[0])
    assert e.value.code == "absent"
    meetings.record_attendance(w["staff_c1"], m, {rows[1].pk: True, rows[2].pk: True, rows[3].pk: False})
    # the invitee present votes for themselves
    v = meetings.vote(w["user_c1"], m, option=opts[0].pk)
    assert v.invitee == rows[1] and v.recorded_by == w["user_c1"]
    with pytest.raises(services.Conflict) as e:  # once; never changed
        meetings.vote(w["user_c1"], m, option=opts[1])
    assert e.value.code == "already_voted"
    # staff record the on-site vote of a party present without a login
    meetings.vote(w["staff_c1"], m, option=opts[1], invitee=rows[2].pk)
    with pytest.raises(services.Conflict):  # never for an absent party
        meetings.vote(w["staff_c1"], m, option=opts[1], invitee=rows[3])
    with pytest.raises(services.Forbidden):  # an invitee cannot vote for another
        meetings.vote(w["user_c1"], m, option=opts[1], invitee=rows[2])
    with pytest.raises(services.Forbidden):  # a resident not invited
        meetings.vote(w["steward"], m, option=opts[1])
    with pytest.raises(services.NotFound):  # another community's resident does not see it
        meetings.vote(w["user_c2"], m, option=opts[1])
    with pytest.raises(services.Conflict):  # a voter cannot be marked absent
        meetings.record_attendance(w["staff_c1"], m, {rows[1].pk: False})
    assert Vote.objects.filter(meeting=m).count() == 2
    t = meetings.tally(m)
    assert [o["votes"] for o in t["options"]] == [1, 1] and t["tie"] and t["present"] == 2
    meetings.close(w["staff_c1"], m, minutes="纪要")
    with pytest.raises(services.Conflict):  # never after it is held
        meetings.vote(w["staff_c1"], m, option=opts[0], invitee=rows[0])


def test_an_invitee_joins_an_online_meeting(w):
    m = convened(w, 3, mode="online", place="")
    with pytest.raises(services.Forbidden):
        meetings.join(w["neighbour"], m)  # not invited (3 parties: staff, user_c1, property)
    row = meetings.join(w["user_c1"], m)
    assert row.attended is True
    meetings.vote(w["user_c1"], m, option=m.options.first())
    onsite = convened(w, 3, topic=topic_in_c1_meeting_phase(w, "另一个议题"))
    with pytest.raises(services.Conflict) as e:
        meetings.join(w["user_c1"], onsite)
    assert e.value.code == "onsite"
    # not before it opens
    later = meetings.convene(w["staff_c1"], topic_in_c1_meeting_phase(w, "第三个议题"), title="线上会", mode="online",
                             starts_at=timezone.now() + timedelta(days=2), invitees=parties(w, 2))
    with pytest.raises(services.Conflict) as e:
        meetings.join(w["user_c1"], later)
    assert e.value.code == "not_open"


def topic_in_c1_meeting_phase(w, title):
    return in_meeting_phase(w, title=title)


@pytest.mark.parametrize("k, decided", [(2, False), (3, True)])
def test_the_quorum_at_its_boundary(w, k, decided):
    m = convened(w, 5)
    rows = present(w, m, k)
    votes(w, m, rows[:k], [0] * k)
    d = meetings.close(w["staff_c1"], m, minutes="会议纪要")
    m.refresh_from_db()
    t = meetings.tally(m)
    assert m.state == Meeting.State.HELD and m.quorum == 0.5 and m.majority == 0.5
    assert t["invited"] == 5 and t["present"] == k and t["needed"] == 3 and t["quorum_met"] is decided
    assert (d is not None) is decided
    topic = Topic.objects.get(pk=m.topic_id)
    if decided:
        assert d.invited == 5 and d.present == 3 and d.votes_for == 3 and d.summary == "清理楼道堆物"
        assert topic.decided_at == d.decided_at
    else:
        assert t["outcome"] == "no_quorum" and "2 方" in t["reason"] and "需 3 方" in t["reason"]
        assert topic.decided_at is None and not Decision.objects.filter(topic=topic).exists()
        # the community convenes again, and this time decides
        again = convened(w, 5, topic=topic)
        votes(w, again, present(w, again, 4), [0, 0, 1, 0])
        assert meetings.close(w["staff_c1"], again, minutes="第二次") is not None


@pytest.mark.parametrize("quorum, decided", [("0.6", True), ("0.7", False)])
def test_the_quorum_follows_the_setting(w, quorum, decided):
    settings_rows.set_values(w["admin"], {"DELIBERATION_QUORUM": quorum}, note="测试")
    m = convened(w, 5)
    votes(w, m, present(w, m, 3), [0, 0, 0])
    assert meetings.tally(m)["needed"] == (3 if decided else 4)
    d = meetings.close(w["staff_c1"], m, minutes="纪要")
    assert (d is not None) is decided
    m.refresh_from_db()
    assert m.quorum == float(quorum)
    # the held meeting keeps the rule in force when it was held
    settings_rows.set_values(w["admin"], {"DELIBERATION_QUORUM": "0.5"})
    assert meetings.tally(m)["quorum_met"] is decided


def test_the_majority_and_a_tie(w):
    # 4 present, 2 for the top option: not more than half of those present
    m = convened(w, 5)
    votes(w, m, present(w, m, 4), [0, 0, 1])
    t = meetings.tally(m)
    assert t["leading"]["votes"] == 2 and t["needed_votes"] == 3 and t["adopted"] is None
    assert meetings.close(w["staff_c1"], m, minutes="纪要") is None
    assert meetings.tally(m)["outcome"] == "no_majority"
    # a tie at the top
    m = convened(w, 5, topic=Topic.objects.get(pk=m.topic_id), options=("甲", "乙", "丙"))
    votes(w, m, present(w, m, 5), [0, 0, 1, 1, 2])
    assert meetings.close(w["staff_c1"], m, minutes="纪要") is None
    assert meetings.tally(m)["outcome"] == "tie"
    # a stricter majority setting: 3 of 4 is more than 0.7 × 4 = 2.8
    settings_rows.set_values(w["admin"], {"DELIBERATION_MAJORITY": "0.7"})
    m = convened(w, 5, topic=Topic.objects.get(pk=m.topic_id))
    votes(w, m, present(w, m, 4), [0, 0, 0, 1])
    assert meetings.tally(m)["needed_votes"] == 3
    assert meetings.close(w["staff_c1"], m, minutes="纪要") is not None


def test_the_decision_unlocks_the_phase_and_is_one_per_topic(w, django_capture_on_commit_callbacks):
    t = in_meeting_phase(w)
    t.supports.create(user=w["neighbour"], at=timezone.now())
    with pytest.raises(services.Conflict):
        services.advance(w["staff_c1"], t)
    m = convened(w, 5, topic=t)
    votes(w, m, present(w, m, 5), [0, 0, 0, 1, 1])
    deadline = timezone.localdate() + timedelta(days=21)
    with django_capture_on_commit_callbacks(execute=True):
        d = meetings.close(w["staff_c1"], m, minutes="会上各方同意清理。", owner=w["staff_c1"].pk, deadline=deadline,
                           work="两周内清理1号楼楼道", summary="清理楼道堆物，设置临时存放点")
    assert d.owner == w["staff_c1"] and d.owner_name and d.deadline == deadline and d.option.text == "清理楼道堆物"
    assert d.votes_for == 3 and d.decided_by == w["staff_c1"]
    t.refresh_from_db()
    assert t.decided_at == d.decided_at
    # participants (a supporter) and the invitees are told
    assert Notification.objects.filter(kind="meeting_held", recipient=w["neighbour"]).count() == 1
    assert Notification.objects.filter(kind="meeting_held", recipient=w["user_c1"]).exists()
    assert ChangeRecord.objects.filter(kind="deliberation_decisions", object_id=str(d.pk)).exists()
    # no second meeting, no second decision
    with pytest.raises(services.Conflict) as e:
        convened(w, 5, topic=t)
    assert e.value.code == "decided"
    t = services.advance(w["staff_c1"], t)
    assert t.phase.execution


def test_a_second_decision_is_refused(w):
    t = in_meeting_phase(w)
    m = convened(w, 3, topic=t)
    Decision.objects.create(topic=t, summary="别处做的决定", decided_at=timezone.now(), decided_by=w["staff_c1"])
    with pytest.raises(services.Conflict) as e:
        meetings.close(w["staff_c1"], m, minutes="纪要")
    assert e.value.code == "decided"


def test_cancel_and_who_may_close(w, django_capture_on_commit_callbacks):
    m = convened(w, 3)
    with pytest.raises(services.Forbidden):
        meetings.close(w["user_c1"], m, minutes="纪要")
    with pytest.raises(services.DeliberationError):
        meetings.cancel(w["staff_c1"], m, "")
    with django_capture_on_commit_callbacks(execute=True):
        meetings.cancel(w["staff_c1"], m, "台风天改期")
    m.refresh_from_db()
    assert m.state == Meeting.State.CANCELLED and m.minutes == "台风天改期"
    assert Notification.objects.filter(kind="meeting_cancelled", recipient=w["user_c1"]).exists()
    with pytest.raises(services.Conflict):
        meetings.close(w["staff_c1"], m, minutes="纪要")
    assert meetings.tally(m)["outcome"] == "cancelled"


def test_suggested_parties(w):
    org, _dep = make_property_company("安居物业", [w["compound_c1"]])
    t = in_meeting_phase(w)
    found = meetings.suggested_parties(t)
    kinds = {(s["party"], s["user"], s["organization"]) for s in found}
    assert ("property", None, org.pk) in kinds
    assert ("community", w["staff_c1"].pk, None) in kinds
    assert ("resident", w["steward"].pk, None) in kinds
    assert all(s["user"] != w["staff_c2"].pk for s in found)
    # the suggestions convene as they are
    m = meetings.convene(w["staff_c1"], t, title="会", place="议事厅", starts_at=timezone.now(), invitees=found)
    assert m.invitees.filter(organization=org, party=Invitee.Party.PROPERTY).exists()


def test_the_residents_see_the_count_not_the_votes(w):
    m = convened(w, 5)
    votes(w, m, present(w, m, 4), [0, 0, 0, 1])
    meetings.close(w["staff_c1"], m, minutes="纪要")
    t = Topic.objects.get(pk=m.topic_id)
    ctx = meetings.m_context(w["user_c1"], t)["meetings"]
    assert ctx["decision"]["votes_for"] == 3 and ctx["items"][0]["invited"] and ctx["items"][0]["link"]
    other = meetings.m_context(w["steward"], t)["meetings"]
    assert not other["items"][0]["invited"] and other["items"][0]["tally"]["present"] == 4
    assert "invitee" not in str(other["items"][0]["tally"])
    staff = meetings.staff_context(w["staff_c1"], t)["meetings"]
    assert staff["rows"][0]["tally"]["outcome"] == "adopted" and not staff["may_convene"]
