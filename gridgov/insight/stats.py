"""The dashboards' figures, each one SQL aggregate over the cases a user may see.

`Filters` is the cross-filter state (month, hour, item, channel, community, grid); each
breakdown is computed with every filter but its own dimension, so a chart keeps showing its
other bars while the others narrow down (the usual cross-filter). Everything goes through
`Case.objects.visible_to(user)` (and `Ticket.objects.visible_to(user)`).

The month's topics and recurring problems (`topics`, from gridgov.hotline.clusters: tickets and
the cases of the other channels) compare texts, which costs far more than an aggregate: the
dashboard asks for them in a request of their own (`/api/insight/topics`), after its figures."""

from dataclasses import asdict, dataclass, fields
from datetime import datetime

from django.db.models import Count, Q
from django.db.models.functions import ExtractHour, Substr, TruncMonth
from django.utils import timezone

from gridgov.cases.models import OPEN_STATES, Breach, Case, Channel, Clock, ClockKind, ClockState, Rating, Score
from gridgov.geo import levels as gl
from gridgov.geo.models import GridNode
from gridgov.hotline.rates import MonthError, check_month

CODE_LEN = 15  # street, community and grid codes (docs/architecture.md); paths are "/…/street/community/grid/…"


def _code_at(level: int) -> int:
    """1-based position in a path of the code of the node at `level` (core.levels)."""
    return 1 + level * (CODE_LEN + 1) + 1


class FilterError(ValueError):
    pass


@dataclass
class Filters:
    month: str = ""  # YYYY-MM (local time)
    hour: int | None = None
    item: str = ""  # item code
    channel: str = ""
    community: str = ""  # community code
    grid: str = ""  # grid code
    street: str = ""  # street code (under a district or a city)

    DIMENSIONS = ("month", "hour", "item", "channel", "street", "community", "grid")

    @classmethod
    def from_query(cls, q) -> "Filters":
        f = cls()
        month = (q.get("month") or "").strip()
        if month:
            try:
                f.month = check_month(month)  # 2025-4 → 2025-04, as tickets store it; 2000-01 … next year
            except MonthError as e:
                raise FilterError(str(e)) from None
        hour = (q.get("hour") or "").strip() if isinstance(q.get("hour"), str) else q.get("hour")
        if hour not in (None, ""):
            try:
                f.hour = int(hour)
            except ValueError:
                raise FilterError(f"hour: {hour!r} is not a number 0..23") from None
            if not 0 <= f.hour <= 23:
                raise FilterError(f"hour: {hour!r} is not a number 0..23")
        channel = (q.get("channel") or "").strip()
        if channel and channel not in Channel.values:
            raise FilterError(f"channel: {channel!r}; use one of {', '.join(Channel.values)}")
        f.channel = channel
        for name in ("item", "street", "community", "grid"):
            v = (q.get(name) or "").strip()
            if v and (len(v) > 40 or not v.replace("-", "").replace("_", "").isalnum()):
                raise FilterError(f"{name}: {v!r} is not a code")
            setattr(f, name, v)
        return f

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in ("", None)}

    def apply(self, qs, skip: str = "", prefix: str = ""):
        """Filter a queryset of cases (prefix '' ) or of rows pointing to a case ('case__')."""
        p = prefix
        q = Q()
        if self.month and skip != "month":
            tz = timezone.get_current_timezone()
            start = datetime.strptime(self.month, "%Y-%m").replace(tzinfo=tz)
            end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
            q &= Q(**{f"{p}created_at__gte": start, f"{p}created_at__lt": end})
        if self.hour is not None and skip != "hour":
            q &= Q(**{f"{p}created_at__hour": self.hour})
        if self.item and skip != "item":
            q &= Q(**{f"{p}item__code": self.item})
        if self.channel and skip != "channel":
            q &= Q(**{f"{p}channel": self.channel})
        if self.street and skip != "street":
            q &= Q(**{f"{p}grid_path__contains": f"/{self.street}/"})
        if self.community and skip != "community":
            q &= Q(**{f"{p}grid_path__contains": f"/{self.community}/"})
        if self.grid and skip != "grid":
            q &= Q(**{f"{p}grid_path__contains": f"/{self.grid}/"})
        return qs.filter(q)


def cases_for(user):
    return Case.objects.visible_to(user)


def _names(codes) -> dict:
    return dict(GridNode.objects.filter(code__in=[c for c in codes if c]).values_list("code", "name"))


def by_month(user, f: Filters) -> list[dict]:
    qs = f.apply(cases_for(user), skip="month")
    rows = qs.annotate(m=TruncMonth("created_at")).values("m").annotate(n=Count("id")).order_by("m")
    return [{"key": timezone.localtime(r["m"]).strftime("%Y-%m") if timezone.is_aware(r["m"]) else r["m"].strftime("%Y-%m"), "n": r["n"]} for r in rows]


def by_hour(user, f: Filters) -> list[dict]:
    qs = f.apply(cases_for(user), skip="hour")
    counts = dict(qs.annotate(h=ExtractHour("created_at")).values("h").annotate(n=Count("id")).values_list("h", "n"))
    return [{"key": h, "n": counts.get(h, 0)} for h in range(24)]


def by_item(user, f: Filters) -> list[dict]:
    qs = f.apply(cases_for(user), skip="item").filter(item__isnull=False)
    rows = qs.values("item__code", "item__name").annotate(n=Count("id")).order_by("-n", "item__code")
    return [{"key": r["item__code"], "label": r["item__name"], "n": r["n"]} for r in rows]


def by_channel(user, f: Filters) -> list[dict]:
    qs = f.apply(cases_for(user), skip="channel")
    counts = dict(qs.values("channel").annotate(n=Count("id")).values_list("channel", "n"))
    return [{"key": c.value, "label": str(c.label), "n": counts.get(c.value, 0)} for c in Channel]


def _by_path_part(user, f: Filters, skip: str, at: int) -> list[dict]:
    qs = f.apply(cases_for(user), skip=skip)
    rows = list(
        qs.annotate(code=Substr("grid_path", at, CODE_LEN)).values("code").annotate(n=Count("id")).order_by("-n", "code")
    )
    names = _names([r["code"] for r in rows])
    return [{"key": r["code"], "label": names.get(r["code"], r["code"]), "n": r["n"]} for r in rows if len(r["code"] or "") == CODE_LEN]


def by_street(user, f: Filters) -> list[dict]:
    """Under a district or a city: the cases per street (no filter of its own)."""
    return _by_path_part(user, f, "street", _code_at(gl.street_level()))


def by_community(user, f: Filters) -> list[dict]:
    return _by_path_part(user, f, "community", _code_at(gl.community_level()))


def by_grid(user, f: Filters) -> list[dict]:
    return _by_path_part(user, f, "grid", _code_at(gl.grid_level()))


def compliance(user, f: Filters) -> list[dict]:
    """On-time rate per clock kind: clocks that ended (stopped or breached) without a breach,
    over all that ended, for the filtered cases."""
    cases = f.apply(cases_for(user))
    ended = Clock.objects.filter(case__in=cases.values("pk"), state__in=[ClockState.STOPPED, ClockState.BREACHED])
    rows = {
        r["kind"]: r
        for r in ended.values("kind").annotate(total=Count("id"), late=Count("id", filter=Q(state=ClockState.BREACHED)))
    }
    out = []
    for k in ClockKind:
        r = rows.get(k.value, {"total": 0, "late": 0})
        rate = round(100.0 * (r["total"] - r["late"]) / r["total"], 1) if r["total"] else None
        out.append({"key": k.value, "label": str(k.label), "total": r["total"], "late": r["late"], "on_time_rate": rate})
    return out


def overdue(user, f: Filters, now=None, limit=20) -> dict:
    """The overdue cases (`CaseQuerySet.overdue`: the same count as the workbench's)."""
    qs = f.apply(cases_for(user)).overdue(now)
    rows = qs.select_related("item", "grid").order_by("created_at")[:limit]
    return {
        "count": qs.count(),
        "rows": [
            {"id": c.pk, "number": c.number, "item": c.item.name if c.item_id else "", "grid": c.grid.name if c.grid_id else "",
             "state": c.get_state_display(), "created_at": timezone.localtime(c.created_at).strftime("%Y-%m-%d %H:%M")}
            for c in rows
        ],
    }


def satisfaction(user, f: Filters) -> list[dict]:
    ratings = Rating.objects.filter(case__in=f.apply(cases_for(user)).values("pk"))
    counts = dict(ratings.values("score").annotate(n=Count("id")).values_list("score", "n"))
    return [{"key": s.value, "label": str(s.label), "n": counts.get(s.value, 0)} for s in Score]


def hotspots(user, f: Filters) -> list[dict]:
    """Case counts per finest grid (the micro-grid a case lies in), with its centre."""
    rows = f.apply(cases_for(user)).filter(grid__isnull=False).values("grid").annotate(n=Count("id")).order_by("-n")
    counts = {r["grid"]: r["n"] for r in rows}
    nodes = GridNode.objects.filter(pk__in=list(counts)).values("id", "code", "name", "center_lon", "center_lat", "area_m2")
    out = [
        {"code": n["code"], "name": n["name"], "lon": n["center_lon"], "lat": n["center_lat"], "n": counts[n["id"]],
         "per_km2": round(counts[n["id"]] / (n["area_m2"] / 1e6), 1) if n["area_m2"] else None}
        for n in nodes
    ]
    return sorted(out, key=lambda r: (-r["n"], r["code"]))


def tickets_by_month(user) -> list[dict]:
    from gridgov.hotline.models import Ticket

    rows = (
        Ticket.objects.visible_to(user).values("month")
        .annotate(n=Count("id"), valid=Count("id", filter=Q(valid=True)), satisfied=Count("id", filter=Q(satisfaction="satisfied")))
        .order_by("month")
    )
    return [{"key": r["month"], "n": r["n"], "valid": r["valid"], "satisfied": r["satisfied"]} for r in rows]


def topics_month(user) -> str:
    """The latest month with 12345 tickets the user may see, else with counted cases, else ''."""
    from gridgov.hotline import clusters
    from gridgov.hotline.models import Ticket

    month = Ticket.objects.visible_to(user).order_by("-month").values_list("month", flat=True).first()
    if month:
        return month
    last = (cases_for(user).exclude(channel=clusters.HOTLINE).exclude(held=True).order_by("-created_at")
            .values_list("created_at", flat=True).first())
    return timezone.localtime(last).strftime("%Y-%m") if last else ""


def topics(user, f: Filters, limit: int = 5, examples: int = 2, use_rollups: bool = True) -> dict:
    """The month's topics (near-duplicate clusters), hot spots and recurring problems over the
    12345 tickets and the other channels' cases the user may see (gridgov.hotline.clusters), for
    the filter's month (default `topics_month`) and its community or grid; the other filters
    (hour, item, channel) do not apply: tickets have no item nor channel of the cases'. Read
    from the topic rollups when they answer (rollup.topics: with `computed_at` and `stale`),
    else computed (`live_topics`)."""
    from . import rollup

    month = f.month or topics_month(user)
    if not month:
        return {"month": "", "tickets": 0, "cases": 0, "topics": [], "hot_spots": [], "recurring": []}
    kept = rollup.topics(user, f, month, limit=limit, examples=examples) if use_rollups else None
    if kept is not None:
        kept["computed_at"] = kept["computed_at"].isoformat() if kept["computed_at"] else None
        return kept
    return live_topics(user, f, month, limit=limit, examples=examples)


def live_topics(user, f: Filters, month: str, limit: int = 5, examples: int = 2) -> dict:
    """`topics` computed from the tickets and cases (what the topic rollups keep)."""
    from gridgov.hotline import clusters
    from gridgov.hotline.models import Ticket

    tickets, cases = Ticket.objects.visible_to(user), cases_for(user)
    for code in (f.street, f.community, f.grid):
        if code:
            tickets = tickets.filter(grid__path__contains=f"/{code}/")
            cases = cases.filter(grid_path__contains=f"/{code}/")
    return clusters.month_topics(month, tickets, limit=limit, cases=cases, examples=examples)


def summary(user, f: Filters) -> dict:
    qs = f.apply(cases_for(user))
    return qs.aggregate(
        total=Count("id"),
        open=Count("id", filter=Q(state__in=OPEN_STATES)),
        closed=Count("id", filter=Q(state="closed")),
        escalated=Count("id", filter=Q(pk__in=Breach.objects.exclude(escalated_to="").values("case"))),
    )


#: the breakdowns the rollups can give (gridgov.insight.rollup.figures), each with its computation
#: from the cases, which `raw_figures` runs when they cannot answer (and the rollup test compares)
RAW = {"summary": summary, "by_month": by_month, "by_hour": by_hour, "by_item": by_item, "by_channel": by_channel,
       "by_street": by_street, "by_community": by_community, "by_grid": by_grid, "compliance": compliance,
       "satisfaction": satisfaction, "hotspots": hotspots}


def raw_figures(user, f: Filters) -> dict:
    """Every breakdown computed from the cases the user sees."""
    return {k: fn(user, f) for k, fn in RAW.items() if k != "by_street" or gl.multi_street()}


def dashboard(user, f: Filters, screen: bool = False, now=None, use_rollups: bool = True) -> dict:
    """Every figure of the dashboard: from the rollups where they answer exactly (rollup.figures),
    else from the cases; the overdue cases (a moment's state) and the 12345 months always live."""
    from . import rollup

    figs = (rollup.figures(user, f) if use_rollups else None) or {}
    for k, fn in RAW.items():
        if figs.get(k) is None and (k != "by_street" or gl.multi_street()):
            figs[k] = fn(user, f)
    data = {"filters": f.as_dict(), **figs, "overdue": overdue(user, f, now=now), "tickets_by_month": tickets_by_month(user)}
    data["by_grid"] = data["by_grid"][:30]
    return data


# --- export -----------------------------------------------------------------------------------

SHEETS = [
    ("by_month", "按月", [("key", "月份"), ("n", "事件数")]),
    ("by_hour", "按时段", [("key", "小时"), ("n", "事件数")]),
    ("by_item", "按事项", [("key", "事项编码"), ("label", "事项"), ("n", "事件数")]),
    ("by_channel", "按渠道", [("key", "渠道编码"), ("label", "渠道"), ("n", "事件数")]),
    ("by_community", "按社区", [("key", "社区编码"), ("label", "社区"), ("n", "事件数")]),
    ("by_grid", "按网格", [("key", "网格编码"), ("label", "网格"), ("n", "事件数")]),
    ("compliance", "按期率", [("label", "时限"), ("total", "已结束计时"), ("late", "超时"), ("on_time_rate", "按期率%")]),
    ("satisfaction", "满意度", [("label", "评价"), ("n", "条数")]),
    ("hotspots", "热点网格", [("code", "网格编码"), ("name", "网格"), ("n", "事件数"), ("per_km2", "每平方公里")]),
    ("tickets_by_month", "12345按月", [("key", "月份"), ("n", "工单数"), ("valid", "考核工单"), ("satisfied", "满意")]),
]

#: the sheets of `topics` (key under data["topics"], title, columns); a place's counts, two examples
TOPIC_SHEETS = [
    ("topics", "本月议题", [("category", "类别"), ("tickets", "12345工单"), ("cases", "其他渠道事件"), ("total", "合计"),
                          ("places", "地点"), ("example1", "示例一"), ("example2", "示例二")]),
    ("recurring", "反复发生的问题", [("name", "地点"), ("category", "类别"), ("tickets", "12345工单"), ("cases", "其他渠道事件"),
                              ("total", "合计"), ("months", "出现月数"), ("example1", "示例一"), ("example2", "示例二")]),
    ("hot_spots", "本月热点", [("name", "地点"), ("category", "类别"), ("tickets", "12345工单"), ("cases", "其他渠道事件"),
                           ("total", "合计")]),
]


def _place_counts(p: dict) -> str:
    """'阳光星苑（工单6，事件1）', '阳光星苑（事件2）'."""
    n = [f"工单{p['tickets']}"] if p["tickets"] else []
    n += [f"事件{p['cases']}"] if p["cases"] else []
    return f"{p['name']}（{'，'.join(n)}）"


def _topic_cell(row: dict, col: str):
    if col == "places":
        return "，".join(_place_counts(p) for p in row["places"][:3])
    if col.startswith("example"):
        ex = row.get("examples") or []
        k = int(col[-1]) - 1
        return ex[k] if k < len(ex) else ""
    return row.get(col)


def export_xlsx(data: dict, only: str = "") -> bytes:
    """The dashboard as a workbook. Case and ticket texts, names and the request's own filter
    values are other people's text: written through gridgov.core.tabular, never as formulas."""
    from gridgov.core.tabular import Workbook

    wb = Workbook()
    info = wb.sheet("筛选条件")
    info.append(["条件", "值"])
    for k, v in (data.get("filters") or {}).items():
        info.append([k, str(v)])
    if data.get("topics"):
        info.append(["议题月份", data["topics"]["month"]])
    info.append(["导出时间", timezone.localtime().strftime("%Y-%m-%d %H:%M")])
    for key, title, cols in SHEETS:
        if key not in data or (only and key != only):
            continue
        ws = wb.sheet(title)
        ws.append([c[1] for c in cols])
        for row in data[key]:
            ws.append([row.get(c[0]) for c in cols])
    if "overdue" in data and (not only or only == "overdue"):
        ws = wb.sheet("超期事件")
        ws.append(["编号", "事项", "网格", "状态", "上报时间"])
        for r in data["overdue"]["rows"]:
            ws.append([r["number"], r["item"], r["grid"], r["state"], r["created_at"]])
    if data.get("topics") and (not only or only == "topics"):
        for key, title, cols in TOPIC_SHEETS:
            ws = wb.sheet(title)
            ws.append([c[1] for c in cols])
            for row in data["topics"][key]:
                ws.append([_topic_cell(row, c[0]) for c in cols])
    return wb.getvalue()


DIMENSIONS = [f.name for f in fields(Filters)]
