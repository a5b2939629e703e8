"""Pages of the meetings (多方商).

Staff (/deliberation/meetings/, deliberation × list): the meetings of the grids in scope, upcoming
and held; a meeting's page with the invitees and their attendance, the on-site votes, the
options, the count (refreshed while the meeting runs), the minutes and closing it with the
decision's owner, deadline and work; convening from the topic page (the include
_staff_topic_meetings.html posts to /deliberation/meetings/convene/<topic>/).

Phone (/m/deliberation/meetings/, signed in): my invitations; a meeting's page where an invitee
joins an online meeting and votes; anyone who reads the topic sees the time, the place and, once
held, the count and the decision (never who voted for what).

Views validate and call gridgov.deliberation.meetings."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.accounts.decorators import staff_required

from . import meetings, services
from .models import Invitee, Meeting, Vote

m_login_required = login_required(login_url="/m/login/")


def _get(request, pk) -> Meeting:
    try:
        return meetings.get_meeting(request.user, pk)
    except services.NotFound:
        raise Http404(_("没有这个议事会")) from None


# --- staff -----------------------------------------------------------------------------------


def _staff_meeting(request, pk) -> Meeting:
    if not meetings.staff_meetings(request.user).filter(pk=pk).exists():
        raise Http404(_("没有这个议事会"))
    return _get(request, pk)


@staff_required
def staff_list(request):
    qs = meetings.staff_meetings(request.user).select_related("topic__community", "topic__compound")
    upcoming = list(qs.filter(state=Meeting.State.SCHEDULED).order_by("starts_at", "id")[:200])
    past = list(qs.exclude(state=Meeting.State.SCHEDULED).order_by("-starts_at", "-id")[:200])
    return render(request, "deliberation/meetings_list.html", {
        "upcoming": [{"meeting": m, "tally": meetings.tally(m)} for m in upcoming],
        "past": [{"meeting": m, "tally": meetings.tally(m)} for m in past],
    })


def _owners(meeting) -> list:
    """Whom the close form offers as the decision's owner: the invitees with a login and the
    community's staff (suggested parties)."""
    seen, out = set(), []
    for i in meeting.invitees.select_related("user").order_by("id"):
        if i.user_id and i.user_id not in seen:
            seen.add(i.user_id)
            out.append((i.user_id, services.person_name(i.user)))
    for s in meetings.suggested_parties(meeting.topic):
        if s["party"] == Invitee.Party.COMMUNITY and s["user"] and s["user"] not in seen:
            seen.add(s["user"])
            out.append((s["user"], s["name"]))
    return out


def _staff_context(request, m: Meeting, **extra) -> dict:
    user = request.user
    votes = {v.invitee_id: v for v in Vote.objects.filter(meeting=m).select_related("option", "recorded_by")}
    invitees = list(m.invitees.select_related("organization", "user").order_by("id"))
    manage = services.may_manage(user, m.topic)
    scheduled = m.state == Meeting.State.SCHEDULED
    ctx = {
        "m": m, "topic": m.topic, "tally": meetings.tally(m),
        "rows": [{"i": i, "vote": votes.get(i.pk)} for i in invitees],
        "options": list(m.options.order_by("position")),
        "may_edit": manage and scheduled, "voted": bool(votes),
        "parties": Invitee.Party.choices,
        "suggested": [s for s in meetings.suggested_parties(m.topic) if s["user"] not in {i.user_id for i in invitees}]
        if manage and scheduled else [],
        "owners": _owners(m) if manage and scheduled else [],
        "decision": meetings.decision_out(m.topic.decision) if hasattr(m.topic, "decision") else None,
        "today": timezone.localdate(),
    }
    ctx.update(extra)
    return ctx


@staff_required
def staff_detail(request, pk):
    m = _staff_meeting(request, pk)
    return render(request, "deliberation/meetings_detail.html", _staff_context(request, m))


@staff_required
def staff_tally(request, pk):
    """The count alone: the meeting page refreshes it while the meeting runs (htmx)."""
    m = _staff_meeting(request, pk)
    return render(request, "deliberation/meetings_tally.html", {"m": m, "tally": meetings.tally(m)})


def _staff_act(request, pk, fn, *args, **kwargs):
    m = _staff_meeting(request, pk)
    try:
        fn(request.user, m.pk, *args, **kwargs)
    except services.DeliberationError as exc:
        m = _get(request, pk)
        return render(request, "deliberation/meetings_detail.html", _staff_context(request, m, error=str(exc)),
                      status=exc.status)
    return redirect(f"/deliberation/meetings/{pk}/")


def _suggested(value: str) -> dict:
    party, user, org, name = (value.split("|", 3) + ["", "", "", ""])[:4]
    return {"party": party, "user": user or None, "organization": org or None, "name": name}


def _extra_invitees(post) -> list[dict]:
    out = []
    for k in range(10):
        name = post.get(f"extra-name-{k}", "").strip()
        if name:
            out.append({"party": post.get(f"extra-party-{k}", ""), "name": name})
    return out


@staff_required
@require_POST
def staff_convene(request, topic_pk):
    try:
        topic = services.get_topic(request.user, topic_pk)
    except services.NotFound:
        raise Http404(_("没有这个议题")) from None
    p = request.POST
    invitees = [_suggested(v) for v in p.getlist("suggested")] + _extra_invitees(p)
    try:
        m = meetings.convene(request.user, topic, title=p.get("title", ""), mode=p.get("mode", Meeting.Mode.ONSITE),
                             place=p.get("place", ""), starts_at=p.get("starts_at", ""), ends_at=p.get("ends_at", ""),
                             invitees=invitees, options=p.get("options", "").splitlines())
    except services.DeliberationError as exc:
        messages.error(request, str(exc))  # shown on the topic page, above its content
        return redirect(f"/deliberation/topics/{topic.pk}/#meetings")
    return redirect(f"/deliberation/meetings/{m.pk}/")


@staff_required
@require_POST
def staff_invite(request, pk):
    p = request.POST
    spec = _suggested(p["suggested"]) if p.get("suggested") else {"party": p.get("party", ""), "name": p.get("name", "")}
    return _staff_act(request, pk, meetings.invite, spec)


@staff_required
@require_POST
def staff_uninvite(request, pk, invitee_pk):
    return _staff_act(request, pk, meetings.uninvite, invitee_pk)


@staff_required
@require_POST
def staff_options(request, pk):
    return _staff_act(request, pk, meetings.set_options, request.POST.get("options", "").splitlines())


@staff_required
@require_POST
def staff_attendance(request, pk):
    present = set(request.POST.getlist("present"))
    marks = {i: (i in present) for i in request.POST.getlist("ids")}
    return _staff_act(request, pk, meetings.record_attendance, marks)


@staff_required
@require_POST
def staff_vote(request, pk):
    return _staff_act(request, pk, meetings.vote, option=request.POST.get("option", ""),
                      invitee=request.POST.get("invitee", "") or None)


@staff_required
@require_POST
def staff_close(request, pk):
    p = request.POST
    return _staff_act(request, pk, meetings.close, minutes=p.get("minutes", ""), owner=p.get("owner", "") or None,
                      owner_name=p.get("owner_name", ""), deadline=p.get("deadline", "") or None,
                      work=p.get("work", ""), summary=p.get("summary", ""))


@staff_required
@require_POST
def staff_cancel(request, pk):
    return _staff_act(request, pk, meetings.cancel, request.POST.get("reason", ""))


# --- phone -----------------------------------------------------------------------------------


@m_login_required
def m_mine(request):
    """My invitations: upcoming first, then the meetings held or cancelled."""
    qs = list(meetings.invited_meetings(request.user).order_by("-starts_at", "-id")[:100])
    mine = {i.meeting_id: i for i in Invitee.objects.filter(user=request.user, meeting__in=qs)}
    rows = [{"meeting": m, "invitee": mine.get(m.pk)} for m in qs]
    return render(request, "deliberation/m_meetings_mine.html", {
        "tab": "deliberation",
        "upcoming": [r for r in rows if r["meeting"].state == Meeting.State.SCHEDULED][::-1],
        "past": [r for r in rows if r["meeting"].state != Meeting.State.SCHEDULED],
    })


def _m_context(request, m: Meeting, **extra) -> dict:
    mine = meetings.invitee_of(request.user, m)
    my_vote = Vote.objects.filter(invitee=mine).select_related("option").first() if mine else None
    options = list(m.options.order_by("position"))
    scheduled = m.state == Meeting.State.SCHEDULED
    now = timezone.now()
    is_open = now >= m.starts_at - meetings.OPENS_BEFORE
    ctx = {
        "tab": "deliberation", "m": m, "topic": m.topic, "mine": mine, "my_vote": my_vote, "options": options,
        "may_join": bool(mine and scheduled and m.mode == Meeting.Mode.ONLINE and mine.attended is not True and is_open),
        "may_vote": bool(mine and scheduled and mine.attended is True and my_vote is None and len(options) >= 2
                         and is_open),
        "not_open": bool(mine and scheduled and not is_open),
        "tally": meetings.tally(m) if m.state == Meeting.State.HELD else None,
        "decision": meetings.decision_out(m.topic.decision)
        if hasattr(m.topic, "decision") and m.topic.decision.meeting_id == m.pk else None,
    }
    ctx.update(extra)
    return ctx


@m_login_required
def m_detail(request, pk):
    m = _get(request, pk)
    return render(request, "deliberation/m_meetings_detail.html", _m_context(request, m))


def _m_act(request, pk, fn, **kwargs):
    m = _get(request, pk)
    try:
        fn(request.user, m.pk, **kwargs)
    except services.DeliberationError as exc:
        m = _get(request, pk)
        return render(request, "deliberation/m_meetings_detail.html", _m_context(request, m, error=str(exc)),
                      status=exc.status)
    return redirect(f"/m/deliberation/meetings/{pk}/")


@m_login_required
@require_POST
def m_join(request, pk):
    return _m_act(request, pk, meetings.join)


@m_login_required
@require_POST
def m_vote(request, pk):
    return _m_act(request, pk, meetings.vote, option=request.POST.get("option", ""))
