"""Duties: a person serving a grid node (grid leader, grid worker, party liaison, steward, ...)
from a first day (`since`) to a last day (`until`, open while empty).

* `assign_duty` and `end_duty` are the only state changes, each in one transaction with one
  history row (core.history, kind "duties"). Ending never deletes: the row stays, so
* `served(node, day, duty)` — "who served grid X on date D" — has one answer, read by the API,
  the pages, and the assessment and monthly reports.
* Every reader of the people in charge asks `GridAssignment.objects.in_force(day)`; scope
  (accounts.scope) counts only the duties in force today.

Ending a person's last duty covering a grid hands their open cases there on. Cases live a layer
above (cases), so accounts does not know them: `end_duty` sends `duty_ended` inside its
transaction, and cases (cases.apps) hands the cases over to the successor or the grid's leader,
each with a line in the case's history, in that same transaction. Who may: the policy table's
"duties" rows (create: assign; update: end), checked on the node's path."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from gridgov.core.errors import CodedError
from gridgov.core import history

from . import policy
from .models import STAFF_ROLES, Duty, GridAssignment, User
from .scope import forget_scope

#: sent inside end_duty's transaction, after the duty is ended. Arguments: duty (the ended
#: GridAssignment), actor, successor (a User or None), released_paths (the grid paths, within the
#: duty's node, where the person no longer serves: their open cases there must be handed on),
#: keep_paths (the paths the person still serves within it). Receivers return the number of
#: cases they handed over.
duty_ended = Signal()

#: the history fields of a duty
FIELDS = ("user", "node", "duty", "since", "until", "end_note")


class DutyError(CodedError, ValueError):
    """An assignment or an end refused for what it says (not for who asks): the API answers 400
    / 409 with the Chinese message (`source_message`), the pages show it in the reader's language
    (`str`). The template is marked for translation and formatted with `params` afterwards."""


@dataclass
class Ended:
    duty: GridAssignment
    successor_duty: GridAssignment | None
    handed_over: int


def _snapshot(a: GridAssignment) -> dict:
    out = history.snapshot(a, FIELDS)
    out["user"] = a.user.username
    out["node"] = a.node.code
    return out


def may_manage(user, node) -> bool:
    """Assign or end duties on `node` (the policy table's duties × create / update)."""
    return policy.allows(user, "duties", "create", node.path) and policy.allows(user, "duties", "update", node.path)


def _require(user, action, node):
    if not policy.allows(user, "duties", action, node.path):
        raise PermissionDenied(_("无权管理该网格的职务"))


def _check_person(user, successor=False):
    if user is None or not user.is_active or user.role not in STAFF_ROLES:
        raise DutyError(_("接任人须为在用的工作人员账号") if successor else _("人员须为在用的工作人员账号"), code="bad_user")


def _day(value, default=None) -> date:
    if value is None or value == "":
        return default
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise DutyError(_("日期格式应为 YYYY-MM-DD"), code="bad_date") from None


@transaction.atomic
def assign_duty(actor, user: User, node, duty: str, since=None, note: str = "") -> GridAssignment:
    """Give `user` the duty `duty` on grid `node` from `since` (default today). One open duty
    per person, grid and kind: a second is refused."""
    _require(actor, "create", node)
    _check_person(user)
    if duty not in Duty.values:
        raise DutyError(_("未知的职务：%(duty)s"), code="bad_duty", duty=duty)
    since = _day(since, timezone.localdate())
    a = _create(actor, user, node, duty, since, note)
    return a


def _create(actor, user, node, duty, since, note):
    if GridAssignment.objects.filter(user=user, node=node, duty=duty, until__isnull=True).exists():
        raise DutyError(_("%(user)s 已在 %(node)s 担任%(duty)s"), code="duplicate",
                        user=user.display_name or user.username, node=node.name, duty=Duty(duty).label)
    try:
        with transaction.atomic():
            a = GridAssignment.objects.create(user=user, node=node, duty=duty, since=since)
    except IntegrityError:  # a concurrent assignment of the same duty won
        raise DutyError(_("该职务已存在"), code="duplicate") from None
    history.record(actor, "duties", a, "create", {k: [None, v] for k, v in _snapshot(a).items()},
                   grid_path=node.path, note=note)
    forget_scope(user)
    return a


def kept_paths(duty: GridAssignment, day: date) -> list[str]:
    """The grid paths within `duty`'s node that its person still serves on `day` through their
    other duties in force (those on the node itself or an ancestor cover all of it)."""
    node_path = duty.node.path
    out = []
    others = GridAssignment.objects.in_force(day).filter(user_id=duty.user_id).exclude(pk=duty.pk).select_related("node")
    for other in others:
        p = other.node.path
        if node_path.startswith(p):
            return [node_path]
        if p.startswith(node_path):
            out.append(p)
    return out


@transaction.atomic
def end_duty(actor, duty: GridAssignment, until=None, successor: User | None = None, note: str = "") -> Ended:
    """End `duty` with `until` as its last day (default today; never after today, never before
    it started). The row stays. A successor takes the same duty from the next day. Where the
    person no longer serves (no other duty in force covering it), their open cases are handed
    to the successor, else the grid's leader in force (cases.services.hand_over, through
    `duty_ended`), in this transaction."""
    node = duty.node
    _require(actor, "update", node)
    today = timezone.localdate()
    until = _day(until, today)
    if until > today:
        raise DutyError(_("结束日期不能晚于今天"), code="bad_date")
    if duty.since and until < duty.since:
        raise DutyError(_("结束日期不能早于开始日期 %(since)s"), code="bad_date", since=duty.since.isoformat())
    if successor is not None:
        _check_person(successor, successor=True)
        if successor.pk == duty.user_id:
            raise DutyError(_("接任人不能是本人"), code="bad_user")
    # one person's duties end one at a time: two of their duties in a grid ending together must
    # not each count on the other still being in force (and hand nothing over)
    list(GridAssignment.objects.select_for_update().filter(user_id=duty.user_id).values_list("pk", flat=True))
    before = _snapshot(duty)
    ended = GridAssignment.objects.filter(pk=duty.pk, until__isnull=True).update(
        until=until, ended_by=actor if getattr(actor, "pk", None) else None, end_note=(note or "")[:200])
    if ended != 1:
        raise DutyError(_("该职务已结束"), code="ended")
    duty.refresh_from_db()
    history.record(actor, "duties", duty, "end", history.diff(before, _snapshot(duty)), grid_path=node.path, note=note)
    successor_duty = None
    if successor is not None:
        open_one = GridAssignment.objects.filter(user=successor, node=node, duty=duty.duty, until__isnull=True).first()
        with translation.override(None):  # a stored note: Chinese
            why = str(_("接任 %(name)s")) % {"name": duty.user.display_name or duty.user.username}
        successor_duty = open_one or _create(actor, successor, node, duty.duty, until + timedelta(days=1), why)
    keep = kept_paths(duty, today)
    handed = 0
    if keep != [node.path]:
        for _receiver, n in duty_ended.send(sender=GridAssignment, duty=duty, actor=actor, successor=successor,
                                            released_paths=[node.path], keep_paths=keep):
            handed += n or 0
    forget_scope(duty.user)
    return Ended(duty=duty, successor_duty=successor_duty, handed_over=handed)


def served(node, day=None, duty: str | None = None):
    """Who served grid `node` on `day` (default today): its duties in force that day (optionally
    of one kind), with their people, by duty and first day."""
    qs = GridAssignment.objects.in_force(day).filter(node=node)
    if duty:
        qs = qs.filter(duty=duty)
    return qs.select_related("user", "node").order_by("duty", "since", "id")


def history_of(node):
    """Every duty ever held on `node` (ended ones too), newest first."""
    return (GridAssignment.objects.filter(node=node).select_related("user", "ended_by")
            .order_by("-since", "-id"))
