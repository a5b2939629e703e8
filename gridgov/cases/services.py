"""Every change of a case, one function each, one transaction each.

The workflow is the table `TRANSITIONS` (action → allowed source states → target state). Each
transition function checks who may act, then moves the state with a compare-and-set
(`UPDATE … WHERE id = … AND state = <the state it read>`; no row → `Conflict`), appends one
`CaseEvent`, starts or stops the case's clocks and writes notifications to the outbox, all in
the same transaction. Acts that leave the state as it is (rate without reopening, join,
summon, report back, warn, breach on a summons) append an event whose from = to.

Clocks (see docs/cases.md): each item sets each of its accept, arrive and resolve limits, or none
(a consultation has no on-site clock), in wall-clock minutes (a promise of "accepted within a
minute" holds at night too), working hours or working days (on `workcal.WorkCalendar`); summons
report-back runs in working hours. A clock copies its limit when it starts. Every assignment to a handler (dispatch, escalation, reopening,
re-routing) gives that handler fresh accept, arrive and resolve clocks. `sweep(now)` warns at
`CASES_WARN_RATIO` of a limit and, on a breach, keeps a `Breach`; a breach of a clock in
`CASES_ESCALATING_CLOCKS` (default arrive, resolve) also escalates the case to the next step of
its path, the others are reported (so a grid leader late to accept by a minute is on the late
list, and nobody on site after 15 minutes sends the case to the community secretary). Each
clock is claimed with a compare-and-set, so concurrent or repeated sweeps act once."""

import hashlib
import logging
import math
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.geo import levels as gl
from gridgov.core.errors import CodedError
from gridgov.accounts import policy
from gridgov.accounts.departments import NoSuchDepartment, require_active
from gridgov.accounts.models import Department, Duty, GridAssignment, User
from gridgov.core import audit, crypto
from gridgov.core.freetext import mask_personal, original, protect
from gridgov.core.i18n import source_text
from gridgov.geo.models import GridNode
from gridgov.geo.spatial import haversine_m
from gridgov.registry.property import compound_at, compounds_of_department

from . import conf, moderation, notify, routing
from gridgov.geo.coords import to_wgs84
from gridgov.geo.locator import get_locator
from .models import (
    FULL,
    OPEN_STATES,
    RATABLE_STATES,
    Breach,
    Case,
    CaseEvent,
    CaseFollower,
    CasePhoto,
    Channel,
    Clock,
    ClockKind,
    ClockState,
    Correction,
    HandlerLevel,
    Item,
    Rating,
    Score,
    State,
    Summons,
    Urgency,
)
from .photos import PhotoError, clean_image, read_photos, sniff_image  # noqa: F401 (clean_image, sniff_image: public here too)
from .recognize import jaccard, recognize_item
from .workcal import WorkCalendar

log = logging.getLogger(__name__)

S = State
TRANSITIONS: dict[str, tuple[frozenset, str]] = {
    "dispatch": (frozenset({S.SUBMITTED, S.RETURNED}), S.DISPATCHED),
    "reroute": (frozenset({S.SUBMITTED, S.DISPATCHED, S.RETURNED, S.ESCALATED, S.REOPENED, S.ACCEPTED}), S.DISPATCHED),
    "accept": (frozenset({S.DISPATCHED, S.ESCALATED, S.REOPENED}), S.ACCEPTED),
    "grab": (frozenset({S.DISPATCHED}), S.ACCEPTED),
    "arrive": (frozenset({S.ACCEPTED}), S.ON_SITE),
    "resolve": (frozenset({S.ACCEPTED, S.ON_SITE}), S.RESOLVED),
    "verify": (frozenset({S.RESOLVED}), S.VERIFIED),
    "rework": (frozenset({S.RESOLVED}), S.ACCEPTED),
    "close": (frozenset({S.VERIFIED}), S.CLOSED),
    "return": (frozenset({S.DISPATCHED, S.ESCALATED, S.REOPENED, S.ACCEPTED}), S.RETURNED),
    "escalate": (frozenset({S.DISPATCHED, S.ESCALATED, S.REOPENED, S.ACCEPTED, S.ON_SITE, S.VERIFIED, S.CLOSED}), S.ESCALATED),
    "reopen": (frozenset({S.VERIFIED, S.CLOSED}), S.REOPENED),
    "merge": (frozenset(OPEN_STATES), S.MERGED),
    "reject": (frozenset({S.SUBMITTED, S.RETURNED, S.DISPATCHED}), S.REJECTED),
}

SYSTEM = "系统"


class CaseError(CodedError):
    """Base of the errors the case services raise (core.errors.CodedError: a code, a message
    translated when shown, `source_message()` in Chinese)."""


class InvalidInput(CaseError, ValueError):
    code = "invalid"


class Conflict(CaseError):
    """The case is not in a state that allows this, or it changed meanwhile."""

    code = "conflict"


class NoHandler(InvalidInput):
    """Nobody to hand the case to (no path configured; the top of the ladder reached)."""

    code = "no_handler"


class NotAllowed(CaseError, PermissionDenied):
    code = "not_allowed"


# --- helpers ----------------------------------------------------------------------------------


def _actor_name(user) -> str:
    return (getattr(user, "display_name", "") or getattr(user, "username", "")) if user else SYSTEM


def _event(case, action, actor, from_state, to_state, note="", data=None, at=None) -> CaseEvent:
    """Append one history line. The note (typed by staff, a follower or a rater) is stored
    masked (core.freetext), the text as typed encrypted beside it."""
    note = (note or "").strip()
    limit = conf.get_int("CASES_MAX_TEXT")
    if len(note) > limit:
        raise InvalidInput(f"note: 最多 {limit} 字，收到 {len(note)} 字")
    note, note_enc = protect(note)
    return CaseEvent.objects.create(
        case=case, at=at or timezone.now(), actor=actor if getattr(actor, "pk", None) else None,
        actor_name=_actor_name(actor), action=action, from_state=from_state, to_state=to_state,
        note=note, note_enc=note_enc, data=data or {},
    )


def _move(case: Case, action: str, actor, note="", data=None, now=None, extra_filter=None, **fields) -> CaseEvent:
    """Compare-and-set the state along TRANSITIONS[action] and record the event."""
    sources, target = TRANSITIONS[action]
    if case.state not in sources:
        raise Conflict(_("事件 %(number)s 当前为“%(state)s”，不能办理此操作"), code="bad_state",
                       number=case.number or case.pk, state=_state_label(case.state))
    now = now or timezone.now()
    updated = Case.objects.filter(pk=case.pk, state=case.state, **(extra_filter or {})).update(
        state=target, updated_at=now, **fields
    )
    if updated != 1:
        current = Case.objects.filter(pk=case.pk).values_list("state", flat=True).first()
        if current == case.state:
            raise Conflict(_("事件 %(number)s 已被他人接走"), code="taken", number=case.number or case.pk)
        raise Conflict(_("事件 %(number)s 已有变化：原为“%(was)s”，现为“%(now)s”"), code="changed",
                       number=case.number or case.pk, was=_state_label(case.state), now=_state_label(current))
    before = case.state
    for k, v in fields.items():
        setattr(case, k, v)
    case.state, case.updated_at = target, now
    return _event(case, action, actor, before, target, note, data, at=now)


def _state_label(state):
    return State(state).label if state in State.values else state


def department_of(user) -> str:
    """The department `user` is a member of (policy.RELATIONS["department"] and "property"), or ""."""
    if policy.holds(user, "department") or policy.holds(user, "property"):
        return user.department or ""
    return ""


def department_members(department: str):
    """The active people with a department role (section staff, a property company's) in
    `department`: who is told of a case, a summons or a late clock addressed to it."""
    roles = policy.RELATIONS["department"] | policy.RELATIONS["property"]
    return User.objects.filter(role__in=roles, department=department, is_active=True)


def _in_company_compounds(user, case) -> bool:
    """Property staff act only on cases lying in their company's compounds (RELATIONS["property"])."""
    if not policy.holds(user, "property"):
        return True
    return bool(case.compound_id) and compounds_of_department(user.department).filter(pk=case.compound_id).exists()


def _acts_for_department(user, department: str, case) -> bool:
    """Whether `user` acts as a member of `department` on `case`."""
    return bool(department) and department_of(user) == department and _in_company_compounds(user, case)


# Every permission below is the policy table's (accounts.policy: cases × update / handle / verify /
# moderate on the case's grid path) plus the relations the table module documents (the handler
# named on the case, the member of its department).


def may_manage(user, case) -> bool:
    """Dispatch, re-route, merge, reject, close, escalate, summon: cases × update."""
    return policy.allows(user, "cases", "update", case.grid_path or "")


def may_handle(user, case) -> bool:
    """Accept, arrive, resolve, return: the handler, a member of their department, or whom the
    table lets handle cases of the grid (cases × handle)."""
    if not (user and user.is_authenticated):
        return False
    if case.handler_user_id == user.pk:
        return True
    if _acts_for_department(user, case.handler_department, case):
        return True
    return policy.allows(user, "cases", "handle", case.grid_path or "")


def may_verify(user, case) -> bool:
    """Verify (or send back for rework): cases × verify on the case's grid, never the person who
    resolved the case."""
    return bool(policy.allows(user, "cases", "verify", case.grid_path or "") and case.resolved_by_id != user.pk)


def may_moderate(user, case=None) -> bool:
    """Release or reject a held report (cases × moderate on its grid); without a case, whether
    the user moderates anywhere (the list of held reports)."""
    return policy.allows(user, "cases", "moderate", None if case is None else case.grid_path or "")


def may_report_back(user, summons) -> bool:
    """Report back on a summons (报到): a member of the summoned department, or staff who manage
    the case (reporting for the department)."""
    return bool(user and user.is_authenticated and (
        _acts_for_department(user, summons.department, summons.case) or may_manage(user, summons.case)))


#: the permission each action asks (state aside): the services check it, the pages ask
#: `may_act` before they show a button
_ACT_PERMISSION = {
    "accept": may_handle, "arrive": may_handle, "resolve": may_handle, "return": may_handle,
    "verify": may_verify, "rework": may_verify,
    "dispatch": may_manage, "reroute": may_manage, "merge": may_manage, "reject": may_manage,
    "close": may_manage, "escalate": may_manage,
}


def may_act(user, case, action: str) -> bool:
    """Whether `user` may take `action` on `case` now: the case's state allows it
    (`TRANSITIONS`) and the user holds the permission the service checks. The workbench, the
    case page and the phone pages show a button only when this says yes."""
    if action not in _ACT_PERMISSION or case.state not in TRANSITIONS[action][0]:
        return False
    return _ACT_PERMISSION[action](user, case)


def may_be_handler(user, case) -> bool:
    """Whether `user` may be named the handler of `case` (re-routing by hand): an active member
    of a department (section staff: the case then waits in that department's queue), or a user
    whom the access table lets work on cases of the case's place (cases × read, in their scope).
    Residents and volunteers never: the table gives them no territory."""
    if not (user and user.is_active):
        return False
    if policy.holds(user, "property"):  # a property company's staff: only in its compounds
        return bool(user.department) and _in_company_compounds(user, case)
    if policy.holds(user, "department"):
        return bool(user.department)
    return policy.allows(user, "cases", "read", case.grid_path or "")


def no_such_handler(name) -> InvalidInput:
    """The one answer for a handler that does not exist and one who may not handle the case
    (re-routing must not tell which user names exist)."""
    return InvalidInput(_("没有可办理此处事件的工作人员“%(name)s”"), code="no_such_handler", name=name)


def _require(ok: bool, what, code: str = "not_allowed"):
    if not ok:
        raise NotAllowed(what, code=code)


def followers(case) -> list:
    return list(User.objects.filter(followed_cases__case=case, is_active=True))


def _tell_followers(case, kind, title, body="", at=None):
    for u in followers(case):
        notify.queue(u, kind, title, body, case=case, at=at)


def _tell(user, kind, title, body="", case=None, at=None):
    if user is not None:
        notify.queue(user, kind, title, body, case=case, at=at)


def _community_people(case) -> list:
    """Secretary and staff of the case's community, else the duty leaders of the top of its
    grid path (`routing.duty_leaders`)."""
    if case.grid_id:
        codes = [c for c in case.grid_path.strip("/").split("/") if c]
        nodes = GridNode.objects.filter(code__in=codes, level=gl.community_level())
        ids = GridAssignment.objects.in_force().filter(node__in=nodes, duty__in=[Duty.SECRETARY, Duty.STAFF]).values("user")
        people = list(User.objects.filter(pk__in=ids, is_active=True))
        if people:
            return people
    return _duty_leaders(case)


def _duty_leaders(case) -> list:
    return routing.duty_leaders(case.grid if case.grid_id else None)


# --- photos -----------------------------------------------------------------------------------

def _read_photos(photos) -> list[tuple[bytes, str]]:
    """The photos checked together and each by content, re-encoded without metadata
    (`photos.read_photos`: count, total bytes and total pixels before decoding, then clean_image)."""
    try:
        return read_photos(photos)
    except PhotoError as exc:
        raise InvalidInput(str(exc)) from None


def _store_photos(case, photos, stage, saved: list):
    for data, ctype in photos:
        photo = CasePhoto(case=case, content_type=ctype, size=len(data), sha256=hashlib.sha256(data).hexdigest(), stage=stage)
        photo.file.save("photo", ContentFile(data), save=False)
        saved.append(photo.file.name)
        photo.save()


def _delete_files(names):
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            pass


# --- clocks -----------------------------------------------------------------------------------


#: Clock.basis of each unit of an item's limit
BASIS = {"minutes": "wall", "working_hours": "working", "working_days": "workdays"}


def _start_clock(case, kind, now, *, cal=None, summons=None, hours=None) -> Clock | None:
    """Start the clock `kind` with the limit the item has now (copied into the clock: a later
    edit of the item never moves it). None when the item has no such clock (Item.limit)."""
    ratio = conf.get_float("CASES_WARN_RATIO")
    if kind == ClockKind.SUMMON:
        amount, unit = float(hours if hours is not None else conf.get_float("CASES_SUMMON_REPORT_HOURS")), "working_hours"
    else:
        # the limits as they are now in the table (not a cached copy of the item: an edit
        # applies to the next clock at once)
        item = Item.objects.filter(pk=case.item_id).first() if case.item_id else None
        lim = item.limit(kind) if item else None
        if lim is None:
            return None
        amount, unit = lim
    if unit == "minutes":  # the wall clock, day and night
        warn_at, due_at = now + timedelta(minutes=amount * ratio), now + timedelta(minutes=amount)
    else:
        cal = cal or WorkCalendar()
        warn_at, due_at = cal.add(now, amount * ratio, unit), cal.add(now, amount, unit)
    return Clock.objects.create(
        case=case, kind=kind, summons=summons, handler_level=case.handler_level if not summons else HandlerLevel.SECTION,
        handler_user=case.handler_user if not summons else None,
        department=summons.department if summons else case.handler_department,
        basis=BASIS[unit], limit=amount, started_at=now, warn_at=warn_at, due_at=due_at,
    )


def _stop_clocks(case, kinds, now):
    Clock.objects.filter(case=case, kind__in=list(kinds), state__in=[ClockState.RUNNING, ClockState.WARNED]).update(
        state=ClockState.STOPPED, stopped_at=now
    )


CASE_CLOCKS = (ClockKind.ACCEPT, ClockKind.ARRIVE, ClockKind.RESOLVE)


def _restart_for_handler(case, now):
    """A new handler: fresh accept, arrive (counted from the assignment) and resolve clocks."""
    _stop_clocks(case, CASE_CLOCKS, now)
    for kind in CASE_CLOCKS:
        _start_clock(case, kind, now)


# --- routing ----------------------------------------------------------------------------------


def _user_ref(u):
    return {"id": u.pk, "username": u.username, "name": str(u)} if u else None


#: why a case cannot be handed on (stored in Chinese in history notes: `source_text`)
TOP_REACHED = _("事件 %(number)s 已到最高一级（值班领导），无法再升级")
NOBODY = _("事件 %(number)s 无人可派：路径上各级、所在社区和值班领导均无人")


def _plan(case, step_from: int, now, path=None, rule=None, escalating=False) -> tuple[dict, dict]:
    """The fields of an assignment at `step_from` of the case's path (or a new path). When no
    level of the rest of the path is filled, the path ends at someone all the same
    (`routing.fallback_handler`: the community, then the duty leader of the top), marked as
    a step past the path's last; `escalating` (from the current handler) only moves up."""
    if case.item_id is None:
        raise InvalidInput(_("事件 %(number)s 尚未确定事项，请先选择事项再派单"), code="no_item", number=case.number)
    if path is None:
        rule = routing.choose_rule(case.item, case.urgency, case.grid.level if case.grid_id else None, now)
        path = rule.path if rule else routing.default_path()
        if path is None:
            raise NoHandler(_("未配置派单路径（请运行 gridgov seed-taxonomy）"), code="no_path")
    step, h, informed = routing.handler_for_step(path, step_from, case.grid, case.item, compound=case.compound)
    fallback = step < 0
    if fallback:
        skipped = h["skipped"]
        h = routing.fallback_handler(case.grid, above=case.handler_level if escalating else "",
                                     exclude=case.handler_user if escalating else None)
        if h is None and escalating:
            raise NoHandler(TOP_REACHED, code="top", number=case.number)
        if h is None:
            raise NoHandler(NOBODY, code="nobody", number=case.number)
        step, h["skipped"], informed = len(path.steps), skipped, []
    decision = {
        "at": now.isoformat(),
        "path": {"code": path.code, "name": path.name, "step": step + 1, "of": len(path.steps), "fallback": fallback},
        "handler": {"level": h["level"], "user": _user_ref(h["user"]), "department": h["department"], "via": h["via"]},
        "skipped": h["skipped"],
        "informed": [{"level": i["level"], "user": _user_ref(i["user"]), "via": i["via"]} for i in informed],
    }
    if rule is not None:
        decision["rule"] = {"id": rule.pk, "text": str(rule), "note": rule.note, "specificity": list(routing.specificity(rule)[:4])}
    reason = dict(case.routing_reason or {})
    reason.setdefault("decisions", []).append(decision)
    reason["current"] = decision
    fields = dict(
        path=path, path_step=step, handler_level=h["level"], handler_user=h["user"], handler_department=h["department"],
        routing_reason=reason,
        grabbable=bool(case.item.volunteer_grabbable and step == 0),
        grabbed_by=None,
    )
    return fields, {"informed": [i["user"] for i in informed if i["user"]], "decision": decision}


def _after_assignment(case, extra, now, title):
    _restart_for_handler(case, now)
    _tell(case.handler_user, "assigned", f"新事件待受理：{case.item.name}", f"{case.number} {case.text[:60]}", case, at=now)
    if not case.handler_user and case.handler_department:
        for u in department_members(case.handler_department):
            _tell(u, "assigned", f"新事件待受理：{case.item.name}", case.number, case, at=now)
    for u in extra["informed"]:
        _tell(u, "informed", f"知悉：{case.item.name}", case.number, case, at=now)
    _tell_followers(case, "progress", title, case.number, at=now)


# --- intake -----------------------------------------------------------------------------------


def submit_case(
    *, reporter, channel: str, text: str, lon=None, lat=None, crs: str = "wgs84", address: str = "",
    item=None, urgency: str | None = None, photos=(), idempotency_key=None, entered_by=None, grid=None,
    request_extra: dict | None = None, now=None, defer: bool = False,
) -> tuple[Case, bool]:
    """File a report; returns (case, created). Durable before returning (one transaction).

    `defer` (the doors pass settings.INTAKE_DEFERRED): the case is stored with its history row,
    marked `intake_pending`, and acknowledged; its compound, the reporter as follower and their
    receipt, routing, time limits (from its filing time) and the handler's notice follow in the
    worker within a second or two (`finish_intake`; the SLA sweep finishes any run that was lost).

    A retried submission with the same `idempotency_key` returns the first case (created
    False), also when two arrive at once (unique key; the loser reads the winner's row). The
    grid comes from the location; the item from the reporter or, when confident enough, from
    `recognize_item`; a case with both is dispatched at once, otherwise it waits for a person.
    `grid` (a GridNode) places a report that has no location but was placed by the caller (a
    hotline ticket matched to a standard address); a location, when given, wins.

    Limits, the same for every door (native API, phone page, Open311, hotline): the text at most
    CASES_MAX_TEXT characters, the address at most MAX_ADDRESS. A located report outside every
    grid is refused (nobody could handle it), except a hotline ticket: the city assigned it to
    the street, so it is kept and waits for staff, like a report without a location (the
    street's leaders are told; `_note_waiting`). The same idempotency key with a different
    report (text, place, item, urgency, `request_extra`) is a Conflict. Text and address are
    stored masked (core.freetext), the originals encrypted (`text_enc`, `address_enc`). `now`
    (default the clock) is when it was filed: its timestamps, routing and time limits."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput("text: describe the problem")
    limit = conf.get_int("CASES_MAX_TEXT")
    if len(text) > limit:
        raise InvalidInput(f"text: 事件描述最多 {limit} 字，收到 {len(text)} 字")
    address = (address or "").strip()
    if len(address) > MAX_ADDRESS:
        raise InvalidInput(f"address: 地址最多 {MAX_ADDRESS} 字，收到 {len(address)} 字")
    if channel not in Channel.values:
        raise InvalidInput(f"channel: {channel!r}; use one of {', '.join(Channel.values)}")
    if urgency and urgency not in Urgency.values:
        raise InvalidInput(f"urgency: {urgency!r}; use one of {', '.join(Urgency.values)}")
    wgs = None
    if lon is not None and lat is not None:
        try:
            wgs = to_wgs84(float(lon), float(lat), crs or "wgs84")
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidInput(f"location: {exc}") from exc
        if not (-180 <= wgs[0] <= 180 and -90 <= wgs[1] <= 90):
            raise InvalidInput(f"location: {lon},{lat} is not a longitude,latitude")
    elif lon is not None or lat is not None:
        raise InvalidInput("location: give both lon and lat")
    key = None
    # a hotline ticket's key is its ticket id: a re-run opens nothing twice, whatever the text
    digest = "" if channel == Channel.HOTLINE else _intake_digest(channel, text, wgs, address, item, urgency, grid, request_extra)
    if idempotency_key:
        try:
            key = uuid.UUID(str(idempotency_key))
        except ValueError as exc:
            raise InvalidInput(f"idempotency key: {idempotency_key!r} is not a UUID") from exc
        existing = _existing(key, reporter, digest)
        if existing:
            return existing, False
    if isinstance(item, str):
        from .recognize import active_item

        found = active_item(item)
        if found is None:
            raise InvalidInput(f"item: no active item with code {item!r}")
        item = found

    given_grid = grid
    refs = get_locator().locate(*wgs) if wgs else []
    if defer and refs:  # the locator's own row has all the new case and its answer read (code, name, path)
        r = refs[-1]
        grid = GridNode(id=r.id, code=r.code, name=r.name, level=r.level, path=r.path)
    else:
        grid = GridNode.objects.filter(pk=refs[-1].id).first() if refs else None
    if wgs and grid is None and channel != Channel.HOTLINE:
        raise InvalidInput(f"location: 位置不在本街道的网格内（{wgs[0]:.6f},{wgs[1]:.6f}），请重新选点")
    images = _read_photos(photos)
    held_words = moderation.find_words(text, address)
    place_grid = grid if grid is not None else (given_grid if not wgs else None)
    compound = None if defer else compound_at(lon=wgs[0] if wgs else None, lat=wgs[1] if wgs else None, address=address,
                                              grid=place_grid)
    text, text_enc = protect(text)
    address, address_enc = protect(address)
    method = "locator" if wgs else "none"
    if grid is None and not wgs and given_grid is not None:
        grid, method = given_grid, "given"
        refs = [{"code": n.code, "name": n.name, "level": n.level} for n in [*grid.ancestors(), grid]]
    grid_reason = {
        "method": method,
        "point_wgs84": list(wgs) if wgs else None,
        "crs_in": crs if wgs else "",
        "nodes": [r if isinstance(r, dict) else {"code": r.code, "name": r.name, "level": r.level} for r in refs],
    }
    item, source, confidence, item_reason = intake_item(text, item)

    saved: list[str] = []
    try:
        # a savepoint (two round trips inside a caller's transaction) only where a unique key can
        # collide: the idempotency key, whose loser reads the winner's row below
        with transaction.atomic(savepoint=key is not None):
            case = _create(
                key, reporter, entered_by, channel, text, item, source, confidence, urgency, wgs, crs, address,
                grid, {"grid": grid_reason, "item": item_reason, "urgency": "reporter" if urgency else "item default"},
                images, saved, held_words,
                private={"text_enc": text_enc, "address_enc": address_enc, "intake_digest": digest, "compound": compound},
                now=now, defer=defer,
            )
    except IntegrityError:
        _delete_files(saved)
        if key is not None:
            existing = _existing(key, reporter, digest)
            if existing:
                return existing, False
        raise
    except Exception:
        _delete_files(saved)
        raise
    return case, True


def intake_item(text: str, item=None, recognize=None) -> tuple[Item | None, str, float, dict]:
    """The item a new report gets: (item or None, item_source, item_confidence, the "item" part
    of routing_reason). The reporter's item if given, else `recognize_item`'s guess when its
    confidence reaches CASES_RECOGNIZE_THRESHOLD, else none (the case waits for a person).
    `recognize` replaces `recognize_item` (the demo passes one recogniser for many texts)."""
    if item is not None:
        return item, "reporter", 1.0, {"code": item.code, "name": item.name, "source": "reporter", "confidence": 1.0}
    guess, confidence, alternatives = (recognize or recognize_item)(text)
    threshold = conf.get_float("CASES_RECOGNIZE_THRESHOLD")
    item = guess if guess is not None and confidence >= threshold else None
    reason = {
        "code": item.code if item else None, "source": "classifier", "confidence": confidence,
        "threshold": threshold, "alternatives": alternatives,
        **({"name": item.name} if item else {"note": "置信度不足，待人工分类"}),
    }
    return item, "classifier" if item else "", confidence, reason


#: the longest address a case keeps (the column's length), on every door
MAX_ADDRESS = Case._meta.get_field("address").max_length


def _intake_digest(channel, text, wgs, address, item, urgency, grid, extra) -> str:
    """A keyed hash (INDEX_KEY) of what a report said, to tell a retry (same body: the first
    case) from another report under the same idempotency key (Conflict). Photos are not part
    of it (the phone's outbox resends the same ones)."""
    from django.conf import settings

    body = {
        "channel": channel, "text": text, "address": address,
        "point": [round(wgs[0], 7), round(wgs[1], 7)] if wgs else None,
        "item": getattr(item, "code", item) or None, "urgency": urgency or None,
        "grid": getattr(grid, "pk", None), "extra": extra or {},
    }
    raw = json.dumps(body, ensure_ascii=False, sort_keys=True, default=str)
    return hmac.new(settings.INDEX_KEY.encode(), raw.encode(), hashlib.sha256).hexdigest()[:40]


def _existing(key, reporter, digest=""):
    case = Case.objects.filter(idempotency_key=key).first()
    if case and case.reporter_id != getattr(reporter, "pk", None):
        raise Conflict("idempotency key already used by another reporter")
    if case and digest and case.intake_digest and case.intake_digest != digest:
        raise Conflict(f"idempotency key already used for a different report (幂等键已用于另一份不同的上报：{case.number})")
    return case


def _create(key, reporter, entered_by, channel, text, item, source, confidence, urgency, wgs, crs, address, grid, reason, images, saved,
            held_words=(), private=None, now=None, defer=False):
    now = now or timezone.now()
    held_reason = ("敏感词：" + "、".join(held_words))[:200] if held_words else ""
    case = Case.objects.create(
        intake_pending=bool(defer),
        idempotency_key=key, channel=channel, reporter=reporter, entered_by=entered_by or reporter, text=text,
        item=item, item_source=source, item_confidence=confidence,
        urgency=urgency or (item.default_urgency if item else Urgency.NORMAL),
        lon=wgs[0] if wgs else None, lat=wgs[1] if wgs else None, crs_in=crs if wgs else "", address=address or "",
        grid=grid, grid_path=grid.path if grid else "", state=State.SUBMITTED, routing_reason=reason,
        created_at=now, updated_at=now, held=bool(held_words), held_reason=held_reason, **(private or {}),
    )
    case.number = f"{timezone.localtime(now):%Y%m%d}{case.pk:06d}"
    case.save(update_fields=["number"])
    _store_photos(case, images, "report", saved)
    _event(case, "submit", entered_by or reporter, "", State.SUBMITTED, data={"channel": channel}, at=now)
    if not defer:  # deferred: the worker adds them (finish_intake)
        _follow_and_receipt(case, reporter, now)
    if held_words:
        _event(case, "hold", None, State.SUBMITTED, State.SUBMITTED, "待审核", {"words": list(held_words)}, at=now)
        for u in _community_people(case):
            _tell(u, "moderation", "上报待审核", f"{case.number}：{held_reason}", case, at=now)
    elif not defer:
        _route_new(case, now)
    if defer:
        transaction.on_commit(_schedule_intake)
    return case


#: deferred intake: a process queues at most one finishing run per INTAKE_BATCH_SECONDS, to
#: start INTAKE_BATCH_SECONDS + INTAKE_MARGIN after it was queued; it finishes every report
#: stored before it starts, so every report committed before the next run is queued is in it
INTAKE_BATCH_SECONDS = 0.5
INTAKE_MARGIN = 0.2
_intake_lock = threading.Lock()
_intake_next = [0.0]


def _schedule_intake():
    """After a deferred report commits: see that a finishing run is queued to start after it."""
    t = time.monotonic()
    with _intake_lock:
        if t < _intake_next[0]:
            return  # the run queued less than INTAKE_BATCH_SECONDS ago starts after this commit
        _intake_next[0] = t + INTAKE_BATCH_SECONDS
    try:
        from .tasks import finish_intake_task

        finish_intake_task.schedule(delay=INTAKE_BATCH_SECONDS + INTAKE_MARGIN)
    except Exception:  # the queue being down must not fail a stored report: the sweep finishes it
        log.exception("could not queue the routing of deferred reports")
        with _intake_lock:
            _intake_next[0] = 0.0


def _follow_and_receipt(case, reporter, now):
    """The reporter follows the case and is told it was received."""
    if reporter is not None:
        CaseFollower.objects.create(case=case, user=reporter, source="reporter", at=now)
    _tell(reporter, "received", "已收到您的上报", case.number, case, at=now)


def finish_intake(case_id: int) -> bool:
    """Route a report stored with `defer` (its compound, the rule table, time limits from its
    filing time, the notices, the reporter's receipt), once: under a lock on the case, a second
    call (another run, the sweep) finds it done. Returns whether it did the work."""
    with transaction.atomic():
        case = Case.objects.select_for_update().filter(pk=case_id, intake_pending=True).first()
        if case is None:
            return False
        compound = compound_at(lon=case.lon, lat=case.lat, address=case.address, grid=case.grid)
        Case.objects.filter(pk=case.pk).update(intake_pending=False, compound=compound)
        case.intake_pending, case.compound = False, compound
        _follow_and_receipt(case, case.reporter, case.created_at)
        if not case.held and case.state == State.SUBMITTED:
            _route_new(case, case.created_at)
    return True


def finish_pending_intake(older_than_seconds: float = 30, now=None) -> int:
    """Finish the deferred reports stored at least `older_than_seconds` ago, oldest first, up to
    1,000: the worker's run (0 s) and the SLA sweep's catch-up (30 s: a run that was lost or a
    worker that was down). Returns how many it finished."""
    cutoff = (now or timezone.now()) - timedelta(seconds=older_than_seconds)
    ids = list(Case.objects.filter(intake_pending=True, created_at__lte=cutoff).order_by("created_at")
               .values_list("pk", flat=True)[:1000])
    return sum(finish_intake(pk) for pk in ids)


def _route_new(case, now):
    """Dispatch a new (or just released) case when its item and grid are known."""
    item, grid = case.item, case.grid
    if item is not None and grid is not None:
        try:
            with transaction.atomic():
                dispatch(case, None, note="自动派遣", now=now)
        except NoHandler as exc:
            case.refresh_from_db()
            _note_waiting(case, exc.source_message(), stuck=True, now=now)
    else:
        _note_waiting(case, "未识别事项，待人工分类" if item is None else "位置不在任何网格内，待人工派遣", now=now)


def _note_waiting(case, why, stuck=False, now=None):
    """The case waits for a person (`why`, stored Chinese); `stuck`: nobody at all could be
    found to hand it to, so the duty leaders are told too."""
    reason = dict(case.routing_reason or {})
    reason["waiting"] = why
    Case.objects.filter(pk=case.pk).update(routing_reason=reason)
    case.routing_reason = reason
    told = set()
    for u in _community_people(case) + (_duty_leaders(case) if stuck else []):
        if u.pk not in told:
            told.add(u.pk)
            _tell(u, "needs_person", "事件待分类派遣" if not stuck else "事件无人可派，请指定经办人", f"{case.number}：{why}", case, at=now)


# --- transitions ------------------------------------------------------------------------------


@transaction.atomic
def dispatch(case, actor, note="", now=None, item=None) -> Case:
    """submitted/returned → dispatched: route by the rule table and assign the first handler."""
    if actor is not None:
        _require(may_manage(actor, case), _("只有辖区内的网格长、社区和街道工作人员可以派单"))
    if case.held:
        raise Conflict(_("事件 %(number)s 待审核，请先审核放行"), code="held", number=case.number)
    now = now or timezone.now()
    if item is not None and item != case.item:
        _correct(case, actor, item=item, now=now)
    fields, extra = _plan(case, 0, now)
    _move(case, "dispatch", actor, note, {"decision": extra["decision"]}, now=now, **fields)
    _after_assignment(case, extra, now, "事件已派遣")
    return case


def _correct(case, actor, *, item=None, handler=None, now):
    """Record a staff correction (training signal) and apply the new item."""
    old_handler = str(case.handler_user or case.handler_department or "")
    Correction.objects.create(
        case=case, text=case.text, old_item=case.item, new_item=item or case.item,
        old_handler=old_handler, new_handler=str(handler or "") if handler else "",
        user=actor if getattr(actor, "pk", None) else None, at=now,
    )
    if item is not None:
        reason = dict(case.routing_reason or {})
        reason["item"] = {"code": item.code, "name": item.name, "source": "staff", "by": _actor_name(actor),
                          "was": case.item.code if case.item_id else None}
        urgency = case.urgency if reason.get("urgency") == "reporter" else item.default_urgency
        Case.objects.filter(pk=case.pk).update(item=item, item_source="staff", item_confidence=1.0, routing_reason=reason, urgency=urgency)
        case.item, case.item_source, case.item_confidence, case.routing_reason = item, "staff", 1.0, reason
        case.urgency = urgency


@transaction.atomic
def reroute(case, actor, *, item=None, handler_user=None, note="", now=None) -> Case:
    """A staff correction: a new item (re-routed by the rules from the first step) and/or a
    named handler, who must be `may_be_handler` for the case. Kept as a `Correction` row for
    recognition. `now` (default the clock): when, for its timestamps and fresh clocks."""
    _require(may_manage(actor, case), _("只有辖区内的网格长、社区和街道工作人员可以改派"))
    if item is None and handler_user is None:
        raise InvalidInput(_("改派：请指定新的事项或新的经办人"), code="reroute_empty")
    if handler_user is not None and not may_be_handler(handler_user, case):
        raise no_such_handler(handler_user.username)
    now = now or timezone.now()
    _correct(case, actor, item=item, handler=handler_user, now=now)
    if item is not None or case.path_id is None:
        fields, extra = _plan(case, 0, now)
    else:
        fields, extra = _plan(case, case.path_step, now, path=case.path)
    if handler_user is not None:
        fields.update(handler_user=handler_user, handler_department=department_of(handler_user))
        fields["routing_reason"]["current"]["handler"] = {"level": fields["handler_level"], "user": _user_ref(handler_user),
                                                          "department": fields["handler_department"], "via": f"人工指定（{_actor_name(actor)}）"}
    _move(case, "reroute", actor, note, {"decision": fields["routing_reason"]["current"]}, now=now, **fields)
    _after_assignment(case, extra, now, "事件已改派")
    return case


# --- hand-over when a duty ends -----------------------------------------------------------------


def hand_over_target(case, leaving=None) -> tuple[User | None, str, str]:
    """Who takes `case` when its handler leaves: the grid leader in force on its grid (or the
    nearest ancestor), else its community's secretary, else routing's fallback (the community,
    then the duty leader of the top) — never `leaving`. (user, handler level, why)."""
    grid = case.grid if case.grid_id else None
    for level in (HandlerLevel.GRID_LEADER, HandlerLevel.COMMUNITY_SECRETARY):
        h = routing.resolve_handler(level, grid, None, exclude=leaving)
        if h["user"] is not None:
            return h["user"], level, h["via"]
    h = routing.fallback_handler(grid, exclude=leaving)
    if h is None:
        return None, "", ""
    return h["user"], h["level"], h["via"]


@transaction.atomic
def hand_over(cases, to_user, actor, reason: str, leaving=None) -> int:
    """Give each of `cases` (open, handled by `leaving`, else by whoever handles it) a new handler:
    `to_user`, or when None each case's `hand_over_target`. The state and the running clocks stay
    (a new person does not restart the time limits); one "hand_over" line in each case's history,
    and the new handler is told. Returns the number handed over (a case that moved meanwhile is
    left as it is)."""
    now = timezone.now()
    n = 0
    for case in cases:
        if case.state not in OPEN_STATES:
            continue
        old = case.handler_user
        if to_user is not None:
            target, level, via = to_user, case.handler_level, source_text(_("接任人"))
        else:
            target, level, via = hand_over_target(case, leaving=leaving or old)
        if target is None or (old is not None and target.pk == old.pk):
            continue
        department = department_of(target)
        updated = Case.objects.filter(pk=case.pk, state=case.state, handler_user=old).update(
            handler_user=target, handler_level=level, handler_department=department, updated_at=now)
        if updated != 1:
            continue
        case.handler_user, case.handler_level, case.handler_department, case.updated_at = target, level, department, now
        _event(case, "hand_over", actor, case.state, case.state, reason,
               {"from": _user_ref(old), "to": _user_ref(target), "via": via}, at=now)
        _tell(target, "assigned", f"事件移交：{case.item.name if case.item_id else case.number}",
              f"{case.number} {case.text[:60]}", case)
        n += 1
    return n


def cases_left_behind(user, paths, keep_paths=()):
    """The open cases `user` handles whose grid lies under one of `paths` and under none of
    `keep_paths` (where they still serve)."""
    q = Q()
    for p in paths:
        q |= Q(grid_path__startswith=p)
    qs = Case.objects.filter(q, handler_user=user, state__in=OPEN_STATES)
    for p in keep_paths:
        qs = qs.exclude(grid_path__startswith=p)
    return qs.select_related("grid", "item", "handler_user").order_by("id")


def on_duty_ended(sender, duty, actor, successor, released_paths, keep_paths, **kwargs) -> int:
    """accounts.duties.duty_ended: the person's open cases where they no longer serve go to the
    successor, else to each case's grid leader in force (in end_duty's transaction)."""
    cases = list(cases_left_behind(duty.user, released_paths, keep_paths))
    if not cases:
        return 0
    reason = source_text(_("%(name)s 的%(duty)s职务于 %(until)s 结束，事件移交")) % {
        "name": duty.user.display_name or duty.user.username, "duty": source_text(duty.get_duty_display()),
        "until": duty.until.isoformat() if duty.until else ""}
    return hand_over(cases, successor, actor, reason, leaving=duty.user)


@transaction.atomic
def accept(case, actor, note="", *, now=None) -> Case:
    """dispatched → accepted by its handler; `now` (default the clock): when."""
    _require(may_handle(actor, case), _("只有本事件的经办人可以受理"))
    now = now or timezone.now()
    _move(case, "accept", actor, note, now=now, handler_user=case.handler_user or actor)
    _stop_clocks(case, [ClockKind.ACCEPT], now)
    _tell_followers(case, "progress", "事件已受理", case.number, at=now)
    return case


@transaction.atomic
def grab(case, actor) -> Case:
    """A volunteer takes a grabbable task; under contention exactly one wins (the others get
    Conflict)."""
    _require(policy.holds(actor, "grab"), _("只有志愿者和楼门长可以接志愿任务"))
    if not case.grabbable:
        raise Conflict(_("事件 %(number)s 不是志愿任务或已被接走"), code="not_grabbable", number=case.number)
    now = timezone.now()
    _move(
        case, "grab", actor, "志愿者接单", now=now, extra_filter={"grabbable": True, "grabbed_by__isnull": True},
        grabbed_by=actor, handler_user=actor, handler_level=HandlerLevel.VOLUNTEER, handler_department="",
    )
    _stop_clocks(case, [ClockKind.ACCEPT, ClockKind.ARRIVE], now)
    _start_clock(case, ClockKind.ARRIVE, now)  # the volunteer's own time to get there
    _tell_followers(case, "progress", "志愿者已接单", case.number)
    return case


@transaction.atomic
def arrive(case, actor, note="") -> Case:
    _require(may_handle(actor, case), _("只有本事件的经办人可以报告到场"))
    now = timezone.now()
    _move(case, "arrive", actor, note, now=now)
    _stop_clocks(case, [ClockKind.ARRIVE], now)
    _tell_followers(case, "progress", "处置人员已到场", case.number)
    return case


def resolve_needs_photo(case) -> bool:
    """Whether resolving `case` needs a photo of the result (CASES_RESOLVE_PHOTO): by default
    when it was handled on the spot (the handler reported arrival: the case is on site)."""
    rule = conf.get("CASES_RESOLVE_PHOTO")
    return rule == "always" or (rule == "on_site" and case.state == State.ON_SITE)


def check_resolution(case, note, photos) -> str:
    """The one rule of a resolution, for every door: a description of what was done (at least
    CASES_RESOLVE_NOTE_MIN characters) and, where `resolve_needs_photo`, at least one photo.
    Returns the note, trimmed."""
    note = (note or "").strip()
    least = conf.get_int("CASES_RESOLVE_NOTE_MIN")
    if len("".join(note.split())) < least:
        raise InvalidInput(_("请填写处置说明（至少 %(n)s 个字）：做了什么、结果如何"), code="resolution_note", n=least)
    if resolve_needs_photo(case) and not photos:
        raise InvalidInput(_("现场处置的事件办结时须上传处置后的照片"), code="resolution_photo")
    return note


@transaction.atomic
def resolve(case, actor, note="", photos=(), *, now=None) -> Case:
    """accepted/on site → resolved, with a description of what was done and, where required, a
    photo of the result (`check_resolution`); `now` (default the clock): when."""
    _require(may_handle(actor, case), _("只有本事件的经办人可以办结"))
    images = _read_photos(photos)
    if case.state in TRANSITIONS["resolve"][0]:  # (otherwise _move says why not)
        note = check_resolution(case, note, images)
    now = now or timezone.now()
    _move(case, "resolve", actor, note, now=now, resolved_by=actor, resolved_at=now)
    saved = []
    try:
        _store_photos(case, images, "resolve", saved)
    except Exception:
        _delete_files(saved)
        raise
    _stop_clocks(case, CASE_CLOCKS, now)
    for u in _community_people(case):
        if u.pk != actor.pk:
            _tell(u, "verify", "事件已处置，请核查", case.number, case, at=now)
    _tell_followers(case, "progress", "事件已处置，待核查", case.number, at=now)
    return case


@transaction.atomic
def verify(case, actor, passed: bool = True, note="", *, now=None) -> Case:
    """The community verifies the result; who verifies must not be who resolved. A failed
    verification sends the case back to its handler (rework) with a fresh resolve clock.
    `now` (default the clock): when."""
    if actor and case.resolved_by_id == actor.pk:
        raise NotAllowed(_("核查人不能是办结人"), code="self_verify")
    _require(may_verify(actor, case), _("只有辖区内的社区和街道工作人员可以核查"))
    now = now or timezone.now()
    if passed:
        _move(case, "verify", actor, note, now=now, verified_by=actor)
        _tell_followers(case, "rate", "事件已办结，请评价", case.number, at=now)
        from .signals import case_verified  # listeners (volunteers' points) run after the commit

        transaction.on_commit(lambda: case_verified.send(sender=Case, case=case), robust=True)
    else:
        _move(case, "rework", actor, note, now=now, resolved_by=None, resolved_at=None)
        _start_clock(case, ClockKind.RESOLVE, now)
        _tell(case.handler_user, "rework", "核查未通过，请重新处置", case.number, case, at=now)
    return case


@transaction.atomic
def close(case, actor, note="", *, now=None) -> Case:
    """verified (or rated) → closed; `now` (default the clock): when."""
    _require(may_manage(actor, case), _("只有辖区内的工作人员可以结案"))
    now = now or timezone.now()
    _move(case, "close", actor, note, now=now, closed_at=now)
    _stop_clocks(case, [ClockKind.SUMMON], now)
    _tell_followers(case, "progress", "事件已结案", case.number, at=now)
    return case


@transaction.atomic
def return_case(case, actor, note="") -> Case:
    """The handler sends the case back (not theirs, wrong place); a person re-dispatches it."""
    _require(may_handle(actor, case), _("只有本事件的经办人可以退回"))
    if not note:
        raise InvalidInput(_("请填写退回原因"), code="note_required")
    now = timezone.now()
    _move(case, "return", actor, note, now=now, handler_user=None, handler_level="", handler_department="", grabbable=False)
    _stop_clocks(case, CASE_CLOCKS, now)
    for u in _community_people(case):
        _tell(u, "returned", "事件被退回，请重新派遣", f"{case.number}：{note}", case)
    return case


@transaction.atomic
def reject(case, actor, note="") -> Case:
    _require(may_manage(actor, case), _("只有辖区内的工作人员可以不予受理"))
    if not note:
        raise InvalidInput(_("请填写不予受理的理由"), code="note_required")
    now = timezone.now()
    _move(case, "reject", actor, note, now=now, grabbable=False)
    _stop_clocks(case, [*CASE_CLOCKS, ClockKind.SUMMON], now)
    _tell_followers(case, "progress", "事件不予受理", note)
    return case


@transaction.atomic
def escalate(case, actor, note="") -> Case:
    """A person moves the case to the next step of its path (NoHandler at the end of it)."""
    _require(may_manage(actor, case), _("只有辖区内的工作人员可以升级事件"))
    return _escalate(case, actor, note)


def _escalate(case, actor, note="", now=None, data=None, **fields) -> Case:
    """Escalation without a permission check: by a person (above), a breach (the sweep, actor
    None) or a second 'unsatisfied' (the reporter). Runs inside the caller's transaction."""
    if case.path_id is None:
        raise NoHandler(_("事件 %(number)s 尚未派单，没有可升级的路径"), code="no_path", number=case.number)
    now = now or timezone.now()
    plan, extra = _plan(case, case.path_step + 1, now, path=case.path, escalating=True)
    plan.update(fields)
    _move(case, "escalate", actor, note, {**(data or {}), "decision": extra["decision"]}, now=now, **plan)
    _after_assignment(case, extra, now, f"事件已升级至{source_text(HandlerLevel(case.handler_level).label)}")
    return case


@transaction.atomic
def merge(source, target, actor, note="") -> Case:
    """Merge a duplicate into the case that stays: its reporter and followers follow the target."""
    _require(may_manage(actor, source) and may_manage(actor, target), _("只有两个事件都在辖区内的工作人员可以合并"))
    if source.pk == target.pk:
        raise InvalidInput(_("事件不能合并到自身"), code="merge_self")
    if target.state in (State.MERGED, State.REJECTED):
        raise Conflict(_("事件 %(number)s 当前为“%(state)s”，请合并到仍在办理的事件"), code="bad_target",
                       number=target.number, state=_state_label(target.state))
    now = timezone.now()
    _move(source, "merge", actor, note, {"into": target.number}, now=now, merged_into=target, grabbable=False)
    _stop_clocks(source, [*CASE_CLOCKS, ClockKind.SUMMON], now)
    carried = []
    for f in CaseFollower.objects.filter(case=source).select_related("user"):
        _follower, made = CaseFollower.objects.get_or_create(case=target, user=f.user, defaults={"source": "merged", "at": now})
        if made:
            carried.append(f.user.username)
            _tell(f.user, "merged", "您上报的事件已并入同一事件办理", target.number, target)
    _event(target, "absorb", actor, target.state, target.state, note, {"merged": source.number, "followers": carried}, at=now)
    return target


@transaction.atomic
def join(case, user) -> CaseFollower:
    """A reporter joins an open case instead of filing a duplicate (becomes a follower, who sees
    the case as a co-reporter: `view_for`). Never a case held for moderation."""
    if case.state not in OPEN_STATES or case.held:
        raise Conflict(_("事件 %(number)s 已不能加入跟进，请另行上报"), code="not_joinable", number=case.number)
    now = timezone.now()
    follower, made = CaseFollower.objects.get_or_create(case=case, user=user, defaults={"source": "joined", "at": now})
    if made:
        _event(case, "join", user, case.state, case.state, "", {"user": user.username}, at=now)
    return follower


@transaction.atomic
def rate(case, user, score: str, comment="", *, now=None) -> Rating:
    """A follower rates the result. An 'unsatisfied' reopens the case (same handler, fresh
    clocks) up to CASES_RATING_REOPENS times (default 1, a setting row); a later one escalates
    it to the next step of its path. `now` (default the clock): when."""
    if score not in Score.values:
        # the Chinese labels, and those of the active language
        labels = {**{source_text(s.label): s.value for s in Score}, **{str(s.label): s.value for s in Score}}
        if score not in labels:
            raise InvalidInput(_("评价请选择：%(labels)s"), code="bad_score", labels=" / ".join(source_text(s.label) for s in Score))
        score = labels[score]
    if not CaseFollower.objects.filter(case=case, user=user).exists():
        raise NotAllowed(_("只有上报或跟进本事件的居民可以评价"))
    if case.state not in RATABLE_STATES:
        raise Conflict(_("事件 %(number)s 当前为“%(state)s”，核查办结后才能评价"), code="bad_state",
                       number=case.number, state=_state_label(case.state))
    comment = (comment or "").strip()
    limit = conf.get_int("CASES_MAX_TEXT")
    if len(comment) > limit:
        raise InvalidInput(f"comment: 评价最多 {limit} 字，收到 {len(comment)} 字")
    now = now or timezone.now()
    # the comment is kept masked here and in the event's data; the event's note keeps the
    # comment as typed, encrypted (note_enc), for staff with the right (reveal_originals)
    masked = mask_personal(comment)
    try:
        with transaction.atomic():
            rating = Rating.objects.create(case=case, user=user, round=case.reopen_count, score=score, comment=masked, at=now)
    except IntegrityError:
        raise Conflict(_("您已评价过事件 %(number)s 的本轮办理"), code="already_rated", number=case.number) from None
    data = {"rating": {"score": score, "comment": masked, "round": rating.round}}
    if score != Score.UNSATISFIED:
        _event(case, "rate", user, case.state, case.state, comment, data, at=now)
    elif case.reopen_count < conf.get_int("CASES_RATING_REOPENS"):
        _move(case, "reopen", user, comment, data, now=now, reopen_count=case.reopen_count + 1, resolved_by=None,
              verified_by=None, closed_at=None)
        _restart_for_handler(case, now)
        _tell(case.handler_user, "reopened", "居民不满意，事件重办", case.number, case)
    else:
        _escalate(case, user, comment, now=now, data=data, reopen_count=case.reopen_count + 1,
                 resolved_by=None, verified_by=None, closed_at=None)
    return rating


def summon_hours(hours=None) -> float:
    """The working hours a summoned department has to report back: CASES_SUMMON_REPORT_HOURS
    when not given; otherwise a finite number above 0 and at most CASES_SUMMON_MAX_HOURS."""
    if hours is None or hours == "":
        return conf.get_float("CASES_SUMMON_REPORT_HOURS")
    top = conf.get_float("CASES_SUMMON_MAX_HOURS")
    try:
        value = float(hours)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= top):
        raise InvalidInput(_("报到时限：须为大于 0、不超过 %(top)s 的工作小时数"), code="bad_hours", top=f"{top:g}")
    return value


@transaction.atomic
def summon(case, actor, departments, note="", hours=None) -> list[Summons]:
    """吹哨报到: the grid or community summons departments; each must report back within
    `hours` working hours (default CASES_SUMMON_REPORT_HOURS) on its own clock."""
    _require(may_manage(actor, case), _("只有辖区内的网格长和社区工作人员可以吹哨"))
    departments = list(dict.fromkeys(d.strip() for d in departments if d and d.strip()))
    if not departments:
        raise InvalidInput(_("请至少指定一个部门"), code="no_department")
    for dep in departments:  # a department record in use (accounts.departments), never free text
        try:
            record = require_active(dep)
        except NoSuchDepartment as exc:
            raise InvalidInput(exc.template, code=exc.code, **exc.params) from None
        # a property company only in the compounds it serves (its staff see nothing else)
        if record.kind == Department.Kind.PROPERTY and not (
                case.compound_id and compounds_of_department(dep).filter(pk=case.compound_id).exists()):
            raise InvalidInput(_("%(department)s 不服务此事件所在的小区，不能吹哨"), code="not_its_compound", department=dep)
    if case.state not in OPEN_STATES:
        raise Conflict(_("事件 %(number)s 当前为“%(state)s”，只能为办理中的事件吹哨"), code="bad_state",
                       number=case.number, state=_state_label(case.state))
    hours = summon_hours(hours)
    now = timezone.now()
    cal = WorkCalendar()
    made = []
    for dep in departments:
        s = Summons.objects.create(case=case, department=dep, summoned_by=actor, at=now, due_at=cal.add_working_hours(now, hours),
                                   note=mask_personal(note))
        _start_clock(case, ClockKind.SUMMON, now, cal=cal, summons=s, hours=hours)
        for u in department_members(dep):
            _tell(u, "summoned", f"吹哨报到：{case.item.name if case.item else '事件'}", f"{case.number} {note}", case)
        made.append(s)
    _event(case, "summon", actor, case.state, case.state, note, {"departments": departments, "hours": hours}, at=now)
    return made


@transaction.atomic
def report_back(summons, actor, report: str) -> Summons:
    _require(may_report_back(actor, summons), _("只有被吹哨部门的工作人员可以报到"))
    if not report:
        raise InvalidInput(_("请填写部门的办理情况"), code="note_required")
    now = timezone.now()
    if not Summons.objects.filter(pk=summons.pk, reported_at__isnull=True).update(reported_at=now, reported_by=actor,
                                                                                  report=mask_personal(report)):
        raise Conflict(_("%(department)s 已经报到"), code="already_reported", department=summons.department)
    Clock.objects.filter(summons=summons, state__in=[ClockState.RUNNING, ClockState.WARNED]).update(state=ClockState.STOPPED, stopped_at=now)
    case = summons.case
    _event(case, "report_back", actor, case.state, case.state, report, {"department": summons.department}, at=now)
    summons.refresh_from_db()
    return summons


# --- the texts as typed ------------------------------------------------------------------------


def reveal_originals(user, case) -> dict:
    """The case's text, address and history notes as typed (before ID and mobile numbers were
    masked at intake), for a user the policy table lets read personal data of cases in the
    case's grid ("cases" × "personal"). Every successful read appends an audit entry
    (action "reveal"), like `registry.services.reveal`."""
    if not (user and user.is_authenticated and policy.allows(user, "cases", "personal", case.grid_path or "")):
        raise NotAllowed("无权查看原文（需要该网格事件的个人信息权限）")
    notes = list(case.events.exclude(note_enc="").order_by("id").values_list("pk", "note_enc"))
    with transaction.atomic():
        audit.record(user, "reveal", case, fields="text,address,notes")
        return {
            "text": original(case.text, case.text_enc),
            "address": original(case.address, case.address_enc),
            "notes": {pk: crypto.decrypt(token) for pk, token in notes},
        }


# --- moderation -------------------------------------------------------------------------------


@transaction.atomic
def moderate(case, actor, decision: str, note="") -> Case:
    """Release a held case (it is then routed like a new one) or reject it (note required).
    The hold is cleared with a compare-and-set, so two moderators cannot both act."""
    _require(may_moderate(actor, case),
             _("只有辖区内的网格长、社区和街道工作人员可以审核上报"))
    if decision not in ("release", "reject"):
        raise InvalidInput(_("审核结论只能是 release（放行）或 reject（不予受理）"), code="bad_decision")
    if decision == "reject" and not note:
        raise InvalidInput(_("请填写不予受理的理由"), code="note_required")
    now = timezone.now()
    if not Case.objects.filter(pk=case.pk, held=True).update(held=False, updated_at=now):
        raise Conflict(_("事件 %(number)s 不在待审核状态"), code="not_held", number=case.number)
    case.held = False
    if decision == "reject":
        _move(case, "reject", actor, note, {"moderation": "reject", "held_reason": case.held_reason}, now=now, grabbable=False)
        _tell_followers(case, "progress", "事件不予受理", note)
    else:
        _event(case, "release", actor, case.state, case.state, note, {"held_reason": case.held_reason}, at=now)
        _route_new(case, now)
    return case


def may_edit_words(user) -> bool:
    """Add or remove sensitive words: words × update."""
    return policy.allows(user, "words", "update")


def add_word(actor, word: str, category: str = "abuse"):
    from .models import SensitiveWord

    _require(may_edit_words(actor), _("只有系统管理员可以编辑敏感词"))
    word = (word or "").strip()
    if not moderation.normalize(word):
        raise InvalidInput(_("敏感词至少要有一个文字或数字"), code="bad_word")
    if len(word) > 60:
        raise InvalidInput(_("敏感词最多 60 个字"), code="bad_word")
    obj, made = SensitiveWord.objects.get_or_create(word=word, defaults={"category": category or "abuse", "created_by": actor})
    if not made and not obj.active:
        obj.active = True
        obj.save(update_fields=["active"])
    return obj


def remove_word(actor, word_id: int) -> bool:
    from .models import SensitiveWord

    _require(may_edit_words(actor), _("只有系统管理员可以编辑敏感词"))
    return bool(SensitiveWord.objects.filter(pk=word_id).delete()[0])


# --- the sweep --------------------------------------------------------------------------------


def sweep(now=None) -> dict:
    """Warn and breach the clocks due by `now`. Each clock is claimed with a compare-and-set,
    one transaction per clock, so a second or concurrent sweep does nothing twice."""
    now = now or timezone.now()
    counts = {"warned": 0, "breached": 0, "escalated": 0}
    due = Clock.objects.filter(state=ClockState.RUNNING, warn_at__lte=now, due_at__gt=now)
    for pk in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            if Clock.objects.filter(pk=pk, state=ClockState.RUNNING).update(state=ClockState.WARNED):
                counts["warned"] += 1
                _warn(Clock.objects.select_related("case", "case__item").get(pk=pk), now)
    late = Clock.objects.filter(state__in=[ClockState.RUNNING, ClockState.WARNED], due_at__lte=now)
    for pk in list(late.order_by("due_at", "id").values_list("pk", flat=True)):
        try:
            with transaction.atomic():
                claimed = Clock.objects.filter(pk=pk, state__in=[ClockState.RUNNING, ClockState.WARNED]).update(
                    state=ClockState.BREACHED, stopped_at=now
                )
                if not claimed:
                    continue
                counts["breached"] += 1
                counts["escalated"] += _breach(Clock.objects.select_related("case").get(pk=pk), now)
        except Conflict:
            continue  # the case moved meanwhile (its transition stopped this clock or will)
        _fault_point(counts["escalated"])
    return counts


def _fault_point(escalated: int):
    """Fault injection for the crash test (gridgov/cases/tests/test_faults.py): with
    GRIDGOV_FAULT_KILL_AFTER_ESCALATIONS=N the process SIGKILLs itself right after the N-th
    escalation has committed, like a worker killed mid-sweep. Unset in production."""
    import os

    n = os.environ.get("GRIDGOV_FAULT_KILL_AFTER_ESCALATIONS")
    if n and escalated >= int(n):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def _warn(clock, now):
    case = clock.case
    label = source_text(ClockKind(clock.kind).label)  # stored in history and notifications
    _event(case, "warn", None, case.state, case.state, f"{label}时限即将届满", {"clock": clock.pk, "due_at": clock.due_at.isoformat()}, at=now)
    target = clock.handler_user
    if target is not None:
        _tell(target, "warning", f"预警：{label}时限将至", f"{case.number} 截止 {timezone.localtime(clock.due_at):%m-%d %H:%M}", case)
    elif clock.department:
        for u in department_members(clock.department):
            _tell(u, "warning", f"预警：{label}时限将至", case.number, case)


def _breach(clock, now) -> int:
    case = Case.objects.select_related("item", "grid", "path").get(pk=clock.case_id)
    label = source_text(ClockKind(clock.kind).label)  # stored in history and notifications
    escalated_to = ""
    escalating = clock.kind in conf.get_list("CASES_ESCALATING_CLOCKS") and clock.kind != ClockKind.SUMMON
    if escalating and case.state in TRANSITIONS["escalate"][0] and case.state not in RATABLE_STATES:
        try:
            _escalate(case, None, f"{label}超时，自动升级", now=now, data={"breach": {"clock": clock.pk, "kind": clock.kind}})
            escalated_to = case.handler_level
        except NoHandler as exc:
            why = exc.source_message()
            _event(case, "breach", None, case.state, case.state, f"{label}超时；{why}", {"clock": clock.pk, "stuck": True}, at=now)
            for u in _duty_leaders(case):
                _tell(u, "breach", f"超时且无法再升级：{case.number}", why, case)
    else:
        detail = f"{clock.department}报到超时" if clock.kind == ClockKind.SUMMON else f"{label}超时（{case.number}）"
        _event(case, "breach", None, case.state, case.state, detail, {"clock": clock.pk}, at=now)
        for u in _community_people(case):
            _tell(u, "breach", detail, case.number, case)
    Breach.objects.create(
        case=case, clock=clock, kind=clock.kind, handler_level=clock.handler_level, handler_user=clock.handler_user,
        department=clock.department, due_at=clock.due_at, detected_at=now, escalated_to=escalated_to,
    )
    return 1 if escalated_to else 0


# --- queries ----------------------------------------------------------------------------------


def suggest_duplicates(*, lon, lat, text="", item=None, crs="wgs84", now=None, limit=5) -> list[dict]:
    """Open cases near (lon, lat) within CASES_DUPLICATE_RADIUS_M and the last
    CASES_DUPLICATE_DAYS days: of the same item (when known) or with similar text
    (character-bigram Jaccard ≥ CASES_DUPLICATE_MIN_SIMILARITY). Best first. Reports held for
    moderation are never offered (nor joinable: `join` refuses them)."""
    if isinstance(item, str):
        item = Item.objects.filter(code=item).first()
    lon, lat = to_wgs84(float(lon), float(lat), crs)
    now = now or timezone.now()
    radius = conf.get_float("CASES_DUPLICATE_RADIUS_M")
    min_sim = conf.get_float("CASES_DUPLICATE_MIN_SIMILARITY")
    dlat = radius / 111_195.0
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    qs = Case.objects.filter(
        state__in=OPEN_STATES, held=False, created_at__gte=now - timedelta(days=conf.get_float("CASES_DUPLICATE_DAYS")),
        lat__range=(lat - dlat, lat + dlat), lon__range=(lon - dlon, lon + dlon),
    ).select_related("item")
    out = []
    for c in qs[:500]:
        d = haversine_m(lon, lat, c.lon, c.lat)
        if d > radius:
            continue
        sim = jaccard(text, c.text) if text else 0.0
        same = bool(item and c.item_id == item.pk)
        if not (same or sim >= min_sim):
            continue
        out.append({"case": c, "distance_m": round(d, 1), "similarity": round(sim, 3), "same_item": same})
    out.sort(key=lambda r: (not r["same_item"], -r["similarity"], r["distance_m"]))
    return out[:limit]


def late_cases(user, now=None):
    """The overdue cases (`CaseQuerySet.overdue`) that are `user`'s work."""
    return Case.objects.visible_to(user).overdue(now)


def timeline(case) -> list[CaseEvent]:
    return list(case.events.select_related("actor").order_by("id"))


# --- what a user sees of a case ---------------------------------------------------------------

#: the actor a co-reporter sees for another reporter or follower of the case (stored language)
SOMEONE = "居民"
MASK = "***"


@dataclass
class CaseView:
    """A case as `user` may see it (`view_for`): the API detail, the phone page and the staff
    page all render this, so the three never disagree on what a follower sees."""

    level: str  # FULL (the user's work) or FOLLOWER (reported or joined: a co-reporter)
    staff: bool  # routing reason, clocks, summons, event data: staff whose work the case is
    identities: bool  # who reported and who follows: staff who may read its personal data
    text: str
    events: list = field(default_factory=list)
    ratings: list = field(default_factory=list)


def sees_identities(user, case, level) -> bool:
    """Whether `user` sees who reported and who follows `case`: staff whose work the case is
    and whom the access table lets read its personal data (cases × personal)."""
    return bool(level == FULL and user.is_staff_role and policy.allows(user, "cases", "personal", case.grid_path or ""))


def _names_of(users) -> list[str]:
    names = {n for u in users for n in (u.display_name, u.username) if n and len(n) >= 2}
    return sorted(names, key=len, reverse=True)


def mask_names(text: str, names) -> str:
    for name in names:
        text = text.replace(name, MASK)
    return text


def view_for(case, user, level=None, events=True) -> CaseView:
    """What `user` (who may open the case: `level` from `Case.objects.access`) sees of it.

    Staff whose work the case is see all of it (names only with the personal right). Anyone
    else sees what a co-reporter needs: the item, the place, the progress and the result, with
    every other reporter or follower as "居民", their notes and rating comments left out, and
    their names masked in the text and in staff notes. Never saved: the rows are only relabelled."""
    level = level or Case.objects.access(user, case)
    staff = level == FULL and user.is_staff_role
    identities = sees_identities(user, case, level)
    if identities:
        return CaseView(level, staff, True, case.text, timeline(case) if events else [],
                        list(case.ratings.select_related("user")) if events else [])
    # the text is the reporter's: their names masked for anyone else
    mine = case.reporter_id is None or case.reporter_id == user.pk
    view = CaseView(level, staff, False, case.text if mine else mask_names(case.text, _names_of([case.reporter])))
    if not events:
        return view
    others = {u.pk: u for u in User.objects.filter(Q(pk=case.reporter_id) | Q(followed_cases__case=case)).exclude(pk=user.pk)}
    names = _names_of(others.values())
    for e in timeline(case):
        mine = e.actor_id == user.pk
        system = e.actor_id is None and e.actor_name == SYSTEM
        official = e.actor is not None and e.actor.is_staff_role and e.actor_id not in others
        if not (mine or system or official):
            e.actor_name, e.note = SOMEONE, ""
        elif not mine:
            e.note = mask_names(e.note, names)
        e.data = {}  # holds user names (join, absorb) and rating comments
        view.events.append(e)
    for r in case.ratings.all():
        if r.user_id != user.pk:
            r.comment = ""
        view.ratings.append(r)
    return view
