"""Disputes (矛盾纠纷排查化解): record, mediate, end (agreed / referred / failed), follow up; the
ledger by grid and community with the disputes at risk of escalating.

* `record_dispute` books a dispute with its parties (names; phones encrypted, shown masked) on
  the finest grid of its place (a phone's position, placed by the geo locator) or on a given
  grid; its number is "JF" + the local month + a sequence ("JF202601-0001"), unique (a clash of
  two recordings at once is retried).
* `add_session` records a mediation session (the mediators: grid worker, 人民调解员, police,
  lawyer, community cadre, ...); the first moves RECORDED → MEDIATING.
* `end_dispute` ends it in an agreement (agreed), a referral (referred, to 派出所, 人民法院, ...)
  or a failure (failed); the follow-up (回访) is due GRIDWORK_FOLLOW_UP_DAYS days later.
* `follow_up` records the follow-up: the outcome holds → CLOSED; the agreement broke → reopened
  (MEDIATING again). `reopen` reopens an ended dispute explicitly.
* `set_risk` changes the risk; raising it to high tells the community's secretary and the
  street's leaders (notifications delivered on commit). Recording a dispute at high risk does too.

Every change: one transaction, one `DisputeEvent`, compare-and-set on `version` (a stale version
is a Conflict, 409). Who may (accounts.policy kind `disputes`): create — record one in the grid;
update — mediate, end, follow up, change the risk (the recorder always may on their own dispute);
personal — the parties' clear phone numbers (every read audited, core.audit action "reveal").
Rows are read through `Dispute.objects.visible_to(user)` (the grids in the user's list scope,
plus the disputes they recorded)."""

from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.geo import levels as gl
from gridgov.accounts import policy
from gridgov.core import audit, crypto

from . import conf, periods
from .errors import Conflict, Forbidden, GridworkError, NotFound  # noqa: F401 (the modules' errors)
from .models import DISPUTES_KIND, Dispute, DisputeEvent, DisputeParty, MediationSession

KIND = DISPUTES_KIND
S = Dispute.State
#: a medium-risk dispute open longer than this many days is at risk of escalating
MEDIUM_RISK_DAYS = 15
#: an open dispute after this many sessions without an agreement is at risk of escalating
SESSIONS_WITHOUT_AGREEMENT = 2
OUTCOMES = (S.AGREED, S.REFERRED, S.FAILED)
#: where disputes are usually referred to (the forms offer them)
REFERRALS = ("派出所", "人民法院", "劳动监察大队", "司法所", "市场监管所", "住建部门", "信访办")
RISK_ORDER = {Dispute.Risk.LOW: 0, Dispute.Risk.MEDIUM: 1, Dispute.Risk.HIGH: 2}
MAX_PARTIES = 20


#: disputes' errors are grid work's (gridwork.errors)
DisputeError = GridworkError


# --- helpers ---------------------------------------------------------------------------------


def _now(now):
    return now or timezone.now()


def _actor_name(u):
    return (getattr(u, "display_name", "") or getattr(u, "username", "")) if u is not None else ""


def _event(d: Dispute, actor, action: str, from_state: str, note: str = "", data=None, at=None) -> DisputeEvent:
    return DisputeEvent.objects.create(dispute=d, at=at or timezone.now(), actor=actor if getattr(actor, "pk", None) else None,
                                       actor_name=_actor_name(actor), action=action, from_state=from_state or "",
                                       to_state=d.state, note=note or "", data=data or {})


def _notify(user, title, body="", at=None):
    from gridgov.cases import notify

    if user is not None:  # outbox rows in this transaction, delivered on commit (cases.notify)
        notify.queue(user, "gridwork_dispute", title, body, at=at)


def _locked(d: Dispute) -> Dispute:
    return Dispute.objects.select_for_update().get(pk=d.pk)


def _check_version(d: Dispute, expected):
    if expected not in (None, "") and int(expected) != d.version:
        raise Conflict(_("记录已被他人修改，请刷新后重试"), code="stale")


def _save(d: Dispute, *fields):
    d.version += 1
    d.save(update_fields=[*fields, "version"])


def community_path(path: str) -> str:
    """The path of the community (level 1) of a grid path ("/S/C1/G1/" → "/S/C1/")."""
    return gl.community_path(path) or (path or "")


def grid_of_path(path: str) -> str:
    """The path of the grid (level 2) of a path (a micro-grid's parent grid)."""
    parts = [p for p in (path or "").split("/") if p]
    return "/" + "/".join(parts[:3]) + "/" if len(parts) >= 3 else (path or "")


def may_update(user, d: Dispute) -> bool:
    if policy.allows(user, KIND, "update", d.grid_path):
        return True
    return (d.recorded_by_id is not None and d.recorded_by_id == getattr(user, "pk", None)
            and policy.reach(user, KIND, "create") != policy.NEVER)


def may_see_phones(user, d: Dispute) -> bool:
    return policy.allows(user, KIND, "personal", d.grid_path)


def _require_create(user, path: str, day: date):
    """`user` may record a dispute on `path` on `day`: disputes × create over the grid now, or
    (a dispute booked late: the demo, a worker since moved on) a duty on the grid that day."""
    if policy.allows(user, KIND, "create", path):
        return
    if policy.reach(user, KIND, "create") != policy.NEVER:
        one = periods.Period(day.isoformat(), "day", day, day)
        if any(path.startswith(s.path) for s in periods.spans(one, users=[user.pk])):
            return
    raise Forbidden(_("您没有权限在该网格登记纠纷"))


def _require_update(user, d: Dispute):
    if not may_update(user, d):
        raise Forbidden(_("您没有权限处理该纠纷"))


def _place(lon, lat, crs, grid):
    """(grid node, lon, lat) of a dispute: the given grid, else the finest grid of the point."""
    from gridgov.geo.models import GridNode

    x = y = None
    if lon not in (None, "") and lat not in (None, ""):
        from .day import to_wgs

        x, y = to_wgs(lon, lat, crs or "wgs84")
    if grid is not None and not hasattr(grid, "path"):
        grid = GridNode.objects.filter(pk=grid).first() or GridNode.objects.filter(path=str(grid)).first()
        if grid is None:
            raise DisputeError(_("网格不存在"), code="grid")
    if grid is None and x is not None:
        from gridgov.geo.locator import get_locator

        ref = get_locator().finest(x, y)
        grid = GridNode.objects.filter(pk=ref.id).first() if ref is not None else None
        if grid is None:
            raise DisputeError(_("该位置不在任何网格内"), code="position")
    if grid is None:
        raise DisputeError(_("请选择纠纷发生的网格或提供位置"), code="grid")
    return grid, x, y


def _clean_parties(parties) -> list[dict]:
    out = []
    for p in parties or ():
        if isinstance(p, dict):
            name, phone, role, resident = p.get("name"), p.get("phone"), p.get("role"), p.get("resident")
        else:
            name, phone, role, resident = (tuple(p) + (None,) * 4)[:4]
        name = (name or "").strip()
        if not name:
            continue
        phone = "".join(ch for ch in str(phone or "") if ch.isdigit() or ch == "-")
        if phone and len(phone.replace("-", "")) < 7:
            raise DisputeError(_("%(name)s 的电话号码无效"), code="phone", name=name)
        if resident is not None and not hasattr(resident, "pk"):
            from gridgov.registry.models import Resident

            resident = Resident.objects.filter(pk=resident).first()
        out.append({"name": name[:50], "phone": phone, "role": (role or "").strip()[:40], "resident": resident})
    if len(out) < 1:
        raise DisputeError(_("请至少填写一方当事人"), code="parties")
    if len(out) > MAX_PARTIES:
        raise DisputeError(_("当事人最多 %(n)s 个"), code="parties", n=MAX_PARTIES)
    return out


def _next_number(month: str) -> str:
    prefix = f"JF{month}-"
    last = (Dispute.objects.filter(number__startswith=prefix).order_by("-number").values_list("number", flat=True)
            .first())
    seq = int(last[len(prefix):]) + 1 if last else 1
    return f"{prefix}{seq:04d}"


def _escalation_recipients(d: Dispute) -> list:
    """The community's secretary (else its staff) and the street's leaders (those assigned to
    the street node, else every active leader)."""
    from gridgov.accounts.models import Duty, GridAssignment, Role, User

    people = []
    cpath = community_path(d.grid_path)
    sec = list(GridAssignment.objects.in_force().filter(node__path=cpath, duty=Duty.SECRETARY, user__is_active=True)
               .select_related("user").order_by("id"))
    people += [a.user for a in sec]
    street = list(GridAssignment.objects.in_force()
                  .filter(node__level=gl.street_level(), node__path=gl.street_path(cpath), user__role=Role.LEADER, user__is_active=True).select_related("user")
                  .order_by("id"))
    leaders = [a.user for a in street] or list(User.objects.filter(role=Role.LEADER, is_active=True).order_by("id"))
    people += leaders
    seen, out = set(), []
    for u in people:
        if u.pk not in seen:
            seen.add(u.pk)
            out.append(u)
    return out


def _tell_high_risk(d: Dispute, actor, at):
    title = str(_("高风险矛盾纠纷：%(n)s") % {"n": d.number})
    for u in _escalation_recipients(d):
        if u.pk != getattr(actor, "pk", None):
            _notify(u, title, d.summary[:80], at=at)


# --- state changes ---------------------------------------------------------------------------


def record_dispute(actor, kind: str, summary: str, parties, risk: str = Dispute.Risk.LOW, place: str = "",
                   lon=None, lat=None, crs: str = "wgs84", grid=None, case=None, *, now=None) -> Dispute:
    """Record a dispute (disputes × create on its grid); returns it with its new number."""
    from gridgov.core.freetext import mask_personal

    now = _now(now)
    summary = (summary or "").strip()
    if not summary:
        raise DisputeError(_("请填写纠纷简要情况"), code="summary")
    if kind not in Dispute.Kind.values:
        raise DisputeError(_("纠纷类别无效：%(k)s"), code="kind", k=kind)
    if risk not in Dispute.Risk.values:
        raise DisputeError(_("风险等级无效：%(r)s"), code="risk", r=risk)
    people = _clean_parties(parties)
    node, x, y = _place(lon, lat, crs, grid)
    _require_create(actor, node.path, timezone.localtime(now).date())
    month = f"{timezone.localtime(now):%Y%m}"
    with transaction.atomic():
        for attempt in range(8):
            try:
                with transaction.atomic():  # a savepoint: a clash of numbers is retried
                    d = Dispute.objects.create(
                        number=_next_number(month), kind=kind, risk=risk, summary=mask_personal(summary),
                        place=(place or "").strip()[:200], lon=x, lat=y, grid=node, grid_path=node.path,
                        recorded_by=actor if getattr(actor, "pk", None) else None, recorded_at=now, case=case)
                break
            except IntegrityError:  # two recordings took the same number: take the next one
                if attempt == 7:
                    raise
        DisputeParty.objects.bulk_create([
            DisputeParty(dispute=d, name=p["name"], role=p["role"], resident=p["resident"],
                         phone_enc=crypto.encrypt(p["phone"]) if p["phone"] else "",
                         phone_masked=crypto.mask_phone(p["phone"]) if p["phone"] else "")
            for p in people])
        _event(d, actor, "record", "", data={"kind": kind, "risk": risk, "parties": len(people),
                                             "grid_path": node.path}, at=now)
        if risk == Dispute.Risk.HIGH:
            _tell_high_risk(d, actor, now)
    return d


def _clean_mediators(mediators, actor) -> list[dict]:
    out = []
    for m in mediators or ():
        kind = (m.get("kind") or MediationSession.MediatorKind.OTHER) if isinstance(m, dict) else m[0]
        name = ((m.get("name") if isinstance(m, dict) else m[1]) or "").strip()
        user = m.get("user") if isinstance(m, dict) else (m[2] if len(m) > 2 else None)
        if kind not in MediationSession.MediatorKind.values:
            raise DisputeError(_("调解人类别无效：%(k)s"), code="mediator", k=kind)
        user_id = getattr(user, "pk", user)
        if not name and user is not None and hasattr(user, "pk"):
            name = _actor_name(user)
        if not name:
            continue
        out.append({"kind": kind, "name": name[:50], "user": int(user_id) if user_id not in (None, "") else None})
    if not out:
        out = [{"kind": MediationSession.MediatorKind.GRID_WORKER, "name": _actor_name(actor), "user": actor.pk}]
    return out


def add_session(actor, dispute: Dispute, at=None, mediators=(), note: str = "", *, version=None,
                now=None) -> MediationSession:
    """A mediation session of an open dispute (RECORDED → MEDIATING on the first)."""
    from gridgov.core.freetext import mask_personal

    from .day import _as_datetime

    now = _now(now)
    at = _as_datetime(at, now)
    if at > now + timedelta(minutes=5):
        raise DisputeError(_("调解时间不能晚于现在"), code="at")
    _require_update(actor, dispute)
    people = _clean_mediators(mediators, actor)
    with transaction.atomic():
        d = _locked(dispute)
        _check_version(d, version)
        if d.state not in Dispute.OPEN_STATES:
            raise Conflict(_("纠纷已结束，不能再添加调解记录"), code="state")
        if at < d.recorded_at:
            raise DisputeError(_("调解时间不能早于登记时间"), code="at")
        s = MediationSession.objects.create(dispute=d, at=at, mediators=people, note=mask_personal((note or "").strip()),
                                            recorded_by=actor)
        old = d.state
        d.state = S.MEDIATING
        _save(d, "state")
        _event(d, actor, "session", old, note=s.note, data={"session": s.pk, "mediators": people,
                                                            "at": at.isoformat()}, at=now)
    dispute.state, dispute.version = d.state, d.version
    return s


def end_dispute(actor, dispute: Dispute, outcome: str, text: str = "", referred_to: str = "", *, version=None,
                now=None) -> Dispute:
    """End an open dispute: agreed (the agreement), referred (where to) or failed (why); the
    follow-up falls due GRIDWORK_FOLLOW_UP_DAYS days later. Agreed and failed need a session."""
    from gridgov.core.freetext import mask_personal

    now = _now(now)
    if outcome not in OUTCOMES:
        raise DisputeError(_("结果无效：%(o)s"), code="outcome", o=outcome)
    text = (text or "").strip()
    referred_to = (referred_to or "").strip()[:100]
    if outcome == S.REFERRED and not referred_to:
        raise DisputeError(_("请填写移交的单位"), code="referred_to")
    if outcome != S.REFERRED and not text:
        raise DisputeError(_("请填写调解协议或调解不成的原因"), code="text")
    _require_update(actor, dispute)
    with transaction.atomic():
        d = _locked(dispute)
        _check_version(d, version)
        if d.state not in Dispute.OPEN_STATES:
            raise Conflict(_("纠纷已结束"), code="state")
        if outcome != S.REFERRED and not d.sessions.exists():
            raise DisputeError(_("请先记录调解过程"), code="no_session")
        old = d.state
        d.state, d.outcome, d.referred_to, d.ended_at = outcome, mask_personal(text), referred_to, now
        d.follow_up_on = timezone.localtime(now).date() + timedelta(days=conf.get_int("GRIDWORK_FOLLOW_UP_DAYS"))
        d.followed_up_at = None
        _save(d, "state", "outcome", "referred_to", "ended_at", "follow_up_on", "followed_up_at")
        _event(d, actor, outcome, old, note=d.outcome,
               data={"referred_to": referred_to, "follow_up_on": d.follow_up_on.isoformat()}, at=now)
    return d


def _reopen(d: Dispute, actor, note, now, *, follow_up: bool):
    old = d.state
    d.state, d.ended_at, d.follow_up_on = S.MEDIATING, None, None
    fields = ["state", "ended_at", "follow_up_on"]
    if follow_up:
        d.followed_up_at = now
        fields.append("followed_up_at")
    _save(d, *fields)
    _event(d, actor, "reopen", old, note=note, data={"follow_up": follow_up, "outcome": d.outcome}, at=now)


def follow_up(actor, dispute: Dispute, note: str = "", holds: bool = True, *, version=None, now=None) -> Dispute:
    """The follow-up (回访) of an ended dispute: the outcome holds → CLOSED; the agreement broke
    (`holds=False`) → reopened, MEDIATING again."""
    from gridgov.core.freetext import mask_personal

    now = _now(now)
    note = mask_personal((note or "").strip())
    if not note:
        raise DisputeError(_("请填写回访情况"), code="note")
    _require_update(actor, dispute)
    with transaction.atomic():
        d = _locked(dispute)
        _check_version(d, version)
        if d.state not in OUTCOMES:
            raise Conflict(_("该纠纷不在待回访状态"), code="state")
        if holds:
            old = d.state
            d.state, d.followed_up_at, d.follow_up_on = S.CLOSED, now, None
            _save(d, "state", "followed_up_at", "follow_up_on")
            _event(d, actor, "follow_up", old, note=note, data={"holds": True, "outcome": old}, at=now)
        else:
            _reopen(d, actor, note, now, follow_up=True)
            _tell_reopened(d, actor, now)
    return d


def _tell_reopened(d, actor, now):
    if d.recorded_by_id and d.recorded_by_id != getattr(actor, "pk", None):
        _notify(d.recorded_by, str(_("纠纷已重新调解：%(n)s") % {"n": d.number}), d.summary[:80], at=now)


def reopen(actor, dispute: Dispute, note: str = "", *, version=None, now=None) -> Dispute:
    """Reopen an ended (or closed) dispute: MEDIATING again (the agreement broke, the referral
    came back)."""
    from gridgov.core.freetext import mask_personal

    now = _now(now)
    note = mask_personal((note or "").strip())
    if not note:
        raise DisputeError(_("请填写重新调解的原因"), code="note")
    _require_update(actor, dispute)
    with transaction.atomic():
        d = _locked(dispute)
        _check_version(d, version)
        if d.state in Dispute.OPEN_STATES:
            raise Conflict(_("纠纷仍在调解中"), code="state")
        _reopen(d, actor, note, now, follow_up=False)
        _tell_reopened(d, actor, now)
    return d


def set_risk(actor, dispute: Dispute, risk: str, note: str = "", *, version=None, now=None) -> Dispute:
    """Change the risk of an open dispute; raised to high: the community's secretary and the
    street's leaders are told (on commit)."""
    now = _now(now)
    if risk not in Dispute.Risk.values:
        raise DisputeError(_("风险等级无效：%(r)s"), code="risk", r=risk)
    _require_update(actor, dispute)
    with transaction.atomic():
        d = _locked(dispute)
        _check_version(d, version)
        if d.state not in Dispute.OPEN_STATES:
            raise Conflict(_("纠纷已结束，不能调整风险等级"), code="state")
        if d.risk == risk:
            return d
        old = d.risk
        d.risk = risk
        _save(d, "risk")
        _event(d, actor, "risk", d.state, note=(note or "").strip(), data={"risk": [old, risk]}, at=now)
        if risk == Dispute.Risk.HIGH:
            _tell_high_risk(d, actor, now)
    return d


# --- reading ---------------------------------------------------------------------------------


def get_dispute(user, key) -> Dispute:
    """A dispute the user may see, by id or number; NotFound otherwise."""
    qs = Dispute.objects.visible_to(user).select_related("grid", "recorded_by", "case")
    d = qs.filter(number=key).first() if isinstance(key, str) and not key.isdigit() else qs.filter(pk=int(key)).first()
    if d is None:
        raise NotFound(_("纠纷不存在或无权查看"))
    return d


def party_phones(user, dispute: Dispute) -> list[dict]:
    """The parties' clear phone numbers (disputes × personal on the dispute's grid); the read is
    audited (one entry, action "reveal")."""
    if not may_see_phones(user, dispute):
        raise Forbidden(_("您没有权限查看当事人的联系电话"))
    parties = list(dispute.parties.all())
    with transaction.atomic():
        audit.record(user, "reveal", dispute, fields="parties.phone", detail=dispute.number)
        return [{"id": p.pk, "name": p.name, "role": p.role, "phone": crypto.decrypt(p.phone_enc) if p.phone_enc else ""}
                for p in parties]


def at_risk(d: Dispute, now=None, *, sessions: int | None = None, reopened: bool | None = None) -> bool:
    """At risk of escalating (有激化风险): an open dispute that is high risk; or medium risk and
    open longer than MEDIUM_RISK_DAYS (15) days; or mediated SESSIONS_WITHOUT_AGREEMENT (2) or
    more times without an agreement; or reopened (an agreement that broke). `at_risk_q` is the
    same rule as a query."""
    now = _now(now)
    if d.state not in Dispute.OPEN_STATES:
        return False
    if sessions is None:
        sessions = getattr(d, "n_sessions", None)
        sessions = d.sessions.count() if sessions is None else sessions
    if reopened is None:
        reopened = getattr(d, "was_reopened", None)
        reopened = d.events.filter(action="reopen").exists() if reopened is None else reopened
    return (d.risk == Dispute.Risk.HIGH
            or (d.risk == Dispute.Risk.MEDIUM and d.recorded_at < now - timedelta(days=MEDIUM_RISK_DAYS))
            or sessions >= SESSIONS_WITHOUT_AGREEMENT or bool(reopened))


def annotated(qs):
    return qs.annotate(n_sessions=Count("sessions", distinct=True),
                       was_reopened=Exists(DisputeEvent.objects.filter(dispute=OuterRef("pk"), action="reopen")))


def at_risk_q(now=None) -> Q:
    """`at_risk` as a filter on a queryset passed through `annotated`."""
    now = _now(now)
    return Q(state__in=Dispute.OPEN_STATES) & (
        Q(risk=Dispute.Risk.HIGH)
        | Q(risk=Dispute.Risk.MEDIUM, recorded_at__lt=now - timedelta(days=MEDIUM_RISK_DAYS))
        | Q(n_sessions__gte=SESSIONS_WITHOUT_AGREEMENT) | Q(was_reopened=True))


def overdue_q(today: date) -> Q:
    """Ended disputes whose follow-up is overdue."""
    return Q(state__in=OUTCOMES, follow_up_on__lt=today)


LEDGER_FILTERS = ("community", "grid", "state", "kind", "risk", "period", "at_risk", "overdue", "q")


def _flag(v) -> bool:
    return str(v or "").strip().lower() in ("1", "true", "yes", "on")


def ledger(user, *, community: str = "", grid: str = "", state: str = "", kind: str = "", risk: str = "",
           period: str = "", at_risk="", overdue="", q: str = "", now=None):
    """The disputes `user` sees (disputes × list, plus their own), filtered: community / grid (a
    path prefix), state ("open" for recorded or mediating, "ended" for awaiting the follow-up),
    kind, risk, period (periods.parse: recorded in it), at_risk, overdue follow-ups, q (number or
    summary text). Annotated with n_sessions, was_reopened, risky; the at-risk ones first."""
    from django.db.models import BooleanField, Case, Value, When

    now = _now(now)
    if not policy.allows(user, KIND, "list"):
        raise Forbidden(_("您没有权限查看纠纷台账"))
    qs = annotated(Dispute.objects.visible_to(user))
    if community:
        qs = qs.filter(grid_path__startswith=community)
    if grid:
        qs = qs.filter(grid_path__startswith=grid)
    if state == "open":
        qs = qs.filter(state__in=Dispute.OPEN_STATES)
    elif state == "ended":
        qs = qs.filter(state__in=OUTCOMES)
    elif state:
        if state not in S.values:
            raise DisputeError(_("状态无效：%(s)s"), code="state", s=state)
        qs = qs.filter(state=state)
    if kind:
        qs = qs.filter(kind=kind)
    if risk:
        qs = qs.filter(risk=risk)
    if period:
        try:
            p = periods.parse(period)
        except (ValueError, KeyError):
            raise DisputeError(_("期间格式无效：%(p)s"), code="period", p=period) from None
        qs = qs.filter(recorded_at__gte=p.start, recorded_at__lt=p.end)
    if q:
        q = q.strip()
        qs = qs.filter(Q(number__icontains=q) | Q(summary__icontains=q) | Q(place__icontains=q))
    risky = at_risk_q(now)
    qs = qs.annotate(risky=Case(When(risky, then=Value(True)), default=Value(False), output_field=BooleanField()))
    if _flag(at_risk):
        qs = qs.filter(risky=True)
    if _flag(overdue):
        qs = qs.filter(overdue_q(timezone.localtime(now).date()))
    return qs.order_by("-risky", "-recorded_at", "-id")


def ledger_counts(qs, now=None) -> dict:
    """Counts of a ledger: total, open, at risk, overdue follow-ups, by state, by kind, and by
    grid and by community (each: path, name, total, open, at_risk, agreed, referred, failed,
    closed, overdue)."""
    from gridgov.geo.models import GridNode

    now = _now(now)
    today = timezone.localtime(now).date()
    rows = list(qs.values_list("grid_path", "state", "kind", "risky", "follow_up_on"))
    total = {"total": 0, "open": 0, "at_risk": 0, "overdue": 0}
    by_state, by_kind, groups = {}, {}, {"grid": {}, "community": {}}
    for path, state, kind, risky, fu in rows:
        over = state in OUTCOMES and fu is not None and fu < today
        by_state[state] = by_state.get(state, 0) + 1
        by_kind[kind] = by_kind.get(kind, 0) + 1
        for key, gp in (("grid", grid_of_path(path)), ("community", community_path(path))):
            g = groups[key].setdefault(gp, {"path": gp, "total": 0, "open": 0, "at_risk": 0, "overdue": 0,
                                            **{s: 0 for s in (S.AGREED, S.REFERRED, S.FAILED, S.CLOSED)}})
            for t in (g, total) if key == "grid" else (g,):
                t["total"] += 1
                t["open"] += state in Dispute.OPEN_STATES
                t["at_risk"] += bool(risky)
                t["overdue"] += over
            if state in g:
                g[state] += 1
    names = dict(GridNode.objects.filter(path__in=set(groups["grid"]) | set(groups["community"]))
                 .values_list("path", "name"))
    out = {**total, "by_state": by_state, "by_kind": by_kind}
    for key in ("grid", "community"):
        items = sorted(groups[key].values(), key=lambda g: (-g["at_risk"], -g["open"], g["path"]))
        for g in items:
            g["name"] = names.get(g["path"], g["path"])
        out[f"by_{key}"] = items
    return out


def my_open(user):
    """The open disputes a worker recorded or may mediate in their grids, at-risk ones first."""
    return ledger(user, state="open") if policy.allows(user, KIND, "list") else \
        annotated(Dispute.objects.filter(recorded_by=user, state__in=Dispute.OPEN_STATES)).order_by("-recorded_at")


def ledger_xlsx(qs, now=None) -> bytes:
    """The filtered ledger as a workbook (core.tabular: every cell made safe; phones masked)."""
    from gridgov.core.tabular import Workbook

    def local(v):
        return timezone.localtime(v).replace(tzinfo=None) if v else None

    wb = Workbook()
    s = wb.sheet(str(_("矛盾纠纷台账")))
    s.append([_("编号"), _("类别"), _("风险"), _("状态"), _("激化风险"), _("网格"), _("地点"), _("简要情况"),
              _("当事人"), _("登记人"), _("登记时间"), _("调解次数"), _("结果"), _("移交单位"), _("结束时间"),
              _("回访期限"), _("回访时间")], bold=True)
    for d in qs.select_related("grid", "recorded_by").prefetch_related("parties"):
        parties = "；".join(f"{p.name}（{p.role}）{p.phone_masked}" if p.role else f"{p.name} {p.phone_masked}"
                           for p in d.parties.all())
        s.append([d.number, d.get_kind_display(), d.get_risk_display(), d.get_state_display(),
                  _("是") if getattr(d, "risky", False) else _("否"), d.grid.name if d.grid_id else d.grid_path,
                  d.place, d.summary, parties, _actor_name(d.recorded_by), local(d.recorded_at),
                  getattr(d, "n_sessions", None), d.outcome, d.referred_to, local(d.ended_at), d.follow_up_on,
                  local(d.followed_up_at)])
    return wb.getvalue()


def history(d: Dispute):
    return d.events.select_related("actor").order_by("at", "id")
