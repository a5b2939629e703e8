import pytest

from gridgov.cases import services
from gridgov.cases.models import Case, CaseEvent, Clock, Correction, Item, Rating, State, Summons
from gridgov.cases.services import TRANSITIONS

from .conftest import JPEG



def states(case):
    return [(e.action, e.from_state, e.to_state) for e in CaseEvent.objects.filter(case=case).order_by("id")]


def running(case):
    return set(Clock.objects.filter(case=case, state__in=["running", "warned"]).values_list("kind", flat=True))


def test_transition_table_covers_every_state():
    targets = {t for _, t in TRANSITIONS.values()} | {State.SUBMITTED}
    assert targets == set(State.values)


def test_full_loop_with_clocks(people, report):
    p = people
    case = report()
    services.accept(case, p["gl"])
    assert running(case) == {"arrive", "resolve"}
    services.arrive(case, p["gl"], "到场")
    assert running(case) == {"resolve"}
    services.resolve(case, p["gl"], "已更换灯泡", photos=[JPEG])
    assert running(case) == set() and case.resolved_by == p["gl"]
    assert case.photos.filter(stage="resolve").count() == 1
    services.verify(case, p["sec"])
    services.close(case, p["sec"])
    assert [a for a, _, _ in states(case)] == ["submit", "dispatch", "accept", "arrive", "resolve", "verify", "close"]
    assert all(f != t for a, f, t in states(case))
    case.refresh_from_db()
    assert case.state == State.CLOSED and case.closed_at and case.verified_by == p["sec"]


def test_who_verifies_is_not_who_resolved(people, report):
    p = people
    case = report()
    services.reroute(case, p["sec"], handler_user=p["sec"], note="书记亲自办")
    services.accept(case, p["sec"])
    services.resolve(case, p["sec"], "已联系物业修复")
    with pytest.raises(services.NotAllowed, match="核查人不能是办结人") as exc:
        services.verify(case, p["sec"])
    assert exc.value.code == "self_verify"
    with pytest.raises(services.NotAllowed):
        services.verify(case, p["gl"])  # a grid leader does not verify
    services.verify(case, p["cstaff"], passed=False, note="灯还是不亮")
    assert case.state == State.ACCEPTED and running(case) == {"resolve"}
    assert case.corrections.get().new_handler == "sec"


def test_wrong_state_and_stale_copy_are_conflicts(people, report):
    p = people
    case = report()
    with pytest.raises(services.Conflict, match="当前为“已派遣”，不能办理此操作") as exc:
        services.resolve(case, p["gl"], "已处理完毕")
    assert exc.value.code == "bad_state"
    stale = Case.objects.get(pk=case.pk)
    services.accept(case, p["gl"])
    with pytest.raises(services.Conflict, match="原为“已派遣”，现为“已受理”") as exc:
        services.accept(stale, p["gl"])
    assert exc.value.code == "changed"
    assert CaseEvent.objects.filter(case=case, action="accept").count() == 1


def test_permissions(people, report, street):
    p = people
    case = report()
    with pytest.raises(services.NotAllowed):
        services.accept(case, p["resident"])
    with pytest.raises(services.NotAllowed):
        services.accept(case, p["gl2"])  # another grid's leader
    with pytest.raises(services.NotAllowed):
        services.reject(case, p["sec2"], "不是我们社区")


def test_return_reject_and_reroute_with_training_signal(people, report):
    p = people
    case = report()
    with pytest.raises(services.InvalidInput, match="请填写退回原因"):
        services.return_case(case, p["gl"])
    services.return_case(case, p["gl"], "这是井盖问题")
    assert case.state == State.RETURNED and running(case) == set() and case.handler_user is None
    services.reroute(case, p["sec"], item=Item.objects.get(code="PS02"), note="改为井盖缺失")
    assert case.state == State.DISPATCHED and case.item.code == "PS02"
    assert case.path.code == "grid_community_section_leader"  # public safety, major
    c = Correction.objects.get(case=case)
    assert (c.old_item.code, c.new_item.code, c.user) == ("PS01", "PS02", p["sec"])
    other = report(text="重复的无效信息 路灯")
    services.reject(other, p["sec"], "无效上报")
    assert other.state == State.REJECTED


def test_manual_escalation_follows_the_path(people, report):
    p = people
    case = report(text="井盖丢了", item="PS02")  # major public safety: grid → community → section → leader in charge
    assert case.handler_user == p["gl"]
    services.escalate(case, p["sec"], "网格处理不了")
    assert (case.state, case.handler_level, case.handler_user) == (State.ESCALATED, "community_secretary", p["sec"])
    services.escalate(case, p["sec"])
    assert (case.handler_level, case.handler_department, case.handler_user) == ("section", "城市管理办公室", p["section"])
    services.escalate(case, p["sec"])
    assert (case.handler_level, case.handler_user) == ("leader_in_charge", p["lic"])
    # the path ends; it ends at someone all the same: the duty leader of the top of the grid path
    services.escalate(case, p["sec"])
    assert (case.handler_level, case.handler_user, case.path_step) == ("principal_leader", p["principal"], 4)
    assert case.routing_reason["current"]["path"]["fallback"] is True
    with pytest.raises(services.NoHandler) as exc:  # nobody above the top
        services.escalate(case, p["sec"])
    assert exc.value.code == "top" and "已到最高一级" in str(exc.value)
    assert len(case.routing_reason["decisions"]) == 5


def test_section_staff_accepts_from_department_queue(people, report):
    p = people
    case = report(text="井盖丢了", item="PS02")
    services.escalate(case, p["sec"])
    services.escalate(case, p["sec"])
    with pytest.raises(services.NotAllowed):
        services.accept(case, p["other_section"])
    services.accept(case, p["section"])
    assert case.state == State.ACCEPTED


def test_merge_carries_followers_and_each_may_rate(people, report):
    p = people
    keep = report()
    dup = report(user=p["neighbour"], text="路灯不亮")
    services.merge(dup, keep, p["sec"], "同一路灯")
    dup.refresh_from_db()
    assert dup.state == State.MERGED and dup.merged_into == keep and running(dup) == set()
    assert set(keep.followers.values_list("user__username", flat=True)) == {"resident", "neighbour"}
    with pytest.raises(services.Conflict):
        services.merge(keep, dup, p["sec"])
    services.accept(keep, p["gl"])
    services.resolve(keep, p["gl"], "已更换灯泡")
    services.verify(keep, p["sec"])
    services.rate(keep, p["resident"], "satisfied")
    services.rate(keep, p["neighbour"], "基本满意", "还行")
    assert Rating.objects.filter(case=keep).count() == 2
    with pytest.raises(services.Conflict, match="您已评价过"):
        services.rate(keep, p["neighbour"], "satisfied")
    with pytest.raises(services.NotAllowed):
        services.rate(keep, p["gl2"], "satisfied")


def _done(case, p):
    services.accept(case, case.handler_user)
    services.resolve(case, case.handler_user, "已处置完毕")
    services.verify(case, p["cstaff"])
    services.close(case, p["cstaff"])


def test_unsatisfied_reopens_once_then_escalates(people, report):
    p = people
    case = report()
    _done(case, p)
    services.rate(case, p["resident"], "unsatisfied", "灯还是不亮")
    assert case.state == State.REOPENED and case.reopen_count == 1 and case.handler_user == p["gl"]
    assert running(case) == {"accept", "arrive", "resolve"}
    _done(case, p)
    services.rate(case, p["resident"], "不满意", "还是不亮")
    assert case.state == State.ESCALATED and case.handler_user == p["sec"] and case.reopen_count == 2
    actions = [a for a, _, _ in states(case)]
    assert actions.count("reopen") == 1 and actions[-1] == "escalate"
    assert CaseEvent.objects.filter(case=case, action="escalate").last().data["rating"]["score"] == "unsatisfied"


def test_summon_and_report_back(people, report):
    p = people
    case = report()
    made = services.summon(case, p["sec"], ["城市管理办公室", "平安建设办公室"], note="吹哨", hours=2)
    assert len(made) == 2 and Clock.objects.filter(case=case, kind="summon", state="running").count() == 2
    assert Case.objects.visible_to(p["other_section"]).filter(pk=case.pk).exists()
    with pytest.raises(services.NotAllowed):
        services.report_back(made[0], p["other_section"], "到了")
    services.report_back(made[0], p["section"], "已到场")
    assert Summons.objects.get(pk=made[0].pk).reported_by == p["section"]
    assert Clock.objects.filter(case=case, kind="summon", state="running").count() == 1
    with pytest.raises(services.Conflict):
        services.report_back(made[0], p["section"], "again")


def test_visibility(people, report, street):
    p = people
    case = report(text="井盖丢了", item="PS02")
    mine = report(user=p["neighbour"], text="路灯不亮", point=(116.397, 39.782))  # in community 2
    vis = lambda u, **kw: set(Case.objects.visible_to(u, **kw).values_list("pk", flat=True))  # noqa: E731
    # a reporter reads her case (following=True: the co-reporter view); it is not her work
    assert vis(p["resident"], following=True) == {case.pk} and vis(p["resident"]) == set()
    assert vis(p["neighbour"], following=True) == {mine.pk}
    assert Case.objects.access(p["resident"], case) == "follower" and Case.objects.access(p["resident"], mine) is None
    assert Case.objects.access(p["gl"], case) == "full"
    assert vis(p["gl"]) == {case.pk}
    assert vis(p["sec2"]) == {mine.pk}
    assert vis(p["lic"]) == {case.pk, mine.pk}
    assert vis(p["section"]) == set()
    services.escalate(case, p["sec"])
    services.escalate(case, p["sec"])
    assert vis(p["section"]) == {case.pk}


def test_a_backdated_loop_stamps_every_row_at_the_given_now(people, report):
    """submit_case, reroute, accept, resolve, verify and close take `now=`: the case, its events,
    clocks, correction and notifications carry those times, never the wall clock."""
    from datetime import timedelta

    from django.utils import timezone

    from gridgov.cases.models import Notification

    p = people
    t0 = timezone.now().replace(microsecond=0) - timedelta(days=40)
    times = [t0 + timedelta(hours=h) for h in range(6)]
    case = report(now=times[0])
    assert case.created_at == times[0] and case.number.startswith(f"{timezone.localtime(times[0]):%Y%m%d}")
    services.reroute(case, p["sec"], handler_user=p["gl"], note="网格长办", now=times[1])
    services.accept(case, p["gl"], now=times[2])
    services.resolve(case, p["gl"], "已更换灯泡", now=times[3])
    services.verify(case, p["sec"], now=times[4])
    services.close(case, p["sec"], now=times[5])
    case.refresh_from_db()
    assert (case.resolved_at, case.closed_at, case.updated_at) == (times[3], times[5], times[5])
    events = {e.action: e.at for e in CaseEvent.objects.filter(case=case)}
    assert events == {"submit": times[0], "dispatch": times[0], "reroute": times[1], "accept": times[2],
                      "resolve": times[3], "verify": times[4], "close": times[5]}
    assert case.corrections.get().at == times[1]
    assert {c.started_at for c in Clock.objects.filter(case=case)} <= {times[0], times[1]}
    assert {c.stopped_at for c in Clock.objects.filter(case=case)} <= {times[1], times[2], times[3]}
    stamps = set(Notification.objects.filter(case=case).values_list("created_at", flat=True))
    assert stamps and stamps <= set(times)
