"""The quarterly scores and the ranking of the property projects (物业项目季度考评).

Every figure is as of the quarter's end and is recomputed from history (inspections' submitted
scores, the problems' events, the cases' and tickets' rows, the setting rows in force then), so
`compute(q)` gives the same numbers today as on the day the quarter was published, whatever
happened since (a problem answered or re-checked after the quarter's end does not change it).

Quarter Q = [start, end) (services.quarter_bounds, local time). "In force at the end" means at
the quarter's last instant (end − 1 µs): a setting changed from the next quarter's first day
belongs to the next quarter. Every published figure is a Decimal with 2 places (ROUND_HALF_UP);
the data score is the sum of its four rounded parts, the composite is computed from the rounded
inspection and data scores.

Ranked projects: the registry's property projects serving some part of the quarter (not ended
before its first day). The rank is the street's (all of them), whoever asks; a caller sees the
rows of the projects visible to it (services.projects_visible_to).

**Inspection score** (0..100): the mean of the scores of the project's submitted inspections
with `submitted_at` in Q (each scored by its year's indicator rules when submitted); none when it
had none (`n_inspections` = 0).

**Data score** (0..100), four parts:

* complaints (40): complaints = property cases + property 12345 tickets in the project's
  compounds received in Q.
  - property cases: an item of the department 物业 (cases.routing.PROPERTY), channel not
    "hotline" (a hotline case repeats its ticket), `created_at` in Q, `compound` one of the
    project's;
  - property tickets: category level 2 (else level 1) in PROPERTY_TICKET_CATEGORIES
    ("|"-separated), valid, `received_at` in Q, lying in one of the project's compounds: the
    matched standard address's compound; else the compound named in the address text (the
    longest name among the compounds of the ticket's community, if known, else of all); else the
    compound of the nearest building within registry.property.COMPOUND_RADIUS_M
    (registry.property.compound_ids_for).
  households = the residential houses (registry House, use "residential", not ended before the
  quarter's end) in the buildings of the project's compounds, at least 1;
  rate = complaints × 1000 / households;
  points = 40 × max(0, 1 − rate / PROPERTY_COMPLAINTS_REF).
* resolution (20): 20 × resolved / complaints; a case is resolved when its `resolved_at` (or
  `closed_at`) is at or before the end, a ticket when `solved`. No complaints: 20.
* satisfaction (20): over the rated complaints, 20 × (satisfied + basic × HOTLINE_BASIC_WEIGHT)
  / rated (unsatisfied 0). Tickets: their `satisfaction`; cases: the resident's last rating
  (cases.Rating) given at or before the end. None rated: 20.
* rectification (20): the project's problems opened in Q and not cancelled by the end; bad =
  those late (an "escalate" event at or before the end; or an "answer" event at or before the end
  with late=true; or still unanswered at the end with the round's deadline before the end) or
  reopened (a "fail" event at or before the end), each problem counted once;
  20 × (1 − bad / problems). No problems: 20.

**Composite** = wi × inspection + wd × data, wi and wd = PROPERTY_INSPECTION_WEIGHT and
PROPERTY_DATA_WEIGHT in force at the end; a project without an inspection in Q: composite = data
score, flagged "no_inspection".

**Rank**: composite descending, then inspection score descending (none last), then project id.
**Trend**: the previous quarter's rank and composite, computed the same way, and the changes
(`delta` = composite − previous composite; `rank_delta` = previous rank − rank: up is positive).

`publish(actor, quarter)` keeps the quarter's figures as `ScoreSnapshot` rows (the ranking as
announced; property × update over every project; one transaction; a history row of kind
"property_scores"); an unfinished quarter is refused unless `force`."""

from collections import defaultdict
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import conf, services
from .models import Inspection, Problem, ProblemEvent, ScoreSnapshot

CENT = Decimal("0.01")
FULL = {"complaints": Decimal(40), "resolution": Decimal(20), "satisfaction": Decimal(20),
        "rectification": Decimal(20)}
PARTS = tuple(FULL)
HISTORY_KIND = "property_scores"


def d2(x) -> Decimal:
    """A published figure: Decimal, 2 places, half up."""
    return Decimal(str(x)).quantize(CENT, rounding=ROUND_HALF_UP)


def _last_instant(end):
    return end - timedelta(microseconds=1)


def weights(end) -> tuple[Decimal, Decimal]:
    """(wi, wd) in force at the quarter's last instant."""
    from gridgov.core import settings_rows

    at = _last_instant(end)
    return (Decimal(str(settings_rows.value("PROPERTY_INSPECTION_WEIGHT", at=at))),
            Decimal(str(settings_rows.value("PROPERTY_DATA_WEIGHT", at=at))))


def _setting(key, end):
    from gridgov.core import settings_rows

    return settings_rows.value(key, at=_last_instant(end))


def ticket_categories(end) -> set[str]:
    """The 12345 categories about property management (PROPERTY_TICKET_CATEGORIES; not a setting
    row: the deployment's value)."""
    del end
    return {c.strip() for c in str(conf.get("PROPERTY_TICKET_CATEGORIES") or "").split("|") if c.strip()}


def ranked_projects(quarter: str):
    """The projects ranked in `quarter`: serving some part of it."""
    from gridgov.registry.models import PropertyProject

    start, _end = services.quarter_bounds(quarter)
    return (PropertyProject.objects.filter(Q(ended_on__isnull=True) | Q(ended_on__gte=timezone.localtime(start).date()))
            .select_related("company").order_by("id"))


# --- the parts -----------------------------------------------------------------------------------


def _inspections(pids, start, end) -> dict:
    out = defaultdict(list)
    for pid, score in (Inspection.objects.filter(project_id__in=pids, state=Inspection.State.SUBMITTED,
                                                 submitted_at__gte=start, submitted_at__lt=end, score__isnull=False)
                       .values_list("project_id", "score")):
        out[pid].append(score)
    return out


def _households(compounds_of: dict, end) -> dict:
    from django.db.models import Count

    from gridgov.registry.models import House

    all_c = {c for cs in compounds_of.values() for c in cs}
    per_c = dict(House.objects.filter(building__compound_id__in=all_c, use="residential")
                 .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=timezone.localtime(end).date()))
                 .order_by().values_list("building__compound_id").annotate(n=Count("id")))
    return {pid: sum(per_c.get(c, 0) for c in cs) for pid, cs in compounds_of.items()}


def _cases(all_c, start, end) -> list[dict]:
    """The property cases of Q in the compounds `all_c`: {id, compound, resolved, score}."""
    from gridgov.cases.models import Case, Channel, Rating
    from gridgov.cases.routing import PROPERTY

    rows = list(Case.objects.filter(item__department=PROPERTY, created_at__gte=start, created_at__lt=end,
                                    compound_id__in=all_c).exclude(channel=Channel.HOTLINE)
                .values("id", "compound_id", "resolved_at", "closed_at"))
    last_rating = {}
    for case_id, score in (Rating.objects.filter(case_id__in=[r["id"] for r in rows], at__lte=end)
                           .order_by("at", "id").values_list("case_id", "score")):
        last_rating[case_id] = score
    for r in rows:
        r["resolved"] = bool((r["resolved_at"] and r["resolved_at"] <= end) or (r["closed_at"] and r["closed_at"] <= end))
        r["score"] = last_rating.get(r["id"], "")
    return rows


def _tickets(start, end) -> list[dict]:
    """The valid property tickets of Q with their compound: {id, compound, resolved, score}."""
    from django.db.models import Case, CharField, When

    from gridgov.hotline.models import Ticket
    from gridgov.registry.property import compound_ids_for

    cats = ticket_categories(end)
    if not cats:
        return []
    cat = Case(When(~Q(category_l2=""), then="category_l2"), default="category_l1", output_field=CharField())
    rows = list(Ticket.objects.filter(valid=True, received_at__gte=start, received_at__lt=end)
                .annotate(cat=cat).filter(cat__in=cats)
                .values("id", "matched_address__compound_id", "address_text", "community_id", "lon", "lat", "solved",
                        "satisfaction"))
    ids = compound_ids_for({"compound_id": r["matched_address__compound_id"], "address": r["address_text"],
                            "community_id": r["community_id"], "lon": r["lon"], "lat": r["lat"]} for r in rows)
    return [{"id": r["id"], "compound_id": c, "resolved": r["solved"], "score": r["satisfaction"] or ""}
            for r, c in zip(rows, ids)]


def _round_due(problem: Problem, events, end):
    """The deadline of the round in force at `end` (the last open/fail at or before it)."""
    starts = [e for e in events if e.action in ("open", "fail")]
    before = [e for e in starts if e.at <= end]
    if not before:
        return problem.due_at
    cur = before[-1]
    if cur is starts[-1]:  # still the current round: its deadline is on the row
        return problem.due_at
    return services._deadline(cur.at, int(cur.data.get("days") or problem.days))


def _problems(pids, start, end) -> dict:
    """{project: {"problems", "late", "reopened", "bad", "ids"}} of the problems opened in Q."""
    problems = list(Problem.objects.filter(project_id__in=pids, opened_at__gte=start, opened_at__lt=end).order_by("id"))
    events = defaultdict(list)
    for e in ProblemEvent.objects.filter(problem__in=[p.pk for p in problems]).order_by("at", "id"):
        events[e.problem_id].append(e)
    out = {pid: {"problems": 0, "late": 0, "reopened": 0, "bad": 0, "ids": []} for pid in pids}
    for p in problems:
        evs = events[p.pk]
        upto = [e for e in evs if e.at <= end]
        if any(e.action == "cancel" for e in upto):
            continue
        late = any(e.action == "escalate" for e in upto) or any(
            e.action == "answer" and (e.data or {}).get("late") for e in upto)
        state_at_end = upto[-1].to_state if upto else Problem.State.OPEN
        if not late and state_at_end == Problem.State.OPEN and _round_due(p, evs, end) < end:
            late = True
        reopened = any(e.action == "fail" for e in upto)
        o = out[p.project_id]
        o["problems"] += 1
        o["late"] += late
        o["reopened"] += reopened
        o["bad"] += late or reopened
        o["ids"].append(p.pk)
    return out


def _satisfaction(items, basic_w: Decimal) -> dict:
    n = {"satisfied": 0, "basic": 0, "unsatisfied": 0}
    for it in items:
        if it["score"] in n:
            n[it["score"]] += 1
    rated = sum(n.values())
    pts = FULL["satisfaction"] if not rated else FULL["satisfaction"] * (n["satisfied"] + n["basic"] * basic_w) / rated
    return {"points": d2(pts), "rated": rated, **n, "basic_weight": basic_w}


# --- the whole ---------------------------------------------------------------------------------


def _compute(quarter: str) -> list[dict]:
    """The ranked rows of every ranked project (no trend)."""
    start, end = services.quarter_bounds(quarter)
    projects = list(ranked_projects(quarter))
    pids = [p.pk for p in projects]
    from gridgov.registry.models import PropertyProject

    compounds_of = defaultdict(set)
    for pid, cid in PropertyProject.compounds.through.objects.filter(propertyproject_id__in=pids).values_list(
            "propertyproject_id", "compound_id"):
        compounds_of[pid].add(cid)
    compounds_of = {pid: compounds_of.get(pid, set()) for pid in pids}
    all_c = {c for cs in compounds_of.values() for c in cs}

    wi, wd = weights(end)
    ref = Decimal(str(_setting("PROPERTY_COMPLAINTS_REF", end)))
    basic_w = d2(Decimal(str(_setting("HOTLINE_BASIC_WEIGHT", end))))
    insps = _inspections(pids, start, end)
    homes = _households(compounds_of, end)
    cases, tickets = _cases(all_c, start, end), [t for t in _tickets(start, end) if t["compound_id"] in all_c]
    probs = _problems(pids, start, end)

    rows = []
    for p in projects:
        cs = compounds_of[p.pk]
        my_cases = [c for c in cases if c["compound_id"] in cs]
        my_tickets = [t for t in tickets if t["compound_id"] in cs]
        items = my_cases + my_tickets
        n = len(items)
        households = max(1, homes.get(p.pk, 0))
        rate = Decimal(n * 1000) / Decimal(households)
        c_pts = FULL["complaints"] * max(Decimal(0), 1 - rate / ref)
        resolved = sum(1 for it in items if it["resolved"])
        r_pts = FULL["resolution"] * resolved / n if n else FULL["resolution"]
        sat = _satisfaction(items, basic_w)
        pr = probs[p.pk]
        f_pts = FULL["rectification"] * (1 - Decimal(pr["bad"]) / pr["problems"]) if pr["problems"] else \
            FULL["rectification"]
        parts = {
            "complaints": {"points": d2(c_pts), "full": FULL["complaints"], "cases": len(my_cases),
                           "tickets": len(my_tickets), "complaints": n, "households": households, "rate": d2(rate),
                           "ref": d2(ref), "case_ids": [c["id"] for c in my_cases],
                           "ticket_ids": [t["id"] for t in my_tickets]},
            "resolution": {"points": d2(r_pts), "full": FULL["resolution"], "resolved": resolved, "complaints": n},
            "satisfaction": {**sat, "full": FULL["satisfaction"]},
            "rectification": {"points": d2(f_pts), "full": FULL["rectification"], "problems": pr["problems"],
                              "late": pr["late"], "reopened": pr["reopened"], "bad": pr["bad"],
                              "problem_ids": pr["ids"]},
        }
        data = sum((parts[k]["points"] for k in PARTS), Decimal(0))
        scores = insps.get(p.pk, [])
        insp = d2(sum(scores, Decimal(0)) / len(scores)) if scores else None
        flags = []
        if insp is None:
            flags.append("no_inspection")
            composite = d2(data)
        else:
            composite = d2(wi * insp + wd * data)
        if homes.get(p.pk, 0) == 0:
            flags.append("no_households")
        rows.append({"quarter": services.quarter_key(quarter), "project": p.pk, "name": p.name,
                     "company": p.company.name, "company_id": p.company_id, "inspection_score": insp,
                     "n_inspections": len(scores), "data_score": d2(data), "parts": parts, "composite": composite,
                     "weights": {"inspection": wi, "data": wd}, "flags": flags})
    rows.sort(key=lambda r: (-r["composite"], r["inspection_score"] is None, -(r["inspection_score"] or 0),
                             r["project"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows


def compute(quarter: str, projects=None, *, user=None, trend: bool = True) -> list[dict]:
    """The quarter's rows in rank order (see the module's text). `projects` (projects or ids)
    and `user` (services.projects_visible_to) narrow the rows returned; the ranks stay the
    street's. Raises services.PropertyError for a malformed quarter."""
    quarter = services.quarter_key(quarter)
    rows = _compute(quarter)
    if trend:
        prev = {r["project"]: r for r in _compute(services.previous_quarter(quarter))}
        for r in rows:
            p = prev.get(r["project"])
            r["prev_rank"] = p["rank"] if p else None
            r["prev_composite"] = p["composite"] if p else None
            r["delta"] = d2(r["composite"] - p["composite"]) if p else None
            r["rank_delta"] = p["rank"] - r["rank"] if p else None
    if projects is not None:
        keep = {getattr(p, "pk", p) for p in projects}
        rows = [r for r in rows if r["project"] in keep]
    if user is not None:
        keep = set(services.projects_visible_to(user).values_list("pk", flat=True))
        rows = [r for r in rows if r["project"] in keep]
    return rows


def plain(value):
    """Rows for JSON: Decimals as numbers (floats: 2 places round-trip exactly)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


# --- publishing --------------------------------------------------------------------------------


def is_finished(quarter: str, now=None) -> bool:
    _start, end = services.quarter_bounds(quarter)
    return (now or timezone.now()) >= end


def is_published(quarter: str) -> bool:
    return ScoreSnapshot.objects.filter(quarter=services.quarter_key(quarter)).exists()


def may_publish(user) -> bool:
    """property × update over every ranked project."""
    from gridgov.accounts import policy

    if not policy.allows(user, services.KIND, "update"):
        return False
    return all(policy.allows(user, services.KIND, "update", services.project_path(p))
               for p in ranked_projects(services.quarter_of(timezone.now())).select_related("grid"))


@transaction.atomic
def publish(actor, quarter: str, *, force: bool = False, now=None) -> list[ScoreSnapshot]:
    """Keep the quarter's scores as the announced ranking (replacing an earlier publication of
    it). `actor` None: the system (the periodic task)."""
    now = now or timezone.now()
    quarter = services.quarter_key(quarter)
    if actor is not None and not may_publish(actor):
        raise services.Forbidden(_("您没有权限发布物业考评结果"))
    if not force and not is_finished(quarter, now):
        raise services.Conflict(_("%(q)s 尚未结束，不能发布（确需发布请选择强制发布）"), code="unfinished", q=quarter)
    rows = compute(quarter)
    old = ScoreSnapshot.objects.select_for_update().filter(quarter=quarter)
    replaced = old.count()
    old.delete()
    from gridgov.registry.models import PropertyProject

    projects = {p.pk: p for p in PropertyProject.objects.filter(pk__in=[r["project"] for r in rows]).select_related("grid")}
    snaps = ScoreSnapshot.objects.bulk_create([
        ScoreSnapshot(quarter=quarter, project_id=r["project"], inspection_score=r["inspection_score"],
                      data_score=r["data_score"], composite=r["composite"], rank=r["rank"], detail=plain(r),
                      grid_path=services.project_path(projects[r["project"]]), published_at=now,
                      published_by=actor if getattr(actor, "is_authenticated", False) else None)
        for r in rows])
    from gridgov.core import history

    history.record(actor, HISTORY_KIND, None, "republish" if replaced else "publish",
                   {"projects": [replaced or None, len(rows)]}, object_id=quarter, at=now,
                   note=f"{quarter} 物业考评排名" + ("（强制）" if force and not is_finished(quarter, now) else ""))
    return snaps


def published(quarter: str, user=None):
    """The quarter's snapshot rows (in rank order), those `user` sees when given."""
    qs = ScoreSnapshot.objects.filter(quarter=services.quarter_key(quarter)).select_related("project__company")
    if user is not None:
        qs = qs.filter(pk__in=ScoreSnapshot.objects.visible_to(user).values("pk"))
    return qs.order_by("rank", "project_id")


def quarters_around(quarter: str, n: int = 4) -> list[str]:
    """The n quarters ending with `quarter`, oldest first."""
    out = [services.quarter_key(quarter)]
    while len(out) < n:
        out.insert(0, services.previous_quarter(out[0]))
    return out


def current_quarter(now=None) -> str:
    return services.quarter_of(now or timezone.now())


def last_finished_quarter(now=None) -> str:
    return services.previous_quarter(current_quarter(now))


def pulled_down(row: dict, quarter: str) -> dict:
    """What pulled a project's scores down in `quarter`: the indicators with the most points
    deducted on its submitted inspections of the quarter (averaged over them, as the score is),
    and the data score's parts below full marks."""
    from django.db.models import Sum

    from .models import Deduction, Indicator

    start, end = services.quarter_bounds(quarter)
    n = row["n_inspections"] or 0
    indicators = []
    if n:
        lost = list(Deduction.objects.filter(
            inspection__project_id=row["project"], inspection__state=Inspection.State.SUBMITTED,
            inspection__submitted_at__gte=start, inspection__submitted_at__lt=end)
            .values("inspection_id", "inspection__indicator_set_id", "indicator_id").annotate(points=Sum("points"))
            .order_by())
        # the sets' indicators in one query: the deducted ones' names, each set's full marks
        sets = {x["inspection__indicator_set_id"] for x in lost}
        inds, set_full = {}, defaultdict(lambda: Decimal(0))
        for ind in Indicator.objects.filter(category__indicator_set__in=sets).select_related("category"):
            inds[ind.pk] = ind
            set_full[ind.category.indicator_set_id] += ind.full_marks
        per = defaultdict(lambda: Decimal(0))
        for x in lost:
            sid = x["inspection__indicator_set_id"]
            ind = inds[x["indicator_id"]]
            # an indicator loses at most its full marks; the score is out of 100
            per[(ind.code, ind.name, ind.category.name)] += min(x["points"], ind.full_marks) * 100 / (
                set_full[sid] or Decimal(100))
        for (code, name, cat), pts in sorted(per.items(), key=lambda kv: (-kv[1], kv[0][0]))[:5]:
            indicators.append({"code": code, "name": name, "category": cat, "points": d2(pts / n)})
    parts = [{"part": k, "points": row["parts"][k]["points"], "full": FULL[k],
              "lost": d2(FULL[k] - row["parts"][k]["points"])}
             for k in PARTS if row["parts"][k]["points"] < FULL[k]]
    parts.sort(key=lambda x: -x["lost"])
    return {"indicators": indicators, "parts": parts}


def may_see(user) -> bool:
    """Street staff with property × list somewhere, or a property company's user (its projects)."""
    from gridgov.accounts import policy

    return policy.allows(user, services.KIND, "list") or (
        policy.holds(user, "property") and bool(getattr(user, "department", "")))
