"""The assessment (季度考核, and the half-year 半年通报 and year 年度评比 views): scores of every
worker on duty in a period, of every grid and community, from the records and the duty history.

    assess(period, as_of=None, under="") -> dict   (what `gridgov assess --json` prints)

1. **Who**: every duty of GRIDWORK_ASSESSED_DUTIES (grid workers and grid leaders) held by a
   person of GRIDWORK_ASSESSED_ROLES, in force on some day of the period, clipped to it
   (periods.spans): a person who changed grids has a span in each. Patrol and visit coverage apply
   to the duties that patrol and visit (GRIDWORK_FIELD_DUTIES: grid workers).
2. **The indicators** of the period's scheme (scheme.scheme_for), each a formula
   (gridwork.formulas) giving a numerator and a denominator per span; a worker's are the sums over
   their spans, a grid's the sums over every span on it, a community's over its grids.
3. **Indicator score** = min(1, value / target) × 100 (`rework`: value = 1 − rate). An indicator
   with a denominator of 0 is not applicable: the **base score** = Σ weight × score / Σ weight over
   the applicable ones.
4. **Workload** (a worker's): households = Σ occupied houses of each span's grid × its days / the
   period's days; cases = the cases lying in each span's grid in its days; load = ½ households /
   the mean over the assessed + ½ cases / the mean; coefficient = 1 + GRIDWORK_WORKLOAD_SPAN ×
   clamp(load − 1, −1, 1). **Score** = min(100, base × coefficient).
5. **Grade**: A ≥ GRIDWORK_GRADE_A (90), B ≥ _B (75), C ≥ _C (60), D ≥ _D (40), else E.
6. **Rank** among the ranked of the same duty (grid workers among themselves, grid leaders among
   themselves: the duty of most days served; equal scores share a rank: 1, 1, 3). Not ranked, with the reason: a
   sample (reports + time limits settled + cases resolved) below GRIDWORK_MIN_SAMPLE, or fewer days served than
   GRIDWORK_MIN_DAYS.

Settings are the values in force at the period's end (a change from a date leaves earlier periods
alone). `as_of` (default: the period's end, or now while it runs) bounds what counts, so an old
period computed again gives the same result whatever happened since; `publish` keeps the result as
announced (AssessmentSnapshot) and pays the non-salaried their points."""

from collections import defaultdict
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.models import community_prefix
from gridgov.geo import levels as gl
from gridgov.core import history
from gridgov.core.errors import CodedError

from . import periods
from .formulas import FORMULAS, SAMPLE, Context, PathIndex
from .models import AssessmentSnapshot, LeaderMark, PointsTerm
from .scheme import indicators, scheme_for

#: the settings an assessment reads (values in force at the period's end)
SETTING_KEYS = (
    "GRIDWORK_GRADE_A", "GRIDWORK_GRADE_B", "GRIDWORK_GRADE_C", "GRIDWORK_GRADE_D", "GRIDWORK_MIN_SAMPLE",
    "GRIDWORK_MIN_DAYS", "GRIDWORK_WORKLOAD_SPAN", "GRIDWORK_POINTS_PER_SCORE", "GRIDWORK_VISIT_DAYS_ELDERLY",
    "GRIDWORK_VISIT_DAYS_FRAIL", "GRIDWORK_VISIT_DAYS_SICK", "GRIDWORK_VISIT_DAYS_DISABLED",
    "GRIDWORK_VISIT_DAYS_PREGNANT", "GRIDWORK_VISIT_DAYS_ALONE", "HOTLINE_BASIC_WEIGHT",
)
#: the point rule paying the non-salaried (岗位津贴)
POINT_RULE = "grid_allowance"


class AssessError(CodedError, ValueError):
    pass


def _period(period) -> periods.Period:
    return period if isinstance(period, periods.Period) else periods.parse(str(period))


def settings_at(moment: datetime) -> dict:
    from gridgov.core import settings_rows

    return {k: settings_rows.value(k, at=moment) for k in SETTING_KEYS}


def grade(score: float | None, s: dict) -> str:
    if score is None:
        return ""
    for letter in "ABCD":
        if score >= float(s[f"GRIDWORK_GRADE_{letter}"]):
            return letter
    return "E"


def _rank(rows, key="score"):
    """Competition ranking (1, 1, 3) of the rows with a rank (rows whose `unranked` is empty)."""
    ranked = sorted((r for r in rows if not r.get("unranked") and r[key] is not None), key=lambda r: -r[key])
    prev, rank = None, 0
    for n, r in enumerate(ranked, 1):
        if r[key] != prev:
            rank, prev = n, r[key]
        r["rank"] = rank
    for r in rows:
        r.setdefault("rank", None)


def _score(inds, sums) -> tuple[dict, float | None]:
    """The indicators' figures and the base score from {formula: [num, den]}."""
    out, total, weights = {}, 0.0, 0.0
    for ind in inds:
        num, den = sums.get(ind["formula"], (0.0, 0.0))
        if den > 0:
            rate = num / den
            value = 1 - rate if ind["lower_is_better"] else rate
            score = min(1.0, value / ind["target"]) * 100 if ind["target"] else 0.0
            total += ind["weight"] * score
            weights += ind["weight"]
        else:
            rate = value = score = None
        out[ind["formula"]] = {"name": ind["name"], "weight": ind["weight"], "numerator": round(num, 4),
                               "denominator": round(den, 4), "rate": _r(rate), "value": _r(value),
                               "score": _r(score, 2)}
    return out, (total / weights if weights else None)


def _r(x, n=4):
    return None if x is None else round(x, n)


def _workload(ctx: Context) -> list[tuple[float, float]]:
    """(households, cases) per span."""
    from gridgov.cases.models import Case
    from gridgov.registry.models import House

    spans = ctx.spans
    owners = PathIndex(ctx)
    out = [[0.0, 0.0] for _ in spans]
    houses = (House.objects.filter(ended_on__isnull=True).exclude(occupancy="vacant")
              .values_list("grid__path").annotate(n=Count("id")))
    for path, n in houses:
        for i in owners(path or ""):
            out[i][0] += n * spans[i].days / ctx.period.days
    for path, at in (Case.objects.filter(created_at__gte=ctx.start, created_at__lt=ctx.stop)
                     .exclude(grid_path="").values_list("grid_path", "created_at").iterator(chunk_size=10000)):
        day = None
        for i in owners(path):
            day = day or timezone.localtime(at).date()
            if spans[i].covers(day):
                out[i][1] += 1
    return out


def assess(period, as_of=None, under: str = "", *, evidence: dict | None = None) -> dict:
    """The assessment of `period` (a Period or its name); see the module's text."""
    p = _period(period)
    now = timezone.now()
    as_of = _as_of(p, as_of, now)
    s = settings_at(_settings_moment(p, now))
    scheme = scheme_for(p)
    inds = indicators(scheme)
    spans = assessed_spans(p, under=under)
    ctx = Context(p, as_of, spans, {**s, "_field_duties": _split("GRIDWORK_FIELD_DUTIES")}, evidence=evidence)
    figures = {ind["formula"]: FORMULAS[ind["formula"]][0](ctx) for ind in inds}
    sample_figures = {f: FORMULAS[f][0](ctx) if f not in figures else figures[f] for f in SAMPLE}
    load = _workload(ctx)

    from gridgov.accounts.models import User
    from gridgov.geo.models import GridNode

    users = {u.pk: u for u in User.objects.filter(pk__in=ctx.users)}
    nodes = {n.path: n for n in GridNode.objects.filter(pk__in={sp.node_id for sp in spans})}
    workers = []
    for uid, mine in ctx.by_user.items():
        idx = [ctx.index[id(sp)] for sp in mine]
        sums = {f: [sum(figures[f][i][0] for i in idx), sum(figures[f][i][1] for i in idx)] for f in figures}
        inds_out, base = _score(inds, sums)
        days = len({d for sp in mine for d in _days(sp)})
        sample = sum(sum(sample_figures[f][i][1] for i in idx) for f in SAMPLE)
        u = users.get(uid)
        workers.append({
            "user_id": uid, "username": u.username if u else "", "name": str(u) if u else "",
            "duties": sorted({sp.duty for sp in mine}),
            # the duty ranked in: that of the most days served
            "duty": max(mine, key=lambda sp: (sp.days, -sp.first.toordinal())).duty,
            "spans": [{"grid": nodes[sp.path].name if sp.path in nodes else "", "path": sp.path, "duty": sp.duty,
                       "first": sp.first.isoformat(), "last": sp.last.isoformat(), "days": sp.days} for sp in mine],
            "days": days, "sample": int(sample), "indicators": inds_out, "base": _r(base, 2),
            "workload": {"households": round(sum(load[i][0] for i in idx), 1), "cases": int(sum(load[i][1] for i in idx))},
        })
    _apply_workload(workers, s)
    for w in workers:
        w["grade"] = grade(w["score"], s)
        reasons = []
        if w["sample"] < int(s["GRIDWORK_MIN_SAMPLE"]):
            reasons.append({"code": "sample",
                            "text": f"样本不足：上报、应办时限与办结合计 {w['sample']} < {int(s['GRIDWORK_MIN_SAMPLE'])}"})
        if w["days"] < int(s["GRIDWORK_MIN_DAYS"]):
            reasons.append({"code": "days", "text": f"在岗天数不足：{w['days']} < {int(s['GRIDWORK_MIN_DAYS'])}"})
        if w["score"] is None:
            reasons.append({"code": "no_data", "text": "无可计算的指标"})
        w["unranked"] = reasons
    for duty in {w["duty"] for w in workers}:  # grid workers ranked among themselves, leaders too
        _rank([w for w in workers if w["duty"] == duty])
    order = {d: n for n, d in enumerate(periods.assessed_duties())}
    workers.sort(key=lambda w: (order.get(w["duty"], 99), w["rank"] is None, w["rank"] or 0, -(w["score"] or 0),
                                w["username"]))

    def group(key_of, name_of):
        acc = defaultdict(lambda: {f: [0.0, 0.0] for f in figures})
        for i, sp in enumerate(spans):
            k = key_of(sp)
            for f in figures:
                acc[k][f][0] += figures[f][i][0]
                acc[k][f][1] += figures[f][i][1]
        rows = []
        for k, sums in acc.items():
            inds_out, base = _score(inds, sums)
            rows.append({"path": k, "name": name_of(k), "indicators": inds_out, "score": _r(base, 2),
                         "grade": grade(base, s), "workers": len({sp.user_id for sp in spans if key_of(sp) == k})})
        _rank(rows)
        rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["path"]))
        return rows

    community_names = dict(GridNode.objects.filter(path__in={community_prefix(sp.path) for sp in spans})
                           .values_list("path", "name"))
    streets = {}
    if gl.multi_street():  # under a district or a city, the streets are ranked too
        street_names = dict(GridNode.objects.filter(path__in={gl.street_path(sp.path) for sp in spans})
                            .values_list("path", "name"))
        streets = {"streets": group(lambda sp: gl.street_path(sp.path), lambda k: street_names.get(k, k))}
    return {
        "period": p.key, "kind": p.kind, "first": p.first.isoformat(), "last": p.last.isoformat(),
        "as_of": timezone.localtime(as_of).isoformat(), "under": under,
        "scheme": {"id": scheme.pk, "name": scheme.name, "valid_from": scheme.valid_from.isoformat(),
                   "indicators": inds},
        "settings": {k: (float(v) if isinstance(v, (int, float)) else v) for k, v in s.items()},
        "workers": workers,
        "grids": group(lambda sp: sp.path, lambda k: nodes[k].name if k in nodes else k),
        "communities": group(lambda sp: community_prefix(sp.path), lambda k: community_names.get(k, k)),
        **streets,
    }


def _split(key) -> tuple[str, ...]:
    from . import conf

    return tuple(x.strip() for x in str(conf.get(key)).split("|") if x.strip())


def assessed_spans(p, *, under: str = "", users=None) -> list:
    """The spans of the assessed duties (GRIDWORK_ASSESSED_DUTIES) of the people with an assessed
    role (GRIDWORK_ASSESSED_ROLES)."""
    from gridgov.accounts.models import User

    spans = periods.spans(p, under=under, users=users)
    keep = set(User.objects.filter(pk__in={s.user_id for s in spans}, role__in=_split("GRIDWORK_ASSESSED_ROLES"))
               .values_list("pk", flat=True))
    return [s for s in spans if s.user_id in keep]


def _as_of(p, as_of, now):
    """What counts: up to `as_of` within the period; by default its end (now while it runs)."""
    return min(as_of, p.end) if as_of is not None else min(p.end, max(now, p.start))


def _settings_moment(p, now):
    """The settings of a period: those in force on its last moment (now while it runs)."""
    return min(p.end - timedelta(microseconds=1), now)


def _days(span):
    d = span.first
    while d <= span.last:
        yield d
        d += timedelta(days=1)


def _apply_workload(workers, s):
    span = float(s["GRIDWORK_WORKLOAD_SPAN"])
    n = len(workers) or 1
    mean_h = sum(w["workload"]["households"] for w in workers) / n
    mean_c = sum(w["workload"]["cases"] for w in workers) / n
    for w in workers:
        parts = []
        if mean_h > 0:
            parts.append(w["workload"]["households"] / mean_h)
        if mean_c > 0:
            parts.append(w["workload"]["cases"] / mean_c)
        load = sum(parts) / len(parts) if parts else 1.0
        coef = 1 + span * max(-1.0, min(1.0, load - 1))
        w["workload"].update({"load": round(load, 4), "coefficient": round(coef, 4)})
        w["score"] = None if w["base"] is None else round(min(100.0, w["base"] * coef), 2)


# --- evidence ---------------------------------------------------------------------------------


def evidence(period, user_id: int, formula: str, which: str = "den", *, figure: bool = False):
    """The records behind one worker's figure: [(kind, id)] with kind case, clock, rating,
    resident, patrol or dispute; `which` "num" (counted in the numerator) or "den". With
    `figure`, also the worker's numerator and denominator: ([...], {"numerator", "denominator"}),
    computed for that worker alone (never the whole street's assessment)."""
    if formula not in FORMULAS:
        raise AssessError(_("没有指标 %(f)s"), code="bad_formula", f=formula)
    p = _period(period)
    spans = assessed_spans(p, users=[user_id])
    now = timezone.now()
    ctx = Context(p, _as_of(p, None, now), spans,
                  {**settings_at(_settings_moment(p, now)), "_field_duties": _split("GRIDWORK_FIELD_DUTIES")},
                  evidence={})
    values = FORMULAS[formula][0](ctx)
    out = []
    for i in range(len(spans)):
        out.extend(ctx.evidence.get((i, which), ()))
    if not figure:
        return out
    return out, {"numerator": round(sum(v[0] for v in values), 4), "denominator": round(sum(v[1] for v in values), 4)}


def may_see(user, period, user_id: int) -> bool:
    """Whether `user` may see `user_id`'s assessment for `period`: their own, or a worker who
    served in the user's reach of gridwork × list in the period."""
    if user.pk == user_id:
        return True
    p = _period(period)
    spans = assessed_spans(p, users=[user_id])
    reach = policy_reach(user, "list")
    if reach == "all":
        return bool(spans)
    if reach == "own":
        from gridgov.accounts.scope import scope_of

        scope = scope_of(user)
        return any(scope.covers_path(s.path) for s in spans)
    return False


# --- changes ----------------------------------------------------------------------------------


def set_leader_mark(actor, worker, period, mark, note: str = "", *, now=None) -> LeaderMark:
    """The leader's own mark (0–100) of `worker` for `period` (gridwork × update on a grid the
    worker served in it)."""
    from decimal import Decimal, InvalidOperation

    from gridgov.accounts import policy

    p = _period(period)
    if not policy.allows(actor, "gridwork", "update"):
        raise PermissionDenied(_("无权评价该网格员"))
    spans = periods.spans(p, users=[worker.pk])
    if not spans:
        raise AssessError(_("%(name)s 在 %(period)s 没有网格职务"), code="no_duty", name=str(worker), period=p.key)
    path = spans[-1].path
    if not any(policy.allows(actor, "gridwork", "update", sp.path) for sp in spans) or actor.pk == worker.pk:
        raise PermissionDenied(_("无权评价该网格员"))
    try:
        value = Decimal(str(mark))
    except InvalidOperation:
        raise AssessError(_("评价分须为 0 到 100 的数"), code="bad_mark") from None
    if not (0 <= value <= 100):
        raise AssessError(_("评价分须为 0 到 100 的数"), code="bad_mark")
    now = now or timezone.now()
    with transaction.atomic():
        old = LeaderMark.objects.select_for_update().filter(worker=worker, period=p.key).first()
        before = {"mark": str(old.mark), "note": old.note} if old else {}
        lm, _created = LeaderMark.objects.update_or_create(worker=worker, period=p.key, defaults={
            "mark": value, "note": (note or "")[:200], "grid_path": path, "by": actor, "at": now})
        history.record(actor, "gridwork", lm, "leader_mark", {"mark": [before.get("mark"), str(value)],
                                                               "note": [before.get("note"), lm.note]},
                       grid_path=path, at=now)
    return lm


def publish(actor, period, *, now=None) -> AssessmentSnapshot:
    """Keep `period`'s result as announced (replacing an earlier publication of it, which the
    history keeps), freeze its scheme and pay the non-salaried their points (once per period)."""
    from gridgov.accounts import policy

    if policy.reach(actor, "gridwork", "update") != policy.ALL:
        raise PermissionDenied(_("只有街道管理员可以发布考核结果"))
    p = _period(period)
    now = now or timezone.now()
    if p.end > now:
        raise AssessError(_("%(period)s 尚未结束，不能发布"), code="not_over", period=p.key)
    data = assess(p)
    scheme = scheme_for(p)
    with transaction.atomic():
        old = AssessmentSnapshot.objects.select_for_update().filter(period=p.key).first()
        snap, _created = AssessmentSnapshot.objects.update_or_create(period=p.key, defaults={
            "scheme": scheme, "data": data, "published_at": now, "published_by": actor})
        if scheme.frozen_at is None:
            scheme.frozen_at = now
            scheme.save(update_fields=["frozen_at"])
        paid = _pay_points(actor, p, data, now)
        history.record(actor, "gridwork", snap, "publish" if old is None else "republish",
                       {"workers": len(data["workers"]), "points_paid": paid}, object_id=p.key, at=now)
    return snap


def _pay_points(actor, p, data, now) -> int:
    from django.db.models import Q

    rate = float(data["settings"]["GRIDWORK_POINTS_PER_SCORE"])
    if rate <= 0:
        return 0
    terms = set(PointsTerm.objects.filter(since__lte=p.last).filter(Q(until__isnull=True) | Q(until__gte=p.last))
                .values_list("user_id", flat=True))
    if not terms:
        return 0
    from gridgov.accounts.models import User
    from gridgov.volunteers import services as points
    from gridgov.volunteers.models import PointRule

    PointRule.objects.get_or_create(key=POINT_RULE, defaults={"name": "岗位津贴（网格考核）", "points": 1,
                                                               "unit": PointRule.Unit.EACH})
    paid = 0
    for w in data["workers"]:
        if w["user_id"] in terms and w["score"]:
            amount = int(round(w["score"] * rate))
            t = points.award(User.objects.get(pk=w["user_id"]), f"gridwork:{p.key}:{w['user_id']}", POINT_RULE,
                             quantity=1, rate=amount, actor=actor, at=now,
                             reason=f"{p.key} 网格考核 {w['score']} 分")
            paid += t.amount if t else 0
    return paid


def set_points_term(actor, user, since, until=None, note: str = "", *, now=None) -> PointsTerm:
    """Enrol `user` as a non-salaried worker paid by points from `since` (to `until`, open while
    empty), or change their current term (administrators: gridwork × update everywhere)."""
    from gridgov.accounts import policy

    if policy.reach(actor, "gridwork", "update") != policy.ALL:
        raise PermissionDenied(_("只有街道管理员可以设置按积分发放岗位津贴的人员"))
    if until is not None and until < since:
        raise AssessError(_("结束日期不能早于开始日期"), code="bad_dates")
    now = now or timezone.now()
    with transaction.atomic():
        term = PointsTerm.objects.select_for_update().filter(user=user, until__isnull=True).first()
        before = {"since": str(term.since), "until": None, "note": term.note} if term else {}
        if term is None:
            term = PointsTerm.objects.create(user=user, since=since, until=until, note=note[:200], created_at=now)
        else:
            term.since, term.until, term.note = since, until, note[:200]
            term.save(update_fields=["since", "until", "note"])
        history.record(actor, "gridwork", term, "points_term", {"since": [before.get("since"), str(since)],
                                                                  "until": [before.get("until"), str(until) if until else None]},
                       at=now)
    return term


# --- what a user may see of a result ----------------------------------------------------------


def for_user(user, data: dict) -> dict:
    """`data` (an assess() result or a snapshot) narrowed to what `user` may see: everything with
    gridwork × list everywhere; the workers with a span in their scope and the grids and
    communities in it with list in their own scope; only their own row otherwise (no grids)."""
    from gridgov.accounts.scope import scope_of

    reach = policy_reach(user, "list")
    if reach == "all":
        return data
    out = {**data}
    if reach == "own":
        scope = scope_of(user)
        out["workers"] = [w for w in data["workers"]
                          if w["user_id"] == user.pk or any(scope.covers_path(s["path"]) for s in w["spans"])]
        out["grids"] = [g for g in data["grids"] if scope.covers_path(g["path"])]
        out["communities"] = [c for c in data["communities"] if scope.covers_path(c["path"])]
        if "streets" in data:
            out["streets"] = [c for c in data["streets"] if scope.covers_path(c["path"])]
    else:
        out["workers"] = [w for w in data["workers"] if w["user_id"] == user.pk]
        out["grids"], out["communities"] = [], []
        if "streets" in data:
            out["streets"] = []
    return out


def policy_reach(user, action: str) -> str:
    from gridgov.accounts import policy

    return policy.reach(user, "gridwork", action)


def may_see_worker(user, data: dict, user_id: int) -> bool:
    return any(w["user_id"] == user_id for w in for_user(user, data)["workers"])


def published(period) -> AssessmentSnapshot | None:
    return AssessmentSnapshot.objects.filter(period=_period(period).key).first()


def describe(rows) -> list[tuple[str, int, str, str]]:
    """(kind, id, a short label, the page) of evidence rows [(kind, id)], fetched per kind at once."""
    from gridgov.cases.models import Case, Clock, Rating
    from gridgov.registry.models import Resident

    from .models import Dispute, Patrol

    ids = defaultdict(list)
    for kind, pk in rows:
        ids[kind].append(pk)
    label = {}
    for c in Case.objects.filter(pk__in=ids["case"]).only("pk", "number", "text"):
        label[("case", c.pk)] = (f"{c.number} {c.text[:30]}", f"/cases/{c.pk}/")
    for k in Clock.objects.filter(pk__in=ids["clock"]).select_related("case"):
        met = k.stopped_at is not None and k.stopped_at <= k.due_at
        label[("clock", k.pk)] = (f"{k.case.number} {k.get_kind_display()} {'按时' if met else '超时'}",
                                  f"/cases/{k.case_id}/")
    for r in Rating.objects.filter(pk__in=ids["rating"]).select_related("case"):
        label[("rating", r.pk)] = (f"{r.case.number} {r.get_score_display()}", f"/cases/{r.case_id}/")
    for r in Resident.objects.filter(pk__in=ids["resident"]).only("pk", "name", "tags"):
        label[("resident", r.pk)] = (f"{r.name} {'、'.join(str(x) for x in r.tag_labels)}",
                                     f"/residents/{r.pk}/")
    for p in Patrol.objects.filter(pk__in=ids["patrol"]).only("pk", "day", "distance_m"):
        label[("patrol", p.pk)] = (f"{p.day} {p.distance_m / 1000:.1f} km", f"/gridwork/day/patrols/{p.pk}/")
    for d in Dispute.objects.filter(pk__in=ids["dispute"]).only("pk", "number", "summary"):
        label[("dispute", d.pk)] = (f"{d.number} {d.summary[:30]}", f"/gridwork/disputes/{d.pk}/")
    return [(kind, pk, *label.get((kind, pk), (f"{kind} {pk}", ""))) for kind, pk in rows]
