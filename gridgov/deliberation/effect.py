"""Whether it worked: the cases and tickets of the topic's problem at its place, month by month
before and after the decision, and whether the change is beyond what month-to-month noise
explains.

What is counted. A decided topic names its problem as gridgov.hotline.clusters names one: a
place ("compound:12", "grid:5") and a category (a 12345 category key such as "城乡建设/物业管理",
or a case item's "scenario/item" or its code). Its reports in a month are the tickets and cases
clusters counts for that (place, category) pair: `place_category_rows` over the window, the
row of the topic's place and category picked out (so a case joins the tickets of its place and
item exactly as on the topics page; nothing is counted a second way). The window is `months`
full months before the decision's month and as many after it; the decision's month itself is
left out (half of it is before), and an after-month counts only once it has ended. Counts are
of everything recorded (not of what the reader may see): the effect is a figure about the
topic, like its evidence, and names no one.

The test (a permutation test, exact): if the decision made no difference, the months' counts
would be what they are whichever months came after it, so any k of the n months are as likely
to be "the after-months" as the real ones. p is the share of all C(n, k) ways of choosing k
months whose mean drop (before − after) is at least the one observed. With the total fixed,
a larger drop is a smaller sum of the after-months, so the comparison is of integer sums (no
rounding). The splits are enumerated (itertools.combinations) when there are at most
EXACT_LIMIT of them (6 and 6 months: 924), else SAMPLES random splits are drawn with a fixed
seed and p = (hits + 1) / (SAMPLES + 1). Two one-sided tests: "fell" when the after-mean is
lower and p(drop) < ALPHA, "rose" when it is higher and p(rise) < ALPHA; else "within_noise".

Its limits (said with every result): topics are chosen when their counts are high, and high
counts tend to come back down by themselves (regression to the mean); small counts move a lot;
other things change at the same time (a new property company, the weather, the street's own
trend, which the reference — the same category in the rest of the community — shows); and the
test treats months as exchangeable, which seasons are not."""

import itertools
import math
import random
from collections import defaultdict

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from . import conf
from .models import Topic

ALPHA = 0.05
#: enumerate every split up to this many, else sample
EXACT_LIMIT = 50_000
SAMPLES = 20_000
SEED = 20240612
#: fewer ended after-months than this: too early to say
MIN_AFTER = 3

VERDICTS = ("fell", "rose", "within_noise", "too_early", "no_problem", "not_decided")


# --- the test ----------------------------------------------------------------------------------


def permutation_test(before: list[int], after: list[int], *, exact_limit: int = EXACT_LIMIT,
                     samples: int = SAMPLES, seed: int = SEED) -> dict:
    """The permutation test of the months' counts: p_fell, the share of the splits of all the
    months into len(before) and len(after) whose mean drop is at least the observed one, and
    p_rose, the share whose mean rise is at least the observed one. Exact below `exact_limit`
    splits, else `samples` random splits (seeded)."""
    values = [int(v) for v in before] + [int(v) for v in after]
    n, k = len(values), len(after)
    observed = sum(after)
    splits = math.comb(n, k)
    if splits <= exact_limit:
        le = ge = 0
        for combo in itertools.combinations(values, k):
            s = sum(combo)
            le += s <= observed  # the after-months' sum at most the observed: a drop at least as large
            ge += s >= observed
        p_fell, p_rose = le / splits, ge / splits
        method, hits = "exact", (le, ge)
    else:
        rng = random.Random(seed)
        idx = range(n)
        le = ge = 0
        for _i in range(samples):
            s = sum(values[i] for i in rng.sample(idx, k))
            le += s <= observed
            ge += s >= observed
        p_fell, p_rose = (le + 1) / (samples + 1), (ge + 1) / (samples + 1)
        method, hits = "monte_carlo", (le, ge)
    return {"method": method, "n": n, "k": k, "splits": splits, "samples": samples if method == "monte_carlo" else None,
            "seed": seed if method == "monte_carlo" else None, "hits_fell": hits[0], "hits_rose": hits[1],
            "p_fell": p_fell, "p_rose": p_rose, "alpha": ALPHA}


# --- the counting --------------------------------------------------------------------------------


def month_of(at) -> str:
    return timezone.localtime(at).strftime("%Y-%m")


def _window(decided_at, months: int, now) -> tuple[str, list[str], list[str]]:
    """(decision month, the before-months, the after-months already ended by `now`)."""
    from gridgov.hotline.rates import add_months

    pivot = month_of(decided_at)
    current = month_of(now)
    before = [add_months(pivot, -k) for k in range(months, 0, -1)]
    after = [m for m in (add_months(pivot, k) for k in range(1, months + 1)) if m < current]
    return pivot, before, after


def place_of(problem_place: str):
    """(kind, object, community node, display name) of "compound:<id>" / "grid:<id>"; None when
    the place is not known."""
    from gridgov.geo.models import GridNode
    from gridgov.registry.models import Compound

    kind, _sep, pk = (problem_place or "").partition(":")
    if not pk.isdigit():
        return None
    if kind == "compound":
        c = Compound.objects.select_related("community", "grid").filter(pk=int(pk)).first()
        return (kind, c, c.community, c.name) if c else None
    if kind == "grid":
        g = GridNode.objects.filter(pk=int(pk)).first()
        if g is None:
            return None
        from .services import community_of

        return kind, g, community_of(g), g.name
    return None


def _sources(community):
    """The tickets and cases that may fall in a (place, category) row of `community`: tickets
    in its grids or matched to one of its compounds, cases in its grids. Every report a row of
    the community's places can hold is among them, and every row holding one of those reports
    is complete, so the community's rows are those of the whole street (clusters assigns a case
    among the rows of its own compound and grid)."""
    from gridgov.cases.models import Case
    from gridgov.hotline.models import Ticket

    if community is None:
        return Ticket.objects.all(), Case.objects.all()
    tickets = Ticket.objects.filter(Q(grid__path__startswith=community.path) | Q(matched_address__compound__community=community))
    return tickets, Case.objects.filter(grid_path__startswith=community.path)


def _rows(community, window: list[str], cache: dict | None = None) -> list[dict]:
    """clusters' (place, category) rows of `community` over `window` (consecutive months)."""
    from gridgov.hotline.clusters import case_rows, place_category_rows

    key = (getattr(community, "pk", None), window[0], window[-1])
    if cache is not None and key in cache:
        return cache[key]
    tickets, cases = _sources(community)
    rows = place_category_rows(window, tickets, case_rows(cases, window), located_only=True)
    if cache is not None:
        cache[key] = rows
    return rows


def _matches(row: dict, category: str) -> bool:
    return row["category"] == category or bool(row.get("item")) and row["item"] == category


def _in_community(row: dict, community) -> bool:
    """Whether a row's place lies in `community` (its compound belongs to it, its grid is in it)."""
    if community is None:
        return True
    kind, _sep, pk = row["place"].partition(":")
    if kind == "compound":
        return int(pk) in _community_compounds(community)
    if kind == "grid":
        return int(pk) in _community_grids(community)
    return False


def _community_compounds(community) -> set:
    from gridgov.registry.models import Compound

    cached = getattr(community, "_effect_compounds", None)
    if cached is None:
        cached = set(Compound.objects.filter(community=community).values_list("id", flat=True))
        community._effect_compounds = cached
    return cached


def _community_grids(community) -> set:
    from gridgov.geo.models import GridNode

    cached = getattr(community, "_effect_grids", None)
    if cached is None:
        cached = set(GridNode.objects.filter(path__startswith=community.path).values_list("id", flat=True))
        community._effect_grids = cached
    return cached


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def _change(before: float, after: float) -> float | None:
    return (after - before) / before if before else None


# --- the effect ----------------------------------------------------------------------------------


def effect(topic: Topic, *, months: int | None = None, now=None, _cache: dict | None = None) -> dict:
    """Whether the decision on `topic` changed its problem's monthly count (see the module's
    docstring). Keys: verdict (one of VERDICTS), sentence (plain Chinese, in the active
    language), place, place_name, category, decision_month, months, by_month [{month, tickets,
    cases, total, side: before|decision|after|pending}], before / after {months, total, mean},
    change ((after − before) / before), ratio (after / before), test (permutation_test's answer
    plus p, the one-sided p of the direction seen), reference (the same category in the rest of
    the community: before/after means, change), limits (what the figure cannot say)."""
    now = now or timezone.now()
    months = int(months or conf.get_int("DELIBERATION_EFFECT_MONTHS"))
    out = {"topic": topic.pk, "verdict": None, "sentence": "", "place": topic.problem_place,
           "place_name": "", "category": topic.problem_category, "decided_at": None, "decision_month": "",
           "months": months, "by_month": [], "before": None, "after": None, "change": None, "ratio": None,
           "test": None, "reference": None, "limits": []}
    place = place_of(topic.problem_place) if topic.problem_category else None
    if place is None:
        out.update(verdict="no_problem", sentence=_("这个议题没有对应的数据问题（地点和类别），无法用数据衡量效果。"))
        return out
    kind, _obj, community, place_name = place
    out["place_name"] = place_name
    if topic.decided_at is None:
        out.update(verdict="not_decided", sentence=_("议题尚未形成决定，决定之后才能比较前后的变化。"))
        return out
    pivot, before_m, after_m = _window(topic.decided_at, months, now)
    out.update(decided_at=topic.decided_at.isoformat(), decision_month=pivot)
    from gridgov.hotline.rates import add_months

    window = before_m + [add_months(pivot, k) for k in range(0, months + 1)]
    rows = [r for r in _rows(community, window, _cache) if r["place"] == topic.problem_place and _matches(r, topic.problem_category)]
    tickets, cases = defaultdict(int), defaultdict(int)
    for r in rows:
        for m in window:
            tickets[m] += r["tickets"][m]
            cases[m] += r["cases"][m]
    ended = set(after_m)
    for m in window:
        side = "before" if m < pivot else "decision" if m == pivot else "after" if m in ended else "pending"
        out["by_month"].append({"month": m, "tickets": tickets[m], "cases": cases[m], "total": tickets[m] + cases[m],
                                "side": side})
    b = [tickets[m] + cases[m] for m in before_m]
    a = [tickets[m] + cases[m] for m in after_m]
    out["before"] = {"months": before_m, "total": sum(b), "mean": _mean(b)}
    out["after"] = {"months": after_m, "total": sum(a), "mean": _mean(a)}
    out["limits"] = limits()
    out["reference"] = _reference(community, window, before_m, after_m, topic, _cache)
    if len(after_m) < MIN_AFTER:
        out.update(verdict="too_early", sentence=_(
            "决定后只过了 %(n)s 个完整月，至少要 %(min)s 个月才能判断变化是否超出月度波动。") % {"n": len(after_m), "min": MIN_AFTER})
        return out
    mb, ma = out["before"]["mean"], out["after"]["mean"]
    out["change"] = _change(mb, ma)
    out["ratio"] = ma / mb if mb else None
    test = permutation_test(b, a)
    if ma < mb and test["p_fell"] < ALPHA:
        verdict, p = "fell", test["p_fell"]
    elif ma > mb and test["p_rose"] < ALPHA:
        verdict, p = "rose", test["p_rose"]
    else:
        verdict, p = "within_noise", test["p_fell"] if ma < mb else test["p_rose"] if ma > mb else 1.0
    test["p"] = p
    test["explanation"] = explain_test(test)
    out["test"] = test
    out["verdict"] = verdict
    out["sentence"] = sentence(verdict, mb, ma, len(before_m), len(after_m), p, test)
    return out


def _reference(community, window, before_m, after_m, topic, cache) -> dict:
    """The same category at the community's other places over the same months: did everything
    fall (or rise) at the same time?"""
    rows = [r for r in _rows(community, window, cache)
            if r["place"] != topic.problem_place and _matches(r, topic.problem_category) and _in_community(r, community)]
    per = {m: sum(r["tickets"][m] + r["cases"][m] for r in rows) for m in window}
    mb, ma = _mean(per[m] for m in before_m), _mean(per[m] for m in after_m)
    return {"label": _("本社区其他地点的同类问题"), "community": getattr(community, "name", ""), "places": len(rows),
            "by_month": [{"month": m, "total": per[m]} for m in window],
            "before_mean": mb, "after_mean": ma if after_m else None, "change": _change(mb, ma) if after_m else None}


def _pct(x: float) -> str:
    """A probability as a percentage a reader can take in: 0.1%, 3.2%, 41%."""
    v = x * 100
    if v < 0.1:
        return _("不到 %(p)s") % {"p": "0.1%"}
    return f"{v:.1f}%" if v < 10 else f"{v:.0f}%"


def sentence(verdict: str, before: float, after: float, nb: int, na: int, p: float, test: dict) -> str:
    """The verdict in one plain sentence (the active language)."""
    head = _("决定后 %(na)s 个月平均每月 %(after)s 件，决定前 %(nb)s 个月平均每月 %(before)s 件") % {
        "na": na, "nb": nb, "after": f"{after:.1f}", "before": f"{before:.1f}"}
    if after == before:
        return head + _("，没有变化。")
    down = after < before
    change = _change(before, after)
    if change is None:
        move = _("，有所增加")
    elif down:
        move = _("，下降 %(pct)s%%") % {"pct": round(-change * 100)}
    else:
        move = _("，上升 %(pct)s%%") % {"pct": round(change * 100)}
    if down:
        chance = _("；若决定没有作用，%(n)s 个月中任意 %(k)s 个月作为“决定后”时出现这么大下降的概率为 %(p)s") % {
            "n": nb + na, "k": na, "p": _pct(p)}
    else:
        chance = _("；若决定没有作用，%(n)s 个月中任意 %(k)s 个月作为“决定后”时出现这么大上升的概率为 %(p)s") % {
            "n": nb + na, "k": na, "p": _pct(p)}
    if test["method"] == "monte_carlo":
        chance += _("（随机抽取 %(s)s 种分法估计）") % {"s": f"{test['samples']:,}"}
    if verdict in ("fell", "rose"):
        tail = _("，超出月度波动。")
    else:
        tail = _("，在月度波动范围之内，还不能说明决定起了作用。")
    return head + move + chance + tail


def explain_test(test: dict) -> str:
    """How p was found, for the staff page."""
    if test["method"] == "exact":
        return _("置换检验：把 %(n)s 个月的件数按所有 %(splits)s 种方式分成“决定前”和“决定后”（%(k)s 个月），"
                 "数出前后差距不小于实际差距的分法所占比例（精确计算）。两个方向各做一次单侧检验，p < 0.05 才算超出波动。") % {
            "n": test["n"], "splits": f"{test['splits']:,}", "k": test["k"]}
    return _("置换检验：%(n)s 个月分成“决定前”和“决定后”（%(k)s 个月）共有 %(splits)s 种分法，随机抽取 %(s)s 种"
             "（固定随机种子）估计差距不小于实际差距的比例，p = (命中数 + 1) / (抽取数 + 1)。两个方向各做一次单侧检验，p < 0.05 才算超出波动。") % {
        "n": test["n"], "splits": f"{test['splits']:,}", "k": test["k"], "s": f"{test['samples']:,}"}


def limits() -> list[str]:
    """What the figure cannot say, shown with every result."""
    return [
        _("回归均值：议题往往在问题最多的时候被选中，之后即使什么都不做，件数也常会回落。"),
        _("件数少时波动大：每月几件的问题，一两个月的起落说明不了什么。"),
        _("同一时期的其他变化（物业更换、天气、全街道的趋势）也会影响件数：请对照本社区其他地点同类问题的变化。"),
        _("季节：检验把各月视为可以互换，冬季供暖、夏季漏雨等问题的季节起落会被当作变化。"),
    ]


# --- for the pages -------------------------------------------------------------------------------

CHART_W, CHART_H, CHART_PAD, CHART_TOP = 360, 150, 20, 16


def chart(result: dict) -> dict | None:
    """The bars of a small inline SVG chart of the monthly counts (no script, no library):
    {width, height, bars [{x, y, w, h, value, label, side}], before_y, after_y (the means'
    lines), baseline}."""
    rows = result.get("by_month") or []
    if not rows:
        return None
    top = max([r["total"] for r in rows] + [1])
    inner_h = CHART_H - CHART_PAD - CHART_TOP
    slot = (CHART_W - 8) / len(rows)
    bars = []
    for i, r in enumerate(rows):
        h = inner_h * r["total"] / top
        x = 4 + i * slot
        bars.append({"x": round(x + slot * 0.15, 1), "w": round(slot * 0.7, 1), "y": round(CHART_TOP + inner_h - h, 1),
                     "h": round(h, 1), "value": r["total"], "label": r["month"][5:], "month": r["month"], "side": r["side"],
                     "tx": round(x + slot / 2, 1)})

    def line(side, mean):
        xs = [b for b in bars if b["side"] == side]
        if not xs or mean is None:
            return None
        y = round(CHART_TOP + inner_h - inner_h * mean / top, 1)
        return {"x1": xs[0]["x"], "x2": xs[-1]["x"] + xs[-1]["w"], "y": y}

    return {"width": CHART_W, "height": CHART_H, "bars": bars, "baseline": CHART_TOP + inner_h,
            "label_y": CHART_H - 5,
            "before": line("before", (result.get("before") or {}).get("mean")),
            "after": line("after", (result.get("after") or {}).get("mean") if (result.get("after") or {}).get("months") else None)}


VERDICT_LABELS = {
    "fell": gettext_noop("明显下降"), "rose": gettext_noop("明显上升"), "within_noise": gettext_noop("在波动范围内"),
    "too_early": gettext_noop("为时尚早"), "no_problem": gettext_noop("无数据问题"), "not_decided": gettext_noop("尚未决定"),
}


def verdict_label(verdict: str) -> str:
    return _(VERDICT_LABELS.get(verdict, verdict or ""))


def staff_context(user, topic) -> dict:
    """What the staff topic page (/deliberation/topics/<id>/) shows of this slice: the context of
    templates/deliberation/_staff_topic_effect.html (the monthly table and chart, the verdict,
    its sentence, how p was found, the reference and the limits)."""
    result = effect(topic)
    return {"effect": result, "effect_chart": chart(result), "effect_label": verdict_label(result["verdict"])}


def m_context(user, topic) -> dict:
    """What the phone topic page (/m/deliberation/topics/<id>/) shows of this slice: for a
    decided topic with a problem, the plain sentence and the chart."""
    if topic.decided_at is None or not topic.problem_place:
        return {"effect": None}
    result = effect(topic)
    return {"effect": result, "effect_chart": chart(result), "effect_label": verdict_label(result["verdict"])}


def decided_topics(user, community=None):
    """The decided topics `user` may read (Topic.objects.visible_to), in `community` when given,
    the latest decision first."""
    qs = Topic.objects.visible_to(user).filter(decided_at__isnull=False)
    if community is not None:
        qs = qs.filter(community=community)
    return qs.select_related("community", "compound", "phase", "process").order_by("-decided_at", "-id")


def decided_effects(user, community=None, *, now=None) -> list[dict]:
    """Every decided topic visible to `user` (in `community` when given) with its effect: the
    community's record of whether its decisions worked. [{topic, effect}]."""
    now = now or timezone.now()
    cache = {}
    return [{"topic": t, "effect": effect(t, now=now, _cache=cache)} for t in decided_topics(user, community)]


def summary(items: list[dict]) -> dict:
    """Verdicts counted: {verdict: n}."""
    out = dict.fromkeys(VERDICTS, 0)
    for it in items:
        out[it["effect"]["verdict"]] += 1
    return out
