"""多方商: meetings of the parties on a topic, invitations, attendance, minutes, options, the votes
of those present and the decision (quorum and majority: settings).

Who does what:

* Community staff with deliberation × update on the topic's grid (`services.may_manage`) convene
  a meeting while the topic is open in a phase with `meeting`, invite and uninvite the parties
  (community, property company, owners' committee, units, resident representatives,
  departments: `Invitee.Party`, at least two different parties), set the options (not after a
  vote), record who is present, record the on-site votes of those present, close the meeting
  (hold it: minutes, the count, the decision) or cancel it.
* An invitee with a login joins an online meeting (which marks them present) and votes for
  themselves; nobody votes for an absent invitee.

Votes: one per invitee (a unique constraint; a second answers 409). A vote cannot be changed once
cast: the count at the table is final, as a show of hands is. Votes open 30 minutes before the
meeting starts (OPENS_BEFORE) and close when it is held or cancelled.

The count (`tally`, `close`): quorum = the setting DELIBERATION_QUORUM, majority =
DELIBERATION_MAJORITY (both snapshotted on the meeting when it is held). The quorum is met when
present / invited >= quorum; the option with the most votes is adopted when its votes > majority
× present (a tie at the top adopts nothing). With the quorum met and an option adopted, closing
makes the topic's one Decision (and sets topic.decided_at, the effect measure's pivot); otherwise
the meeting is held without a decision, the count says why, and the community convenes again.

A cancelled meeting's `minutes` hold the reason it was cancelled.

Every state change: one transaction, one history row (kind deliberation_meetings; the decision
deliberation_decisions), notifications queued on commit (cases.notify)."""

import math
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _

from gridgov.accounts import policy
from gridgov.core import history

from . import conf, services
from .models import Decision, Invitee, Meeting, Option, Topic, Vote
from .services import Conflict, DeliberationError, Forbidden, NotFound, person_name, signed_in

KIND = services.KIND
HISTORY = "deliberation_meetings"
HISTORY_DECISIONS = "deliberation_decisions"
#: at most this many options and invitees on one meeting
MAX_OPTIONS = 8
MAX_INVITEES = 60
#: an invitee may join an online meeting, and votes may be cast, from this long before it starts
OPENS_BEFORE = timedelta(minutes=30)


# --- reading ---------------------------------------------------------------------------------


def meetings_visible_to(user):
    """The meetings `user` may read: those of the topics they see (Topic.objects.visible_to),
    and those they are invited to."""
    if not signed_in(user):
        return Meeting.objects.none()
    topics = Topic.objects.visible_to(user).values("pk")
    ids = Meeting.objects.filter(Q(topic__in=topics) | Q(invitees__user=user)).values("pk")
    return Meeting.objects.filter(pk__in=ids)


def staff_meetings(user):
    """The meetings of the grids in the user's scope (deliberation × list)."""
    from gridgov.accounts.querysets import within_reach

    return within_reach(Meeting.objects.select_related("topic__node", "topic__community"), user, KIND, "list",
                        "topic__node__path")


def invited_meetings(user):
    """The meetings `user` is invited to (their login is on an invitation)."""
    if not signed_in(user):
        return Meeting.objects.none()
    return Meeting.objects.filter(invitees__user=user).select_related("topic").distinct()


def get_meeting(user, meeting_id) -> Meeting:
    """The meeting, if `user` may read it (`meetings_visible_to`); NotFound otherwise."""
    try:
        meeting_id = int(getattr(meeting_id, "pk", meeting_id))
    except (TypeError, ValueError):
        raise NotFound(_("没有这个议事会")) from None
    if not meetings_visible_to(user).filter(pk=meeting_id).exists():
        raise NotFound(_("没有这个议事会"))
    return Meeting.objects.select_related("topic__node", "topic__phase", "topic__community", "topic__compound",
                                          "convened_by").get(pk=meeting_id)


def _locked(user, meeting) -> Meeting:
    """The meeting (visible to `user`), its row locked for the transaction."""
    m = get_meeting(user, meeting)
    return Meeting.objects.select_for_update(of=("self",)).select_related("topic__node", "topic__phase").get(pk=m.pk)


def invitee_of(user, meeting) -> Invitee | None:
    """The user's own invitation to `meeting`, if any."""
    if not signed_in(user):
        return None
    return Invitee.objects.filter(meeting=meeting, user=user).first()


def may_see_votes(user, meeting) -> bool:
    """Who voted for what: staff who may list the topic's grid. Residents see the count only."""
    return policy.allows(user, KIND, "list", meeting.topic.node.path)


def _when(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%d %H:%M") if dt else ""


# --- the count -------------------------------------------------------------------------------


def quorum_needed(invited: int, quorum: float) -> int:
    """The fewest present for present / invited >= quorum (float noise rounded away)."""
    if invited <= 0:
        return 0
    return max(1, math.ceil(round(quorum * invited, 9)))


def majority_needed(present: int, majority: float) -> int:
    """The fewest votes for votes > majority × present."""
    return math.floor(round(majority * present, 9)) + 1


def _share(x: float) -> str:
    return f"{round(x * 100, 1):g}%"


def tally(meeting) -> dict:
    """The count of a meeting for pages and the API: invited, present, needed for the quorum,
    votes per option, the leading option, whether the quorum is met, the adopted option, and the
    outcome with its reason. A held meeting is counted with the quorum and majority in force when
    it was held; a scheduled one with today's settings (what closing it now would give). Never
    who voted for what."""
    held = meeting.state == Meeting.State.HELD
    quorum = meeting.quorum if held and meeting.quorum is not None else conf.get_float("DELIBERATION_QUORUM")
    majority = meeting.majority if held and meeting.majority is not None else conf.get_float("DELIBERATION_MAJORITY")
    marks = list(Invitee.objects.filter(meeting=meeting).values_list("attended", flat=True))
    invited = len(marks)
    present = sum(1 for a in marks if a is True)
    absent = sum(1 for a in marks if a is False)
    counts = {r["option"]: r["n"] for r in Vote.objects.filter(meeting=meeting).values("option").annotate(n=Count("id"))}
    options = [{"id": o.pk, "position": o.position, "text": o.text, "votes": counts.get(o.pk, 0)}
               for o in Option.objects.filter(meeting=meeting).order_by("position")]
    votes_cast = sum(o["votes"] for o in options)
    top = max((o["votes"] for o in options), default=0)
    leaders = [o for o in options if top > 0 and o["votes"] == top]
    leading = leaders[0] if len(leaders) == 1 else None
    needed = quorum_needed(invited, quorum)
    needed_votes = majority_needed(present, majority)
    quorum_met = invited > 0 and present >= needed
    adopted = leading if quorum_met and leading is not None and leading["votes"] >= needed_votes else None
    if not quorum_met:
        outcome = "no_quorum"
        reason = _("到会 %(present)s 方 / 邀请 %(invited)s 方，未达到法定到会人数（需 %(needed)s 方，%(share)s）") % {
            "present": present, "invited": invited, "needed": needed, "share": _share(quorum)}
    elif len(options) < 2:
        outcome = "no_options"
        reason = _("没有可表决的选项（至少两个）")
    elif len(leaders) > 1:
        outcome = "tie"
        reason = _("得票最多的选项票数相同（各 %(votes)s 票），未形成决定") % {"votes": top}
    elif adopted is None:
        outcome = "no_majority"
        reason = _("得票最多的选项 %(votes)s 票，需 %(needed)s 票（超过到会 %(present)s 方的 %(share)s）") % {
            "votes": top, "needed": needed_votes, "present": present, "share": _share(majority)}
    else:
        outcome = "adopted"
        reason = _("通过：%(option)s（%(votes)s 票，到会 %(present)s 方）") % {
            "option": adopted["text"], "votes": adopted["votes"], "present": present}
    decision = Decision.objects.filter(meeting=meeting).values_list("pk", flat=True).first() if held else None
    return {
        "state": meeting.state, "held": held, "quorum": quorum, "majority": majority,
        "invited": invited, "present": present, "absent": absent, "unknown": invited - present - absent,
        "needed": needed, "needed_votes": needed_votes, "quorum_met": quorum_met,
        "options": options, "votes_cast": votes_cast, "leading": leading, "tie": len(leaders) > 1,
        "adopted": adopted, "outcome": outcome if meeting.state != Meeting.State.CANCELLED else "cancelled",
        "reason": str(reason), "decision": decision,
    }


# --- validation ------------------------------------------------------------------------------


def _account(value):
    """A user (instance or id) for an invitation or an owner; None for none."""
    from gridgov.accounts.models import User

    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, User):
        user = value if value.is_active else None
    else:
        try:
            user = User.objects.filter(pk=int(value), is_active=True).first()
        except (TypeError, ValueError):
            user = None
    if user is None:
        raise DeliberationError(_("没有这个用户：%(id)s"), code="user", id=getattr(value, "pk", value))
    return user


def _organization(value):
    from gridgov.registry.models import Organization

    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, Organization):
        return value
    try:
        org = Organization.objects.filter(pk=int(value)).first()
    except (TypeError, ValueError):
        org = None
    if org is None:
        raise DeliberationError(_("没有这个单位：%(id)s"), code="organization", id=value)
    return org


def _spec(spec) -> dict:
    if hasattr(spec, "dict"):
        spec = spec.dict()
    return dict(spec or {})


def _clean_invitee(spec) -> dict:
    spec = _spec(spec)
    party = (spec.get("party") or "").strip()
    if party not in Invitee.Party.values:
        raise DeliberationError(_("没有这类参会方：%(party)s"), code="party", party=party)
    account = _account(spec.get("user"))
    org = _organization(spec.get("organization"))
    name = (spec.get("name") or "").strip() or person_name(account) or (org.name if org else "")
    if not name:
        raise DeliberationError(_("请填写参会方的名称或参会人姓名"), code="invitee_name")
    if len(name) > 100:
        raise DeliberationError(_("参会方名称最多 100 字"), code="invitee_name")
    return {"party": party, "name": name, "user": account, "organization": org}


def _check_parties(parties, count):
    if count < 2 or len(set(parties)) < 2:
        raise DeliberationError(_("议事会至少要邀请两方参加（如社区和物业、业委会、居民代表）"), code="parties")
    if count > MAX_INVITEES:
        raise DeliberationError(_("一次议事会最多邀请 %(n)s 位"), code="invitees", n=MAX_INVITEES)


def _clean_options(texts) -> list[str]:
    out = []
    for text in texts or ():
        text = str(text or "").strip()
        if not text:
            continue
        if len(text) > 200:
            raise DeliberationError(_("选项最多 200 字"), code="option")
        if text in out:
            raise DeliberationError(_("选项重复：%(text)s"), code="option", text=text)
        out.append(text)
    if len(out) > MAX_OPTIONS:
        raise DeliberationError(_("最多 %(n)s 个选项"), code="option", n=MAX_OPTIONS)
    return out


def _datetime(value, field: str, *, required: bool):
    if value in (None, ""):
        if required:
            raise DeliberationError(_("请填写会议时间"), code=field)
        return None
    if isinstance(value, str):
        parsed = parse_datetime(value.strip())
        if parsed is None:
            raise DeliberationError(_("时间格式不对：%(value)s"), code=field, value=value)
        value = parsed
    if not isinstance(value, datetime):
        raise DeliberationError(_("时间格式不对：%(value)s"), code=field, value=value)
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _date(value):
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, date):
        return value
    parsed = parse_date(str(value).strip())
    if parsed is None:
        raise DeliberationError(_("日期格式不对：%(value)s"), code="deadline", value=value)
    return parsed


def _text(value, limit: int, code: str, label) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise DeliberationError(_("%(label)s最多 %(n)s 字"), code=code, label=label, n=limit)
    return value


def _require_manage(user, meeting_or_topic):
    topic = getattr(meeting_or_topic, "topic", meeting_or_topic)
    if not services.may_manage(user, topic):
        raise Forbidden(_("只有本社区的工作人员可以组织议事会"))


def _require_scheduled(m: Meeting):
    if m.state == Meeting.State.HELD:
        raise Conflict(_("议事会已召开，不能再修改"), code="held")
    if m.state == Meeting.State.CANCELLED:
        raise Conflict(_("议事会已取消"), code="cancelled")


# --- notifications ---------------------------------------------------------------------------


def _notify(invitees, kind: str, title: str, body: str, meeting: Meeting):
    """Queue one notification per invitee with a login, after commit."""
    from gridgov.cases import notify

    users = [i.user for i in invitees if i.user_id]
    payload = {"meeting": meeting.pk, "topic": meeting.topic_id}

    def send():
        for u in users:
            notify.queue(u, kind, title, body, payload=payload)

    transaction.on_commit(send)


def _invitation_text(m: Meeting) -> tuple[str, str]:
    title = f"议事会邀请：{m.title}"
    body = f"{_when(m.starts_at)} {m.get_mode_display()}"
    if m.place:
        body += f" · {m.place}"
    body += f"。议题：{m.topic.title}"
    return title, body


# --- convening -------------------------------------------------------------------------------


def _convene_refusal(user, topic) -> DeliberationError | None:
    if not services.may_manage(user, topic):
        return Forbidden(_("只有本社区的工作人员可以召集议事会"))
    if not services.phase_open(topic, "meeting"):
        return Conflict(_("议题当前阶段（%(phase)s）不能召集议事会"), code="phase", phase=topic.phase.name)
    if Decision.objects.filter(topic=topic).exists():
        return Conflict(_("议题已形成决定"), code="decided")
    scheduled = topic.meetings.filter(state=Meeting.State.SCHEDULED).first()
    if scheduled is not None:
        return Conflict(_("已有待召开的议事会（%(when)s），请先召开或取消"), code="scheduled",
                        when=_when(scheduled.starts_at))
    return None


def convene_refusal(user, topic) -> str:
    """Why `user` may not convene a meeting on `topic` now ("" when they may)."""
    refusal = _convene_refusal(user, topic)
    return refusal.message if refusal is not None else ""


def convene(user, topic, *, title, mode=Meeting.Mode.ONSITE, place="", starts_at, ends_at=None, invitees=(),
            options=(), now=None) -> Meeting:
    """Convene the parties on `topic` (a Topic or its id): staff who manage the topic, while it
    is open in a phase with `meeting`, no decision made and no other meeting pending. At least two
    different parties; `invitees`: [{party, name, user (id), organization (id)}]; `options`
    optional now (two or more before voting). Invitees with a login are told the time and place."""
    now = now or timezone.now()
    with transaction.atomic():
        # visibility first (NotFound), then the row lock; services.get_topic(for_update=True) joins
        # the nullable compound and building, which PostgreSQL refuses to lock (FOR UPDATE ... outer join)
        t = services.get_topic(user, getattr(topic, "pk", topic))
        t = (Topic.objects.select_for_update(of=("self",))
             .select_related("process", "phase", "node", "community", "compound", "building").get(pk=t.pk))
        refusal = _convene_refusal(user, t)
        if refusal is not None:
            raise refusal
        title = _text(title, 100, "title", _("会议名称")) or f"{t.title} 议事会"[:100]
        if mode not in Meeting.Mode.values:
            raise DeliberationError(_("会议方式只能是现场或线上"), code="mode")
        place = _text(place, 150, "place", _("会议地点"))
        if mode == Meeting.Mode.ONSITE and not place:
            raise DeliberationError(_("现场会议请填写地点"), code="place")
        starts_at = _datetime(starts_at, "starts_at", required=True)
        ends_at = _datetime(ends_at, "ends_at", required=False)
        if ends_at is not None and ends_at <= starts_at:
            raise DeliberationError(_("结束时间须晚于开始时间"), code="ends_at")
        specs = [_clean_invitee(s) for s in invitees or ()]
        _check_parties([s["party"] for s in specs], len(specs))
        seen = set()
        for s in specs:
            if s["user"] is not None:
                if s["user"].pk in seen:
                    raise Conflict(_("%(name)s 已在邀请名单中"), code="already_invited", name=s["name"])
                seen.add(s["user"].pk)
        texts = _clean_options(options)
        m = Meeting.objects.create(topic=t, title=title, mode=mode, place=place, starts_at=starts_at, ends_at=ends_at,
                                   convened_by=user, created_at=now)
        rows = Invitee.objects.bulk_create([Invitee(meeting=m, **s) for s in specs])
        Option.objects.bulk_create([Option(meeting=m, position=i, text=x) for i, x in enumerate(texts, start=1)])
        history.record(user, HISTORY, m, "convene", {
            "topic": t.pk, "mode": mode, "starts_at": _when(starts_at), "place": place,
            "invitees": [f"{Invitee.Party(s['party']).label}:{s['name']}" for s in specs], "options": texts,
        }, grid_path=t.node.path, at=now)
        m.topic = t
        _notify(rows, "meeting_invitation", *_invitation_text(m), m)
    return m


def suggested_parties(topic) -> list[dict]:
    """The likely parties of the topic's place, for the convening form: its compound's property
    company (the registry's PropertyProject company, with a property staff login if one is
    known), the compound's owners' committee if the registry records one (an organization named
    业委会 / 业主委员会 at the compound), the community's staff, the building's steward and the
    proposer. Each: {party, name, user (id|None), organization (id|None), note}."""
    from gridgov.accounts.models import GridAssignment, Role, User
    from gridgov.registry.models import Organization, PropertyProject, Volunteer

    out, users = [], set()

    def add(party, name, user=None, org=None, note=""):
        if user is not None:
            if user.pk in users:
                return
            users.add(user.pk)
        out.append({"party": party, "party_label": str(Invitee.Party(party).label), "name": name[:100],
                    "user": user.pk if user else None, "organization": org.pk if org else None, "note": str(note)})

    compound = topic.compound
    if compound is not None:
        company = compound.property_company
        if company is None:
            project = (PropertyProject.objects.filter(compounds=compound, ended_on__isnull=True)
                       .select_related("company").order_by("id").first())
            company = project.company if project else None
        if company is not None:
            person = None
            if company.department_id:
                person = (User.objects.filter(is_active=True, role=Role.PROPERTY_STAFF,
                                              department=company.department.name).order_by("id").first())
            name = f"{company.name} {person_name(person)}" if person else company.name
            add(Invitee.Party.PROPERTY, name, person, company, _("小区物业"))
        committee = (Organization.objects.filter(ended_on__isnull=True)
                     .filter(Q(name__contains="业委会") | Q(name__contains="业主委员会"))
                     .filter(Q(address__compound=compound) | Q(name__startswith=compound.name)).order_by("id").first())
        if committee is not None:
            add(Invitee.Party.OWNERS, committee.name, None, committee, _("登记的业委会"))
    community = topic.community
    staff = (GridAssignment.objects.in_force()
             .filter(node__path__startswith=community.path, user__is_active=True,
                     user__role__in=[Role.COMMUNITY_SECRETARY, Role.COMMUNITY_STAFF])
             .select_related("user").order_by("user__role", "user_id"))
    for ga in staff[:6]:
        add(Invitee.Party.COMMUNITY, person_name(ga.user), ga.user, None, _("社区工作人员"))
    if topic.building_id:
        for v in (Volunteer.objects.filter(kind="steward", building_id=topic.building_id, ended_on__isnull=True)
                  .select_related("user").order_by("id")[:2]):
            add(Invitee.Party.RESIDENT, v.name or person_name(v.user), v.user if v.user_id else None, None, _("楼门长"))
    if topic.proposer_id and topic.proposer.is_active:
        add(Invitee.Party.RESIDENT, person_name(topic.proposer), topic.proposer, None, _("提议人"))
    return out


# --- invitations and options -----------------------------------------------------------------


def invite(user, meeting, invitee, *, now=None) -> Invitee:
    """Invite one more party to a scheduled meeting ({party, name, user, organization})."""
    now = now or timezone.now()
    with transaction.atomic():
        m = _locked(user, meeting)
        _require_manage(user, m)
        _require_scheduled(m)
        spec = _clean_invitee(invitee)
        if Invitee.objects.filter(meeting=m).count() >= MAX_INVITEES:
            raise DeliberationError(_("一次议事会最多邀请 %(n)s 位"), code="invitees", n=MAX_INVITEES)
        if spec["user"] is not None and Invitee.objects.filter(meeting=m, user=spec["user"]).exists():
            raise Conflict(_("%(name)s 已在邀请名单中"), code="already_invited", name=spec["name"])
        try:
            with transaction.atomic():
                row = Invitee.objects.create(meeting=m, **spec)
        except IntegrityError:
            raise Conflict(_("%(name)s 已在邀请名单中"), code="already_invited", name=spec["name"]) from None
        history.record(user, HISTORY, m, "invite", {"invitee": f"{row.get_party_display()}:{row.name}"},
                       grid_path=m.topic.node.path, at=now)
        _notify([row], "meeting_invitation", *_invitation_text(m), m)
    return row


def uninvite(user, meeting, invitee_id, *, now=None) -> Meeting:
    """Withdraw an invitation (not one who has voted; at least two parties remain)."""
    now = now or timezone.now()
    with transaction.atomic():
        m = _locked(user, meeting)
        _require_manage(user, m)
        _require_scheduled(m)
        row = Invitee.objects.filter(meeting=m, pk=getattr(invitee_id, "pk", invitee_id)).first()
        if row is None:
            raise NotFound(_("没有这个参会方"))
        if Vote.objects.filter(invitee=row).exists():
            raise Conflict(_("%(name)s 已投票，不能撤销邀请"), code="voted", name=row.name)
        rest = list(Invitee.objects.filter(meeting=m).exclude(pk=row.pk).values_list("party", flat=True))
        _check_parties(rest, len(rest))
        label = f"{row.get_party_display()}:{row.name}"
        row.delete()
        history.record(user, HISTORY, m, "uninvite", {"invitee": label}, grid_path=m.topic.node.path, at=now)
        _notify([row], "meeting_uninvited", f"议事会邀请已撤销：{m.title}", m.topic.title, m)
    return m


def set_options(user, meeting, texts, *, now=None) -> list[Option]:
    """Replace the options of a scheduled meeting; refused once a vote is cast."""
    now = now or timezone.now()
    with transaction.atomic():
        m = _locked(user, meeting)
        _require_manage(user, m)
        _require_scheduled(m)
        if Vote.objects.filter(meeting=m).exists():
            raise Conflict(_("已有人投票，不能再修改选项"), code="voted")
        texts = _clean_options(texts)
        before = list(Option.objects.filter(meeting=m).values_list("text", flat=True))
        Option.objects.filter(meeting=m).delete()
        rows = Option.objects.bulk_create([Option(meeting=m, position=i, text=x) for i, x in enumerate(texts, start=1)])
        if before != texts:
            history.record(user, HISTORY, m, "options", {"options": [before, texts]}, grid_path=m.topic.node.path, at=now)
    return list(Option.objects.filter(meeting=m).order_by("position")) if rows else []


def cancel(user, meeting, reason, *, now=None) -> Meeting:
    """Cancel a scheduled meeting with a reason (kept as its minutes); the invitees are told."""
    now = now or timezone.now()
    reason = _text(reason, 200, "reason", _("取消原因"))
    if not reason:
        raise DeliberationError(_("请填写取消原因"), code="reason")
    with transaction.atomic():
        m = _locked(user, meeting)
        _require_manage(user, m)
        _require_scheduled(m)
        Meeting.objects.filter(pk=m.pk, state=Meeting.State.SCHEDULED).update(state=Meeting.State.CANCELLED, minutes=reason)
        m.refresh_from_db()
        history.record(user, HISTORY, m, "cancel", {"state": [Meeting.State.SCHEDULED, Meeting.State.CANCELLED]},
                       grid_path=m.topic.node.path, note=reason, at=now)
        _notify(list(m.invitees.all()), "meeting_cancelled", f"议事会已取消：{m.title}", f"{_when(m.starts_at)} · {reason}", m)
    return m


# --- attendance and votes --------------------------------------------------------------------


def record_attendance(user, meeting, marks: dict, *, now=None) -> Meeting:
    """Staff record who is present: {invitee_id: True | False | None}. An invitee who has voted
    cannot be marked absent."""
    now = now or timezone.now()
    with transaction.atomic():
        m = _locked(user, meeting)
        _require_manage(user, m)
        _require_scheduled(m)
        rows = {i.pk: i for i in Invitee.objects.filter(meeting=m)}
        voted = set(Vote.objects.filter(meeting=m).values_list("invitee_id", flat=True))
        changes = {}
        for key, value in (marks or {}).items():
            try:
                pk = int(key)
            except (TypeError, ValueError):
                pk = None
            row = rows.get(pk)
            if row is None:
                raise DeliberationError(_("没有这个参会方：%(id)s"), code="invitee", id=key)
            if value not in (True, False, None):
                raise DeliberationError(_("到会只能是是或否"), code="attended")
            if value is not True and pk in voted:
                raise Conflict(_("%(name)s 已投票，不能记为未到会"), code="voted", name=row.name)
            if row.attended != value:
                changes[f"{row.pk}:{row.name}"] = [row.attended, value]
                Invitee.objects.filter(pk=pk).update(attended=value)
        if changes:
            history.record(user, HISTORY, m, "attendance", changes, grid_path=m.topic.node.path, at=now)
    return m


def _require_open_for_votes(m: Meeting, now):
    if now < m.starts_at - OPENS_BEFORE:
        raise Conflict(_("议事会 %(when)s 开始，开始前 30 分钟开放"), code="not_open", when=_when(m.starts_at))


def join(user, meeting, *, now=None) -> Invitee:
    """An invitee with a login joins an online meeting: marked present."""
    now = now or timezone.now()
    with transaction.atomic():
        m = _locked(user, meeting)
        row = Invitee.objects.select_for_update().filter(meeting=m, user=user).first() if signed_in(user) else None
        if row is None:
            raise Forbidden(_("您不在这次议事会的邀请名单中"))
        _require_scheduled(m)
        if m.mode != Meeting.Mode.ONLINE:
            raise Conflict(_("这是现场会议，到会由社区现场登记"), code="onsite")
        _require_open_for_votes(m, now)
        if row.attended is not True:
            Invitee.objects.filter(pk=row.pk).update(attended=True)
            history.record(user, HISTORY, m, "join", {f"{row.pk}:{row.name}": [row.attended, True]},
                           grid_path=m.topic.node.path, at=now)
            row.attended = True
    return row


def vote(actor, meeting, *, option, invitee=None, now=None) -> Vote:
    """A vote of a party present: the invitee themselves (`invitee` None or their own), or staff
    recording an on-site vote for an invitee present. One vote per invitee, not changed once
    cast (409); never for an absent invitee; only while the meeting is scheduled (and from 30
    minutes before it starts)."""
    now = now or timezone.now()
    with transaction.atomic():
        m = _locked(actor, meeting)  # the row lock: two votes of one invitee take turns
        own = Invitee.objects.filter(meeting=m, user=actor).first() if signed_in(actor) else None
        if invitee in (None, "", 0):
            if own is None:
                raise Forbidden(_("您不在这次议事会的邀请名单中"))
            target = own
        else:
            target = Invitee.objects.filter(meeting=m, pk=getattr(invitee, "pk", invitee)).first()
            if target is None:
                raise NotFound(_("没有这个参会方"))
            if target != own and not services.may_manage(actor, m.topic):
                raise Forbidden(_("只有社区工作人员可以代参会方登记现场表决"))
        if m.state == Meeting.State.HELD:
            raise Conflict(_("议事会已召开，表决已结束"), code="held")
        _require_scheduled(m)
        _require_open_for_votes(m, now)
        options = {o.pk: o for o in Option.objects.filter(meeting=m)}
        if len(options) < 2:
            raise Conflict(_("议事会还没有至少两个选项，不能表决"), code="no_options")
        try:
            chosen = options.get(int(getattr(option, "pk", option)))
        except (TypeError, ValueError):
            chosen = None
        if chosen is None:
            raise DeliberationError(_("没有这个选项"), code="option")
        if target.attended is not True:
            raise Conflict(_("%(name)s 未到会，不能表决"), code="absent", name=target.name)
        if Vote.objects.filter(meeting=m, invitee=target).exists():
            raise Conflict(_("%(name)s 已经表决过，表决后不能更改"), code="already_voted", name=target.name)
        try:
            with transaction.atomic():
                row = Vote.objects.create(meeting=m, invitee=target, option=chosen, at=now, recorded_by=actor)
        except IntegrityError:
            raise Conflict(_("%(name)s 已经表决过，表决后不能更改"), code="already_voted", name=target.name) from None
        history.record(actor, HISTORY, m, "vote", {"invitee": f"{target.pk}:{target.name}", "option": chosen.text,
                                                   "online": target == own},
                       grid_path=m.topic.node.path, at=now)
    return row


# --- holding it ------------------------------------------------------------------------------


def close(user, meeting, *, minutes, owner=None, owner_name="", deadline=None, work="", summary="",
          now=None) -> Decision | None:
    """Hold the meeting: the minutes, the count with the quorum and majority in force (kept on the
    meeting), invitees not marked present counted absent. With the quorum met and an option
    adopted: the topic's Decision (summary default the option's text; owner, deadline and work if
    given) and topic.decided_at; otherwise None, and `tally(meeting)` says why. Participants and
    invitees are told."""
    now = now or timezone.now()
    minutes = _text(minutes, 20000, "minutes", _("会议纪要"))
    if not minutes:
        raise DeliberationError(_("请填写会议纪要"), code="minutes")
    work = _text(work, 2000, "work", _("办理事项"))
    summary = _text(summary, 2000, "summary", _("决定内容"))
    owner_name = _text(owner_name, 100, "owner_name", _("负责人"))
    with transaction.atomic():
        m = _locked(user, meeting)
        _require_manage(user, m)
        _require_scheduled(m)
        t = Topic.objects.select_for_update(of=("self",)).select_related("phase", "node").get(pk=m.topic_id)
        if Decision.objects.filter(topic=t).exists():
            raise Conflict(_("议题已形成决定，一个议题只能有一个决定"), code="decided")
        if not services.phase_open(t, "meeting"):
            raise Conflict(_("议题已不在商议阶段，请取消这次议事会"), code="phase")
        owner = _account(owner)
        deadline = _date(deadline)
        if deadline is not None and deadline < timezone.localtime(now).date():
            raise DeliberationError(_("办理期限不能早于今天"), code="deadline")
        Invitee.objects.filter(meeting=m, attended__isnull=True).update(attended=False)
        m.state, m.held_at, m.minutes = Meeting.State.HELD, now, minutes
        m.quorum, m.majority = conf.get_float("DELIBERATION_QUORUM"), conf.get_float("DELIBERATION_MAJORITY")
        m.save(update_fields=["state", "held_at", "minutes", "quorum", "majority"])
        count = tally(m)
        decision = None
        if count["adopted"] is not None:
            option = Option.objects.get(pk=count["adopted"]["id"])
            try:
                with transaction.atomic():
                    decision = Decision.objects.create(
                        topic=t, meeting=m, option=option, summary=summary or option.text,
                        invited=count["invited"], present=count["present"], votes_for=count["adopted"]["votes"],
                        decided_at=now, decided_by=user, owner=owner,
                        owner_name=owner_name or person_name(owner), deadline=deadline, work=work)
            except IntegrityError:
                raise Conflict(_("议题已形成决定，一个议题只能有一个决定"), code="decided") from None
            Topic.objects.filter(pk=t.pk).update(decided_at=now, version=F("version") + 1)
            history.record(user, HISTORY_DECISIONS, decision, "create", {
                "topic": t.pk, "meeting": m.pk, "option": option.text, "invited": decision.invited,
                "present": decision.present, "votes_for": decision.votes_for, "owner": decision.owner_name,
                "deadline": deadline.isoformat() if deadline else None}, grid_path=t.node.path, at=now)
        history.record(user, HISTORY, m, "close", {
            "state": [Meeting.State.SCHEDULED, Meeting.State.HELD], "invited": count["invited"],
            "present": count["present"], "outcome": count["outcome"], "quorum": m.quorum, "majority": m.majority,
        }, grid_path=t.node.path, note=count["reason"][:255], at=now)
        if decision is not None:
            title, body = f"议题“{t.title}”已形成决定", f"{decision.summary}（{count['reason']}）"
        else:
            title, body = f"议事会“{m.title}”未形成决定", f"{count['reason']}。社区将再次召集协商。"
        invitees = list(m.invitees.all())
        skip = [i.user_id for i in invitees if i.user_id]
        transaction.on_commit(lambda: services.notify_participants(t, "meeting_held", title, body, exclude=skip))
        _notify(invitees, "meeting_held", title, body, m)
    return decision


# --- the topic pages -------------------------------------------------------------------------


def decision_out(decision) -> dict | None:
    if decision is None:
        return None
    return {"id": decision.pk, "summary": decision.summary, "option": decision.option.text if decision.option_id else "",
            "invited": decision.invited, "present": decision.present, "votes_for": decision.votes_for,
            "decided_at": decision.decided_at, "owner_name": decision.owner_name, "deadline": decision.deadline,
            "work": decision.work, "meeting": decision.meeting_id}


def staff_context(user, topic) -> dict:
    """What the staff topic page (/deliberation/topics/<id>/) shows of this slice: the context of
    templates/deliberation/_staff_topic_meetings.html: the topic's meetings with their count, the
    decision, and the convening form with the suggested parties when the user may convene."""
    rows = [{"meeting": m, "tally": tally(m)} for m in topic.meetings.select_related("convened_by").order_by("-starts_at", "-id")]
    refusal = convene_refusal(user, topic)
    may = not refusal
    decision = Decision.objects.filter(topic=topic).select_related("option").first()
    return {"meetings": {
        "rows": rows, "may_convene": may, "refusal": refusal if services.may_manage(user, topic) else "",
        "show": bool(rows) or topic.phase.meeting, "decision": decision_out(decision),
        "suggested": suggested_parties(topic) if may else [], "parties": Invitee.Party.choices,
        "modes": Meeting.Mode.choices, "extra_rows": range(3),
    }}


def m_context(user, topic) -> dict:
    """What the phone topic page (/m/deliberation/topics/<id>/) shows of this slice: the context
    of templates/deliberation/_m_topic_meetings.html: each meeting's time and place and, once held,
    the count (never who voted for what) and the decision; for an invitee a link to their
    meeting page."""
    mine = set(Invitee.objects.filter(meeting__topic=topic, user=user).values_list("meeting_id", flat=True)) \
        if signed_in(user) else set()
    items = []
    for m in topic.meetings.order_by("-starts_at", "-id"):
        items.append({"meeting": m, "tally": tally(m) if m.state == Meeting.State.HELD else None,
                      "invited": m.pk in mine, "link": f"/m/deliberation/meetings/{m.pk}/" if m.pk in mine else ""})
    decision = Decision.objects.filter(topic=topic).select_related("option").first()
    return {"meetings": {"items": items, "decision": decision_out(decision),
                         "show": bool(items) or topic.phase.meeting}}
