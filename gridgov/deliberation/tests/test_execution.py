"""专人办、结果亮 through the services: the owner and the deadline, each carrier linked (a case with
its routing and clocks, a proactive project, a volunteer activity, other work), the clock and the
sync of done, the guard of the execution phase, the reminders, the published result with its
photos, and the residents' ratings."""

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from gridgov.accounts.models import Duty, Role
from gridgov.cases.models import Notification
from gridgov.core.models import ChangeRecord
from gridgov.deliberation import execution, services
from gridgov.deliberation.models import Decision, Result, Support, Topic, TopicRating
from gridgov.testing import make_user

from .world import topic


@pytest.fixture(autouse=True)
def scratch_media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def seeded_processes(db):
    """The processes the migration seeds (a transactional test elsewhere may have flushed them)."""
    import importlib

    from django.apps import apps

    importlib.import_module("gridgov.deliberation.migrations.0002_processes").seed(apps, None)


def jpeg(color=(20, 120, 220), exif=True) -> bytes:
    im = Image.new("RGB", (16, 12), color)
    buf = io.BytesIO()
    kw = {}
    if exif:
        e = Image.Exif()
        e[0x010F] = "SecretCam"
        kw["exif"] = e.tobytes()
    im.save(buf, "JPEG", **kw)
    return buf.getvalue()


def in_phase(w, flag="execution", side="c1", title="楼道堆物清理", decide=True, **kw):
    """A topic of `side` moved into the first phase with `flag`, with a decision made at its
    meeting (the guard of leaving the meeting phase needs it)."""
    staff = w[f"staff_{side}"]
    t = topic(w, side, title=title, **kw)
    phases = services.phases_of(t.process)
    meeting = next(p for p in phases if p.meeting)
    t = services.advance(staff, t, to=meeting)
    if decide:
        Decision.objects.create(topic=t, summary="清理楼道堆物，一周内完成", decided_at=t.phase_started_at, decided_by=staff)
        Topic.objects.filter(pk=t.pk).update(decided_at=t.phase_started_at)
    target = next(p for p in phases if getattr(p, flag))
    if target.position > meeting.position:
        t = services.advance(staff, t, to=target)
    return t


def assigned(w, t, owner=None, days=10, work="清理1号楼楼道堆物"):
    return execution.assign(w["staff_c1"], t, owner=owner or w["worker_c1"],
                            deadline=timezone.localdate() + timedelta(days=days), work=work)


def decision(t):
    return Decision.objects.select_related("case", "project", "activity", "owner").get(topic=t)


# --- assign ------------------------------------------------------------------------------------


def test_assign_names_the_owner_tells_them_and_keeps_history(w):
    t = in_phase(w)
    d = assigned(w, t)
    assert d.owner == w["worker_c1"] and d.deadline and d.work == "清理1号楼楼道堆物"
    told = Notification.objects.filter(recipient=w["worker_c1"], kind="decision_assigned")
    assert told.exists() and "楼道堆物清理" in told.first().title
    # a later change of owner (to someone without a login) and deadline keeps history
    execution.assign(w["staff_c1"], t, owner_name="物业张经理", deadline=timezone.localdate() + timedelta(days=20),
                     work="清理1号楼楼道堆物")
    d = decision(t)
    assert d.owner is None and execution.owner_label(d) == "物业张经理"
    rows = list(ChangeRecord.objects.filter(kind="deliberation_decisions", object_id=str(d.pk)).order_by("id"))
    assert [r.action for r in rows] == ["assign", "reassign"]
    assert rows[1].changes["owner"] == ["gw_c1", "物业张经理"] and "deadline" in rows[1].changes


def test_assign_rules(w):
    t = in_phase(w)
    day = timezone.localdate() + timedelta(days=5)
    with pytest.raises(services.Forbidden):
        execution.assign(w["neighbour"], t, owner_name="某人", deadline=day, work="x")
    with pytest.raises(services.Forbidden):  # another community's staff
        execution.assign(w["staff_c2"], t, owner_name="某人", deadline=day, work="x")
    with pytest.raises(services.DeliberationError) as e:
        execution.assign(w["staff_c1"], t, deadline=day, work="x")
    assert e.value.code == "owner"
    with pytest.raises(services.DeliberationError) as e:
        execution.assign(w["staff_c1"], t, owner_name="某人", deadline=day - timedelta(days=30), work="x")
    assert e.value.code == "deadline"
    with pytest.raises(services.DeliberationError) as e:
        execution.assign(w["staff_c1"], t, owner_name="某人", deadline="明天", work="x")
    assert e.value.code == "deadline"
    with pytest.raises(services.DeliberationError) as e:
        execution.assign(w["staff_c1"], t, owner_name="某人", deadline=day, work=" ")
    assert e.value.code == "work"
    undecided = topic(w, title="没有决定的议题")
    with pytest.raises(services.Conflict) as e:
        execution.assign(w["staff_c1"], undecided, owner_name="某人", deadline=day, work="x")
    assert e.value.code == "no_decision"


# --- carrying it out ---------------------------------------------------------------------------


def test_carry_out_only_in_the_execution_phase_and_after_assign(w):
    t = in_phase(w, flag="meeting")
    assigned(w, t)
    with pytest.raises(services.Conflict) as e:
        execution.carry_out(w["staff_c1"], t, carrier="other")
    assert e.value.code == "phase"
    t2 = in_phase(w, title="另一个议题")
    with pytest.raises(services.Conflict) as e:
        execution.carry_out(w["staff_c1"], t2, carrier="other")
    assert e.value.code == "not_assigned"
    assigned(w, t2)
    with pytest.raises(services.DeliberationError) as e:
        execution.carry_out(w["staff_c1"], t2, carrier="rocket")
    assert e.value.code == "carrier"
    with pytest.raises(services.Forbidden):
        execution.carry_out(w["worker_c1"], t2, carrier="other")  # the owner is not staff who manage it


def test_a_case_carries_it_out_with_its_clock_and_done_follows_the_case(w):
    from gridgov.cases import services as cases
    from gridgov.cases.models import Clock, State
    from gridgov.cases.taxonomy import seed_taxonomy

    seed_taxonomy()
    t = in_phase(w)
    assigned(w, t)
    d = execution.carry_out(w["staff_c1"], t, carrier="case")
    case = d.case
    assert d.carrier == "case" and case.channel == "patrol" and "清理1号楼楼道堆物" in case.text
    assert case.grid.path.startswith(t.community.path) and case.state == State.DISPATCHED
    assert case.handler_user is not None and Clock.objects.filter(case=case, kind="resolve").exists()
    s = execution.status(d)
    assert s["item"]["number"] == case.number and {c["kind"] for c in s["item"]["clocks"]} >= {"resolve"}
    assert s["done"] is False and s["days_left"] == 10 and s["item_url"] == f"/cases/{case.pk}/"
    # one carrier per decision
    with pytest.raises(services.Conflict) as e:
        execution.carry_out(w["staff_c1"], t, carrier="project")
    assert e.value.code == "linked"
    # done follows the case, not a report
    with pytest.raises(services.Conflict) as e:
        execution.report_done(w["worker_c1"], t, note="办完了")
    assert e.value.code == "follows_item" and "事件" in e.value.source_message()
    # the guard: the topic cannot leave 专人办 before the case is done
    with pytest.raises(services.Conflict) as e:
        services.advance(w["staff_c1"], t)
    assert e.value.code == "not_done"
    handler = case.handler_user
    cases.accept(case, handler)
    cases.resolve(case, handler, "楼道堆物已全部清走，通道畅通")
    assert execution.sync(decision(t)) is False  # resolved is not yet done
    other = make_user("cs_c1b", Role.COMMUNITY_STAFF, [w["street"]["c1"]], duty=Duty.STAFF)
    cases.verify(case, other)
    assert execution.status(decision(t))["done"] is True
    assert execution.sync(decision(t)) is True
    assert execution.sync(decision(t)) is False  # idempotent
    d = decision(t)
    assert d.done_at is not None
    assert ChangeRecord.objects.filter(kind="deliberation_decisions", object_id=str(d.pk), action="done").count() == 1
    t = services.advance(w["staff_c1"], t)
    assert t.phase.published


def test_a_project_carries_it_out_and_done_follows_its_completion(w):
    from gridgov.hotline import services as hotline
    from gridgov.hotline.models import ProactiveProject

    t = in_phase(w, title="小区道路破损修补")
    Topic.objects.filter(pk=t.pk).update(problem_category_l1="城乡建设", problem_category_l2="道路维修")
    t.refresh_from_db()
    assigned(w, t, work="修补小区主路坑洼")
    d = execution.carry_out(w["staff_c1"], t, carrier="project")
    p = d.project
    assert p.status == ProactiveProject.Status.IN_PROGRESS and p.grid == t.node and p.compound == t.compound
    assert p.category_l2 == "道路维修" and p.owner == "gw_c1" and p.started_on
    s = execution.status(d)
    assert s["item"]["progress"] == 0 and s["item"]["milestones"][0]["due_on"] == d.deadline.isoformat()
    hotline.update_milestone(w["staff_c1"], p.milestones.get(), 100)
    assert execution.status(decision(t))["item"]["progress"] == 100
    assert execution.status(decision(t))["done"] is False
    hotline.set_project_status(w["staff_c1"], p, ProactiveProject.Status.COMPLETED)
    assert execution.sync(decision(t)) is True
    assert services.advance(w["staff_c1"], t).phase.published


def test_an_activity_carries_it_out_and_done_follows_its_end(w):
    from gridgov.volunteers import activities
    from gridgov.volunteers.models import Activity

    t = in_phase(w, title="楼道清洁日")
    assigned(w, t, work="组织志愿者清洁楼道")
    start = timezone.now() + timedelta(days=2)
    d = execution.carry_out(w["staff_c1"], t, carrier="activity", starts_at=start, places=12)
    a = d.activity
    assert a.state == Activity.State.PUBLISHED and a.places == 12 and a.kind == "environment"
    assert a.node == t.node and a.description == "组织志愿者清洁楼道"
    assert execution.status(d)["item"]["kind"] == "activity"
    activities.finish(w["staff_c1"], a, now=start + timedelta(hours=4))
    assert execution.sync(decision(t)) is True
    assert decision(t).done_at <= timezone.now()  # the item's time, never later than now
    assert services.advance(w["staff_c1"], t).phase.published


def test_a_dead_link_may_be_replaced(w):
    from gridgov.volunteers import activities

    t = in_phase(w)
    assigned(w, t)
    d = execution.carry_out(w["staff_c1"], t, carrier="activity")
    activities.cancel(w["staff_c1"], d.activity, "下雨")
    d = execution.carry_out(w["staff_c1"], t, carrier="other")
    assert d.carrier == "other" and d.activity is None


def test_report_done_for_other_work(w):
    t = in_phase(w)
    assigned(w, t)
    with pytest.raises(services.Conflict) as e:
        execution.report_done(w["worker_c1"], t, note="已完成")
    assert e.value.code == "no_carrier"
    execution.carry_out(w["staff_c1"], t, carrier="other")
    with pytest.raises(services.Forbidden):
        execution.report_done(w["neighbour"], t, note="已完成")
    with pytest.raises(services.DeliberationError) as e:
        execution.report_done(w["worker_c1"], t, note=" ")
    assert e.value.code == "note"
    with pytest.raises(services.Conflict):
        services.advance(w["staff_c1"], t)
    d = execution.report_done(w["worker_c1"], t, note="已清理完毕，联系人13912345678")
    assert d.done_at is not None and "13912345678" not in d.done_note
    with pytest.raises(services.Conflict) as e:
        execution.report_done(w["staff_c1"], t, note="再报一次")
    assert e.value.code == "done"
    with pytest.raises(services.Conflict):  # done: the owner and the deadline no longer change
        assigned(w, t)
    assert services.advance(w["staff_c1"], t).phase.published


def test_the_periodic_task_syncs_and_reminds_once_a_day(w):
    from gridgov.deliberation import tasks
    from gridgov.hotline import services as hotline
    from gridgov.hotline.models import ProactiveProject

    t = in_phase(w)
    assigned(w, t, days=2)
    d = execution.carry_out(w["staff_c1"], t, carrier="project")
    hotline.set_project_status(w["staff_c1"], d.project, ProactiveProject.Status.COMPLETED)
    t2 = in_phase(w, title="第二个议题")
    execution.assign(w["staff_c1"], t2, owner=w["worker_c1"], deadline=timezone.localdate() + timedelta(days=3),
                     work="另一件事")
    t3 = in_phase(w, title="还早的议题")
    execution.assign(w["staff_c1"], t3, owner=w["worker_c1"], deadline=timezone.localdate() + timedelta(days=30),
                     work="不急的事")
    run = tasks.execution_clock_hourly.call_local()
    assert run == {"done": 1, "reminded": 1}  # t is done now: only t2 is reminded
    assert tasks.execution_clock_hourly.call_local() == {"done": 0, "reminded": 0}
    assert Notification.objects.filter(recipient=w["worker_c1"], kind="decision_reminder").count() == 1
    # the next day: reminded again (overdue by then, it says so)
    later = timezone.now() + timedelta(days=4)
    assert execution.remind(now=later) == 1
    assert "超期" in Notification.objects.filter(kind="decision_reminder").order_by("-id").first().title


def test_the_ledger_is_scoped_and_puts_overdue_first(w):
    t1 = in_phase(w, title="早到期的议题")
    t2 = in_phase(w, title="晚到期的议题")
    t3 = in_phase(w, side="c2", title="另一社区的议题")
    assigned(w, t2, days=30)
    assigned(w, t1, days=1)
    execution.assign(w["staff_c2"], t3, owner_name="某人", deadline=timezone.localdate(), work="x")
    Decision.objects.filter(topic=t2).update(deadline=timezone.localdate() - timedelta(days=2))
    rows = execution.ledger(w["staff_c1"])
    assert [r["topic"].pk for r in rows] == [t2.pk, t1.pk]
    assert rows[0]["status"]["overdue"] and rows[0]["status"]["days_left"] == -2
    assert [r["topic"].pk for r in execution.overdue(w["staff_c1"])] == [t2.pk]
    assert [r["topic"].pk for r in execution.ledger(w["staff_c2"])] == [t3.pk]
    assert execution.ledger(w["neighbour"]) == []
    assert {r["topic"].pk for r in execution.ledger(w["admin"])} == {t1.pk, t2.pk, t3.pk}
    assert [r["topic"].pk for r in execution.mine(w["worker_c1"])] == [t2.pk, t1.pk]


# --- 结果亮 ------------------------------------------------------------------------------------


def published_phase(w, **kw):
    t = in_phase(w, **kw)
    assigned(w, t)
    execution.carry_out(w["staff_c1"], t, carrier="other")
    execution.report_done(w["worker_c1"], t, note="已清理完毕")
    return services.advance(w["staff_c1"], t)


def test_publish_result_rules_and_photos(w):
    t = in_phase(w)
    assigned(w, t)
    with pytest.raises(services.Conflict) as e:  # still carrying it out
        execution.publish_result(w["staff_c1"], t, summary="已完成")
    assert e.value.code == "phase"
    Support.objects.create(topic=t, user=w["neighbour"], at=timezone.now())
    execution.carry_out(w["staff_c1"], t, carrier="other")
    execution.report_done(w["worker_c1"], t, note="已清理完毕")
    t = services.advance(w["staff_c1"], t)
    with pytest.raises(services.Forbidden):
        execution.publish_result(w["neighbour"], t, summary="已完成")
    with pytest.raises(services.DeliberationError) as e:
        execution.publish_result(w["staff_c1"], t, summary=" ")
    assert e.value.code == "summary"
    with pytest.raises(services.DeliberationError) as e:
        execution.publish_result(w["staff_c1"], t, summary="已完成", photos=[jpeg()] * 7)
    assert e.value.code == "photos"
    with pytest.raises(services.DeliberationError) as e:
        execution.publish_result(w["staff_c1"], t, summary="已完成", photos=[b"not an image"])
    assert e.value.code == "photo"
    assert not Result.objects.exists()
    r = execution.publish_result(w["staff_c1"], t, summary="楼道堆物已全部清理", photos=[jpeg(), jpeg((200, 0, 0))])
    assert r.photos.count() == 2
    data = r.photos.first().file.read()
    assert b"SecretCam" not in data and data[:2] == b"\xff\xd8"  # metadata stripped, still a JPEG
    assert Notification.objects.filter(recipient=w["neighbour"], kind="topic_result").exists()  # a supporter
    # publishing again edits it (staff, with history); new photos replace the old ones
    r = execution.publish_result(w["staff_c1"], t, summary="楼道堆物已全部清理，并张贴了提示", photos=[jpeg()])
    assert r.photos.count() == 1 and Result.objects.count() == 1
    edit = ChangeRecord.objects.get(kind="deliberation_topics", object_id=str(t.pk), action="edit_result")
    assert edit.changes["result"][0] == "楼道堆物已全部清理" and edit.changes["photos"] == [2, 1]
    assert services.advance(w["staff_c1"], t).state == Topic.State.CLOSED


def test_rate_rules(w):
    from gridgov.hotline.models import RateSettings

    t = published_phase(w)
    with pytest.raises(services.Conflict) as e:
        execution.rate(w["neighbour"], t, score="satisfied")
    assert e.value.code == "not_published"
    execution.publish_result(w["staff_c1"], t, summary="已清理")
    with pytest.raises(services.Forbidden):
        execution.rate(w["staff_c1"], t, score="satisfied")  # staff acting on it
    with pytest.raises(services.Forbidden):
        execution.rate(w["worker_c1"], t, score="satisfied")  # its owner
    with pytest.raises(services.NotFound):
        execution.rate(w["user_c2"], t, score="satisfied")  # another community: not visible
    with pytest.raises(services.DeliberationError) as e:
        execution.rate(w["neighbour"], t, score="还行")
    assert e.value.code == "bad_score"
    with pytest.raises(services.DeliberationError) as e:
        execution.rate(w["neighbour"], t, score="满意", comment="好" * 301)
    assert e.value.code == "comment"
    r = execution.rate(w["neighbour"], t, score="满意", comment="很干净，有事打13912345678")  # the Chinese label
    assert r.score == "satisfied" and "13912345678" not in r.comment
    with pytest.raises(services.Conflict) as e:
        execution.rate(w["neighbour"], t, score="basic")
    assert e.value.code == "already_rated"
    execution.rate(w["user_c1"], t, score="basic")
    assert TopicRating.objects.filter(topic=t).count() == 2
    s = execution.rating_summary(t)
    weight = RateSettings.current().basic_weight
    assert s["counts"] == {"satisfied": 1, "basic": 1, "unsatisfied": 0} and s["total"] == 2
    assert s["satisfaction"] == pytest.approx((1 + weight) / 2)
    assert execution.may_rate(w["user_c1"], t) is True and execution.my_rating(w["user_c1"], t).score == "basic"
