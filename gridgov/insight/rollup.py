"""The dashboards' rollups: every figure of the leaders' dashboard (`stats.dashboard`) read from a
few thousand summary rows instead of every case.

**Kept:** `refresh()` recomputes, whole, every month in which a case was created or changed (a
case event: every state change, rating and breach writes one) since the last refresh; a month is
recomputed from the raw rows in one transaction, so a refresh is idempotent and two at once give
the same rows. The worker refreshes every minute (insight.tasks) and a dashboard read refreshes
first (a no-op of two indexed queries when nothing changed), so the figures are never stale.
`rebuild()` (`gridgov rollup rebuild`) recomputes everything: after the demo, an import or a
restore that wrote cases without events.

**Read:** `figures(user, f)` gives the dashboard's breakdowns from the rollups, or None when they
cannot answer exactly: an hour filter, a filter on a grid finer than the grid level, a user whose
scope lies below the grid level, or a user who sees cases outside their grids (a case they
handle elsewhere); `stats` then computes from the cases as before. `stats.dashboard` is the one
caller; the test in insight/tests/test_rollup.py compares every figure both ways on random data."""

from collections import defaultdict
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import ExtractHour, TruncMonth
from django.utils import timezone

from gridgov.cases.models import OPEN_STATES, Breach, Case, CaseEvent, Channel, Clock, ClockKind, ClockState, Item, Rating, Score
from gridgov.geo import levels as gl
from gridgov.geo.models import GridNode

from .models import CaseRollup, GridMonthRollup, HourRollup, RollupState, SpotRollup

TABLES = (CaseRollup, GridMonthRollup, HourRollup, SpotRollup)
KINDS = [k.value for k in ClockKind]
SCORES = [s.value for s in Score]
MEASURES = ["n", "open", "closed", "escalated", *[f"{k}_{x}" for k in KINDS for x in ("total", "late")], *SCORES]


def month_bounds(month: str):
    tz = timezone.get_current_timezone()
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=tz)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def _month_key(value) -> str:
    return (timezone.localtime(value) if timezone.is_aware(value) else value).strftime("%Y-%m")


def _cut(path: str) -> str:
    """A case's grid path cut at the grid level (micro-grids sum into their grid)."""
    return gl.prefix_at(path, gl.grid_level()) or (path or "")


# --- keeping them --------------------------------------------------------------------------------


def compute_month(month: str) -> int:
    """Replace the rows of `month` with sums of the cases created in it; returns the rows written.
    One at a time (a lock on the state row): two refreshes at once never add a month twice, and
    the later one reads what the earlier one committed."""
    RollupState.objects.get_or_create(pk=1)
    with transaction.atomic():
        RollupState.objects.select_for_update().get(pk=1)
        return _compute_month(month)


def _compute_month(month: str) -> int:
    start, end = month_bounds(month)
    cases = Case.objects.filter(created_at__gte=start, created_at__lt=end)
    rows: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys(MEASURES, 0))
    escalated = Breach.objects.exclude(escalated_to="").values("case")
    for r in cases.values("grid_path", "item_id", "channel").annotate(
            n_=Count("id"), open_=Count("id", filter=Q(state__in=OPEN_STATES)), closed_=Count("id", filter=Q(state="closed")),
            escalated_=Count("id", filter=Q(pk__in=escalated))):
        row = rows[(_cut(r["grid_path"]), r["item_id"], r["channel"])]
        for m in ("n", "open", "closed", "escalated"):
            row[m] += r[f"{m}_"]
    ended = Clock.objects.filter(case__created_at__gte=start, case__created_at__lt=end,
                                 state__in=[ClockState.STOPPED, ClockState.BREACHED])
    for r in ended.values("case__grid_path", "case__item_id", "case__channel", "kind").annotate(
            total=Count("id"), late=Count("id", filter=Q(state=ClockState.BREACHED))):
        row = rows[(_cut(r["case__grid_path"]), r["case__item_id"], r["case__channel"])]
        if r["kind"] in KINDS:
            row[f"{r['kind']}_total"] += r["total"]
            row[f"{r['kind']}_late"] += r["late"]
    ratings = Rating.objects.filter(case__created_at__gte=start, case__created_at__lt=end)
    for r in ratings.values("case__grid_path", "case__item_id", "case__channel", "score").annotate(k=Count("id")):
        if r["score"] in SCORES:
            rows[(_cut(r["case__grid_path"]), r["case__item_id"], r["case__channel"])][r["score"]] += r["k"]
    hours: dict[tuple, int] = defaultdict(int)
    for r in cases.annotate(h=ExtractHour("created_at")).values("grid_path", "h").annotate(k=Count("id")):
        hours[(_cut(r["grid_path"]), r["h"])] += r["k"]
    spots = cases.filter(grid__isnull=False).values("grid_id", "grid_path").annotate(k=Count("id"))
    by_grid: dict[str, dict] = defaultdict(lambda: dict.fromkeys(MEASURES, 0))
    for (p, _i, _c), m in rows.items():
        for k, v in m.items():
            by_grid[p][k] += v
    # inside compute_month's transaction
    for model in TABLES:
        model.objects.filter(month=month).delete()
    GridMonthRollup.objects.bulk_create([GridMonthRollup(month=month, grid_path=p, **m) for p, m in by_grid.items()],
                                        batch_size=2000)
    CaseRollup.objects.bulk_create([CaseRollup(month=month, grid_path=p, item_id=i, channel=c, **m)
                                    for (p, i, c), m in rows.items()], batch_size=2000)
    HourRollup.objects.bulk_create([HourRollup(month=month, grid_path=p, hour=h, n=k) for (p, h), k in hours.items()],
                                   batch_size=2000)
    SpotRollup.objects.bulk_create([SpotRollup(month=month, grid_id=r["grid_id"], grid_path=r["grid_path"], n=r["k"])
                                    for r in spots], batch_size=2000)
    return len(rows)


def _months(qs) -> list[str]:
    return sorted({_month_key(m) for m in qs.annotate(m=TruncMonth("created_at")).values_list("m", flat=True).distinct() if m})


def refresh(now=None) -> list[str]:
    """Fold in the cases created or changed since the last refresh: their months are recomputed.
    Returns the months recomputed ([] when nothing changed)."""
    state = RollupState.objects.filter(pk=1).first() or RollupState(pk=1)
    top_case = Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    top_event = CaseEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    if top_case == state.last_case and top_event == state.last_event:
        return []
    changed = Case.objects.filter(
        Q(pk__gt=state.last_case, pk__lte=top_case)
        | Q(pk__in=CaseEvent.objects.filter(pk__gt=state.last_event, pk__lte=top_event).values("case_id")))
    months = _months(changed)
    for month in months:
        compute_month(month)
    # compare-and-set: a refresh that ran meanwhile and went further is kept
    moved = RollupState.objects.filter(pk=1, last_case__lte=top_case, last_event__lte=top_event).update(
        last_case=top_case, last_event=top_event, refreshed_at=now or timezone.now())
    if not moved and not RollupState.objects.filter(pk=1).exists():
        RollupState.objects.get_or_create(pk=1, defaults={"last_case": top_case, "last_event": top_event,
                                                          "refreshed_at": now or timezone.now()})
    return months


def rebuild(progress=None) -> int:
    """Recompute every month from the cases; returns the rows written."""
    top_case = Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    top_event = CaseEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    months = _months(Case.objects.all())
    with transaction.atomic():
        for model in TABLES:
            model.objects.exclude(month__in=months).delete()
    n = 0
    for i, month in enumerate(months, 1):
        n += compute_month(month)
        if progress:
            progress(f"rollups {i}/{len(months)} {month}")
    RollupState.objects.update_or_create(pk=1, defaults={"last_case": top_case, "last_event": top_event,
                                                         "refreshed_at": timezone.now()})
    return n


# --- reading them --------------------------------------------------------------------------------


def _territory(user):
    """None: the rollups cannot answer for this user exactly; else a Q on rollup rows' grid_path
    (empty Q: everything)."""
    from gridgov.accounts import policy
    from gridgov.accounts.scope import scope_of

    reach = policy.reach(user, "cases", "read")
    if reach == policy.ALL:
        return Q()
    if reach != policy.OWN:
        return None
    scope = scope_of(user)
    if scope.everything:
        return Q()
    if not scope.paths or any(len(gl.codes_of(p)) > gl.grid_level() + 1 for p in scope.paths):
        return None  # a scope below the grid level: rows sum whole grids
    q = Q()
    for p in scope.paths:
        q |= Q(grid_path__startswith=p)
    # the cases a user sees outside their grids (handled, grabbed, a department's): none, or raw
    if Case.objects.visible_to(user).exclude(q).exists():
        return None
    return q


def _filter(f, skip: str, territory: Q, items: dict) -> Q:
    q = territory
    if f.month and skip != "month":
        q &= Q(month=f.month)
    if f.item and skip != "item":
        q &= Q(item_id=items.get(f.item, -1))
    if f.channel and skip != "channel":
        q &= Q(channel=f.channel)
    for dim in ("street", "community", "grid"):
        code = getattr(f, dim)
        if code and skip != dim:
            q &= Q(grid_path__contains=f"/{code}/")
    return q


def serves(f) -> bool:
    """Whether the rollups can answer this filter: no hour; community and grid codes at or above
    the grid level (a grid's code has 15 characters; a micro-grid's more)."""
    return f.hour is None and all(len(c or "") <= 15 for c in (f.grid, f.community, f.street))


def figures(user, f) -> dict | None:
    """The dashboard's breakdowns from the rollups (stats.dashboard's keys), None when they cannot
    answer exactly (see the module's docstring)."""
    if not serves(f):
        return None
    territory = _territory(user)
    if territory is None:
        return None
    refresh()
    items = dict(Item.objects.values_list("code", "pk"))
    by_id = {pk: code for code, pk in items.items()}
    def sums(skip, *group):
        """Every measure summed (no group), or the count per group."""
        # without an item or channel filter (the usual load), the month × grid rows suffice
        cube = (f.item and skip != "item") or (f.channel and skip != "channel") or "item_id" in group or "channel" in group
        qs = (CaseRollup if cube else GridMonthRollup).objects.filter(_filter(f, skip, territory, items))
        return qs.values(*group).annotate(s_n=Sum("n")) if group else qs.aggregate(**{f"s_{m}": Sum(m) for m in MEASURES})

    total = {m: v or 0 for m, v in ((k[2:], v) for k, v in sums("").items())}
    out = {"summary": {"total": total["n"], "open": total["open"], "closed": total["closed"], "escalated": total["escalated"]}}
    out["by_month"] = [{"key": r["month"], "n": r["s_n"]} for r in sums("month", "month").order_by("month") if r["s_n"]]
    hour_q = _filter(f, "hour", territory, items)
    hours = dict(HourRollup.objects.filter(hour_q).values("hour").annotate(k=Sum("n")).values_list("hour", "k")) \
        if not (f.item or f.channel) else None
    out["by_hour"] = [{"key": h, "n": hours.get(h, 0)} for h in range(24)] if hours is not None else None
    names = dict(Item.objects.values_list("pk", "name"))
    item_rows = [r for r in sums("item", "item_id") if r["item_id"] is not None and r["s_n"]]
    out["by_item"] = sorted(({"key": by_id.get(r["item_id"], ""), "label": names.get(r["item_id"], ""), "n": r["s_n"]}
                             for r in item_rows), key=lambda r: (-r["n"], r["key"]))
    channels = {r["channel"]: r["s_n"] for r in sums("channel", "channel")}
    out["by_channel"] = [{"key": c.value, "label": str(c.label), "n": channels.get(c.value, 0) or 0} for c in Channel]
    for key, skip, level in (("by_street", "street", gl.street_level()), ("by_community", "community", gl.community_level()),
                             ("by_grid", "grid", gl.grid_level())):
        if key == "by_street" and not gl.multi_street():
            continue
        counts: dict[str, int] = defaultdict(int)
        for r in sums(skip, "grid_path"):
            codes = gl.codes_of(r["grid_path"])
            if len(codes) > level and r["s_n"]:
                counts[codes[level]] += r["s_n"]
        labels = dict(GridNode.objects.filter(code__in=list(counts)).values_list("code", "name"))
        out[key] = sorted(({"key": c, "label": labels.get(c, c), "n": n} for c, n in counts.items()),
                          key=lambda r: (-r["n"], r["key"]))
    out["compliance"] = []
    for k in ClockKind:
        t, late = total[f"{k.value}_total"], total[f"{k.value}_late"]
        out["compliance"].append({"key": k.value, "label": str(k.label), "total": t, "late": late,
                                  "on_time_rate": round(100.0 * (t - late) / t, 1) if t else None})
    out["satisfaction"] = [{"key": s.value, "label": str(s.label), "n": total[s.value]} for s in Score]
    if f.item or f.channel:
        out["hotspots"] = None
    else:
        spots = SpotRollup.objects.filter(_filter(f, "", territory, items))
        counts = dict(spots.values("grid_id").annotate(k=Sum("n")).values_list("grid_id", "k"))
        nodes = GridNode.objects.filter(pk__in=spots.values("grid_id")).values("id", "code", "name", "center_lon", "center_lat",
                                                                                "area_m2")
        out["hotspots"] = sorted((
            {"code": n["code"], "name": n["name"], "lon": n["center_lon"], "lat": n["center_lat"], "n": counts[n["id"]],
             "per_km2": round(counts[n["id"]] / (n["area_m2"] / 1e6), 1) if n["area_m2"] else None}
            for n in nodes if counts[n["id"]]), key=lambda r: (-r["n"], r["code"]))
    return out
