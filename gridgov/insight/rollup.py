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
caller; the test in insight/tests/test_rollup.py compares every figure both ways on random data.

**Topics** (the month's near-duplicate topics, hot spots and recurring problems) are kept per
month and street in TopicRollup, recomputed by the worker when their tickets or cases change;
`topics(user, f, month)` merges a user's streets (see the section below and
insight/tests/test_topic_rollup.py)."""

from collections import defaultdict
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import ExtractHour, TruncMonth
from django.utils import timezone

from gridgov.cases.models import OPEN_STATES, Breach, Case, CaseEvent, Channel, Clock, ClockKind, ClockState, Item, Rating, Score
from gridgov.geo import levels as gl
from gridgov.geo.models import GridNode

from .models import CaseRollup, GridMonthRollup, HourRollup, RollupState, SpotRollup, TopicRollup, TopicState

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


# --- the topics ----------------------------------------------------------------------------------
#
# The month's topics, hot spots and recurring problems (gridgov.hotline.clusters) cost a reading
# of every ticket and case of six months and a text comparison: a street's month takes a second
# or two. They are kept per month and part (a street; `clusters.part_of`) in TopicRollup: the
# worker recomputes the parts whose tickets or cases changed (`refresh_topics`, every minute), a
# dashboard merges the parts its user sees (`topics`). A part read while stale is recomputed at
# once when it is small (TOPICS_INLINE tickets and cases), else shown as computed, with its time.

TOPICS_KEEP = 30  # the largest topics, hot spots and recurring problems kept per part
TOPICS_EXAMPLES = 3  # samples of each kind kept per row
TOPICS_INLINE = 3000  # a stale part this small is recomputed on read


def topic_parts() -> list[str]:
    """Every part of the install: each street's path and '' (what lies in no street), or ['']."""
    if not gl.multi_street():
        return [""]
    return sorted(GridNode.objects.filter(level=gl.street_level()).values_list("path", flat=True)) + [""]


def _part_sources(part: str):
    """(tickets, cases) of one part, what `clusters.part_of` puts in it."""
    from gridgov.hotline.models import Ticket

    tickets, cases = Ticket.objects.all(), Case.objects.all()
    if part:
        return tickets.filter(grid__path__startswith=part), cases.filter(grid_path__startswith=part)
    if gl.multi_street():
        above = gl.street_level()
        return (tickets.filter(Q(grid__isnull=True) | Q(grid__level__lt=above)),
                cases.filter(Q(grid__isnull=True) | Q(grid__level__lt=above)))
    return tickets, cases


def compute_topics(month: str, part: str, now=None) -> TopicRollup:
    """Recompute one part's month and keep it; a mark made meanwhile keeps it stale."""
    from gridgov.hotline import clusters

    row = TopicRollup.objects.filter(month=month, part=part).first()
    version = row.version if row else 0
    tickets, cases = _part_sources(part)
    data = clusters.month_topics(month, tickets, limit=TOPICS_KEEP, cases=cases, examples=TOPICS_EXAMPLES, keep=True)
    size = data["tickets"] + data["cases"]
    values = {"data": data, "size": size, "computed_at": now or timezone.now()}
    if row is None:
        try:
            with transaction.atomic():
                row = TopicRollup.objects.create(month=month, part=part, **values)
        except IntegrityError:  # computed at the same time elsewhere: ours is as new
            row = TopicRollup.objects.get(month=month, part=part)
            TopicRollup.objects.filter(pk=row.pk).update(**values)
    elif not TopicRollup.objects.filter(pk=row.pk, version=version).update(stale=False, **values):
        TopicRollup.objects.filter(pk=row.pk).update(**values)  # marked meanwhile: stays stale
    row.refresh_from_db()  # what a later read gets (the JSON's own types)
    return row


def mark_topics(now=None) -> int:
    """Mark stale the topic rows that the tickets and cases changed since the last mark could
    alter (their part, their month and the five after it); returns the rows marked."""
    from gridgov.hotline import clusters
    from gridgov.hotline.models import Ticket
    from gridgov.hotline.rates import add_months

    state, _ = TopicState.objects.get_or_create(pk=1)
    top_case = Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    top_event = CaseEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    top_ticket = Ticket.objects.order_by("-updated_at").values_list("updated_at", flat=True).first()
    pairs: set[tuple[str, str]] = set()
    if top_case != state.last_case or top_event != state.last_event:
        changed = Case.objects.filter(
            Q(pk__gt=state.last_case, pk__lte=top_case)
            | Q(pk__in=CaseEvent.objects.filter(pk__gt=state.last_event, pk__lte=top_event).values("case_id")))
        for m, path in changed.annotate(m=TruncMonth("created_at")).values_list("m", "grid_path").distinct():
            pairs.add((_month_key(m), clusters.part_of(path)))
    if top_ticket is not None and (state.tickets_at is None or top_ticket > state.tickets_at):
        changed = Ticket.objects.all()
        if state.tickets_at is not None:
            # a minute back: a ticket written in a transaction that committed after the last mark
            changed = changed.filter(updated_at__gt=state.tickets_at - timedelta(minutes=1))
        for m, path in changed.values_list("month", "grid__path").distinct():
            pairs.add((m, clusters.part_of(path)))
    marked = 0
    by_part: dict[str, set] = defaultdict(set)
    for m, part in pairs:
        by_part[part].update(add_months(m, k) for k in range(clusters.LOOKBACK))
    for part, months in by_part.items():
        marked += TopicRollup.objects.filter(part=part, month__in=months).update(stale=True, version=F("version") + 1)
    # a mark that ran meanwhile may be set back a little: the next one marks its rows again, no harm
    TopicState.objects.filter(pk=1).update(last_case=max(top_case, state.last_case), last_event=max(top_event, state.last_event),
                                           tickets_at=top_ticket or state.tickets_at)
    return marked


def refresh_topics(budget_seconds: float = 50.0, now=None) -> list[tuple[str, str]]:
    """Recompute the stale topic rows, the newest months first, then compute the missing ones
    of the last twelve months, until `budget_seconds` have passed (the rest waits for the next
    run); returns the (month, part) computed."""
    import time

    mark_topics(now=now)
    start, done = time.monotonic(), []
    todo = list(TopicRollup.objects.filter(stale=True).order_by("-month", "part").values_list("month", "part"))
    todo += _missing_topics()  # then the year's months not kept yet (a dashboard opens any of them)
    for month, part in todo:
        if done and time.monotonic() - start > budget_seconds:  # one at least per run
            break
        compute_topics(month, part, now=now)
        done.append((month, part))
    return done


def _missing_topics(months: int = 12) -> list[tuple[str, str]]:
    """(month, part) of the last `months` months with tickets or cases that have no topic row."""
    from gridgov.hotline.models import Ticket

    have = set(GridMonthRollup.objects.values_list("month", flat=True).distinct())
    have |= set(Ticket.objects.values_list("month", flat=True).distinct())
    recent = sorted(have, reverse=True)[:months]
    kept = set(TopicRollup.objects.filter(month__in=recent).values_list("month", "part"))
    return [(m, p) for m in recent for p in topic_parts() if (m, p) not in kept]


def rebuild_topics(months: int = 1, progress=None) -> int:
    """Drop the topic rows and compute, for every part, the latest `months` months with tickets
    and with cases (what a dashboard opens on: `stats.topics_month`); older months are computed
    when first read. Returns the rows computed."""
    from gridgov.hotline.models import Ticket
    from gridgov.hotline.rates import add_months

    TopicRollup.objects.all().delete()
    mark_topics()
    top = Case.objects.order_by("-created_at").values_list("created_at", flat=True).first()
    latest = {m for m in (Ticket.objects.order_by("-month").values_list("month", flat=True).first(),
                          _month_key(top) if top else None) if m}
    wanted = sorted({add_months(m, -k) for m in latest for k in range(months)}, reverse=True)
    todo = [(m, p) for m in wanted for p in topic_parts()]
    for i, (month, part) in enumerate(todo, 1):
        compute_topics(month, part)
        if progress:
            progress(f"topics {i}/{len(todo)} {month} {part or '-'}")
    return len(todo)


def _topic_territory(user, f) -> list[str] | None:
    """The parts whose union is exactly what `user` sees under `f`, or None (computed live): a
    community or grid filter, a user who sees less than whole streets, or who sees cases
    outside their streets (one they handle elsewhere)."""
    from gridgov.accounts import policy
    from gridgov.accounts.scope import scope_of

    if f.community or f.grid:
        return None
    reaches = {policy.reach(user, "cases", "read"), policy.reach(user, "tickets", "read")}
    scope = scope_of(user)
    if reaches == {policy.ALL} or (scope.everything and policy.NEVER not in reaches):
        parts = topic_parts()
    elif reaches == {policy.OWN} and gl.multi_street() and scope.paths and all(
            len(gl.codes_of(p)) == gl.street_level() + 1 for p in scope.paths):
        q = Q()
        for p in scope.paths:
            q |= Q(grid_path__startswith=p)
        if Case.objects.visible_to(user).exclude(q).exists():
            return None
        parts = sorted(scope.paths)
    else:
        return None
    if f.street:
        if not gl.multi_street():
            return None
        path = GridNode.objects.filter(code=f.street, level=gl.street_level()).values_list("path", flat=True).first()
        return [p for p in parts if p == path]
    return parts


def topics(user, f, month: str, limit: int = 5, examples: int = 2) -> dict | None:
    """The month's topics, hot spots and recurring problems that `user` sees under `f`, merged
    from the topic rows of their parts (as `clusters.month_topics` over the same tickets and
    cases gives them); None when the rows cannot answer (`_topic_territory`, or more rows or
    samples asked than are kept)."""
    from gridgov.hotline import clusters

    if limit > TOPICS_KEEP or examples > TOPICS_EXAMPLES:
        return None
    parts = _topic_territory(user, f)
    if parts is None:
        return None
    mark_topics()
    rows = {r.part: r for r in TopicRollup.objects.filter(month=month, part__in=parts)}
    for p in parts:
        r = rows.get(p)
        if r is None or (r.stale and r.size <= TOPICS_INLINE):
            rows[p] = compute_topics(month, p)
    data = [rows[p].data for p in parts]

    def merged(key, order):
        return [clusters.with_examples(r, examples) for r in sorted((r for d in data for r in d[key]), key=order)[:limit]]

    return {
        "month": month,
        "tickets": sum(d["tickets"] for d in data),
        "cases": sum(d["cases"] for d in data),
        "topics": merged("topics", lambda c: (-c["total"], c["key"])),
        "hot_spots": merged("hot_spots", lambda r: (-r["total"], r["place"], r["category"])),
        "recurring": merged("recurring", lambda r: (-r["total"], r["place"], r["category"])),
        "computed_at": min((rows[p].computed_at for p in parts), default=None),
        "stale": any(rows[p].stale for p in parts),
    }
