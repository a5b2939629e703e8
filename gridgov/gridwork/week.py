"""The week and the month: highlights (周亮点) and the monthly summaries (月汇总).

* `mark_highlight`: a worker marks a highlight of their own week (gridwork × create on their
  grid), or a grid leader / the community marks one of a worker in their scope (gridwork ×
  update). It lies on the grid the worker served that week (the duty history) and on that grid's
  community; the week is stored as its Monday. `withdraw_highlight`: its author, until picked.
* `pick_best`: the community (gridwork × update on the community's path) picks the week's best:
  one per community and week (a database constraint); picking another moves the pick in one
  transaction, two picks at once leave one. The worker is told on commit. `unpick` undoes it.
* `summary(subject, key, month)`: a worker's (what they did, on whichever grid), a grid's or a community's
  (the records lying in it) month from the data — patrols, visits, needs, reports, cases by outcome
  and time limit, disputes, ratings, highlights — with the note on it (`annotate`, compare-and-set).
  `summaries(month, subject, under)`: every worker / grid / community of a scope at once, from a
  few aggregate queries (`figures`).

Every change: one transaction, one history row (core history kind "gridwork"), notifications on
commit."""

from collections import defaultdict
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from gridgov.accounts import policy
from gridgov.accounts.models import community_prefix
from gridgov.core import history

from . import periods
from .errors import Conflict, GridworkError
from .models import POLICY_KIND as KIND
from .models import Dispute, DisputeEvent, Highlight, Need, Patrol, SummaryNote, Visit, VisitResident


#: the week's errors are grid work's (gridwork.errors)
WeekError = GridworkError


REF_KINDS = ("case", "visit", "dispute", "patrol")


def _now(now):
    return now or timezone.now()


# --- highlights -------------------------------------------------------------------------------


def _ref_visible(actor, kind, pk) -> bool:
    if kind == "case":
        from gridgov.cases.models import Case

        return Case.objects.visible_to(actor).filter(pk=pk).exists()
    model = {"visit": Visit, "dispute": Dispute, "patrol": Patrol}[kind]
    return model.objects.visible_to(actor).filter(pk=pk).exists()


def mark_highlight(actor, worker, week, title: str, text: str = "", ref_kind: str = "", ref_id=None, *,
                   now=None) -> Highlight:
    now = _now(now)
    monday = periods.week_of(week)
    node = periods.serving(worker, monday) or periods.serving(worker, monday + timedelta(days=6))
    if node is None:
        raise WeekError(_("%(name)s 当周没有网格职务"), code="no_duty", name=str(worker))
    own = actor.pk == worker.pk and policy.allows(actor, KIND, "create", node.path)
    if not own and not policy.allows(actor, KIND, "update", node.path):
        raise PermissionDenied(_("无权为该网格员标记亮点"))
    title = (title or "").strip()
    if not title or len(title) > 100:
        raise WeekError(_("请填写亮点标题（不超过 100 字）"), code="title")
    if ref_kind:
        if ref_kind not in REF_KINDS or not ref_id or not _ref_visible(actor, ref_kind, ref_id):
            raise WeekError(_("关联的记录不存在或无权查看"), code="bad_ref")
    with transaction.atomic():
        h = Highlight.objects.create(worker=worker, author=actor, week=monday, grid_path=node.path,
                                     community_path=community_prefix(node.path), title=title,
                                     text=(text or "").strip(), ref_kind=ref_kind or "", ref_id=ref_id or None,
                                     created_at=now)
        history.record(actor, KIND, h, "highlight", {"title": [None, title], "week": [None, monday.isoformat()]},
                       grid_path=node.path, at=now)
    return h


def withdraw_highlight(actor, h: Highlight, *, now=None) -> None:
    now = _now(now)
    with transaction.atomic():
        h = Highlight.objects.select_for_update().get(pk=h.pk)
        if h.author_id != actor.pk:
            raise PermissionDenied(_("只有标记人可以撤回亮点"))
        if h.picked_at:
            raise Conflict(_("已评为本周最佳的亮点不能撤回"), code="picked")
        history.record(actor, KIND, h, "withdraw", {"title": [h.title, None]}, grid_path=h.grid_path, at=now)
        h.delete()


def pick_best(actor, h: Highlight, *, now=None) -> Highlight:
    """The community picks `h` as its week's best (moving an earlier pick of that week)."""
    from gridgov.cases import notify

    now = _now(now)
    if not policy.allows(actor, KIND, "update", h.community_path):
        raise PermissionDenied(_("只有社区可以评选本周最佳亮点"))
    try:
        with transaction.atomic():
            h = Highlight.objects.select_for_update().get(pk=h.pk)
            if h.picked_at:
                return h
            moved = list(Highlight.objects.select_for_update().filter(community_path=h.community_path, week=h.week,
                                                                      picked_at__isnull=False))
            for old in moved:
                old.picked_at, old.picked_by = None, None
                old.save(update_fields=["picked_at", "picked_by"])
            h.picked_at, h.picked_by = now, actor
            h.save(update_fields=["picked_at", "picked_by"])
            history.record(actor, KIND, h, "pick", {"picked": [moved[0].pk if moved else None, h.pk]},
                           grid_path=h.grid_path, at=now)
            notify.queue(h.worker, "highlight_picked", "您的亮点被评为本周最佳", h.title, at=now)
    except IntegrityError:  # another pick of the same week won meanwhile
        raise Conflict(_("本周最佳亮点刚刚已被评选，请刷新后再试"), code="picked_meanwhile") from None
    return h


def unpick(actor, h: Highlight, *, now=None) -> Highlight:
    now = _now(now)
    if not policy.allows(actor, KIND, "update", h.community_path):
        raise PermissionDenied(_("只有社区可以评选本周最佳亮点"))
    with transaction.atomic():
        h = Highlight.objects.select_for_update().get(pk=h.pk)
        if h.picked_at:
            h.picked_at, h.picked_by = None, None
            h.save(update_fields=["picked_at", "picked_by"])
            history.record(actor, KIND, h, "unpick", {"picked": [h.pk, None]}, grid_path=h.grid_path, at=now)
    return h


# --- monthly summaries ------------------------------------------------------------------------

#: the figures of a summary, in the order shown, with their Chinese labels
FIGURES = (
    ("patrols", gettext_noop("巡查次数")), ("patrol_days", gettext_noop("巡查天数")), ("patrol_km", gettext_noop("巡查里程（公里）")),
    ("visits", gettext_noop("入户走访")), ("residents_visited", gettext_noop("走访重点人群（人）")),
    ("needs", gettext_noop("收集需求")), ("needs_case", gettext_noop("转为事件")), ("needs_service", gettext_noop("转为服务事项")),
    ("needs_done", gettext_noop("需求办结")), ("reports", gettext_noop("上报事件")), ("cases", gettext_noop("辖区事件")),
    ("cases_closed", gettext_noop("已办结")), ("cases_open", gettext_noop("办理中")), ("cases_rejected", gettext_noop("不予受理/合并")),
    ("cases_reopened", gettext_noop("重办")), ("limits_met", gettext_noop("按时")), ("limits_late", gettext_noop("超时")),
    ("disputes", gettext_noop("矛盾纠纷登记")), ("disputes_agreed", gettext_noop("调解成功")), ("disputes_open", gettext_noop("未办结纠纷")),
    ("ratings", gettext_noop("评价")), ("satisfied", gettext_noop("满意")), ("basic", gettext_noop("基本满意")), ("unsatisfied", gettext_noop("不满意")),
    ("satisfaction", gettext_noop("满意率")), ("highlights", gettext_noop("亮点")), ("picked", gettext_noop("周最佳")),
)


def _bump(acc, key, figure, n=1):
    acc[key][figure] = acc[key].get(figure, 0) + n


def _by_path_keys(path, nodes_by_path):
    """The keys a record on `path` counts for: its grid or community among `nodes_by_path`."""
    parts = (path or "").split("/")
    for d in range(2, len(parts)):
        cut = "/".join(parts[:d]) + "/"
        if cut in nodes_by_path:
            yield cut


def figures(month, subject: str, keys) -> dict:
    """{key: {figure: n}} for the workers (keys: user ids) or the grids / communities (keys:
    node paths) of `month`, in a few aggregate queries for all of them."""
    from gridgov.cases.models import OPEN_STATES, Case, Clock, ClockKind, Rating, Score, State

    p = month if isinstance(month, periods.Period) else periods.parse(str(month))
    start, end = p.start, p.end
    acc = defaultdict(dict)
    keys = list(keys)
    for k in keys:
        acc[k] = {}
    if subject == "worker":
        for uid, day_, dist in Patrol.objects.filter(worker_id__in=keys, state=Patrol.State.ENDED, started_at__gte=start,
                                                     started_at__lt=end).values_list("worker_id", "day", "distance_m"):
            _bump(acc, uid, "patrols")
            acc[uid].setdefault("_days", set()).add(day_)
            _bump(acc, uid, "patrol_km", (dist or 0) / 1000)
        for uid, n in Visit.objects.filter(worker_id__in=keys, at__gte=start, at__lt=end).values_list("worker_id") \
                .annotate(n=Count("id")):
            _bump(acc, uid, "visits", n)
        for uid, n in VisitResident.objects.filter(worker_id__in=keys, at__gte=start, at__lt=end) \
                .values_list("worker_id").annotate(n=Count("resident_id", distinct=True)):
            _bump(acc, uid, "residents_visited", n)
        for uid, state, n in Need.objects.filter(worker_id__in=keys, heard_at__gte=start, heard_at__lt=end) \
                .values_list("worker_id", "state").annotate(n=Count("id")):
            _bump(acc, uid, "needs", n)
            _bump(acc, uid, {"case": "needs_case", "service": "needs_service", "done": "needs_done"}.get(state, "_"), n)
        for uid, state, n in Case.objects.filter(reporter_id__in=keys, created_at__gte=start, created_at__lt=end) \
                .values_list("reporter_id", "state").annotate(n=Count("id")):
            _bump(acc, uid, "reports", n)
        handled = Case.objects.filter(handler_user_id__in=keys, created_at__gte=start, created_at__lt=end)
        for uid, state, reopened, n in handled.values_list("handler_user_id", "state", "reopen_count") \
                .annotate(n=Count("id")):
            _case_figures(acc, uid, state, reopened, n, OPEN_STATES, State)
        for uid, met, n in (Clock.objects.filter(handler_user_id__in=keys, kind=ClockKind.RESOLVE, due_at__gte=start,
                                                 due_at__lt=end)
                            .annotate(met=Q(stopped_at__isnull=False, stopped_at__lte=_F("due_at")))
                            .values_list("handler_user_id", "met").annotate(n=Count("id"))):
            _bump(acc, uid, "limits_met" if met else "limits_late", n)
        for uid, score, n in Rating.objects.filter(case__resolved_by_id__in=keys, at__gte=start, at__lt=end) \
                .values_list("case__resolved_by_id", "score").annotate(n=Count("id")):
            _rating(acc, uid, score, n, Score)
        for uid, n in Dispute.objects.filter(recorded_by_id__in=keys, recorded_at__gte=start, recorded_at__lt=end) \
                .values_list("recorded_by_id").annotate(n=Count("id")):
            _bump(acc, uid, "disputes", n)
        for uid, n in Dispute.objects.filter(recorded_by_id__in=keys, recorded_at__lt=end,
                                             state__in=Dispute.OPEN_STATES).values_list("recorded_by_id") \
                .annotate(n=Count("id")):
            _bump(acc, uid, "disputes_open", n)
        for uid, n in DisputeEvent.objects.filter(dispute__recorded_by_id__in=keys, to_state=Dispute.State.AGREED,
                                                  at__gte=start, at__lt=end).values_list("dispute__recorded_by_id") \
                .annotate(n=Count("id")):
            _bump(acc, uid, "disputes_agreed", n)
        for uid, picked, n in Highlight.objects.filter(worker_id__in=keys, week__gte=p.first - timedelta(days=6),
                                                       week__lte=p.last) \
                .annotate(p=Q(picked_at__isnull=False)).values_list("worker_id", "p").annotate(n=Count("id")):
            _bump(acc, uid, "highlights", n)
            if picked:
                _bump(acc, uid, "picked", n)
    else:
        nodes = {k: k for k in keys}

        def each(rows, fn):
            for row in rows:
                for k in _by_path_keys(row[0], nodes):
                    fn(k, *row[1:])

        each(Patrol.objects.filter(state=Patrol.State.ENDED, started_at__gte=start, started_at__lt=end)
             .values_list("grid_path").annotate(n=Count("id"), km=Sum("distance_m")),
             lambda k, n, km: (_bump(acc, k, "patrols", n), _bump(acc, k, "patrol_km", (km or 0) / 1000)))
        each(Visit.objects.filter(at__gte=start, at__lt=end).values_list("grid_path").annotate(n=Count("id")),
             lambda k, n: _bump(acc, k, "visits", n))
        each(Need.objects.filter(heard_at__gte=start, heard_at__lt=end).values_list("grid_path", "state")
             .annotate(n=Count("id")),
             lambda k, state, n: (_bump(acc, k, "needs", n), _bump(acc, k, {"case": "needs_case", "service":
                                                                                "needs_service", "done": "needs_done"}
                                                                    .get(state, "_"), n)))
        each(Case.objects.filter(created_at__gte=start, created_at__lt=end).values_list("grid_path", "state",
                                                                                          "reopen_count")
             .annotate(n=Count("id")),
             lambda k, state, reopened, n: (_bump(acc, k, "cases", n),
                                            _case_figures(acc, k, state, reopened, n, OPEN_STATES, State)))
        each(Case.objects.filter(created_at__gte=start, created_at__lt=end, channel="patrol")
             .values_list("grid_path").annotate(n=Count("id")),
             lambda k, n: _bump(acc, k, "reports", n))
        each(Clock.objects.filter(kind=ClockKind.RESOLVE, due_at__gte=start, due_at__lt=end)
             .annotate(met=Q(stopped_at__isnull=False, stopped_at__lte=_F("due_at")))
             .values_list("case__grid_path", "met").annotate(n=Count("id")),
             lambda k, met, n: _bump(acc, k, "limits_met" if met else "limits_late", n))
        each(Rating.objects.filter(at__gte=start, at__lt=end).values_list("case__grid_path", "score")
             .annotate(n=Count("id")),
             lambda k, score, n: _rating(acc, k, score, n, Score))
        each(Dispute.objects.filter(recorded_at__gte=start, recorded_at__lt=end).values_list("grid_path")
             .annotate(n=Count("id")), lambda k, n: _bump(acc, k, "disputes", n))
        each(Dispute.objects.filter(recorded_at__lt=end, state__in=Dispute.OPEN_STATES).values_list("grid_path")
             .annotate(n=Count("id")), lambda k, n: _bump(acc, k, "disputes_open", n))
        each(DisputeEvent.objects.filter(to_state=Dispute.State.AGREED, at__gte=start, at__lt=end)
             .values_list("dispute__grid_path").annotate(n=Count("id")),
             lambda k, n: _bump(acc, k, "disputes_agreed", n))
        each(Highlight.objects.filter(week__gte=p.first - timedelta(days=6), week__lte=p.last)
             .annotate(p=Q(picked_at__isnull=False)).values_list("grid_path", "p").annotate(n=Count("id")),
             lambda k, picked, n: (_bump(acc, k, "highlights", n), picked and _bump(acc, k, "picked", n)))
    out = {}
    from gridgov.core import settings_rows

    basic = float(settings_rows.value("HOTLINE_BASIC_WEIGHT", at=min(end, timezone.now())))
    for k in keys:
        f = acc[k]
        days = f.pop("_days", None)
        f.pop("_", None)
        row = {name: f.get(name, 0) for name, _label in FIGURES}
        if days is not None:
            row["patrol_days"] = len(days)
        row["patrol_km"] = round(row["patrol_km"], 1)
        rated = row["ratings"]
        row["satisfaction"] = round((row["satisfied"] + basic * row["basic"]) / rated, 4) if rated else None
        out[k] = row
    return out


def _F(name):
    from django.db.models import F

    return F(name)


def _case_figures(acc, key, state, reopened, n, open_states, State):
    if state == State.CLOSED or state == State.VERIFIED:
        _bump(acc, key, "cases_closed", n)
    elif state in (State.REJECTED, State.MERGED):
        _bump(acc, key, "cases_rejected", n)
    elif state in open_states:
        _bump(acc, key, "cases_open", n)
    if reopened:
        _bump(acc, key, "cases_reopened", n)


def _rating(acc, key, score, n, Score):
    _bump(acc, key, "ratings", n)
    _bump(acc, key, {Score.SATISFIED: "satisfied", Score.BASIC: "basic", Score.UNSATISFIED: "unsatisfied"}[score], n)


def subjects(user, subject: str, month, under: str = "") -> list[dict]:
    """The workers / grids / communities of `month` the user may see, under `under`: [{key,
    name, path}]. A worker without gridwork × list sees only themselves."""
    from gridgov.accounts.scope import scope_of
    from gridgov.geo.levels import level_index
    from gridgov.geo.models import GridNode

    p = month if isinstance(month, periods.Period) else periods.parse(str(month))
    reach = policy.reach(user, KIND, "list")
    scope = scope_of(user)

    def in_scope(path):
        return reach == policy.ALL or (reach == policy.OWN and scope.covers_path(path))

    if subject == "worker":
        from gridgov.accounts.models import User

        spans = periods.spans(p, under=under)
        ids = sorted({s.user_id for s in spans if in_scope(s.path)} | ({user.pk} if any(s.user_id == user.pk
                                                                                          for s in spans) else set()))
        return [{"key": u.pk, "name": str(u), "username": u.username}
                for u in User.objects.filter(pk__in=ids).order_by("username")]
    level = level_index("grid") if subject == "grid" else level_index("community")
    qs = GridNode.objects.filter(level=level).order_by("path")
    if under:
        qs = qs.filter(path__startswith=under)
    return [{"key": n.path, "name": n.name, "path": n.path} for n in qs if in_scope(n.path)]


def summaries(user, month, subject: str = "worker", under: str = "") -> list[dict]:
    """The month's summaries of every subject the user may see (see `subjects`), with notes."""
    p = month if isinstance(month, periods.Period) else periods.parse(str(month))
    subs = subjects(user, subject, p, under)
    figs = figures(p, subject, [s["key"] for s in subs])
    notes = {n.subject_key: n for n in SummaryNote.objects.filter(subject=subject, month=p.first,
                                                                   subject_key__in=[str(s["key"]) for s in subs])}
    for s in subs:
        s["figures"] = figs[s["key"]]
        note = notes.get(str(s["key"]))
        s["note"] = {"text": note.text, "version": note.version, "author": str(note.author) if note.author else "",
                     "at": note.at.isoformat()} if note else None
    return subs


def summary(user, subject: str, key, month) -> dict:
    """One subject's month (PermissionDenied when the user may not see it)."""
    p = month if isinstance(month, periods.Period) else periods.parse(str(month))
    for s in summaries(user, p, subject):
        if str(s["key"]) == str(key):
            return {**s, "month": p.key, "subject": subject}
    raise PermissionDenied(_("无权查看该月汇总"))


def _subject_path(subject, key, month) -> str:
    if subject == "worker":
        spans = periods.spans(month, users=[int(key)])
        return spans[-1].path if spans else ""
    return str(key)


def annotate(actor, subject: str, key, month, text: str, version=None, *, now=None) -> SummaryNote:
    """Write the note on a monthly summary (gridwork × update on its grid, or the worker on their
    own); `version` is the note's as read (a stale one: Conflict)."""
    now = _now(now)
    p = month if isinstance(month, periods.Period) else periods.parse(str(month))
    if subject not in SummaryNote.Subject.values:
        raise WeekError(_("未知的汇总对象"), code="subject")
    path = _subject_path(subject, key, p)
    own = subject == "worker" and int(key) == actor.pk
    if not own and not (path and policy.allows(actor, KIND, "update", path)):
        raise PermissionDenied(_("无权填写该月汇总的说明"))
    text = (text or "").strip()
    if not text:
        raise WeekError(_("请填写说明"), code="text")
    with transaction.atomic():
        note = SummaryNote.objects.select_for_update().filter(subject=subject, subject_key=str(key),
                                                               month=p.first).first()
        if note is None:
            if version not in (None, 0, "0", ""):
                raise Conflict(_("该说明已被删除或尚未创建，请刷新"), code="stale")
            try:
                with transaction.atomic():
                    note = SummaryNote.objects.create(subject=subject, subject_key=str(key), month=p.first,
                                                      grid_path=path, text=text, author=actor, at=now)
            except IntegrityError:
                raise Conflict(_("说明刚刚已被他人填写，请刷新后再改"), code="stale") from None
            history.record(actor, KIND, note, "note", {"text": [None, text]}, grid_path=path, at=now)
            return note
        if version is not None and int(version) != note.version:
            raise Conflict(_("说明刚刚已被他人修改，请刷新后再改"), code="stale")
        old = note.text
        note.text, note.author, note.at, note.version = text, actor, now, note.version + 1
        note.save(update_fields=["text", "author", "at", "version"])
        history.record(actor, KIND, note, "note", {"text": [old, text]}, grid_path=path, at=now)
    return note

