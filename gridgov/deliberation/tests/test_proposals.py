"""居民提、楼长集: proposing (phone, a building's QR code), a steward entering for a neighbour
(whose it is and who typed it both kept), supporting, comments moderated as reports are, notes,
merging duplicates, forwarding and withdrawing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.cases.models import SensitiveWord
from gridgov.cases.notify import Notification
from gridgov.deliberation import proposals, services
from gridgov.deliberation.models import Comment, Phase, Process, Support, Topic, TopicNote

from .world import topic


def _collecting(t):
    return t.state == Topic.State.OPEN and t.phase.proposals_open


def _to_discussion(w, t):
    """Move a topic to the first phase with discussion open (staff)."""
    phase = t.process.phases.filter(discussion_open=True).order_by("position").first()
    return services.advance(w["staff_c1"], t, to=phase)


def _word():
    SensitiveWord.objects.get_or_create(word="傻逼", defaults={"category": "abuse"})
    return "傻逼"


# --- proposing -------------------------------------------------------------------------------


def test_a_resident_proposes_for_their_home(w, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        t = proposals.propose(w["user_c1"], title="楼道堆物太多", body="请联系我 13912345678")
    assert t.channel == Topic.Channel.PHONE and t.building == w["building_c1"] and t.compound == w["compound_c1"]
    assert t.node == w["street"]["c1g1m1"] and t.community == w["street"]["c1"]
    assert t.proposer == w["user_c1"] and t.entered_by == w["user_c1"] and t.proposer_resident == w["resident_c1"]
    assert _collecting(t) and t.phase.position == 1
    assert "139****5678" in t.body and "13912345678" not in t.body
    # the steward of the building is told (on commit)
    assert Notification.objects.filter(recipient=w["steward"], kind="topic_proposed").exists()


def test_the_building_qr_code_names_the_place(w):
    token = proposals.building_token(w["building_c2"])
    assert proposals.building_from_token(token) == w["building_c2"]
    # a stranger (no registry record) proposes from the code: the building is carried
    t = proposals.propose(w["stranger"], title="2号院缺少晾衣架", token=token)
    assert t.channel == Topic.Channel.QR and t.building == w["building_c2"] and t.community == w["street"]["c2"]
    for bad in ("", "xyz", token[:-2] + "aa", token.replace(":", ";")):
        with pytest.raises(services.DeliberationError) as e:
            proposals.building_from_token(bad)
        assert e.value.code == "bad_token"
    with pytest.raises(services.DeliberationError) as e:
        proposals.propose(w["stranger"], title="x", token="forged")
    assert e.value.code == "bad_token"


def test_without_a_place_the_resident_is_asked_to_scan(w):
    with pytest.raises(services.DeliberationError) as e:
        proposals.propose(w["stranger"], title="没有地点")
    assert e.value.code == "place" and "二维码" in str(e.value)


def test_proposal_limits(w, settings):
    _word()
    with pytest.raises(services.DeliberationError) as e:
        proposals.propose(w["user_c1"], title="x" * 81)
    assert e.value.code == "title"
    with pytest.raises(services.DeliberationError) as e:
        proposals.propose(w["user_c1"], title="正常", body="y" * 2001)
    assert e.value.code == "body"
    with pytest.raises(services.DeliberationError) as e:
        proposals.propose(w["user_c1"], title="物业是傻 逼")
    assert e.value.code == "sensitive"
    settings.DELIBERATION_MAX_OPEN_PROPOSALS = 2
    proposals.propose(w["user_c1"], title="议题1")
    proposals.propose(w["user_c1"], title="议题2")
    with pytest.raises(services.DeliberationError) as e:
        proposals.propose(w["user_c1"], title="议题3")
    assert e.value.code == "too_many"
    # a forwarded one (out of the collecting phases) frees a place
    t = Topic.objects.filter(proposer=w["user_c1"]).first()
    services.advance(w["staff_c1"], t, to=t.process.phases.get(position=3))
    proposals.propose(w["user_c1"], title="又一个")


# --- entering for someone --------------------------------------------------------------------


def test_a_steward_enters_for_an_elderly_neighbour(w):
    t = proposals.enter_for(w["steward"], title="单元门禁坏了", resident=w["elder"], building=w["building_c1"])
    assert t.channel == Topic.Channel.STEWARD and t.proposer is None
    assert t.proposer_resident == w["elder"] and t.proposer_name == "王奶奶" and t.entered_by == w["steward"]
    assert t.building == w["building_c1"] and _collecting(t)
    # the card hides whose it is from the neighbours, not from the steward who entered it or staff
    assert "proposer" not in proposals.card(t, w["neighbour"])
    assert proposals.card(t, w["steward"])["proposer"] == "王奶奶"
    assert proposals.card(t, w["staff_c1"])["proposer"] == "王奶奶"
    assert "proposer" not in proposals.card(t, w["staff_c2"])


def test_a_steward_enters_only_for_their_buildings(w):
    with pytest.raises(services.Forbidden):
        proposals.enter_for(w["steward"], title="别的楼", building=w["building_c2"], person_name="张三")
    # a resident must live in the building chosen
    from gridgov.registry import services as reg

    far = reg.create_resident(name="远亲", phone="13800007777", house=w["house_c2"], grid=w["street"]["c2g1m1"])
    with pytest.raises(services.DeliberationError) as e:
        proposals.enter_for(w["steward"], title="不住这", building=w["building_c1"], resident=far)
    assert e.value.code == "resident"
    with pytest.raises(services.DeliberationError) as e:
        proposals.enter_for(w["steward"], title="无名", building=w["building_c1"])
    assert e.value.code == "name"
    # a resident cannot enter for others
    with pytest.raises(services.Forbidden):
        proposals.enter_for(w["neighbour"], title="代录", building=w["building_c1"], person_name="王奶奶")


def test_staff_enter_from_the_letterbox(w):
    t = proposals.enter_for(w["staff_c1"], title="意见箱：路灯不亮", building=w["building_c1"],
                            channel=Topic.Channel.LETTERBOX)
    assert t.channel == "letterbox" and t.entered_by == w["staff_c1"] and t.proposer_name == ""
    t2 = proposals.enter_for(w["staff_c1"], title="社区录入", node=w["street"]["c1g1"], channel=Topic.Channel.STAFF)
    assert t2.building is None and t2.community == w["street"]["c1"]
    with pytest.raises(services.Forbidden):  # out of scope
        proposals.enter_for(w["staff_c2"], title="越界", building=w["building_c1"], channel="letterbox")
    with pytest.raises(services.Forbidden):  # staff do not pose as stewards
        proposals.enter_for(w["staff_c1"], title="x", building=w["building_c1"], person_name="王", channel="steward")


# --- supporting ------------------------------------------------------------------------------


def test_support_once_per_person_and_take_it_back(w):
    t = proposals.propose(w["user_c1"], title="加装电梯")
    t = proposals.support(w["neighbour"], t)
    t = proposals.support(w["neighbour"], t)  # a double tap
    assert t.support_count == 1 and Support.objects.filter(topic=t).count() == 1
    t = proposals.support(w["user_c1"], t)
    assert t.support_count == 2
    t = proposals.unsupport(w["neighbour"], t)
    t = proposals.unsupport(w["neighbour"], t)
    assert t.support_count == 1
    # someone who does not see it (another community) cannot
    with pytest.raises(services.NotFound):
        proposals.support(w["user_c2"], t)


def test_support_only_while_support_is_open(w):
    t = topic(w)
    last = t.process.phases.order_by("-position").first()
    t = services.advance(w["staff_c1"], t, to=t.process.phases.get(position=3))
    Phase.objects.filter(pk=t.phase_id).update(support_open=False)
    with pytest.raises(services.Conflict):
        proposals.support(w["user_c1"], t.pk)
    assert last.position > 3
    # a phase whose set time ran out
    Phase.objects.filter(pk=t.phase_id).update(support_open=True)
    Topic.objects.filter(pk=t.pk).update(phase_ends_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(services.Conflict):
        proposals.support(w["user_c1"], t.pk)


# --- comments --------------------------------------------------------------------------------


def test_comments_only_in_discussion_phases(w, django_capture_on_commit_callbacks):
    t = proposals.propose(w["user_c1"], title="小区停车难")
    with pytest.raises(services.Conflict):
        proposals.comment(w["neighbour"], t, "同意")
    t = _to_discussion(w, t)
    with django_capture_on_commit_callbacks(execute=True):
        c = proposals.comment(w["neighbour"], t, "同意，我的电话 13912345678")
    assert c.state == Comment.State.VISIBLE and "139****5678" in c.text
    t.refresh_from_db()
    assert t.comment_count == 1
    assert Notification.objects.filter(recipient=w["user_c1"], kind="topic_comment").exists()


def test_a_held_comment_is_seen_by_its_author_and_moderators_only(w, django_capture_on_commit_callbacks):
    word = _word()
    t = _to_discussion(w, proposals.propose(w["user_c1"], title="垃圾分类"))
    held = proposals.comment(w["neighbour"], t, f"物业就是{word}")
    ok = proposals.comment(w["user_c1"], t, "支持")
    assert held.state == Comment.State.HELD and held.held_words == [word]
    t.refresh_from_db()
    assert t.comment_count == 1
    assert held in proposals.comments_for(w["neighbour"], t)
    assert held not in proposals.comments_for(w["user_c1"], t) and ok in proposals.comments_for(w["user_c1"], t)
    assert held in proposals.comments_for(w["staff_c1"], t)
    assert held in proposals.held_comments(w["staff_c1"]) and not proposals.held_comments(w["staff_c2"]).exists()
    assert not proposals.held_comments(w["neighbour"]).exists()
    with pytest.raises(services.Forbidden):
        proposals.release_comment(w["staff_c2"], held)
    with pytest.raises(services.Forbidden):
        proposals.release_comment(w["neighbour"], held)
    proposals.release_comment(w["staff_c1"], held)
    t.refresh_from_db()
    assert t.comment_count == 2 and held in proposals.comments_for(w["user_c1"], t)
    with pytest.raises(services.Conflict):
        proposals.reject_comment(w["staff_c1"], held, "重复审核")
    other = proposals.comment(w["neighbour"], t, f"{word}!!")
    with pytest.raises(services.DeliberationError):
        proposals.reject_comment(w["staff_c1"], other, "")
    with django_capture_on_commit_callbacks(execute=True):
        proposals.reject_comment(w["staff_c1"], other, "不文明用语")
    other.refresh_from_db()
    t.refresh_from_db()
    assert other.state == Comment.State.REJECTED and t.comment_count == 2
    assert other not in proposals.comments_for(w["user_c1"], t) and other in proposals.comments_for(w["neighbour"], t)
    assert Notification.objects.filter(recipient=w["neighbour"], kind="comment_rejected").exists()


# --- notes, merging, forwarding, withdrawing -------------------------------------------------


def test_notes_by_the_steward_and_staff_never_shown_to_residents(w):
    t = proposals.propose(w["user_c1"], title="楼顶漏水")
    n = proposals.add_note(w["steward"], t, "走访了3户，都反映漏水")
    proposals.add_note(w["staff_c1"], t, "已联系物业")
    with pytest.raises(services.Forbidden):
        proposals.add_note(w["neighbour"], t, "我也说两句")
    assert proposals.notes_for(w["steward"], t)[0] == n
    assert len(proposals.notes_for(w["staff_c1"], t)) == 2
    assert proposals.notes_for(w["user_c1"], t) == []
    assert proposals.m_context(w["user_c1"], t)["proposals"]["notes"] == []


def test_merging_a_duplicate_moves_the_supports_without_doubles(w, django_capture_on_commit_callbacks):
    a = proposals.propose(w["user_c1"], title="楼道堆物清理")
    b = proposals.propose(w["neighbour"], title="楼道堆物太多请清理", body="楼道里堆满杂物")
    proposals.support(w["user_c1"], b)  # supports both
    proposals.support(w["user_c1"], a)
    proposals.support(w["steward"], b)
    proposals.add_note(w["steward"], b, "三楼堆物最多")
    assert [d["topic"] for d in proposals.duplicates_of(a)] == [b]
    with pytest.raises(services.DeliberationError):
        proposals.merge(w["steward"], b, b)
    with pytest.raises(services.Forbidden):
        proposals.merge(w["user_c1"], b, a)
    with django_capture_on_commit_callbacks(execute=True):
        target = proposals.merge(w["steward"], b, a)
    b.refresh_from_db()
    assert b.state == Topic.State.MERGED and b.merged_into == a and b.support_count == 0
    supporters = set(Support.objects.filter(topic=a).values_list("user_id", flat=True))
    # user_c1 (both), the steward, and b's proposer (who now follows the target)
    assert supporters == {w["user_c1"].pk, w["steward"].pk, w["neighbour"].pk}
    assert target.support_count == 3 and not Support.objects.filter(topic=b).exists()
    assert TopicNote.objects.get(text="三楼堆物最多").topic == a
    assert w["neighbour"] in services.participants(a)
    assert Notification.objects.filter(recipient=w["neighbour"], kind="topic_merged").exists()
    # refused: into a merged topic, from a merged one, across communities
    c = proposals.propose(w["user_c1"], title="再提一个")
    with pytest.raises(services.Conflict):
        proposals.merge(w["steward"], c, b)
    with pytest.raises(services.Conflict):
        proposals.merge(w["steward"], b, c)
    other = proposals.propose(w["user_c2"], title="楼道堆物清理")
    with pytest.raises(services.DeliberationError) as e:
        proposals.merge(w["admin"], other, a)
    assert e.value.code == "community"


def test_a_steward_merges_only_topics_being_collected(w):
    a = proposals.propose(w["user_c1"], title="A")
    b = proposals.propose(w["neighbour"], title="B")
    services.advance(w["staff_c1"], a, to=a.process.phases.get(position=3))
    with pytest.raises(services.Forbidden):
        proposals.merge(w["steward"], b, a)
    proposals.merge(w["staff_c1"], b, a)  # staff with update may
    assert Topic.objects.get(pk=b.pk).state == Topic.State.MERGED


def test_the_steward_forwards_with_a_note(w):
    t = proposals.propose(w["user_c1"], title="健身器材损坏")
    t = proposals.forward(w["steward"], t, "已核实，3件器材损坏")
    assert t.phase.name == "楼长集"
    assert TopicNote.objects.filter(topic=t, text="已核实，3件器材损坏").exists()
    t = proposals.forward(w["steward"], t)
    assert t.phase.name == "平台议"
    with pytest.raises(services.Forbidden):  # no longer the steward's to move
        proposals.forward(w["steward"], t)
    with pytest.raises(services.Forbidden):
        proposals.forward(w["neighbour"], proposals.propose(w["neighbour"], title="x"))


def test_withdraw_by_the_proposer_or_the_enterer(w, django_capture_on_commit_callbacks):
    t = proposals.propose(w["user_c1"], title="撤回我")
    with pytest.raises(services.Forbidden):
        proposals.withdraw(w["neighbour"], t)
    proposals.support(w["neighbour"], t)
    with django_capture_on_commit_callbacks(execute=True):
        t = proposals.withdraw(w["user_c1"], t)
    assert t.state == Topic.State.WITHDRAWN
    assert Notification.objects.filter(recipient=w["neighbour"], kind="topic_withdrawn").exists()
    with pytest.raises(services.Conflict):
        proposals.withdraw(w["user_c1"], t)
    e = proposals.enter_for(w["steward"], title="代录的", building=w["building_c1"], resident=w["elder"])
    assert proposals.withdraw(w["steward"], e).state == Topic.State.WITHDRAWN


def test_a_three_phase_process_collects_supports_and_comments_at_once(w):
    p = Process.objects.create(name="短流程", node=w["street"]["c1"], is_default=True)
    Phase.objects.create(process=p, position=1, name="提议", proposals_open=True, support_open=True, discussion_open=True)
    Phase.objects.create(process=p, position=2, name="商议", meeting=True)
    t = proposals.propose(w["user_c1"], title="广场夜话")
    assert t.process == p
    proposals.support(w["neighbour"], t)
    assert proposals.comment(w["neighbour"], t, "好").state == Comment.State.VISIBLE


def test_contexts(w):
    t = proposals.propose(w["user_c1"], title="楼道堆物清理")
    proposals.propose(w["neighbour"], title="楼道堆物要清理")
    m = proposals.m_context(w["neighbour"], t)["proposals"]
    assert m["acts"]["support"] and not m["acts"]["merge"] and not m["acts"]["withdraw"] and m["proposer"] == ""
    s = proposals.m_context(w["steward"], t)["proposals"]
    assert s["acts"]["merge"] and s["acts"]["forward"] and s["acts"]["note"] and len(s["duplicates"]) == 1
    st = proposals.staff_context(w["staff_c1"], t)["proposals"]
    assert st["proposer"] == "居民c1" and st["acts"]["merge"] and len(st["duplicates"]) == 1
    assert proposals.m_context(w["user_c1"], t)["proposals"]["acts"]["withdraw"]
