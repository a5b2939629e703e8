"""The property alliance's state changes: inspections (plan, start, deduct, submit, cancel) and the
problem ledger (open, answer, re-check, cancel, escalate). Scores live in scores.py, the
indicator system in indicators.py.

Every state change: one transaction, one history row (a `ProblemEvent` for a problem,
core.history for an inspection), the notifications of the people who should know, queued on
commit (cases.notify). Times come in as `now=` (default the clock) so the demo can write a year.

Who may do what:
* street staff per the access table's kind `property` (list: see; create: plan and conduct
  inspections; update: re-check, cancel, change deadlines) over the grid path of the project;
* a property company's users (policy.RELATIONS["property"] with the company's department) see
  their company's projects, inspections and problems and answer their problems."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.geo import levels as gl
from gridgov.accounts import policy
from gridgov.core import history
from gridgov.core.errors import CodedError

from . import indicators
from .models import POLICY_KIND, Deduction, Indicator, Inspection, Problem, ProblemEvent, ProblemPhoto

KIND = POLICY_KIND
#: history kinds of core.history this app writes (the demo drops them on a rebuild)
HISTORY_KINDS = ("property_inspections", "property_indicators", "property_scores")


class PropertyError(CodedError):
    status = 400


class NotFound(PropertyError):
    status = 404
    code = "not_found"


class Forbidden(PropertyError):
    status = 403
    code = "not_allowed"


class Conflict(PropertyError):
    status = 409
    code = "conflict"


# --- quarters ------------------------------------------------------------------------------


def quarter_of(moment) -> str:
    """"2026Q3" of a date or an aware datetime (in local time)."""
    if isinstance(moment, datetime):
        moment = timezone.localtime(moment).date()
    return f"{moment.year}Q{(moment.month - 1) // 3 + 1}"


def parse_quarter(text: str) -> tuple[int, int]:
    """(year, quarter) of "2026Q3" / "2026-Q3" / "2026q3"; PropertyError otherwise."""
    t = (text or "").strip().upper().replace("-", "")
    if len(t) == 6 and t[:4].isdigit() and t[4] == "Q" and t[5] in "1234":
        return int(t[:4]), int(t[5])
    raise PropertyError(_("季度须写成 YYYY-QN，如 2026-Q3（收到“%(text)s”）"), code="quarter", text=text)


def quarter_key(text: str) -> str:
    y, q = parse_quarter(text)
    return f"{y}Q{q}"


def quarter_bounds(text: str) -> tuple[datetime, datetime]:
    """[start, end) of a quarter as aware local datetimes."""
    y, q = parse_quarter(text)
    start = date(y, 3 * q - 2, 1)
    end = date(y + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
    tz = timezone.get_current_timezone()
    return (timezone.make_aware(datetime.combine(start, datetime.min.time()), tz),
            timezone.make_aware(datetime.combine(end, datetime.min.time()), tz))


def previous_quarter(text: str) -> str:
    y, q = parse_quarter(text)
    return f"{y - 1}Q4" if q == 1 else f"{y}Q{q - 1}"


# --- who is who ------------------------------------------------------------------------------


def project_path(project) -> str:
    """The grid path a project lies on (its grid; else its first compound's community)."""
    if project.grid_id:
        return project.grid.path
    c = project.compounds.select_related("community").order_by("id").first()
    return c.community.path if c is not None else ""


def company_department(project) -> str:
    dep = project.company.department
    return dep.name if dep is not None and dep.active else ""


def is_company_user(user, project) -> bool:
    """Whether `user` works for the property company of `project` (answers its problems)."""
    dep = company_department(project)
    return bool(dep) and policy.holds(user, "property") and getattr(user, "department", "") == dep


def projects_visible_to(user):
    """The property projects `user` sees in the alliance: staff per `property` × list over the
    project's grid; a company's users their company's projects."""
    from gridgov.accounts.querysets import within_reach
    from gridgov.registry.models import PropertyProject

    qs = PropertyProject.objects.filter(ended_on__isnull=True)
    mine = within_reach(qs, user, KIND, "list", "grid__path")
    if policy.holds(user, "property") and getattr(user, "department", ""):
        mine = mine | qs.filter(company__department__name=user.department)
    return mine.distinct().order_by("id")


def company_users(project) -> list:
    from gridgov.accounts.models import User

    dep = company_department(project)
    if not dep:
        return []
    roles = policy.RELATIONS["property"]
    return list(User.objects.filter(department=dep, role__in=roles, is_active=True).order_by("id"))


def community_staff(path: str) -> list:
    """The staff serving the community of `path` who may update property records (they are told
    of late problems)."""
    from django.db.models import Q

    from gridgov.accounts.models import GridAssignment, User
    from gridgov.accounts.scope import scope_of

    community = "/".join(path.split("/")[:3]) + "/" if path.count("/") >= 3 else path
    # the candidates: a duty in force on the community, above it or inside it (scope_of's paths)
    parts = community.split("/")[:-1]
    above = ["/".join(parts[:k]) + "/" for k in range(1, len(parts) + 1)]
    duties = GridAssignment.objects.in_force().filter(Q(node__path__startswith=community) | Q(node__path__in=above))
    out = []
    for u in User.objects.filter(is_active=True, role__in=("community_staff", "community_secretary"),
                                 pk__in=duties.values("user_id")).order_by("id"):
        if policy.allows(u, KIND, "update", path) and any(community.startswith(p) or p.startswith(community)
                                                         for p in scope_of(u).paths):
            out.append(u)
    return out


def street_staff(grid_path: str = "") -> list:
    """Who hears of a problem late twice over: the users with `property` × update everywhere or
    over the street of `grid_path` (section staff of the street's grid; under a district, of that
    street or of the district)."""
    from gridgov.accounts.models import User
    from gridgov.accounts.scope import scope_of

    out = []
    for u in User.objects.filter(is_active=True, role__in=("section_staff", "admin")).order_by("id"):
        if policy.reach(u, KIND, "update") == policy.ALL:
            out.append(u)
        elif policy.reach(u, KIND, "update") == policy.OWN and any(
                len(gl.codes_of(p)) <= gl.street_level() + 1 and (not grid_path or grid_path.startswith(p))
                for p in scope_of(u).paths):
            out.append(u)
    return out


def _require(user, action: str, path: str):
    if not policy.allows(user, KIND, action, path):
        raise Forbidden(_("您没有权限进行此操作"))


def _notify(users, kind: str, title: str, body: str = "", payload=None):
    from gridgov.cases import notify

    for u in users:
        notify.queue(u, kind, title, body, payload=payload or {})


# --- inspections ----------------------------------------------------------------------------


def get_inspection(user, pk, *, for_update: bool = False) -> Inspection:
    qs = Inspection.objects.visible_to(user).select_related("project__company__department", "indicator_set")
    try:
        if for_update:
            return Inspection.objects.select_for_update(of=("self",)).select_related(
                "project__company__department", "indicator_set").get(pk=qs.get(pk=pk).pk)
        return qs.get(pk=pk)
    except Inspection.DoesNotExist:
        raise NotFound(_("检查不存在或无权查看")) from None


def _insp_record(actor, insp, action, changes=None, note="", at=None):
    history.record(actor, "property_inspections", insp, action, changes or {}, grid_path=insp.grid_path,
                   note=note, at=at)


@transaction.atomic
def plan_inspection(actor, project, *, planned_on: date, kind: str = Inspection.Kind.SCHEDULED,
                    by: str = Inspection.By.STAFF, inspector=None, expert_name: str = "", expert_org: str = "",
                    note: str = "", now=None) -> Inspection:
    """Plan (or start at once, for an unannounced visit the inspector opens on the spot) an
    inspection of `project` on `planned_on` by the set of that year."""
    now = now or timezone.now()
    path = project_path(project)
    _require(actor, "create", path)
    if kind not in Inspection.Kind.values or by not in Inspection.By.values:
        raise PropertyError(_("检查方式无效"), code="kind")
    if by == Inspection.By.EXPERT and not (expert_name or "").strip():
        raise PropertyError(_("第三方专家检查须填写专家姓名"), code="expert")
    if project.ended_on is not None:
        raise PropertyError(_("该物业项目已终止"), code="ended")
    s = indicators.set_for(planned_on.year)
    insp = Inspection.objects.create(
        project=project, indicator_set=s, kind=kind, by=by, inspector=inspector or actor,
        expert_name=(expert_name or "").strip(), expert_org=(expert_org or "").strip(), planned_on=planned_on,
        quarter=quarter_of(planned_on), note=note, grid_path=path, created_by=actor, created_at=now)
    _insp_record(actor, insp, "plan", {"planned_on": [None, planned_on.isoformat()], "kind": [None, kind]}, at=now)
    return insp


def _may_conduct(user, insp: Inspection) -> bool:
    return policy.allows(user, KIND, "create", insp.grid_path)


@transaction.atomic
def start_inspection(actor, insp: Inspection, *, lon=None, lat=None, now=None) -> Inspection:
    now = now or timezone.now()
    insp = get_inspection(actor, insp.pk, for_update=True)
    if not _may_conduct(actor, insp):
        raise Forbidden(_("您不能进行这次检查"))
    if insp.state != Inspection.State.PLANNED:
        raise Conflict(_("检查已%(state)s"), code="bad_state", state=insp.get_state_display())
    insp.state, insp.started_at, insp.lon, insp.lat = Inspection.State.IN_PROGRESS, now, lon, lat
    insp.version = F("version") + 1
    insp.save()
    insp.refresh_from_db()
    _insp_record(actor, insp, "start", {"state": ["planned", "in_progress"]}, at=now)
    return insp


def _open_inspection(actor, pk) -> Inspection:
    insp = get_inspection(actor, pk, for_update=True)
    if not _may_conduct(actor, insp):
        raise Forbidden(_("您不能进行这次检查"))
    if insp.state == Inspection.State.PLANNED:
        insp.state, insp.started_at = Inspection.State.IN_PROGRESS, timezone.now()
        insp.save(update_fields=["state", "started_at"])
    if insp.state != Inspection.State.IN_PROGRESS:
        raise Conflict(_("检查已%(state)s，不能再修改"), code="bad_state", state=insp.get_state_display())
    return insp


@transaction.atomic
def add_deduction(actor, insp: Inspection, *, indicator: Indicator, note: str, points=None, place: str = "",
                  lon=None, lat=None, photos=(), now=None) -> Deduction:
    """Record a finding: points off `indicator` (default: its step; a pass/fail indicator its full
    marks), what was seen, where, and at least one photo. Each becomes a problem when the
    inspection is submitted."""
    from gridgov.cases.photos import PhotoError, read_photos
    from django.core.files.base import ContentFile

    now = now or timezone.now()
    insp = _open_inspection(actor, insp.pk)
    if indicator.category.indicator_set_id != insp.indicator_set_id:
        raise PropertyError(_("该指标不属于本次检查的指标体系"), code="indicator")
    if not (note or "").strip():
        raise PropertyError(_("请写明扣分原因"), code="note")
    if indicator.method == Indicator.Method.PASS_FAIL:
        points = indicator.full_marks
    points = Decimal(str(points)) if points not in (None, "") else indicator.step
    if points <= 0 or points > indicator.full_marks:
        raise PropertyError(_("%(ind)s：扣分须大于 0、不超过满分 %(full)s"), code="points", ind=indicator.code,
                            full=f"{indicator.full_marks:g}")
    try:
        images = read_photos(photos)
    except PhotoError as exc:
        raise PropertyError(str(exc), code="photo") from None
    if not images:
        raise PropertyError(_("扣分须附现场照片"), code="photo")
    d = Deduction.objects.create(inspection=insp, indicator=indicator, points=points, note=note.strip(),
                                 place=(place or "").strip(), lon=lon, lat=lat, created_by=actor, created_at=now)
    for data, ctype in images:
        ProblemPhoto(deduction=d, problem=None, stage="found", content_type=ctype, size=len(data), taken_at=now,
                     lon=lon, lat=lat, uploaded_by=actor).file.save("p.jpg", ContentFile(data), save=True)
    _insp_record(actor, insp, "deduct", {"indicator": [None, indicator.code], "points": [None, str(points)]},
                 note=note, at=now)
    return d


@transaction.atomic
def remove_deduction(actor, deduction: Deduction, now=None) -> None:
    insp = _open_inspection(actor, deduction.inspection_id)
    _insp_record(actor, insp, "undeduct", {"indicator": [deduction.indicator.code, None]}, at=now)
    for p in deduction.photos.all():
        p.file.delete(save=False)
    deduction.delete()


def inspection_score(insp: Inspection) -> Decimal:
    inds = Indicator.objects.filter(category__indicator_set=insp.indicator_set_id)
    return indicators.score_of(insp.deductions.values_list("indicator_id", "points"), inds)


@transaction.atomic
def submit_inspection(actor, insp: Inspection, *, note: str = "", now=None, expected_version=None) -> Inspection:
    """Close the walk: fix the score by the set's rules, freeze the set, open one problem per
    deduction and tell the company."""
    now = now or timezone.now()
    insp = _open_inspection(actor, insp.pk)
    if expected_version is not None and insp.version != expected_version:
        raise Conflict(_("检查已被他人更新，请刷新后再试"), code="stale")
    insp.score = inspection_score(insp)
    insp.state, insp.submitted_at, insp.quarter = Inspection.State.SUBMITTED, now, quarter_of(now)
    if note:
        insp.note = (insp.note + "\n" + note).strip()
    insp.version = F("version") + 1
    insp.save()
    insp.refresh_from_db()
    indicators.freeze(insp.indicator_set, now)
    problems = [open_problem(actor, d, now=now, notify=False) for d in
                insp.deductions.select_related("indicator").order_by("id")]
    _insp_record(actor, insp, "submit", {"state": ["in_progress", "submitted"], "score": [None, str(insp.score)]},
                 note=note, at=now)
    users = company_users(insp.project)
    title = f"{insp.project.name}：检查得分 {insp.score:g}，{len(problems)} 个问题待整改"
    _notify(users, "property_inspection", title, payload={"inspection": insp.pk})
    return insp


@transaction.atomic
def cancel_inspection(actor, insp: Inspection, *, reason: str, now=None) -> Inspection:
    now = now or timezone.now()
    insp = get_inspection(actor, insp.pk, for_update=True)
    _require(actor, "update", insp.grid_path)
    if insp.state in (Inspection.State.SUBMITTED, Inspection.State.CANCELLED):
        raise Conflict(_("检查已%(state)s"), code="bad_state", state=insp.get_state_display())
    if not (reason or "").strip():
        raise PropertyError(_("请写明取消原因"), code="reason")
    before = insp.state
    insp.state = Inspection.State.CANCELLED
    insp.version = F("version") + 1
    insp.save()
    insp.refresh_from_db()
    _insp_record(actor, insp, "cancel", {"state": [before, "cancelled"]}, note=reason, at=now)
    return insp


# --- the problem ledger -----------------------------------------------------------------------


def _deadline(start, days: int):
    from gridgov.cases.workcal import WorkCalendar

    return WorkCalendar().add_working_days(start, days)


def _number(now) -> str:
    prefix = "WT" + timezone.localtime(now).strftime("%Y%m")
    last = (Problem.objects.filter(number__startswith=prefix).order_by("-number").values_list("number", flat=True)
            .first())
    seq = int(last[len(prefix):]) + 1 if last else 1
    return f"{prefix}{seq:04d}"


def _event(problem: Problem, actor, action: str, before: str, note: str = "", at=None, **data) -> ProblemEvent:
    name = ""
    if actor is not None and getattr(actor, "is_authenticated", False):
        name = getattr(actor, "display_name", "") or actor.username
    else:
        actor, name = None, "系统"
    return ProblemEvent.objects.create(problem=problem, at=at or timezone.now(), actor=actor, actor_name=name,
                                       action=action, from_state=before, to_state=problem.state,
                                       note=(note or "")[:2000], data=data)


def open_problem(actor, deduction: Deduction, *, days: int | None = None, now=None, notify: bool = True) -> Problem:
    """The ledger's row of a deduction (called when its inspection is submitted)."""
    now = now or timezone.now()
    insp = deduction.inspection
    ind = deduction.indicator
    days = int(days or ind.rectify_days or 5)
    compound = insp.project.compounds.order_by("id").first()
    p = Problem.objects.create(
        project=insp.project, compound=compound, inspection=insp, deduction=deduction, indicator=ind,
        number=_number(now), description=f"{ind.code} {ind.name}：{deduction.note}", place=deduction.place,
        lon=deduction.lon, lat=deduction.lat, days=days, opened_at=now, due_at=_deadline(now, days),
        grid_path=insp.grid_path)
    deduction.photos.update(problem=p)
    _event(p, actor, "open", "", at=now, days=days, points=str(deduction.points))
    if notify:
        users = company_users(insp.project)
        _notify(users, "property_problem", f"新整改问题 {p.number}", p.description, {"problem": p.pk})
    return p


def get_problem(user, pk, *, for_update: bool = False) -> Problem:
    qs = Problem.objects.visible_to(user)
    try:
        pk = qs.values_list("pk", flat=True).get(pk=pk)
    except Problem.DoesNotExist:
        raise NotFound(_("问题不存在或无权查看")) from None
    base = Problem.objects.select_related("project__company__department", "indicator", "inspection")
    return base.select_for_update(of=("self",)).get(pk=pk) if for_update else base.get(pk=pk)


def _save_photos(problem, actor, photos, stage, now, lon=None, lat=None) -> int:
    from django.core.files.base import ContentFile

    from gridgov.cases.photos import PhotoError, read_photos

    try:
        images = read_photos(photos)
    except PhotoError as exc:
        raise PropertyError(str(exc), code="photo") from None
    for data, ctype in images:
        ProblemPhoto(problem=problem, stage=stage, content_type=ctype, size=len(data), taken_at=now, lon=lon, lat=lat,
                     uploaded_by=actor).file.save("p.jpg", ContentFile(data), save=True)
    return len(images)


def _cas(problem: Problem, expected_version):
    if expected_version is not None and problem.version != expected_version:
        raise Conflict(_("问题已被他人更新，请刷新后再试"), code="stale")


@transaction.atomic
def answer_problem(actor, problem: Problem, *, note: str, photos=(), lon=None, lat=None, now=None,
                   expected_version=None) -> Problem:
    """The company says it is put right (立行改), with photos: the problem waits for the re-check."""
    now = now or timezone.now()
    p = get_problem(actor, problem.pk, for_update=True)
    _cas(p, expected_version)
    if not is_company_user(actor, p.project):
        raise Forbidden(_("只有该项目的物业公司人员可以回复整改"))
    if p.state != Problem.State.OPEN:
        raise Conflict(_("问题%(state)s，不能回复"), code="bad_state", state=p.get_state_display())
    if not (note or "").strip():
        raise PropertyError(_("请写明整改情况"), code="note")
    if not _save_photos(p, actor, photos, "answer", now, lon, lat):
        raise PropertyError(_("整改回复须附整改后照片"), code="photo")
    late = now > p.due_at
    p.state, p.answered_at = Problem.State.ANSWERED, now
    p.was_late = p.was_late or late
    p.version = F("version") + 1
    p.save()
    p.refresh_from_db()
    _event(p, actor, "answer", Problem.State.OPEN, note, at=now, late=late)
    users = community_staff(p.grid_path)
    _notify(users, "property_answered", f"整改问题 {p.number} 待复查", note, {"problem": p.pk})
    return p


def may_recheck(user, problem: Problem) -> bool:
    return policy.allows(user, KIND, "update", problem.grid_path)


@transaction.atomic
def recheck_problem(actor, problem: Problem, *, passed: bool, note: str = "", photos=(), days: int | None = None,
                    now=None, expected_version=None) -> Problem:
    """The street's re-check (回头看): passed closes the problem; failed reopens it with a new
    deadline (`days` working days, default the problem's own) and counts against the project."""
    now = now or timezone.now()
    p = get_problem(actor, problem.pk, for_update=True)
    _cas(p, expected_version)
    if not may_recheck(actor, p):
        raise Forbidden(_("您不能复查这个问题"))
    if p.state != Problem.State.ANSWERED:
        raise Conflict(_("问题%(state)s，不能复查"), code="bad_state", state=p.get_state_display())
    if not passed and not (note or "").strip():
        raise PropertyError(_("复查不通过须写明原因"), code="note")
    _save_photos(p, actor, photos, "recheck", now)
    if passed:
        p.state, p.closed_at = Problem.State.PASSED, now
        action = "pass"
    else:
        p.days = int(days or p.days)
        p.state, p.answered_at, p.escalation, p.escalate_at = Problem.State.OPEN, None, 0, None
        p.due_at = _deadline(now, p.days)
        p.reopen_count = F("reopen_count") + 1
        action = "fail"
    p.version = F("version") + 1
    p.save()
    p.refresh_from_db()
    _event(p, actor, action, Problem.State.ANSWERED, note, at=now)
    if not passed:
        users = company_users(p.project)
        _notify(users, "property_reopened", f"整改问题 {p.number} 复查未通过", note, {"problem": p.pk})
    return p


@transaction.atomic
def cancel_problem(actor, problem: Problem, *, reason: str, now=None, expected_version=None) -> Problem:
    """Withdraw a problem found in error (the deduction stays in the inspection's score)."""
    now = now or timezone.now()
    p = get_problem(actor, problem.pk, for_update=True)
    _cas(p, expected_version)
    if not may_recheck(actor, p):
        raise Forbidden(_("您不能撤销这个问题"))
    if p.state not in Problem.OPEN_STATES:
        raise Conflict(_("问题%(state)s"), code="bad_state", state=p.get_state_display())
    if not (reason or "").strip():
        raise PropertyError(_("请写明撤销原因"), code="reason")
    before = p.state
    p.state, p.closed_at = Problem.State.CANCELLED, now
    p.version = F("version") + 1
    p.save()
    p.refresh_from_db()
    _event(p, actor, "cancel", before, reason, at=now)
    return p


class Recipients:
    """Who is told of a problem, looked up once and kept: a company's users by its department, the
    community staff by grid path, the street's staff. The clock makes one per run (a sweep over
    many late problems asks the same few questions); the demo keeps one for its year."""

    def __init__(self):
        self._company: dict[str, list] = {}
        self._community: dict[str, list] = {}
        self._street: dict[str, list] = {}

    def company(self, project) -> list:
        key = company_department(project)
        if key not in self._company:
            self._company[key] = company_users(project)
        return list(self._company[key])

    def community(self, path: str) -> list:
        if path not in self._community:
            self._community[path] = community_staff(path)
        return list(self._community[path])

    def street(self, grid_path: str = "") -> list:
        key = gl.street_path(grid_path) if grid_path else ""
        if key not in self._street:
            self._street[key] = street_staff(key)
        return list(self._street[key])


def escalate_late(now=None, recipients: Recipients | None = None) -> int:
    """The clock: an open problem past its deadline rises a level (1: the company's users and the
    community are told, and `escalate_at` is set PROPERTY_ESCALATE_DAYS working days after the
    deadline; 2, at `escalate_at` when still open: the street). One step per problem per run; each
    step is one compare-and-set update, so two sweeps at once escalate once. The due problems are
    found in SQL, the work calendar built once and the recipients looked up once per run (or kept
    in `recipients`). Returns the steps."""
    from django.db.models import Q

    from gridgov.cases.workcal import WorkCalendar

    from . import conf

    now = now or timezone.now()
    recipients = recipients if recipients is not None else Recipients()
    cal = step_days = None
    n = 0
    due = Q(escalation=0) | Q(escalation=1, escalate_at__lte=now)
    for p in list(Problem.objects.late(now).filter(due).select_related("project__company__department")):
        level = p.escalation + 1
        escalate_at = p.escalate_at
        if level == 1:
            if cal is None:
                cal, step_days = WorkCalendar(), conf.get_int("PROPERTY_ESCALATE_DAYS")
            escalate_at = cal.add_working_days(p.due_at, step_days)
        with transaction.atomic():
            done = Problem.objects.filter(pk=p.pk, version=p.version, escalation=p.escalation,
                                          state=Problem.State.OPEN).update(
                escalation=level, escalate_at=escalate_at, was_late=True, version=F("version") + 1)
            if not done:
                continue
            p.escalation, p.escalate_at, p.was_late, p.version = level, escalate_at, True, p.version + 1
            _event(p, None, "escalate", Problem.State.OPEN, at=now, level=level)
            users = recipients.company(p.project) + recipients.community(p.grid_path)
            if level == 2:
                users += recipients.street(p.grid_path)
            title = f"整改问题 {p.number} 已超期" + ("（升级至街道）" if level == 2 else "")
            _notify(users, "property_late", title, p.description, {"problem": p.pk})
        n += 1
    return n


def clock_of(problem: Problem, now=None) -> dict:
    """The problem's clock for pages and the API: due, left (working hours, negative when late),
    late, level."""
    from gridgov.cases.workcal import WorkCalendar

    now = now or timezone.now()
    cal = WorkCalendar()
    open_ = problem.state == Problem.State.OPEN
    left = cal.working_hours_between(now, problem.due_at) if now < problem.due_at else -cal.working_hours_between(
        problem.due_at, now)
    return {"due_at": problem.due_at, "open": open_, "late": open_ and now > problem.due_at,
            "hours_left": round(left, 1) if open_ else None, "escalation": problem.escalation}


def days_late(problem: Problem, now=None) -> int:
    now = now or timezone.now()
    return max(0, (now - problem.due_at) // timedelta(days=1))


# --- the ledger's filters and photos (ledger slice) --------------------------------------------

#: the ledger's filters (the board links here with project, quarter and late / reopened)
LEDGER_FILTERS = ("project", "state", "late", "reopened", "escalation", "quarter", "category")


def _flag(v) -> bool:
    return str(v).strip().lower() in ("1", "true", "yes", "on")


def ledger(user, *, project=None, state: str = "", late=False, reopened=False, escalation=None, quarter: str = "",
           category: str = "", now=None):
    """The problems `user` sees, filtered: `late` = a round went past its deadline (was_late), or
    escalated, or open past its deadline now; `reopened` = a re-check failed at least once;
    `quarter` = opened in that quarter ("2026Q3"); `category` = the indicator's category code;
    `escalation` = at least that level. Open first, by deadline. PropertyError for a bad value."""
    from django.db.models import Case, IntegerField, Q, Value, When

    now = now or timezone.now()
    qs = Problem.objects.visible_to(user)
    if project not in (None, ""):
        try:
            qs = qs.filter(project_id=int(project))
        except (TypeError, ValueError):
            raise PropertyError(_("物业项目无效"), code="project") from None
    if state:
        if state not in Problem.State.values:
            raise PropertyError(_("状态无效"), code="state")
        qs = qs.filter(state=state)
    if _flag(late):
        qs = qs.filter(Q(was_late=True) | Q(escalation__gt=0) | Q(state=Problem.State.OPEN, due_at__lt=now))
    if _flag(reopened):
        qs = qs.filter(reopen_count__gt=0)
    if escalation not in (None, ""):
        try:
            qs = qs.filter(escalation__gte=int(escalation))
        except (TypeError, ValueError):
            raise PropertyError(_("升级级别无效"), code="escalation") from None
    if quarter:
        start, end = quarter_bounds(quarter)
        qs = qs.filter(opened_at__gte=start, opened_at__lt=end)
    if category:
        qs = qs.filter(indicator__category__code=category.strip())
    open_first = Case(When(state=Problem.State.OPEN, then=Value(0)), When(state=Problem.State.ANSWERED, then=Value(1)),
                      default=Value(2), output_field=IntegerField())
    return (qs.select_related("project__company", "indicator__category", "compound")
            .annotate(_open_first=open_first).order_by("_open_first", "due_at", "id"))


def ledger_counts(qs) -> dict:
    """{state: n} of a ledger queryset (every state present, 0 if none)."""
    from django.db.models import Count

    counts = dict.fromkeys(Problem.State.values, 0)
    for row in qs.order_by().values("state").annotate(n=Count("id")):
        counts[row["state"]] = row["n"]
    return counts


def photo_for(user, pk) -> ProblemPhoto:
    """A photo of the alliance (a deduction's as found, a problem's answer or re-check), for whoever
    sees its problem or its deduction's inspection (NotFound otherwise)."""
    from django.db.models import Q

    problems = Problem.objects.visible_to(user).values("pk")
    inspections = Inspection.objects.visible_to(user).values("pk")
    p = ProblemPhoto.objects.filter(Q(problem__in=problems) | Q(deduction__inspection__in=inspections), pk=pk).first()
    if p is None:
        raise NotFound(_("照片不存在或无权查看"), code="not_found")
    return p


def photos_by_stage(problem: Problem) -> dict:
    """{"found": [...], "answer": [...], "recheck": [...]} of a problem's photos."""
    out = {"found": [], "answer": [], "recheck": []}
    for ph in problem.photos.order_by("id"):
        out.setdefault(ph.stage, []).append(ph)
    return out


def awaiting_recheck(user):
    """The answered problems `user` may re-check (their scope), oldest answer first."""
    qs = Problem.objects.visible_to(user).filter(state=Problem.State.ANSWERED).select_related("project")
    return [p for p in qs.order_by("answered_at", "id") if may_recheck(user, p)]


def parse_days(raw) -> int | None:
    """The working days of a failed re-check's new round (None: the problem's own); 1..60."""
    if raw in (None, ""):
        return None
    try:
        days = int(raw)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= 60:
        raise PropertyError(_("整改期限须为 1 至 60 个工作日"), code="days")
    return days


def position(lon, lat, crs: str = "wgs84"):
    """(lon, lat) in WGS 84 of a phone's position (a form's lon / lat / crs: "wgs84", "gcj02" or
    "bd09"); (None, None) when not given; PropertyError for a value that is no position."""
    if lon in (None, "") or lat in (None, ""):
        return None, None
    from gridgov.geo.coords import to_wgs84

    try:
        lon, lat = float(lon), float(lat)
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError("out of range")
        return to_wgs84(lon, lat, crs or "wgs84")
    except (TypeError, ValueError):
        raise PropertyError(_("位置无效"), code="position") from None
# --- inspections: the walk's pages and API (inspections slice) --------------------------------


def inspection_breakdown(insp: Inspection) -> list[dict]:
    """The score by category: [{category, code, weight, lost, kept, indicators: [{indicator, full,
    lost, kept, deductions}]}]; an indicator never loses more than its full marks, so the kept
    points of the categories sum to the score (the weights sum to 100)."""
    by_ind: dict[int, list] = {}
    for d in insp.deductions.all():
        by_ind.setdefault(d.indicator_id, []).append(d)
    out = []
    cats = insp.indicator_set.categories.prefetch_related("indicators").order_by("position", "id")
    for cat in cats:
        rows, lost_cat = [], Decimal(0)
        for ind in cat.indicators.all():
            ds = by_ind.get(ind.pk, [])
            lost = min(ind.full_marks, sum((d.points for d in ds), Decimal(0)))
            lost_cat += lost
            rows.append({"indicator": ind, "full": ind.full_marks, "lost": lost, "kept": ind.full_marks - lost,
                         "deductions": ds})
        out.append({"category": cat, "code": cat.code, "weight": cat.weight, "lost": lost_cat,
                    "kept": cat.weight - lost_cat, "indicators": rows})
    return out


@transaction.atomic
def start_unannounced(actor, project, *, lon=None, lat=None, note: str = "", now=None) -> Inspection:
    """An unannounced visit (暗访) opened on the spot: planned for today and started at once."""
    now = now or timezone.now()
    insp = plan_inspection(actor, project, planned_on=timezone.localtime(now).date(), kind=Inspection.Kind.UNANNOUNCED,
                           note=note, now=now)
    return start_inspection(actor, insp, lon=lon, lat=lat, now=now)
