"""The three rates (响应率, 解决率, 满意率) and the composite score, as the city will see them.

Definitions (docs/hotline.md):
    valid        a ticket that counts in the assessment (Ticket.valid; the city's export marks
                 consultations, repeats and tickets outside the street's duty as not assessed)
    response     contacted / valid
    resolution   solved / valid
    satisfaction (满意 + w × 基本满意) / rated-valid, rated-valid = valid tickets with a rating;
                 w = RateSettings.basic_weight (0.9)
    composite    a × response + b × resolution + c × satisfaction, (a, b, c) = (0.1, 0.5, 0.4)
A rate with an empty denominator is None ("—"); so is a composite with any rate None.
Units (communities, grids) with fewer valid tickets than RateSettings.min_sample are shown but
not ranked ("样本不足")."""

from dataclasses import asdict, dataclass

from django.db.models import Count, Q
from django.utils.translation import gettext_noop

from gridgov.core.i18n import source_text
from gridgov.geo.models import GridNode

from .models import RateSettings, Satisfaction, Ticket

MEASURES = {
    "all": Q(),
    "valid": Q(valid=True),
    "invalid": Q(valid=False),
    "contacted": Q(valid=True, contacted=True),
    "not_contacted": Q(valid=True, contacted=False),
    "solved": Q(valid=True, solved=True),
    "unsolved": Q(valid=True, solved=False),
    "rated": Q(valid=True) & ~Q(satisfaction=Satisfaction.EMPTY),
    "satisfied": Q(valid=True, satisfaction=Satisfaction.SATISFIED),
    "basic": Q(valid=True, satisfaction=Satisfaction.BASIC),
    "unsatisfied": Q(valid=True, satisfaction=Satisfaction.UNSATISFIED),
}
COUNTED = ["all", "valid", "contacted", "solved", "rated", "satisfied", "basic", "unsatisfied"]


def add_months(month: str, n: int) -> str:
    y, m = map(int, month.split("-"))
    k = y * 12 + (m - 1) + n
    return f"{k // 12:04d}-{k % 12 + 1:02d}"


FIRST_MONTH = "2000-01"


class MonthError(ValueError):
    """A month that is not YYYY-MM or lies outside `month_range()`; `first` and `last` say the range."""

    def __init__(self, value, first: str, last: str):
        self.value, self.first, self.last = value, first, last
        super().__init__(f"month：{str(value)[:40]!r} 不是 {first} 至 {last} 之间的月份（格式 YYYY-MM）")


def month_range() -> tuple[str, str]:
    """The months any door takes: FIRST_MONTH to December of next year (local time)."""
    from django.utils import timezone

    return FIRST_MONTH, f"{timezone.localdate().year + 1:04d}-12"


def check_month(month) -> str:
    """THE month parser of every door (pages, API, commands): 'YYYY-MM' (2025-4 → 2025-04, as
    tickets store it) within `month_range()`, else MonthError (a ValueError). Pages answer it
    with 400 and the message, the API with 422."""
    import re

    first, last = month_range()
    m = re.fullmatch(r"([0-9]{4})-([0-9]{1,2})", month.strip()) if isinstance(month, str) else None
    if m is None or not 1 <= int(m[2]) <= 12:
        raise MonthError(month, first, last)
    month = f"{m[1]}-{int(m[2]):02d}"
    if not first <= month <= last:
        raise MonthError(month, first, last)
    return month


@dataclass
class Counts:
    all: int = 0
    valid: int = 0
    contacted: int = 0
    solved: int = 0
    rated: int = 0
    satisfied: int = 0
    basic: int = 0
    unsatisfied: int = 0

    def add(self, other: "Counts"):
        for k in COUNTED:
            setattr(self, k, getattr(self, k) + getattr(other, k))


@dataclass
class Rates:
    response: float | None
    resolution: float | None
    satisfaction: float | None
    composite: float | None


def rates_of(c: Counts, s: RateSettings) -> Rates:
    response = c.contacted / c.valid if c.valid else None
    resolution = c.solved / c.valid if c.valid else None
    satisfaction = (c.satisfied + s.basic_weight * c.basic) / c.rated if c.rated else None
    composite = None
    if None not in (response, resolution, satisfaction):
        composite = (s.response_weight * response + s.resolution_weight * resolution
                     + s.satisfaction_weight * satisfaction)
    return Rates(response, resolution, satisfaction, composite)


def _aggregate(qs, months: list[str]) -> dict[tuple[int | None, str], Counts]:
    """Counts per (grid id, month)."""
    ann = {f"n_{k}": Count("id", filter=MEASURES[k]) if k != "all" else Count("id") for k in COUNTED}
    out = {}
    for row in qs.filter(month__in=months).values("grid_id", "month").annotate(**ann):
        out[(row["grid_id"], row["month"])] = Counts(**{k: row[f"n_{k}"] for k in COUNTED})
    return out


def _tickets(user):
    return Ticket.objects.all() if user is None else Ticket.objects.visible_to(user)


def _nodes(user):
    return GridNode.objects.all() if user is None else GridNode.objects.visible_to(user)


def _delta(a, b):
    return None if a is None or b is None else a - b


def _pct_change(a: int, b: int):
    return None if not b else (a - b) / b


#: the units a report ranks, by their level below the street's (the street itself is 0)
UNIT_LEVELS = {"street": 0, "community": 1, "grid": 2}


def unit_level(value) -> int:
    """The level of the ranked units, counted from the street: "street" or 0 (the streets of a
    district, ranked against each other), "community" or 1, "grid" or 2. ValueError otherwise."""
    text = str(value if value is not None else "").strip() or "1"
    rel = UNIT_LEVELS.get(text, int(text) if text.isdigit() else None)
    if rel not in (0, 1, 2):
        raise ValueError(f"level {value!r}: street, community or grid (0, 1, 2)")
    return rel


def unit_rates(month: str, user=None, level: int = 1, settings: RateSettings | None = None) -> dict:
    """Rates of everything the user sees and of each visible unit of `level` (counted from the
    street: 0 = the streets of a district, 1 = community, 2 = grid) for `month`, with
    month-on-month and year-on-year changes and the ranking (units under the minimum sample are
    not ranked)."""
    from gridgov.geo import levels as gl

    check_month(month)
    level = unit_level(level)
    s = settings or RateSettings.current()
    months = [month, add_months(month, -1), add_months(month, -12)]
    agg = _aggregate(_tickets(user), months)
    units = list(_nodes(user).filter(level=gl.street_level() + level).order_by("code").values("id", "code", "name", "path"))
    all_nodes = {n["id"]: n["path"] for n in GridNode.objects.values("id", "path")}
    unit_by_path = {u["path"]: u for u in units}

    def unit_of(grid_id):
        path = all_nodes.get(grid_id)
        if path is None:
            return None
        parts = path.strip("/").split("/")
        for k in range(len(parts), 0, -1):
            u = unit_by_path.get("/" + "/".join(parts[:k]) + "/")
            if u is not None:
                return u["id"]
        return None

    per_unit = {(u["id"], m): Counts() for u in units for m in months}
    street = {m: Counts() for m in months}
    for (grid_id, m), c in agg.items():
        street[m].add(c)
        uid = unit_of(grid_id)
        if uid is not None:
            per_unit[(uid, m)].add(c)

    def row(c_now, c_prev, c_last_year):
        r, rp, ry = rates_of(c_now, s), rates_of(c_prev, s), rates_of(c_last_year, s)
        out = {"counts": asdict(c_now), **asdict(r)}
        out["mom"] = {k: _delta(getattr(r, k), getattr(rp, k)) for k in asdict(r)}
        out["yoy"] = {k: _delta(getattr(r, k), getattr(ry, k)) for k in asdict(r)}
        out["mom"]["tickets"] = _pct_change(c_now.all, c_prev.all)
        out["yoy"]["tickets"] = _pct_change(c_now.all, c_last_year.all)
        out["enough"] = c_now.valid >= s.min_sample
        return out

    rows = []
    for u in units:
        r = row(per_unit[(u["id"], months[0])], per_unit[(u["id"], months[1])], per_unit[(u["id"], months[2])])
        r.update({"id": u["id"], "code": u["code"], "name": u["name"], "rank": None})
        r["note"] = "" if r["enough"] else gettext_noop("样本不足")  # the report page translates it
        rows.append(r)
    ranked = sorted((r for r in rows if r["enough"] and r["composite"] is not None), key=lambda r: (-r["composite"], r["code"]))
    for i, r in enumerate(ranked, start=1):
        r["rank"] = i
    return {
        "month": month,
        "level": level,
        "settings": settings_dict(s),
        "street": row(street[months[0]], street[months[1]], street[months[2]]),
        "units": rows,
    }


def settings_dict(s: RateSettings) -> dict:
    return {
        "basic_weight": s.basic_weight,
        "response_weight": s.response_weight,
        "resolution_weight": s.resolution_weight,
        "satisfaction_weight": s.satisfaction_weight,
        "min_sample": s.min_sample,
    }


def year_to_date(month: str, user=None) -> dict:
    """Tickets from January to `month` and in the same months a year earlier (e.g. 1—9月 10263, −25.41 %)."""
    y, m = map(int, month.split("-"))
    now = [f"{y:04d}-{k:02d}" for k in range(1, m + 1)]
    before = [f"{y - 1:04d}-{k:02d}" for k in range(1, m + 1)]
    qs = _tickets(user)
    a = qs.filter(month__in=now).count()
    b = qs.filter(month__in=before).count()
    return {"from": now[0], "to": month, "tickets": a, "previous": b, "change": _pct_change(a, b)}


def category_key(l1: str, l2: str) -> str:
    return f"{l1}/{l2}" if l2 else (l1 or "未分类")


def rising_categories(month: str, user=None, limit: int = 10) -> list[dict]:
    """Categories (level 1/level 2) by ticket count this month against last month and a year ago,
    those that rose most first."""
    months = [month, add_months(month, -1), add_months(month, -12)]
    counts = {}
    for row in (_tickets(user).filter(month__in=months).values("category_l1", "category_l2", "month")
                .annotate(n=Count("id"))):
        key = category_key(row["category_l1"], row["category_l2"])
        counts.setdefault(key, {m: 0 for m in months})[row["month"]] += row["n"]
    out = []
    for key, c in counts.items():
        now, prev, ly = c[months[0]], c[months[1]], c[months[2]]
        out.append({"category": key, "tickets": now, "previous_month": prev, "last_year": ly,
                    "mom": now - prev, "yoy": now - ly})
    out.sort(key=lambda r: (-r["mom"], -r["yoy"], r["category"]))
    return [r for r in out if r["mom"] > 0 or r["yoy"] > 0][:limit]


def improving_units(report: dict, limit: int = 10) -> list[dict]:
    """Units with enough sample whose composite rose month on month, most first."""
    rows = [r for r in report["units"] if r["enough"] and r["mom"]["composite"] is not None and r["mom"]["composite"] > 0]
    rows.sort(key=lambda r: (-r["mom"]["composite"], r["code"]))
    return [{"code": r["code"], "name": r["name"], "composite": r["composite"], "mom": r["mom"]["composite"],
             "yoy": r["yoy"]["composite"]} for r in rows[:limit]]


def dragging_tickets(month: str, user=None, limit: int = 20, settings: RateSettings | None = None) -> list[dict]:
    """Valid tickets of the month that cost the street composite points, costliest first.

    A ticket's cost is what the composite would gain if it had been contacted, solved and rated
    满意: a/valid if not contacted, b/valid if not solved, c × (1 − its rating score)/rated-valid
    if rated (满意 1, 基本满意 w, 不满意 0)."""
    s = settings or RateSettings.current()
    qs = _tickets(user).filter(month=month, valid=True)
    valid = qs.count()
    rated = qs.exclude(satisfaction=Satisfaction.EMPTY).count()
    if not valid:
        return []
    bad = qs.filter(Q(contacted=False) | Q(solved=False) | Q(satisfaction__in=[Satisfaction.BASIC, Satisfaction.UNSATISFIED]))
    score = {Satisfaction.SATISFIED: 1.0, Satisfaction.BASIC: s.basic_weight, Satisfaction.UNSATISFIED: 0.0}
    out = []
    for t in bad.select_related("community", "case").only(
        "id", "ticket_id", "content", "contacted", "solved", "satisfaction", "category_l1", "category_l2",
        "received_at", "community__name", "case__state", "case__number",
    ):
        cost = 0.0
        if not t.contacted:
            cost += s.response_weight / valid
        if not t.solved:
            cost += s.resolution_weight / valid
        if t.satisfaction and rated:
            cost += s.satisfaction_weight * (1 - score[t.satisfaction]) / rated
        out.append({"id": t.id, "ticket_id": t.ticket_id, "cost": cost, "contacted": t.contacted, "solved": t.solved,
                    "satisfaction": t.satisfaction, "category": category_key(t.category_l1, t.category_l2),
                    "community": t.community.name if t.community_id else "", "content": t.content[:120],
                    "case_id": t.case_id, "case_number": t.case.number if t.case_id else "",
                    "case_state": t.case.state if t.case_id else "",
                    "case_state_label": t.case.get_state_display() if t.case_id else ""})
    out.sort(key=lambda r: (-r["cost"], r["ticket_id"]))
    return out[:limit]


def cell_tickets(month: str, measure: str, scope: str = "street", user=None):
    """The tickets behind one figure: `scope` is 'street' or a grid node's code, `measure` one of
    MEASURES (valid, contacted, not_contacted, solved, unsolved, rated, satisfied, basic, ...)."""
    check_month(month)
    if measure not in MEASURES:
        raise ValueError(f"measure {measure!r}: expected one of {', '.join(MEASURES)}")
    qs = _tickets(user).filter(month=month).filter(MEASURES[measure])
    if scope and scope != "street":
        node = _nodes(user).filter(code=scope).first()
        if node is None:
            raise LookupError(f"no grid {scope!r}")
        qs = qs.filter(grid__path__startswith=node.path)
    return qs.order_by("received_at", "id")


def monthly_report(month: str, user=None, level: int = 1) -> dict:
    """Everything the month-end page and `gridgov hotline rates` show."""
    s = RateSettings.current()
    report = unit_rates(month, user, level, s)
    report["ytd"] = year_to_date(month, user)
    report["rising_categories"] = rising_categories(month, user)
    report["improving"] = improving_units(report)
    report["dragging"] = dragging_tickets(month, user, settings=s)
    return report


def export_xlsx(report: dict, out):
    """Write the report as a workbook (sheets 排名, 类别, 拖累工单) to a path or file object."""
    from gridgov.core.tabular import Workbook  # names and ticket text come from imports: made safe there

    wb = Workbook()
    ws = wb.sheet("排名")
    ws.append(["月份", "编码", "名称", "工单", "有效", "响应率", "解决率", "满意率", "综合", "排名", "备注",
               "综合环比", "综合同比", "工单同比"])

    def pct(v):
        return None if v is None else round(v * 100, 2)

    st = report["street"]
    ws.append([report["month"], "", "全街道", st["counts"]["all"], st["counts"]["valid"], pct(st["response"]),
               pct(st["resolution"]), pct(st["satisfaction"]), pct(st["composite"]), None, "",
               pct(st["mom"]["composite"]), pct(st["yoy"]["composite"]), pct(st["yoy"]["tickets"])])
    for r in report["units"]:
        ws.append([report["month"], r["code"], r["name"], r["counts"]["all"], r["counts"]["valid"], pct(r["response"]),
                   pct(r["resolution"]), pct(r["satisfaction"]), pct(r["composite"]), r["rank"], r["note"],
                   pct(r["mom"]["composite"]), pct(r["yoy"]["composite"]), pct(r["yoy"]["tickets"])])
    ws2 = wb.sheet("类别")
    ws2.append(["类别", "本月", "上月", "去年同月", "环比增加", "同比增加"])
    for r in report.get("rising_categories", []):
        ws2.append([r["category"], r["tickets"], r["previous_month"], r["last_year"], r["mom"], r["yoy"]])
    ws3 = wb.sheet("拖累工单")
    ws3.append(["工单编号", "社区", "类别", "已联系", "已解决", "评价", "综合失分", "内容", "街道事件", "事件状态"])
    for r in report.get("dragging", []):
        ws3.append([r["ticket_id"], r["community"], r["category"], "是" if r["contacted"] else "否",
                    "是" if r["solved"] else "否", source_text(dict(Satisfaction.choices).get(r["satisfaction"], "")),
                    round(r["cost"] * 100, 3), r["content"], r.get("case_number", ""), r.get("case_state_label", "")])
    wb.save(out)
