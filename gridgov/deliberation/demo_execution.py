"""The demo year of deliberation, the execution part (called by demo.build_demo_deliberation as it
walks each demo topic through its phases; see demo.py).

* A phase with `execution`: the decision (made by the meetings part) gets its owner (the
  community's staff, ctx.staff_of) if it has none, a deadline 30 days on and the work; it is
  carried out as a proactive project (a road or drain problem), a volunteer activity (a clean-up)
  or, most often, a case, and done at a realistic later date: the case taken through its own
  services (accept, resolve, verify, close) with `now=` the demo's dates, the project's
  milestone and status completed, the activity finished. Work that would finish after the demo's
  "now" stays under way (the ledger shows it).
* A phase with `published`: the result is published with a Chinese summary and one generated
  JPEG, and a few residents of the place rate it.

Everything is booked through the services with `now=` backdated; the hotline's project services
read the clock themselves, so their calls run under `_clock(at)` (django.utils.timezone.now set to
the demo's date for the duration of the call; the demo runs in one thread)."""

import io
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from unittest import mock

from django.utils import timezone

from . import execution, services
from .models import Decision, Result, TopicRating
from gridgov.geo import levels as gl

#: what a topic's words say about its carrier
PROJECT_WORDS = ("道路", "路面", "破损", "坑洼", "排水", "下水", "积水", "管道", "井盖")
ACTIVITY_WORDS = ("清理", "清洁", "堆物", "卫生", "垃圾", "杂物", "绿化", "环境")


@contextmanager
def _clock(at):
    """The wall clock of the services that read it themselves (the hotline's projects) set to `at`."""
    with mock.patch("django.utils.timezone.now", return_value=at):
        yield


def carrier_for(topic, decision) -> str:
    words = " ".join([topic.title, topic.problem_category_l1, topic.problem_category_l2, topic.problem_category,
                      decision.summary or ""])
    if any(k in words for k in PROJECT_WORDS):
        return Decision.Carrier.PROJECT
    if any(k in words for k in ACTIVITY_WORDS):
        return Decision.Carrier.ACTIVITY
    # (the demo files no cases of its own: the demo street's case counts and numbers stay those
    # of the cases demo; a decision carried out as a case is tested in test_execution)
    return Decision.Carrier.OTHER


def on_phase(ctx, topic, phase, at) -> None:
    """Act on `topic`, which has just entered `phase` at `at` (backdated), through this slice's
    services: what the phase's flags open for this slice."""
    if phase.execution:
        _execute(ctx, topic, at)
        topic.refresh_from_db()
    if phase.published:
        _publish(ctx, topic, at)


# --- 专人办 ------------------------------------------------------------------------------------


def _before_now(ctx, t) -> bool:
    return t < ctx.now - timedelta(hours=1)


def _execute(ctx, topic, at):
    staff = ctx.staff_of(topic)
    d = Decision.objects.filter(topic=topic).first()
    if staff is None or d is None or d.done_at is not None:
        return
    try:
        if not (d.owner_id or d.owner_name):
            work = (d.summary or topic.title).strip()[:200]
            d = execution.assign(staff, topic, owner=staff, deadline=timezone.localdate(at) + timedelta(days=30),
                                 work=f"落实议事决定：{work}", now=at)
        if not d.carrier:
            carrier = carrier_for(topic, d)
            start = at + timedelta(hours=2)
            if carrier == Decision.Carrier.PROJECT:
                with _clock(start):
                    d = execution.carry_out(staff, topic, carrier=carrier, now=start)
            elif carrier in (Decision.Carrier.CASE, Decision.Carrier.OTHER):
                d = execution.carry_out(staff, topic, carrier=carrier, now=start)
            else:
                day = timezone.localdate(at) + timedelta(days=5)
                starts = timezone.make_aware(datetime.combine(day, time(9, 0)))
                d = execution.carry_out(staff, topic, carrier=carrier, now=start, starts_at=starts,
                                        ends_at=starts + timedelta(hours=3), places=15,
                                        title=f"{topic.title}志愿清洁日"[:100])
            ctx.bump(f"deliberation_carried_{carrier}")
    except services.DeliberationError:
        return
    finish = {Decision.Carrier.CASE: _finish_case, Decision.Carrier.PROJECT: _finish_project,
              Decision.Carrier.ACTIVITY: _finish_activity, Decision.Carrier.OTHER: _finish_other}.get(d.carrier)
    if finish is not None:
        finish(ctx, topic, d, staff, at)


def _other_staff(topic, case, not_user):
    """Someone who may verify the case and is not who resolved it: the community's staff first."""
    from gridgov.accounts.models import GridAssignment
    from gridgov.cases import services as cases

    for ga in (GridAssignment.objects.in_force().filter(user__is_active=True, node__path__startswith=topic.community.path)
               .exclude(user=not_user).select_related("user").order_by("node__level", "id")):
        if cases.may_verify(ga.user, case) and cases.may_manage(ga.user, case):
            return ga.user
    for ga in GridAssignment.objects.in_force().filter(user__is_active=True, node__level=gl.street_level()).exclude(user=not_user) \
            .select_related("user").order_by("id"):
        if cases.may_verify(ga.user, case) and cases.may_manage(ga.user, case):
            return ga.user
    return None


def _finish_other(ctx, topic, d, staff, at):
    """Work the owner carries out themselves: reported done a few weeks later (if that is past)."""
    done = at + timedelta(days=ctx.rng.randint(3, 10))
    if done >= ctx.now:
        return
    try:
        execution.report_done(staff, topic, note="已按议事决定办结，经回访居民认可", now=done)
    except services.DeliberationError:
        return


def _finish_case(ctx, topic, d, staff, at):
    from gridgov.cases import services as cases

    case, handler = d.case, d.case.handler_user
    t_accept, t_resolve = at + timedelta(hours=5), at + timedelta(days=3, hours=2)
    t_verify, t_close = at + timedelta(days=4), at + timedelta(days=4, hours=2)
    if not _before_now(ctx, t_close):
        return
    try:
        if handler is None:  # a department's case: one of its members, else the owner takes it on
            handler = next((u for u in cases.department_members(case.handler_department)
                            if cases.may_handle(u, case)), None) if case.handler_department else None
        if handler is None and cases.may_be_handler(staff, case):
            cases.reroute(case, staff, handler_user=staff, note="议事决定负责人亲自办理", now=at + timedelta(hours=3))
            handler = staff
        verifier = _other_staff(topic, case, handler) if handler is not None else None
        if verifier is None:
            return
        cases.accept(case, handler, "收到，按议事决定办理", now=t_accept)
        cases.resolve(case, handler, f"已按议事决定办理完毕：{d.work}"[:200], now=t_resolve)
        cases.verify(case, verifier, note="现场核查，已落实", now=t_verify)
        cases.close(case, verifier, "议事决定已落实", now=t_close)
    except cases.CaseError:
        return
    d.refresh_from_db()
    execution.sync(d, now=t_close)


def _finish_project(ctx, topic, d, staff, at):
    from gridgov.hotline import services as hotline
    from gridgov.hotline.models import ProactiveProject

    done = at + timedelta(days=10)
    if not _before_now(ctx, done):
        return
    p = d.project
    with _clock(done):
        for m in p.milestones.all():
            hotline.update_milestone(staff, m, 100, done_on=timezone.localdate(done))
        hotline.set_project_status(staff, p, ProactiveProject.Status.COMPLETED, on=timezone.localdate(done))
    d.refresh_from_db()
    execution.sync(d, now=done)


def _finish_activity(ctx, topic, d, staff, at):
    from gridgov.volunteers import activities

    a = d.activity
    end = a.ends_at + timedelta(hours=1)
    if not _before_now(ctx, end):
        return
    try:
        activities.finish(staff, a, now=end, notify=False)
    except activities.ActivityError:
        return
    d.refresh_from_db()
    execution.sync(d, now=end)


# --- 结果亮 ------------------------------------------------------------------------------------


def photo(seed: int) -> bytes:
    """A small generated JPEG (a tidy corridor in flat colours): deterministic for a seed."""
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (320, 240), (225, 228, 222))
    dr = ImageDraw.Draw(im)
    tone = 90 + (seed * 37) % 120
    dr.polygon([(0, 240), (110, 90), (210, 90), (320, 240)], fill=(tone, 150, 120))  # the floor
    dr.rectangle([110, 20, 210, 90], fill=(250, 250, 245))  # the far wall
    dr.rectangle([140, 35, 180, 90], fill=(120, 90, 60))  # a door
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=80)
    return buf.getvalue()


SUMMARIES = {
    Decision.Carrier.CASE: "已转为事件{item}办理并结案，经社区现场核查已落实。",
    Decision.Carrier.PROJECT: "已立项{item}实施完成，施工期间的问题已整改。",
    Decision.Carrier.ACTIVITY: "已组织志愿者{item}，现场已清理干净。",
    Decision.Carrier.OTHER: "负责人已按期办结。",
}


def _raters(topic, limit=40):
    from gridgov.accounts.models import User
    from gridgov.registry.models import Resident, Volunteer

    path = topic.community.path
    hashes = (Resident.objects.filter(ended_on__isnull=True, grid__path__startswith=path).exclude(phone_hash="")
              .values("phone_hash"))
    ids = set(User.objects.filter(is_active=True, role="resident", phone_hash__in=hashes)
              .values_list("pk", flat=True)[:limit])
    ids |= set(Volunteer.objects.filter(user__isnull=False, user__is_active=True, ended_on__isnull=True,
                                        resident__grid__path__startswith=path).values_list("user_id", flat=True)[:limit])
    ids |= {u.pk for u in services.participants(topic)}
    return list(User.objects.filter(pk__in=ids).order_by("id"))


def _publish(ctx, topic, at):
    staff = ctx.staff_of(topic)
    if staff is None or Result.objects.filter(topic=topic).exists():
        return
    d = Decision.objects.filter(topic=topic).first()
    when = at + timedelta(hours=3)
    label = ""
    if d is not None:
        label = execution.item_label(d)
        label = f"（{label}）" if label else ""
    work = d.work.removeprefix("落实议事决定：") if d is not None and d.work else topic.title
    summary = f"关于“{topic.title}”：{work}。" + SUMMARIES.get(d.carrier if d else "", "").format(item=label)
    try:
        execution.publish_result(staff, topic, summary=summary, photos=[photo(topic.pk)], now=when)
    except services.DeliberationError:
        return
    raters = [u for u in _raters(topic) if execution.may_rate(u, topic)]
    ctx.rng.shuffle(raters)
    for i, user in enumerate(raters[:4]):
        t = when + timedelta(days=1 + i, hours=ctx.rng.randint(0, 8))
        if not _before_now(ctx, t):
            break
        r = ctx.rng.random()
        score = "satisfied" if r < 0.7 else "basic" if r < 0.92 else "unsatisfied"
        comment = {"satisfied": "办得好，谢谢社区！", "basic": "基本解决了，希望保持。", "unsatisfied": "还有问题，请再看看。"}[score]
        try:
            execution.rate(user, topic, score=score, comment=comment if ctx.rng.random() < 0.5 else "", now=t)
        except services.DeliberationError:
            continue


def counts(ctx) -> dict:
    out = {f"deliberation_carried_{c}": Decision.objects.filter(carrier=c).count() for c in Decision.Carrier.values}
    out.update({"deliberation_decisions_done": Decision.objects.filter(done_at__isnull=False).count(),
                "deliberation_results": Result.objects.count(),
                "deliberation_ratings": TopicRating.objects.count()})
    return out
