"""平台议: the month's data offered as proposals with their evidence, staff entering topics,
stating the problem, choosing the month's topics, declining, moving, and the board."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.cases.models import Notification
from gridgov.deliberation import platform, services
from gridgov.deliberation.models import Process, Topic
from gridgov.hotline.tests.util import ticket

from .world import topic

CATEGORY = ("城乡建设", "物业管理", "")


def recurring_problem(w, prefix="R"):
    """Tickets at c1's compound (through the building's house address) in four of the six months
    up to 2024-06, six in all: a recurring problem of c1; and one in c2."""
    street, address = w["street"], w["house_c1"].address
    n = 0
    for month, k in (("2024-01", 2), ("2024-03", 2), ("2024-05", 1), ("2024-06", 1)):
        for _i in range(k):
            n += 1
            ticket(f"{prefix}{n}", month, street["c1g1m1"], address=address, category=CATEGORY,
                   content=f"{w['compound_c1'].name}楼道堆放杂物，物业不清理 {n}")
    ticket(f"{prefix}x", "2024-06", street["c2g1m1"], address=w["house_c2"].address, category=CATEGORY)
    return f"compound:{w['compound_c1'].pk}"


def test_month_data_shows_the_communitys_problems_with_evidence(w):
    place = recurring_problem(w)
    data = platform.month_data(w["staff_c1"], w["street"]["c1"], "2024-06")
    assert data["month"] == "2024-06"
    (row,) = data["recurring"]
    assert row["problem_place"] == place and row["problem_category"] == "城乡建设/物业管理"
    assert row["tickets"] == 6 and row["months"] == 4 and [m["tickets"] for m in row["by_month"]] == [2, 0, 2, 0, 1, 1]
    assert row["name"] == "c1小区" and row["examples"] and row["topic"] is None and not row["offered"]
    assert [h["problem_place"] for h in data["hot_spots"]] == [place]  # c2's ticket is not c1's
    # another community's staff see nothing of c1
    with pytest.raises(services.Forbidden):
        platform.month_data(w["staff_c2"], w["street"]["c1"], "2024-06")
    with pytest.raises(services.DeliberationError):
        platform.month_data(w["staff_c1"], w["street"]["c1"], "2024-13")


def test_from_data_keeps_the_evidence_and_refuses_a_second_open_topic(w):
    place = recurring_problem(w)
    staff, c1 = w["staff_c1"], w["street"]["c1"]
    t = platform.from_data(staff, community=c1, place=place, category="城乡建设/物业管理", month="2024-06")
    assert t.channel == Topic.Channel.DATA and t.title == "c1小区物业管理问题"
    assert (t.problem_place, t.problem_category, t.problem_category_l1, t.problem_category_l2) == (
        place, "城乡建设/物业管理", "城乡建设", "物业管理")
    assert t.compound == w["compound_c1"] and t.node == w["compound_c1"].grid and t.community == c1
    assert t.entered_by == staff and t.process.is_default
    ev = t.evidence
    assert ev["source"] == "recurring" and ev["month"] == "2024-06" and ev["tickets"] == 6
    assert [m["tickets"] for m in ev["by_month"]] == [2, 0, 2, 0, 1, 1] and ev["examples"]
    with pytest.raises(services.Conflict):
        platform.from_data(staff, community=c1, place=place, category="城乡建设/物业管理", month="2024-06")
    row = platform.month_data(staff, c1, "2024-06")["recurring"][0]
    assert row["offered"] and row["topic"]["id"] == t.pk
    # once declined, the problem may be offered again
    platform.decline(staff, t, "已由物业整改")
    t2 = platform.from_data(staff, community=c1, place=place, category="城乡建设/物业管理", month="2024-06", title="楼道堆物")
    assert t2.title == "楼道堆物"
    # a problem that is not in the data, a place of another community, someone without the right
    with pytest.raises(services.NotFound):
        platform.from_data(staff, community=c1, place=place, category="城乡建设/市容环境", month="2024-06")
    with pytest.raises(services.DeliberationError):
        platform.from_data(staff, community=c1, place=f"compound:{w['compound_c2'].pk}", category="城乡建设/物业管理",
                           month="2024-06")
    for user in (w["staff_c2"], w["user_c1"], w["worker_c1"]):  # the worker creates on their grid, not the community
        with pytest.raises(services.Forbidden):
            platform.from_data(user, community=c1, place=place, category="城乡建设/物业管理", month="2024-06")


def test_staff_enter_a_topic_for_someone(w):
    street = w["street"]
    t = platform.enter(w["staff_c1"], title="电动车充电桩不够", body="意见箱纸条", node=street["c1g1m1"],
                       building=w["building_c1"], channel="letterbox", person_name="王奶奶")
    assert t.channel == "letterbox" and t.proposer_name == "王奶奶" and t.entered_by == w["staff_c1"]
    assert t.compound == w["compound_c1"] and t.community == street["c1"] and t.proposer is None
    # a grid worker enters on their grid (deliberation × create there), a home visit
    t = platform.enter(w["worker_c1"], title="路灯不亮", node=street["c1g1m1"].code, channel="visit",
                       problem={"place": f"grid:{street['c1g1m1'].pk}", "category": "城乡建设/市政设施"})
    assert t.problem_place == f"grid:{street['c1g1m1'].pk}"
    with pytest.raises(services.DeliberationError):  # not a staff channel
        platform.enter(w["staff_c1"], title="x", node=street["c1g1m1"], channel="phone")
    with pytest.raises(services.DeliberationError):  # a compound of another community
        platform.enter(w["staff_c1"], title="x", node=street["c1g1m1"], compound=w["compound_c2"])
    with pytest.raises(services.DeliberationError):  # a problem outside the community
        platform.enter(w["staff_c1"], title="x", node=street["c1g1m1"],
                       problem={"place": f"grid:{street['c2g1'].pk}", "category": "x"})
    for user, node in ((w["staff_c2"], street["c1g1m1"]), (w["worker_c1"], street["c1g2"]), (w["user_c1"], street["c1g1m1"])):
        with pytest.raises(services.Forbidden):
            platform.enter(user, title="x", node=node)


def test_set_problem_validates_the_place(w):
    street = w["street"]
    t = topic(w)
    t = platform.set_problem(w["staff_c1"], t, place=f"compound:{w['compound_c1'].pk}", category="城乡建设/物业管理",
                             category_l1="城乡建设", category_l2="物业管理")
    assert (t.problem_place, t.problem_category_l2) == (f"compound:{w['compound_c1'].pk}", "物业管理")
    t = platform.set_problem(w["staff_c1"], t, place=f"grid:{street['c1g2m1'].pk}", category="市容环境")
    assert t.problem_place == f"grid:{street['c1g2m1'].pk}"
    for place in (f"compound:{w['compound_c2'].pk}", f"grid:{street['c2g1'].pk}", "compound:abc", "street:1", ""):
        with pytest.raises(services.DeliberationError):
            platform.set_problem(w["staff_c1"], t, place=place, category="市容环境")
    with pytest.raises(services.DeliberationError):
        platform.set_problem(w["staff_c1"], t, place=f"grid:{street['c1g1'].pk}", category="")
    for user in (w["staff_c2"], w["worker_c1"], w["steward"]):
        with pytest.raises(services.Forbidden):
            platform.set_problem(user, t, place=f"grid:{street['c1g1'].pk}", category="x")


def test_choose_moves_to_discussion_and_sets_its_end(w, django_capture_on_commit_callbacks):
    staff = w["staff_c1"]
    t = topic(w, proposer=w["user_c1"])
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        t = platform.choose(staff, t, month="2024-6", now=now)
    assert t.month == "2024-06" and t.phase.name == "平台议" and t.phase.discussion_open
    assert t.phase_ends_at == now + timedelta(days=14)
    # told once, that it was chosen (not also advance's "entered the phase")
    told = Notification.objects.filter(recipient=w["user_c1"])
    assert told.count() == 1 and told.get().kind == "topic_chosen"
    with pytest.raises(services.Conflict):  # already the month's topic
        platform.choose(staff, t, month="2024-06")
    # already in a discussion phase: it stays, its discussion runs for the days given
    t = platform.choose(staff, t, month="2024-07", days=7, now=now)
    assert t.phase.name == "平台议" and t.phase_ends_at == now + timedelta(days=7) and t.month == "2024-07"
    # in the meeting phase (discussion still open): stays
    four = t.process.phases.get(position=4)
    t = services.advance(staff, t, to=four)
    assert platform.choose(staff, t, month="2024-08").phase == four
    # in the work phase: no later discussion phase
    other = topic(w, title="另一个")
    other = services.advance(staff, other, to=other.process.phases.get(position=5))
    with pytest.raises(services.Conflict):
        platform.choose(staff, other, month="2024-06")
    with pytest.raises(services.DeliberationError):
        platform.choose(staff, topic(w, title="三"), month="2024-06", days=0)
    with pytest.raises(services.Forbidden):
        platform.choose(w["staff_c2"], topic(w, title="四"), month="2024-06")
    # the three-phase process discusses in its first phase: choosing leaves it there
    three = Process.objects.get(name="三步议事")
    t3 = platform.choose(staff, topic(w, title="五", process=three), month="2024-06")
    assert t3.phase.position == 1 and t3.month == "2024-06"


def test_mark_month_does_not_move(w):
    staff = w["staff_c1"]
    t = topic(w)
    with pytest.raises(services.Conflict):  # not discussing yet
        platform.mark_month(staff, t, "2024-06")
    t = services.advance(staff, t, to=t.process.phases.get(position=3))
    ends = t.phase_ends_at
    t = platform.mark_month(staff, t, "2024-06")
    assert t.month == "2024-06" and t.phase.position == 3 and t.phase_ends_at == ends


def test_decline_needs_a_reason_and_tells_the_participants(w, django_capture_on_commit_callbacks):
    t = topic(w, proposer=w["user_c1"])
    with pytest.raises(services.DeliberationError):
        platform.decline(w["staff_c1"], t, "  ")
    with pytest.raises(services.Forbidden):
        platform.decline(w["worker_c1"], t, "不属于社区事务")
    with django_capture_on_commit_callbacks(execute=True):
        t = platform.decline(w["staff_c1"], t, "不属于社区事务")
    assert t.state == Topic.State.DECLINED and t.decline_reason == "不属于社区事务"
    assert Notification.objects.filter(recipient=w["user_c1"], kind="topic_declined").exists()
    with pytest.raises(services.Conflict):
        platform.decline(w["staff_c1"], t, "again")
    with pytest.raises(services.Conflict):
        platform.choose(w["staff_c1"], t, month="2024-06")


def test_move_is_for_staff_with_positions_and_versions(w):
    staff = w["staff_c1"]
    t = topic(w)
    with pytest.raises(services.Forbidden):  # the steward forwards through the proposals slice, not here
        platform.move(w["steward"], t)
    t = platform.move(staff, t, to=3, days=5)
    assert t.phase.position == 3 and (t.phase_ends_at - t.phase_started_at).days == 5
    with pytest.raises(services.Conflict):
        platform.move(staff, t, version=t.version - 1)
    with pytest.raises(services.DeliberationError):
        platform.move(staff, t, to=9)
    with pytest.raises(services.DeliberationError):
        platform.move(staff, t, to=2)  # backwards


def test_the_board(w):
    staff, c1 = w["staff_c1"], w["street"]["c1"]
    now = timezone.now()
    a = topic(w, title="甲")
    b = topic(w, title="乙")
    b = platform.choose(staff, b, month=platform.month_of(now), now=now)
    c = platform.choose(staff, topic(w, title="丙"), month="2024-01", days=1, now=now - timedelta(days=3))
    topic(w, "c2", title="别处")
    platform.decline(staff, topic(w, title="丁"), "重复")
    ((process, columns),) = platform.board(staff, community=c1, now=now)
    assert process.is_default
    cols = {phase.position: [t.title for t in topics] for phase, topics in columns}
    assert cols[1] == ["甲"] and cols[3] == ["乙", "丙"]  # the month's topic first
    col3 = dict((p.position, ts) for p, ts in columns)[3]
    assert col3[0].is_month_topic and not col3[1].is_month_topic
    assert col3[1].overdue and not col3[0].overdue
    assert a.pk in [t.pk for t in dict((p.position, ts) for p, ts in columns)[1]]
    all_states = platform.board(staff, community=c1, state="declined", now=now)
    assert [t.title for _p, ts in all_states[0][1] for t in ts] == ["丁"]
    by_month = platform.board(staff, community=c1, month="2024-01", now=now)
    assert [t.title for _p, ts in by_month[0][1] for t in ts] == ["丙"]
    # staff of c2 do not see c1's topics; a street-wide leader sees both communities
    titles = lambda user, **kw: {t.title for _p, cols_ in platform.board(user, now=now, **kw) for _ph, ts in cols_ for t in ts}  # noqa: E731
    assert titles(w["staff_c2"]) == {"别处"}
    assert titles(w["leader"]) == {"甲", "乙", "丙", "别处"}
    assert c.month == "2024-01"
