"""专人办、结果亮: the decision's owner, deadline and work carried out as a linked case, proactive
project or volunteer activity with its clock; the published result with photos; the residents'
ratings.

* `assign`: the community (deliberation × update on the topic's grid) names one owner (a user,
  or the name of someone without a login), a deadline and the work; the owner is told. Changing
  the owner, deadline or work later keeps history (core.history kind "deliberation_decisions").
* `carry_out`: while the topic's phase has `execution`, the decision becomes a case
  (cases.services.submit_case, channel "patrol": staff's own report, so it gets its routing,
  handler and time limits), a proactive project (hotline.services.create_project, approved and in
  progress, one milestone due on the deadline), a volunteer activity (volunteers.activities.publish:
  work done by volunteers, e.g. a clean-up day) or "other" work the owner reports done. One
  carrier per decision: once linked it cannot be changed, unless the linked item died (a case
  rejected or merged, a project or an activity cancelled).
* `status` / `sync`: the clock (deadline, days left or overdue) and the linked item's state;
  done follows the item (a case verified or closed, a project completed, an activity finished)
  and `sync` writes `done_at` once (a conditional UPDATE), so the guard of the execution phase
  (services._guard_leaving) lets the topic move on. `sync` runs on read (staff_context, status
  API) and from the periodic task (tasks.py), with the owners' reminders (`remind`).
* `report_done`: the owner (or staff) reports work of carrier "other" done.
* `publish_result`: while the phase has `published`: a summary and up to 6 photos (checked and
  stripped as case photos are); participants are told. Publishing again EDITS the result: allowed
  to staff with deliberation × update while the phase is open, the old summary kept in history,
  photos given replace the old set (none given: kept).
* `rate` / `rating_summary`: the residents of the place (and the topic's participants) rate the
  published result as they rate cases (cases.models.Score, the Chinese labels accepted), once
  each; the satisfaction rate is the hotline's (满意 + w × 基本满意) / rated, w =
  hotline RateSettings.basic_weight."""

import uuid
from datetime import date, datetime, time, timedelta

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.querysets import within_reach
from gridgov.core import history

from . import services
from .models import Decision, Result, ResultPhoto, Topic, TopicRating
from .services import Conflict, DeliberationError, Forbidden, NotFound, person_name

HKIND = "deliberation_decisions"
#: a result holds at most this many photos
MAX_PHOTOS = 6
MAX_WORK = 1000
MAX_SUMMARY = 2000
MAX_NOTE = 300
MAX_COMMENT = 300
#: the owner is reminded when the deadline is this close (days) or passed
REMIND_DAYS = 3


# --- small helpers -----------------------------------------------------------------------------


def _now(now):
    return now or timezone.now()


def _today(now) -> date:
    return timezone.localdate(_now(now))


def _notify(user, kind, title, body="", topic=None):
    """Queue one notification (cases.notify: written in this transaction, delivered after commit)."""
    if user is None or not getattr(user, "is_active", False):
        return
    from gridgov.cases import notify

    notify.queue(user, kind, str(title), str(body), payload={"topic": topic.pk} if topic else None)


def _parse_deadline(value) -> date:
    if isinstance(value, datetime):
        return timezone.localdate(value) if timezone.is_aware(value) else value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise DeliberationError(_("请填写办理期限（YYYY-MM-DD）"), code="deadline") from None


def decision_of(topic: Topic, *, for_update: bool = False) -> Decision:
    qs = Decision.objects.filter(topic_id=topic.pk)
    if for_update:
        # no joins: on PostgreSQL a row locked after waiting is re-read, but the columns of an
        # outer join are those of the statement's snapshot (a project linked meanwhile would
        # read as None); the related rows load afterwards, seeing what was committed
        d = qs.select_for_update().first()
    else:
        d = qs.select_related("owner", "case", "project", "activity").first()
    if d is None:
        raise Conflict(_("议事会尚未形成决定"), code="no_decision")
    return d


def _require_manage(user, topic):
    if not services.may_manage(user, topic):
        raise Forbidden(_("只有本社区负责议事的工作人员可以办理"))


def is_owner(user, decision: Decision) -> bool:
    return services.signed_in(user) and decision.owner_id == user.pk


def owner_label(decision: Decision) -> str:
    return decision.owner_name or person_name(decision.owner)


def place_name(topic: Topic) -> str:
    parts = [topic.community.name]
    if topic.compound_id:
        parts.append(topic.compound.name)
    if topic.building_id:
        parts.append(topic.building.name)
    return "".join(parts)


def _point(topic: Topic):
    """(lon, lat) of the topic's place: its building's, its compound's, else its grid's centre."""
    for obj in (topic.building, topic.compound):
        if obj is not None and obj.lon is not None and obj.lat is not None:
            return obj.lon, obj.lat
    node = topic.node
    if node.center_lon is not None and node.center_lat is not None:
        return node.center_lon, node.center_lat
    return None


# --- 专人办: the owner, the deadline, the work ---------------------------------------------------


@transaction.atomic
def assign(user, topic: Topic, *, owner=None, owner_name: str = "", deadline, work: str, now=None) -> Decision:
    """Name the decision's owner (a user, or `owner_name` for someone without a login), its
    deadline and the work. Staff with deliberation × update; refused once the work is done."""
    now = _now(now)
    _require_manage(user, topic)
    if topic.state != Topic.State.OPEN:
        raise Conflict(_("议题已%(state)s，不能再安排办理"), code="bad_state", state=topic.get_state_display())
    d = decision_of(topic, for_update=True)
    if d.done_at is not None:
        raise Conflict(_("决定事项已办结，不能再更改负责人或期限"), code="done")
    if owner is not None and not getattr(owner, "is_active", False):
        raise DeliberationError(_("负责人账号不可用"), code="owner")
    owner_name = (owner_name or "").strip()
    if owner is not None:
        owner_name = ""
    elif not owner_name:
        raise DeliberationError(_("请指定负责人"), code="owner")
    if len(owner_name) > 100:
        raise DeliberationError(_("负责人姓名最多 100 字"), code="owner")
    deadline = _parse_deadline(deadline)
    if deadline < timezone.localdate(d.decided_at):
        raise DeliberationError(_("办理期限不能早于作出决定的日期"), code="deadline")
    work = (work or "").strip()
    if not work:
        raise DeliberationError(_("请填写要办的事"), code="work")
    if len(work) > MAX_WORK:
        raise DeliberationError(_("办理事项最多 %(n)s 字"), code="work", n=MAX_WORK)
    before = {"owner": owner_label(d) or None, "deadline": d.deadline, "work": d.work or None}
    first = not (d.owner_id or d.owner_name)
    owner_changed = (owner.pk if owner else None) != d.owner_id
    d.owner, d.owner_name, d.deadline, d.work = owner, owner_name, deadline, work
    d.version = F("version") + 1
    d.save(update_fields=["owner", "owner_name", "deadline", "work", "version"])
    d.refresh_from_db()
    after = {"owner": owner_label(d), "deadline": deadline, "work": work}
    history.record(user, HKIND, d, "assign" if first else "reassign", history.diff(before, after),
                   grid_path=topic.node.path, at=now)
    if owner is not None and (owner_changed or first):
        _notify(owner, "decision_assigned", f"请您负责办理议题“{topic.title}”的决定事项",
                f"办理期限：{deadline:%Y-%m-%d}。{work}", topic)
    elif owner is not None:
        _notify(owner, "decision_changed", f"议题“{topic.title}”的办理安排已调整",
                f"办理期限：{deadline:%Y-%m-%d}。{work}", topic)
    return d


# --- carrying it out ---------------------------------------------------------------------------


def _item_dead(d: Decision) -> bool:
    """Whether the linked item can never be done (so another carrier may be chosen)."""
    from gridgov.cases.models import State
    from gridgov.hotline.models import ProactiveProject
    from gridgov.volunteers.models import Activity

    if d.carrier == Decision.Carrier.CASE and d.case_id:
        return d.case.state in (State.REJECTED, State.MERGED)
    if d.carrier == Decision.Carrier.PROJECT and d.project_id:
        return d.project.status == ProactiveProject.Status.CANCELLED
    if d.carrier == Decision.Carrier.ACTIVITY and d.activity_id:
        return d.activity.state == Activity.State.CANCELLED
    return False


def is_linked(d: Decision) -> bool:
    return bool(d.case_id or d.project_id or d.activity_id)


def _case_item(topic: Topic, code: str = ""):
    from gridgov.cases.models import Item

    for c in (code, topic.problem_category):
        if c:
            item = Item.objects.filter(code=c, active=True).first()
            if item is not None:
                return item
    return None


def _carry_case(user, topic: Topic, d: Decision, now, details: dict):
    from gridgov.cases import conf as cases_conf
    from gridgov.cases import services as cases

    text = f"【议事决定】{topic.title}：{d.work}"[: cases_conf.get_int("CASES_MAX_TEXT")]
    # a retry opens nothing twice; a new case after a dead one gets its own key
    n = Decision.objects.filter(pk=d.pk).values_list("version", flat=True).first()
    name = f"deliberation:{topic.pk}" if not d.case_id else f"deliberation:{topic.pk}:{n}"
    kw = dict(reporter=user, channel="patrol", text=text, address=place_name(topic)[:200],
              item=_case_item(topic, details.get("item", "")), urgency=details.get("urgency") or None,
              grid=topic.node, idempotency_key=uuid.uuid5(uuid.NAMESPACE_URL, name), entered_by=user, now=now)
    point = _point(topic)
    try:
        if point is not None:
            try:
                return cases.submit_case(lon=point[0], lat=point[1], **kw)[0]
            except cases.InvalidInput as exc:
                if not str(exc).startswith("location"):
                    raise
        return cases.submit_case(**kw)[0]
    except cases.CaseError as exc:
        msg = exc.source_message() if hasattr(exc, "source_message") else str(exc)
        raise DeliberationError(_("无法转为事件：%(reason)s"), code="case", reason=msg) from None


def _carry_project(user, topic: Topic, d: Decision, now, details: dict):
    from django.core.exceptions import PermissionDenied

    from gridgov.hotline import services as hotline
    from gridgov.hotline.models import ProactiveProject

    try:
        p = hotline.create_project(
            user, title=(details.get("title") or topic.title)[:200], grid=topic.node, compound=topic.compound,
            category_l1=topic.problem_category_l1, category_l2=topic.problem_category_l2, owner=owner_label(d)[:100],
            description=d.work, cluster_key=topic.problem_category, funding_source=details.get("funding_source", ""),
            budget=details.get("budget"))
        on = timezone.localdate(now)
        hotline.set_project_status(user, p, ProactiveProject.Status.APPROVED, on=on)
        hotline.set_project_status(user, p, ProactiveProject.Status.IN_PROGRESS, on=on)
        hotline.add_milestone(user, p, (details.get("milestone") or d.work)[:200], due_on=d.deadline)
    except PermissionDenied:
        raise Forbidden(_("您不能在这个网格立项")) from None
    except hotline.ProjectError as exc:
        raise DeliberationError(_("无法立项：%(reason)s"), code="project", reason=str(exc)) from None
    p.refresh_from_db()
    return p


def _aware(value):
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _carry_activity(user, topic: Topic, d: Decision, now, details: dict):
    from gridgov.volunteers import activities

    starts = _aware(details.get("starts_at"))
    if starts is None:  # the morning after, at nine
        day = timezone.localdate(now) + timedelta(days=1)
        starts = timezone.make_aware(datetime.combine(day, time(9, 0)))
    ends = _aware(details.get("ends_at")) or starts + timedelta(hours=3)
    point = _point(topic) or (None, None)
    lon, lat = details.get("lon", point[0]), details.get("lat", point[1])
    try:
        return activities.publish(
            user, title=(details.get("title") or topic.title)[:100], node=topic.node, lat=lat, lon=lon,
            starts_at=starts, ends_at=ends, places=details.get("places") or 20,
            place_name=(details.get("place_name") or place_name(topic))[:150],
            kind=details.get("kind") or "environment", description=d.work, now=now)
    except activities.NotAllowed:
        raise Forbidden(_("您不能在这个网格发布活动")) from None
    except activities.ActivityError as exc:
        raise DeliberationError(_("无法发布志愿活动：%(reason)s"), code="activity", reason=exc.source_message()) from None


CARRY = {Decision.Carrier.CASE: ("case", _carry_case), Decision.Carrier.PROJECT: ("project", _carry_project),
         Decision.Carrier.ACTIVITY: ("activity", _carry_activity)}


@transaction.atomic
def carry_out(user, topic: Topic, *, carrier: str, now=None, **details) -> Decision:
    """Turn the decision into a case, a proactive project or a volunteer activity (linked, with
    its clock), or "other" work the owner reports done. Staff with deliberation × update, while
    the topic's phase has `execution`, after `assign`. Refused once linked (unless the linked item
    died: a rejected case, a cancelled project or activity)."""
    now = _now(now)
    _require_manage(user, topic)
    t = Topic.objects.select_related("phase", "node", "community", "compound", "building").get(pk=topic.pk)
    if not services.phase_open(t, "execution"):
        raise Conflict(_("议题不在“专人办”阶段，不能落实"), code="phase")
    if carrier not in Decision.Carrier.values:
        raise DeliberationError(_("办理方式请选择：%(choices)s"), code="carrier",
                                choices=" / ".join(f"{v}（{label}）" for v, label in Decision.Carrier.choices))
    d = decision_of(t, for_update=True)
    if d.done_at is not None:
        raise Conflict(_("决定事项已办结"), code="done")
    if not (d.owner_id or d.owner_name) or not d.deadline or not d.work:
        raise Conflict(_("请先指定负责人、办理期限和要办的事"), code="not_assigned")
    if is_linked(d) and not _item_dead(d):
        raise Conflict(_("决定事项已转为%(carrier)s，不能更改办理方式"), code="linked",
                       carrier=d.get_carrier_display())
    before = {"carrier": d.carrier or None, "case": d.case_id, "project": d.project_id, "activity": d.activity_id}
    link = {"case": None, "project": None, "activity": None}
    if carrier in CARRY:
        field, fn = CARRY[carrier]
        link[field] = fn(user, t, d, now, details)
    d.carrier, d.case, d.project, d.activity = carrier, link["case"], link["project"], link["activity"]
    d.started_at = d.started_at or now
    d.version = F("version") + 1
    d.save(update_fields=["carrier", "case", "project", "activity", "started_at", "version"])
    d.refresh_from_db()
    after = {"carrier": carrier, "case": d.case_id, "project": d.project_id, "activity": d.activity_id}
    history.record(user, HKIND, d, "carry_out", history.diff(before, after), grid_path=t.node.path, at=now)
    if d.owner_id and d.owner_id != getattr(user, "pk", None):
        _notify(d.owner, "decision_carried", f"议题“{t.title}”的决定事项已转为{d.get_carrier_display()}",
                item_label(d), t)
    return d


def item_label(d: Decision) -> str:
    if d.case_id:
        return f"事件 {d.case.number}"
    if d.project_id:
        return f"项目：{d.project.title}"
    if d.activity_id:
        return f"活动：{d.activity.title}"
    return ""


def item_url(d: Decision) -> str:
    """The staff page of the linked item."""
    if d.case_id:
        return f"/cases/{d.case_id}/"
    if d.project_id:
        return f"/hotline/projects/{d.project_id}/"
    if d.activity_id:
        return f"/volunteers/activities/{d.activity_id}/"
    return ""


# --- the clock ---------------------------------------------------------------------------------


def _item_status(d: Decision, now) -> tuple[dict, bool, datetime | None]:
    """(the linked item's state, whether it is done, when it was done)."""
    if d.case_id:
        from gridgov.cases.models import Clock, State

        c = d.case
        clocks = [{"kind": k.kind, "label": str(k.get_kind_display()), "state": k.state,
                   "state_label": str(k.get_state_display()), "due_at": k.due_at.isoformat(),
                   "late": k.state == "breached" or (k.state in ("running", "warned") and k.due_at <= now)}
                  for k in Clock.objects.current().filter(case=c).order_by("id")]
        done = c.state in (State.VERIFIED, State.CLOSED)
        info = {"kind": "case", "id": c.pk, "number": c.number, "state": c.state,
                "state_label": str(c.get_state_display()), "clocks": clocks,
                "handler": person_name(c.handler_user) or c.handler_department,
                "dead": c.state in (State.REJECTED, State.MERGED)}
        return info, done, (c.closed_at or c.updated_at) if done else None
    if d.project_id:
        from gridgov.hotline.models import ProactiveProject

        p = d.project
        ms = [{"title": m.title, "due_on": m.due_on.isoformat() if m.due_on else None,
               "done_on": m.done_on.isoformat() if m.done_on else None, "progress": m.progress}
              for m in p.milestones.all()]
        done = p.status == ProactiveProject.Status.COMPLETED
        info = {"kind": "project", "id": p.pk, "title": p.title, "status": p.status,
                "state_label": str(p.get_status_display()), "progress": p.progress, "milestones": ms,
                "dead": p.status == ProactiveProject.Status.CANCELLED}
        at = None
        if done and p.completed_on:
            at = timezone.make_aware(datetime.combine(p.completed_on, time(18, 0)))
        return info, done, at
    if d.activity_id:
        from gridgov.volunteers.models import Activity

        a = d.activity
        done = a.state == Activity.State.FINISHED
        info = {"kind": "activity", "id": a.pk, "title": a.title, "state": a.state,
                "state_label": str(a.get_state_display()), "starts_at": a.starts_at.isoformat(),
                "ends_at": a.ends_at.isoformat(), "taken": a.taken, "places": a.places,
                "dead": a.state == Activity.State.CANCELLED}
        return info, done, a.finished_at if done else None
    return {}, False, None


def status(decision: Decision, now=None) -> dict:
    """The clock of a decision: owner, deadline, days left (negative: overdue), the linked item's
    state (a case's state and its own clocks, a project's status and milestones, an activity's
    state) and whether it is done (done_at set, or the linked item done)."""
    now = _now(now)
    d = decision
    item, item_done, _at = _item_status(d, now)
    done = d.done_at is not None or item_done
    days_left = (d.deadline - timezone.localdate(now)).days if d.deadline else None
    return {
        "decision": d.pk, "topic": d.topic_id, "summary": d.summary,
        "owner": owner_label(d), "owner_id": d.owner_id, "deadline": d.deadline.isoformat() if d.deadline else None,
        "work": d.work, "carrier": d.carrier, "carrier_label": str(d.get_carrier_display()) if d.carrier else "",
        "assigned": bool((d.owner_id or d.owner_name) and d.deadline),
        "days_left": days_left, "overdue": bool(not done and days_left is not None and days_left < 0),
        "due_soon": bool(not done and days_left is not None and 0 <= days_left <= REMIND_DAYS),
        "started_at": d.started_at.isoformat() if d.started_at else None,
        "done": done, "done_at": d.done_at.isoformat() if d.done_at else None, "done_note": d.done_note,
        "item": item, "item_label": item_label(d), "item_url": item_url(d),
    }


def sync(decision: Decision, now=None) -> bool:
    """Set `done_at` when the linked item is done (once: a conditional UPDATE; True when this call
    set it). The time is the item's (a case's close, a project's completion date, an activity's
    end), never later than `now`."""
    d = decision
    if d.done_at is not None or not is_linked(d):
        return False
    now = _now(now)
    _info, done, at = _item_status(d, now)
    if not done:
        return False
    at = min(at or now, now)
    with transaction.atomic():
        n = Decision.objects.filter(pk=d.pk, done_at__isnull=True).update(done_at=at, version=F("version") + 1)
        if n != 1:
            d.refresh_from_db()
            return False
        d.refresh_from_db()
        topic = Topic.objects.select_related("node").get(pk=d.topic_id)
        history.record(None, HKIND, d, "done", {"done_at": [None, at]}, grid_path=topic.node.path,
                       note=f"{item_label(d)}已办结", at=at)
        services.notify_participants(topic, "decision_done", f"议题“{topic.title}”的决定事项已办结", item_label(d))
    return True


def sync_all(now=None) -> int:
    """Sync every linked decision not yet done (the periodic task): how many became done."""
    n = 0
    qs = (Decision.objects.filter(done_at__isnull=True).filter(Q(case__isnull=False) | Q(project__isnull=False)
                                                                 | Q(activity__isnull=False))
          .select_related("case", "project", "activity"))
    for d in qs.iterator():
        n += bool(sync(d, now=now))
    return n


@transaction.atomic
def report_done(user, topic: Topic, *, note: str, now=None) -> Decision:
    """The owner (or staff with deliberation × update) reports work of carrier "other" done, with
    a note of what was done. A linked case, project or activity: done follows the item."""
    now = _now(now)
    t = Topic.objects.select_related("phase", "node").get(pk=topic.pk)
    d = decision_of(t, for_update=True)
    if not (is_owner(user, d) or services.may_manage(user, t)):
        raise Forbidden(_("只有决定事项的负责人或社区工作人员可以报告办结"))
    if d.done_at is not None:
        raise Conflict(_("决定事项已办结"), code="done")
    if not services.phase_open(t, "execution"):
        raise Conflict(_("议题不在“专人办”阶段"), code="phase")
    if is_linked(d):
        raise Conflict(_("决定事项已转为%(carrier)s（%(item)s），办结以它的办理结果为准，无需另行报告"),
                       code="follows_item", carrier=d.get_carrier_display(), item=item_label(d))
    if d.carrier != Decision.Carrier.OTHER:
        raise Conflict(_("请先确定办理方式"), code="no_carrier")
    from gridgov.core.freetext import mask_personal

    note = (note or "").strip()
    if not note:
        raise DeliberationError(_("请说明办了什么、结果如何"), code="note")
    if len(note) > MAX_NOTE:
        raise DeliberationError(_("办结说明最多 %(n)s 字"), code="note", n=MAX_NOTE)
    note = mask_personal(note)
    n = Decision.objects.filter(pk=d.pk, done_at__isnull=True).update(done_at=now, done_note=note,
                                                                      version=F("version") + 1)
    if n != 1:
        raise Conflict(_("决定事项已办结"), code="done")
    d.refresh_from_db()
    history.record(user, HKIND, d, "done", {"done_at": [None, now], "done_note": [None, note]},
                   grid_path=t.node.path, at=now)
    services.notify_participants(t, "decision_done", f"议题“{t.title}”的决定事项已办结", note, exclude=[user])
    return d


# --- the ledger --------------------------------------------------------------------------------


def scoped(user):
    """The decisions of the grids in scope (deliberation × list on topic__node__path)."""
    return within_reach(Decision.objects.select_related("topic__node", "topic__community", "owner", "case",
                                                        "project", "activity"),
                        user, services.KIND, "list", "topic__node__path")


LEDGER_STATES = ("open", "overdue", "due_soon", "done", "unassigned")


def _sort_key(row):
    s = row["status"]
    rank = 0 if s["overdue"] else 1 if s["due_soon"] else 3 if s["done"] else 2
    return (rank, s["deadline"] or "9999", row["decision"].pk)


def ledger(user, *, state: str | None = None, now=None) -> list[dict]:
    """The 专人办 ledger: each decision of the grids in scope with its topic, owner, deadline and
    status, overdue first, then due soon, then by deadline; `state` one of LEDGER_STATES."""
    now = _now(now)
    rows = []
    for d in scoped(user).filter(topic__state__in=[Topic.State.OPEN, Topic.State.CLOSED])[:1000]:
        sync(d, now=now)
        s = status(d, now)
        if state == "open" and s["done"] or state == "done" and not s["done"]:
            continue
        if state == "overdue" and not s["overdue"] or state == "due_soon" and not s["due_soon"]:
            continue
        if state == "unassigned" and s["assigned"]:
            continue
        rows.append({"decision": d, "topic": d.topic, "status": s})
    rows.sort(key=_sort_key)
    return rows


def overdue(user, now=None) -> list[dict]:
    return ledger(user, state="overdue", now=now)


def mine(user, now=None) -> list[dict]:
    """The decisions `user` owns, open first."""
    if not services.signed_in(user):
        return []
    now = _now(now)
    rows = []
    for d in Decision.objects.filter(owner=user).select_related("topic__node", "topic__phase", "case", "project",
                                                                "activity")[:200]:
        sync(d, now=now)
        rows.append({"decision": d, "topic": d.topic, "status": status(d, now),
                     "may_report_done": may_report_done(user, d)})
    rows.sort(key=_sort_key)
    return rows


def may_report_done(user, d: Decision) -> bool:
    t = d.topic
    return (d.done_at is None and d.carrier == Decision.Carrier.OTHER and not is_linked(d)
            and services.phase_open(t, "execution") and (is_owner(user, d) or services.may_manage(user, t)))


def remind(now=None) -> int:
    """Remind each owner (a user) whose deadline is within REMIND_DAYS days or passed, of a
    decision not done on an open topic: once per local day per decision (the history row
    "remind" of that day is the record that it was sent). Returns how many were sent."""
    now = _now(now)
    today = timezone.localdate(now)
    qs = Decision.objects.filter(done_at__isnull=True, owner__isnull=False, owner__is_active=True,
                                 deadline__lte=today + timedelta(days=REMIND_DAYS),
                                 topic__state=Topic.State.OPEN).values_list("pk", flat=True)
    sent = 0
    start = timezone.make_aware(datetime.combine(today, time(0, 0)))
    for pk in list(qs):
        with transaction.atomic():
            d = Decision.objects.select_for_update(of=("self",)).select_related("topic__node", "owner").get(pk=pk)
            if d.done_at is not None:
                continue
            if history.for_object(HKIND, d.pk).filter(action="remind", at__gte=start,
                                                      at__lt=start + timedelta(days=1)).exists():
                continue
            days = (d.deadline - today).days
            title = (f"议题“{d.topic.title}”的决定事项已超期 {-days} 天" if days < 0 else
                     f"议题“{d.topic.title}”的决定事项将于 {days} 天后到期" if days else
                     f"议题“{d.topic.title}”的决定事项今天到期")
            history.record(None, HKIND, d, "remind", {"days_left": days}, grid_path=d.topic.node.path, at=now)
            _notify(d.owner, "decision_reminder", title, d.work, d.topic)
            sent += 1
    return sent


# --- 结果亮: the result ---------------------------------------------------------------------------


def _clean_photos(photos) -> list[tuple[bytes, str]]:
    from gridgov.cases.photos import PhotoError, clean_image

    photos = [p for p in (photos or ()) if p]
    if len(photos) > MAX_PHOTOS:
        raise DeliberationError(_("照片最多 %(n)s 张"), code="photos", n=MAX_PHOTOS)
    out = []
    for i, p in enumerate(photos, start=1):
        data = p.read() if hasattr(p, "read") else p
        try:
            out.append(clean_image(data, f"photo {i}"))
        except PhotoError as exc:
            raise DeliberationError(_("照片无法使用：%(reason)s"), code="photo", reason=str(exc)) from None
    return out


@transaction.atomic
def publish_result(user, topic: Topic, *, summary: str, photos=(), now=None) -> Result:
    """Publish the result (结果亮): a summary (required) and up to MAX_PHOTOS photos, while the
    topic's phase has `published`; refused while the decision's work is not done. Participants
    (proposer, who entered it, supporters) are told. Again on a published result: an edit by
    staff (history keeps the old summary; photos given replace the old ones)."""
    now = _now(now)
    _require_manage(user, topic)
    t = Topic.objects.select_for_update(of=("self",)).select_related("phase", "node").get(pk=topic.pk)
    if not services.phase_open(t, "published"):
        raise Conflict(_("议题不在“结果亮”阶段，不能公开结果"), code="phase")
    d = Decision.objects.filter(topic=t).first()
    if d is not None:
        sync(d, now=now)
        if d.done_at is None:
            raise Conflict(_("决定事项尚未办结，不能公开结果"), code="not_done")
    summary = (summary or "").strip()
    if not summary:
        raise DeliberationError(_("请填写结果说明"), code="summary")
    if len(summary) > MAX_SUMMARY:
        raise DeliberationError(_("结果说明最多 %(n)s 字"), code="summary", n=MAX_SUMMARY)
    images = _clean_photos(photos)
    result = Result.objects.filter(topic=t).first()
    if result is None:
        result = Result.objects.create(topic=t, summary=summary, published_at=now, published_by=user)
        action, changes = "publish_result", {"result": [None, summary], "photos": [0, len(images)]}
    else:
        old = result.photos.count()
        changes = history.diff({"result": result.summary}, {"result": summary})
        if images:
            changes["photos"] = [old, len(images)]
        result.summary = summary
        result.save(update_fields=["summary"])
        action = "edit_result"
    if images:
        for p in list(result.photos.all()) if action == "edit_result" else []:
            p.file.delete(save=False)
            p.delete()
        for data, ctype in images:
            photo = ResultPhoto(result=result, content_type=ctype)
            photo.file.save("photo" + {"image/png": ".png"}.get(ctype, ".jpg"), ContentFile(data), save=False)
            photo.save()
    history.record(user, "deliberation_topics", t, action, changes, grid_path=t.node.path, at=now)
    if action == "publish_result":
        services.notify_participants(t, "topic_result", f"议题“{t.title}”的办理结果已公开", summary[:200])
        if d is not None and d.owner_id and d.owner_id != user.pk:
            _notify(d.owner, "topic_result", f"议题“{t.title}”的办理结果已公开", summary[:200], t)
    return result


def result_of(topic: Topic) -> Result | None:
    return Result.objects.filter(topic_id=topic.pk).prefetch_related("photos").first()


def result_out(result: Result | None, photo_url: str = "/m/deliberation/execution/photos/{pk}/") -> dict | None:
    if result is None:
        return None
    return {"summary": result.summary, "published_at": result.published_at.isoformat(),
            "published_by": person_name(result.published_by),
            "photos": [{"id": p.pk, "url": photo_url.format(pk=p.pk)} for p in result.photos.all()]}


def photo_for(user, photo_id) -> ResultPhoto:
    """A result's photo, if `user` may read its topic (Topic.objects.visible_to); NotFound else."""
    photo = ResultPhoto.objects.select_related("result").filter(pk=photo_id).first()
    if photo is None or not Topic.objects.visible_to(user).filter(pk=photo.result.topic_id).exists():
        raise NotFound(_("没有这张照片"))
    return photo


# --- ratings -----------------------------------------------------------------------------------


def _score(score: str) -> str:
    from gridgov.cases.models import Score
    from gridgov.core.i18n import source_text

    if score in Score.values:
        return score
    labels = {**{source_text(s.label): s.value for s in Score}, **{str(s.label): s.value for s in Score}}
    if score not in labels:
        raise DeliberationError(_("评价请选择：%(labels)s"), code="bad_score",
                                labels=" / ".join(source_text(s.label) for s in Score))
    return labels[score]


def is_resident_of_place(user, topic: Topic) -> bool:
    """Lives at the topic's place (services.home_of: its compound, or its community), or is one
    of its participants (proposer, who entered it, a supporter)."""
    if not services.signed_in(user):
        return False
    home = services.home_of(user)
    if topic.compound_id and home.compound_id == topic.compound_id:
        return True
    if home.community_id and home.community_id == topic.community_id:
        return True
    return any(u.pk == user.pk for u in services.participants(topic))


def may_rate(user, topic: Topic) -> bool:
    """A resident of the place or a participant, who sees the topic, is not staff acting on it nor
    the decision's owner, once the result is published."""
    if not services.signed_in(user) or not Result.objects.filter(topic_id=topic.pk).exists():
        return False
    if services.may_manage(user, topic):
        return False
    if Decision.objects.filter(topic_id=topic.pk, owner=user).exists():
        return False
    return is_resident_of_place(user, topic) and Topic.objects.visible_to(user).filter(pk=topic.pk).exists()


def my_rating(user, topic: Topic) -> TopicRating | None:
    if not services.signed_in(user):
        return None
    return TopicRating.objects.filter(topic_id=topic.pk, user=user).first()


@transaction.atomic
def rate(user, topic: Topic, *, score: str, comment: str = "", now=None) -> TopicRating:
    """A resident rates the published result (满意 / 基本满意 / 不满意, the codes or the Chinese
    labels), once (a second time: Conflict 409); the comment (≤ 300 characters) is kept masked."""
    from gridgov.core.freetext import mask_personal

    now = _now(now)
    if not services.signed_in(user):
        raise Forbidden(_("请先登录"))
    score = _score(score)
    if not Topic.objects.visible_to(user).filter(pk=topic.pk).exists():
        raise NotFound(_("没有这个议题"))
    if not Result.objects.filter(topic_id=topic.pk).exists():
        raise Conflict(_("结果公开后才能评价"), code="not_published")
    if services.may_manage(user, topic) or Decision.objects.filter(topic_id=topic.pk, owner=user).exists():
        raise Forbidden(_("办理这个议题的工作人员和负责人不能评价"), code="acting")
    if not is_resident_of_place(user, topic):
        raise Forbidden(_("只有本小区、本社区的居民可以评价"))
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise DeliberationError(_("评价最多 %(n)s 字，收到 %(got)s 字"), code="comment", n=MAX_COMMENT, got=len(comment))
    try:
        with transaction.atomic():
            rating = TopicRating.objects.create(topic_id=topic.pk, user=user, score=score,
                                                comment=mask_personal(comment), at=now)
    except IntegrityError:
        raise Conflict(_("您已评价过这个议题"), code="already_rated") from None
    history.record(user, "deliberation_topics", topic, "rate", {"score": [None, score]},
                   grid_path=topic.node.path, at=now)
    return rating


def rating_summary(topic: Topic) -> dict:
    """Counts per score and the satisfaction rate as the hotline defines it (hotline.rates:
    (满意 + w × 基本满意) / rated, w = RateSettings.basic_weight); None without ratings."""
    from django.db.models import Count

    from gridgov.cases.models import Score
    from gridgov.hotline.models import RateSettings
    from gridgov.hotline.rates import Counts, rates_of

    counts = {s: 0 for s in Score.values}
    for row in TopicRating.objects.filter(topic_id=topic.pk).values("score").annotate(n=Count("id")):
        counts[row["score"]] = counts.get(row["score"], 0) + row["n"]
    total = sum(counts.values())
    settings = RateSettings.current()
    rate_ = rates_of(Counts(rated=total, satisfied=counts["satisfied"], basic=counts["basic"],
                            unsatisfied=counts["unsatisfied"]), settings).satisfaction
    return {"counts": counts, "total": total, "satisfaction": rate_, "basic_weight": settings.basic_weight,
            "labels": {s.value: str(s.label) for s in Score}}


# --- the topic pages ---------------------------------------------------------------------------


#: the history's actions, as the staff page names them
ACTIONS = {"assign": _("指定负责人"), "reassign": _("调整办理安排"), "carry_out": _("落实办理方式"),
           "done": _("办结"), "remind": _("到期提醒")}


def _history(decision):
    """[(row, action label, who)] of the decision's history, oldest first."""
    if not decision:
        return []
    return [(h, ACTIONS.get(h.action, h.action), h.actor_name or _("系统"))
            for h in history.for_object(HKIND, decision.pk).order_by("at", "id")]


def staff_context(user, topic) -> dict:
    """What the staff topic page (/deliberation/topics/<id>/) shows of this slice: the context of
    templates/deliberation/_staff_topic_execution.html."""
    from gridgov.cases.models import Score

    d = Decision.objects.filter(topic_id=topic.pk).select_related("owner", "case", "project", "activity").first()
    manage = services.may_manage(user, topic)
    ctx = {"x_decision": d, "x_manage": manage}
    if d is not None:
        sync(d)
        ctx.update({
            "x_status": status(d), "x_history": _history(d),
            "x_may_assign": manage and topic.state == Topic.State.OPEN and d.done_at is None,
            "x_may_carry": (manage and d.done_at is None and services.phase_open(topic, "execution")
                            and (not is_linked(d) or _item_dead(d)) and bool(d.deadline)),
            "x_may_done": may_report_done(user, d),
            "x_carriers": Decision.Carrier.choices,
            "x_staff": _owner_choices(topic),
        })
    result = result_of(topic)
    ctx.update({
        "x_result": result_out(result, "/deliberation/execution/photos/{pk}/"),
        "x_may_publish": manage and services.phase_open(topic, "published") and (d is None or d.done_at is not None),
        "x_ratings": rating_summary(topic) if result else None,
        "x_rating_rows": list(TopicRating.objects.filter(topic_id=topic.pk).select_related("user")[:100]) if result else [],
        "x_scores": Score.choices, "x_max_photos": MAX_PHOTOS,
    })
    return ctx


def _owner_choices(topic):
    """Staff who may carry it out: the active staff whose scope covers the topic's community."""
    from gridgov.accounts.models import GridAssignment

    users = {}
    for ga in GridAssignment.objects.in_force().filter(user__is_active=True).select_related("user", "node"):
        if topic.node.path.startswith(ga.node.path) or ga.node.path.startswith(topic.community.path):
            users.setdefault(ga.user.pk, ga.user)
    return sorted(users.values(), key=lambda u: u.pk)[:100]


def m_context(user, topic) -> dict:
    """What the phone topic page (/m/deliberation/topics/<id>/) shows of this slice: the context
    of templates/deliberation/_m_topic_execution.html: the decision, its owner (public: the person
    responsible), deadline and progress; the result with photos; the rating form or my rating."""
    from gridgov.cases.models import Score

    d = Decision.objects.filter(topic_id=topic.pk).select_related("owner", "case", "project", "activity").first()
    ctx = {"x_decision": d}
    if d is not None:
        sync(d)
        ctx["x_status"] = status(d)
        ctx["x_may_done"] = may_report_done(user, d)
        ctx["x_is_owner"] = is_owner(user, d)
    result = result_of(topic)
    ctx.update({
        "x_result": result_out(result),
        "x_my_rating": my_rating(user, topic),
        "x_may_rate": may_rate(user, topic) and my_rating(user, topic) is None,
        "x_ratings": rating_summary(topic) if result else None,
        "x_scores": Score.choices,
    })
    return ctx
