"""API of deliberation (meetings), at /api/deliberation/meetings. Views validate and call
gridgov.deliberation.meetings; errors answer {"detail": the Chinese message, "code": a stable code}
(core.errors.api_error) with 400 / 403 / 404 / 409.

* POST ""                    convene {topic, title, mode, place, starts_at, ends_at, invitees:
  [{party, name, user, organization}], options: [text]} (staff who manage the topic)
* GET /mine                  the meetings I am invited to, with my invitation
* GET /{id}                  one meeting with its count; the invitees (names, parties, attendance)
  for staff and invitees; who voted for what only for staff who may list the topic's grid
* POST /{id}/invitees        {party, name, user, organization}; DELETE /{id}/invitees/{iid}
* PUT /{id}/options          {options: [text]} (not after a vote)
* POST /{id}/attendance      {attendance: {invitee_id: true|false|null}} (staff)
* POST /{id}/join            an invitee with a login joins an online meeting (present)
* POST /{id}/votes           {option, invitee}: the invitee themselves (invitee omitted), or staff
  recording an on-site vote; 409 for a second vote or an absent invitee
* POST /{id}/close           {minutes, owner, owner_name, deadline, work, summary}: the meeting is
  held; the decision (or null) and the count saying why
* POST /{id}/cancel          {reason}"""

from datetime import date, datetime

from ninja import Router, Schema
from ninja.responses import Status

from gridgov.core.errors import api_call

from . import meetings, services
from .models import Invitee, Meeting, Vote

router = Router(tags=["deliberation"])
ERRORS = {400: dict, 403: dict, 404: dict, 409: dict}


def _iso(value):
    return value.isoformat() if value else None


def invitee_out(i: Invitee) -> dict:
    return {"id": i.pk, "party": i.party, "party_label": str(i.get_party_display()), "name": i.name,
            "user": i.user_id, "organization": i.organization_id, "attended": i.attended}


def meeting_out(m: Meeting, user) -> dict:
    """The meeting as `user` may see it: everyone who reads it the time, place, options and the
    count; staff and invitees the invitees; staff with the topic's grid in scope the votes."""
    mine = meetings.invitee_of(user, m)
    staff = meetings.may_see_votes(user, m)
    out = {
        "id": m.pk, "topic": m.topic_id, "topic_title": m.topic.title, "title": m.title, "mode": m.mode,
        "mode_label": str(m.get_mode_display()), "place": m.place, "starts_at": _iso(m.starts_at),
        "ends_at": _iso(m.ends_at), "state": m.state, "state_label": str(m.get_state_display()),
        "held_at": _iso(m.held_at), "tally": meetings.tally(m),
        "minutes": m.minutes if (staff or mine is not None) else "",
        "my_invitee": invitee_out(mine) if mine else None,
        "my_vote": Vote.objects.filter(invitee=mine).values_list("option_id", flat=True).first() if mine else None,
        "may_manage": services.may_manage(user, m.topic),
    }
    if staff or mine is not None:
        out["invitees"] = [invitee_out(i) for i in m.invitees.select_related("organization").order_by("id")]
    if staff:
        out["votes"] = [{"invitee": v.invitee_id, "option": v.option_id, "at": _iso(v.at),
                         "recorded_by": services.person_name(v.recorded_by)}
                        for v in m.votes.select_related("recorded_by").order_by("id")]
    return out


def _meeting(request, meeting_id):
    return api_call(meetings.get_meeting, request.user, meeting_id)


class InviteeIn(Schema):
    party: str
    name: str = ""
    user: int | None = None
    organization: int | None = None


class ConveneIn(Schema):
    topic: int
    title: str = ""
    mode: str = Meeting.Mode.ONSITE
    place: str = ""
    starts_at: datetime
    ends_at: datetime | None = None
    invitees: list[InviteeIn] = []
    options: list[str] = []


@router.post("", response={201: dict, **ERRORS})
def convene(request, data: ConveneIn):
    m, err = api_call(meetings.convene, request.user, data.topic, title=data.title, mode=data.mode, place=data.place,
                   starts_at=data.starts_at, ends_at=data.ends_at, invitees=[i.dict() for i in data.invitees],
                   options=data.options)
    return err or Status(201, meeting_out(m, request.user))


@router.get("/mine", response=dict)
def mine(request):
    """The meetings I am invited to, upcoming first."""
    qs = meetings.invited_meetings(request.user).order_by("state", "starts_at", "id")
    return {"items": [meeting_out(m, request.user) for m in qs[:100]]}


@router.get("/{meeting_id}", response={200: dict, **ERRORS})
def detail(request, meeting_id: int):
    m, err = _meeting(request, meeting_id)
    return err or meeting_out(m, request.user)


@router.post("/{meeting_id}/invitees", response={201: dict, **ERRORS})
def invite(request, meeting_id: int, data: InviteeIn):
    row, err = api_call(meetings.invite, request.user, meeting_id, data.dict())
    return err or Status(201, invitee_out(row))


@router.delete("/{meeting_id}/invitees/{invitee_id}", response={200: dict, **ERRORS})
def uninvite(request, meeting_id: int, invitee_id: int):
    m, err = api_call(meetings.uninvite, request.user, meeting_id, invitee_id)
    return err or meeting_out(m, request.user)


class OptionsIn(Schema):
    options: list[str]


@router.put("/{meeting_id}/options", response={200: dict, **ERRORS})
def options(request, meeting_id: int, data: OptionsIn):
    _, err = api_call(meetings.set_options, request.user, meeting_id, data.options)
    if err:
        return err
    m, err = _meeting(request, meeting_id)
    return err or meeting_out(m, request.user)


class AttendanceIn(Schema):
    attendance: dict[str, bool | None]


@router.post("/{meeting_id}/attendance", response={200: dict, **ERRORS})
def attendance(request, meeting_id: int, data: AttendanceIn):
    m, err = api_call(meetings.record_attendance, request.user, meeting_id, data.attendance)
    return err or meeting_out(m, request.user)


@router.post("/{meeting_id}/join", response={200: dict, **ERRORS})
def join(request, meeting_id: int):
    _, err = api_call(meetings.join, request.user, meeting_id)
    if err:
        return err
    m, err = _meeting(request, meeting_id)
    return err or meeting_out(m, request.user)


class VoteIn(Schema):
    option: int
    invitee: int | None = None


@router.post("/{meeting_id}/votes", response={201: dict, **ERRORS})
def vote(request, meeting_id: int, data: VoteIn):
    v, err = api_call(meetings.vote, request.user, meeting_id, option=data.option, invitee=data.invitee)
    if err:
        return err
    return Status(201, {"id": v.pk, "invitee": v.invitee_id, "option": v.option_id, "at": _iso(v.at),
                        "tally": meetings.tally(v.meeting)})


class CloseIn(Schema):
    minutes: str
    owner: int | None = None
    owner_name: str = ""
    deadline: date | None = None
    work: str = ""
    summary: str = ""


@router.post("/{meeting_id}/close", response={200: dict, **ERRORS})
def close(request, meeting_id: int, data: CloseIn):
    d, err = api_call(meetings.close, request.user, meeting_id, minutes=data.minutes, owner=data.owner,
                   owner_name=data.owner_name, deadline=data.deadline, work=data.work, summary=data.summary)
    if err:
        return err
    m, err = _meeting(request, meeting_id)
    if err:
        return err
    decision = meetings.decision_out(d)
    if decision:
        decision.update(decided_at=_iso(decision["decided_at"]), deadline=_iso(decision["deadline"]))
    return {"meeting": meeting_out(m, request.user), "decision": decision}


class ReasonIn(Schema):
    reason: str = ""


@router.post("/{meeting_id}/cancel", response={200: dict, **ERRORS})
def cancel(request, meeting_id: int, data: ReasonIn):
    m, err = api_call(meetings.cancel, request.user, meeting_id, data.reason)
    return err or meeting_out(m, request.user)
