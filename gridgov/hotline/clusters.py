"""Hot spots, near-duplicate reports, the month's topics (每月一题) and recurring problems, over
the 12345 tickets and the cases reported through the other channels.

What is counted: a month's tickets (`Ticket.month`) and the cases created in that month (local
time) through the resident, volunteer, patrol and API channels. Hotline-channel cases are the
tickets' own cases (`Ticket.case`, opened by the import): they are left out, so that no call is
counted twice. Cases held for moderation or not accepted (不予受理) are left out too: they are
not, or not yet, known problems. With a `user`, tickets and cases both go through
`.visible_to(user)`; a caller that passes only a ticket queryset `qs` gets no cases (the scope
they were meant for is not known), the command line (no `qs`, no `user`) gets everything.

Place: a ticket's place is its compound (through the matched address) when known, else its
grid. A case records no compound: its place is the compound of its community whose name its
address (else its text) contains, else its grid. Two reports are at the same place when they
are in the same compound, or, when either does not know its compound, in the same finest grid.

Meaning: texts are compared by character 2- and 3-gram TF-IDF vectors (sublinear tf,
l2-normalised; no word segmentation needed for Chinese; n-grams seen in one text only add to
its norm, shared ones are hashed into DIMS columns); two texts whose cosine similarity reaches
SIMILARITY (0.35, chosen on the 4,326 public messages: paraphrases of one complaint score
0.4–0.8, different complaints below 0.2) are linked:

* two tickets of the same level-1 category (the 12345 taxonomy), anywhere in the street (in an
  install of several streets, within one street: `part_of`), their IDF taken over that
  category's tickets (as before cases were counted);
* a case and a ticket at the same place;
* two cases of the same item (the cases taxonomy; unclassified cases among themselves) at the
  same place.

Links that involve a case are sought at one place only, over the texts of the month's cases and
of the tickets at their places, once the place's name, the grid's and each report's own address
are taken out of the texts (two reports about one place share its name, which says nothing about
the problem). Case texts are short (「3号楼门口路灯不亮」): across places, reports of the same
item read alike whatever the problem, and single linkage would chain a whole item's month into
one "topic".

A cluster is a connected group of links (single linkage) with at least `min_size` reports: a
case similar to a ticket joins that ticket's cluster, the other cases cluster among themselves.
The vectors are built with numpy from the texts themselves (no model, no download), so the
result depends only on the month's tickets and cases.

Category (hot spots and recurring problems): a ticket's is its 12345 category (level 1/level
2), a case's its item (scenario/item, 待分类 without one). A case counts with the tickets of a
(place, category) pair when it lies at the same place and its item is the one that category
names (the item the ticket's own case gets: `services.item_for_category`); other cases make
(place, item) pairs of their own. A recurring problem is a (place, category) pair with tickets
or cases in at least RECUR_MONTHS of the last LOOKBACK months and at least RECUR_TICKETS
tickets and cases in all: a candidate proactive project."""

import math
import re
import zlib
from collections import Counter, defaultdict
from datetime import datetime

import numpy as np
from django.db.models import Count
from django.utils import timezone

from .models import Ticket
from .rates import add_months, category_key

SIMILARITY = 0.35
DIMS = 4096  # shared n-grams are hashed into this many columns (keeps the product fast)
MAX_CHARS = 200  # texts are cut here: the first sentences say what the problem is
RECUR_MONTHS = 3
RECUR_TICKETS = 5  # tickets and cases together
LOOKBACK = 6
UNCLASSIFIED_CASE = "待分类"
HOTLINE = "hotline"  # the channel of the tickets' own cases
CATEGORY_SOURCES = {"hotline": "12345分类", "cases": "事件事项"}

_STRIP = re.compile(r"[\s\d\W_]+", re.UNICODE)


def part_of(path: str | None) -> str:
    """The part of the install a report at grid `path` is counted in: its street's path in an
    install of several streets ('' for one placed in no street), '' in an install of one street.
    Near-duplicate tickets are linked within one part only, so that every answer is the union
    of its streets' answers (what the dashboards' topic rollups keep, gridgov.insight.rollup)."""
    from gridgov.geo import levels as gl

    return gl.street_path(path or "") if gl.multi_street() else ""


def _grams(text: str) -> Counter:
    t = _STRIP.sub(" ", (text or "")[:MAX_CHARS]).strip()
    out = Counter()
    for piece in t.split():
        for n in (2, 3):
            out.update(piece[i : i + n] for i in range(len(piece) - n + 1))
    return out


def tfidf_matrix(texts: list[str]) -> np.ndarray:
    """Rows: TF-IDF vectors over character n-grams, divided by their full norm; only n-grams
    seen in at least two texts are kept (others cannot make two texts alike)."""
    grams = [_grams(t) for t in texts]
    df = Counter(g for c in grams for g in c)
    n = len(texts)
    vocab = {g: zlib.crc32(g.encode()) % DIMS for g, d in df.items() if d >= 2}
    m = np.zeros((n, DIMS), dtype=np.float32)
    idf = {g: math.log((1 + n) / (1 + d)) + 1 for g, d in df.items()}
    for r, c in enumerate(grams):
        norm = 0.0
        for g, tf in c.items():
            w = (1 + math.log(tf)) * idf[g]
            norm += w * w  # the norm counts every n-gram, shared or not
            j = vocab.get(g)
            if j is not None:
                m[r, j] += w
        if norm:
            m[r] /= math.sqrt(norm)
    return m


class _Links:
    """Union-find over report indices."""

    def __init__(self, n):
        self.parent = list(range(n))

    def find(self, i):
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(self, i, j):
        a, b = self.find(i), self.find(j)
        if a != b:
            self.parent[max(a, b)] = min(a, b)

    def groups(self):
        out = defaultdict(list)
        for i in range(len(self.parent)):
            out[self.find(i)].append(i)
        return list(out.values())


def similarity_groups(texts: list[str], threshold: float = SIMILARITY) -> list[list[int]]:
    """Indices of `texts` grouped by near-duplicate links (single linkage), largest group first."""
    n = len(texts)
    if n == 0:
        return []
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    m = tfidf_matrix(texts)
    block = 512
    rows, cols = [], []
    for start in range(0, n, block):
        r, c = np.nonzero(m[start : start + block] @ m.T >= threshold)
        rows.append(r + start)
        cols.append(c)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    _, labels = connected_components(coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n)), directed=False)
    groups = defaultdict(list)
    for i, label in enumerate(labels.tolist()):
        groups[label].append(i)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]))


# --- what is counted --------------------------------------------------------------------------


def sources(qs=None, cases=None, user=None):
    """(tickets, cases) querysets to count: `qs` (default all tickets) and `cases` (default all
    cases when there is no `qs` or there is a `user`, else none), both narrowed to what `user`
    may see when a user is given."""
    from gridgov.cases.models import Case

    tickets = qs if qs is not None else Ticket.objects.all()
    if cases is None:
        cases = Case.objects.all() if (qs is None or user is not None) else Case.objects.none()
    if user is not None:
        tickets = tickets.visible_to(user)
        cases = cases.visible_to(user)
    return tickets, cases


def month_bounds(first: str, last: str = "") -> tuple[datetime, datetime]:
    """Aware local start of month `first` and start of the month after `last` (default `first`)."""
    tz = timezone.get_current_timezone()
    start = datetime.strptime(first, "%Y-%m").replace(tzinfo=tz)
    end = datetime.strptime(add_months(last or first, 1), "%Y-%m").replace(tzinfo=tz)
    return start, end


def _compounds_by_community() -> dict[str, list[tuple[int, str]]]:
    from gridgov.registry.models import Compound

    out = defaultdict(list)
    for pk, name, code in Compound.objects.values_list("id", "name", "community__code"):
        if name and len(name) >= 2:
            out[code].append((pk, name))
    for v in out.values():
        v.sort(key=lambda x: (-len(x[1]), x[0]))  # the longest name first: 幸福里二区 before 幸福里
    return out


def counted_cases(cases, months: list[str]):
    """The cases of `cases` that count, created in `months` (consecutive, oldest first)."""
    from gridgov.cases.models import State

    start, end = month_bounds(months[0], months[-1])
    return (cases.filter(created_at__gte=start, created_at__lt=end).exclude(channel=HOTLINE).exclude(held=True)
            .exclude(state=State.REJECTED))


def case_rows(cases, months: list[str]) -> list[dict]:
    """The counted cases created in `months` (consecutive, oldest first), oldest first, as dicts
    with their month, place (compound or grid) and category (scenario/item)."""
    rows = list(
        counted_cases(cases, months).order_by("created_at", "id")
        .values("id", "number", "text", "address", "grid_id", "grid__name", "grid_path", "item_id", "item__code",
                "item__name", "item__scenario__name", "created_at")
    )
    from gridgov.geo import levels as gl

    compounds = _compounds_by_community() if rows else {}
    at = gl.community_level()
    for r in rows:
        r["month"] = timezone.localtime(r["created_at"]).strftime("%Y-%m")
        parts = gl.codes_of(r["grid_path"])
        r["compound_id"] = r["compound_name"] = None
        own = compounds.get(parts[at] if len(parts) > at else "", ())
        for where in (r["address"] or "", (r["text"] or "")[:MAX_CHARS]):  # the address, else the text
            found = next(((pk, name) for pk, name in own if name in where), None)
            if found:
                r["compound_id"], r["compound_name"] = found
                break
        if r["compound_id"]:
            r["place"], r["place_name"] = f"compound:{r['compound_id']}", r["compound_name"]
        elif r["grid_id"]:
            r["place"], r["place_name"] = f"grid:{r['grid_id']}", r["grid__name"]
        else:
            r["place"], r["place_name"] = "none", "未定位"
        if r["item_id"]:
            r["category"] = f"{r['item__scenario__name']}/{r['item__name']}"
        else:
            r["category"] = UNCLASSIFIED_CASE
    return rows


def _ticket_compound(t) -> int | None:
    a = getattr(t, "matched_address", None)
    return a.compound_id if a is not None and a.compound_id else None


def _place(t) -> tuple[str, str]:
    """(key, label) of a ticket's place: its compound, else its grid."""
    a = getattr(t, "matched_address", None)
    if a is not None and a.compound_id:
        return f"compound:{a.compound_id}", a.compound.name
    if t.grid_id:
        return f"grid:{t.grid_id}", t.grid.name
    return "none", "未定位"


def _without(text: str, names) -> str:
    for name in sorted({n for n in names if n and len(n) >= 2}, key=len, reverse=True):
        text = text.replace(name, " ")
    return text


def _same_place_links(tickets: list, cases: list[dict]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(case, ticket) and (case, case) index pairs at the same place (cases: of the same item)
    whose texts, without the place's names, reach SIMILARITY."""
    by_grid, by_compound = defaultdict(list), defaultdict(list)
    compound_of = [_ticket_compound(t) for t in tickets]
    for i, t in enumerate(tickets):
        if compound_of[i]:
            by_compound[compound_of[i]].append(i)
        if t.grid_id:
            by_grid[t.grid_id].append(i)
    cases_at = defaultdict(list)  # (item, grid) and (item, compound) -> case indices
    for j, c in enumerate(cases):
        if c["grid_id"]:
            cases_at[(c["item_id"], "grid", c["grid_id"])].append(j)
        if c["compound_id"]:
            cases_at[(c["item_id"], "compound", c["compound_id"])].append(j)
    ticket_cands, case_cands = {}, {}
    for j, c in enumerate(cases):
        found = set()
        if c["compound_id"]:
            found.update(by_compound.get(c["compound_id"], ()))
            found.update(i for i in by_grid.get(c["grid_id"], ()) if not compound_of[i])
        elif c["grid_id"]:
            found.update(by_grid.get(c["grid_id"], ()))
        if found:
            ticket_cands[j] = sorted(found)
        # later cases of the same item in the same compound, or in the same grid and not in another compound
        same = {k for k in cases_at.get((c["item_id"], "compound", c["compound_id"]), ()) if k > j}
        same.update(k for k in cases_at.get((c["item_id"], "grid", c["grid_id"]), ()) if k > j and not (
            c["compound_id"] and cases[k]["compound_id"] and c["compound_id"] != cases[k]["compound_id"]))
        if same:
            case_cands[j] = sorted(same)
    if not ticket_cands and not case_cands:
        return [], []
    ticket_idx = sorted(set().union(*ticket_cands.values())) if ticket_cands else []
    case_idx = sorted(set(ticket_cands) | set(case_cands) | {k for v in case_cands.values() for k in v})
    tpos = {i: k for k, i in enumerate(ticket_idx)}
    cpos = {j: len(ticket_idx) + k for k, j in enumerate(case_idx)}
    texts = []
    for i in ticket_idx:
        t = tickets[i]
        texts.append(_without(t.content or "", (t.address_text, t.matched_address.compound.name if compound_of[i] else "",
                                                t.grid.name if t.grid_id else "")))
    for j in case_idx:
        c = cases[j]
        texts.append(_without(c["text"] or "", (c["address"], c["compound_name"], c["grid__name"])))
    m = tfidf_matrix(texts)
    with_tickets, with_cases = [], []
    for j, found in ticket_cands.items():
        sims = m[[tpos[i] for i in found]] @ m[cpos[j]]
        with_tickets.extend((j, found[x]) for x in np.nonzero(sims >= SIMILARITY)[0].tolist())
    for j, same in case_cands.items():
        sims = m[[cpos[k] for k in same]] @ m[cpos[j]]
        with_cases.extend((j, same[x]) for x in np.nonzero(sims >= SIMILARITY)[0].tolist())
    return with_tickets, with_cases


def _mix(ticket_samples: list, case_samples: list, k: int) -> list:
    """Up to `k` samples, tickets first, with room for one case when there are cases."""
    head = ticket_samples[: k - 1 if case_samples and k > 1 else k]
    return head + case_samples[: k - len(head)]


def _samples(ticket_samples: list, case_samples: list, k: int, keep: bool = False) -> dict:
    """A row's `examples` and `samples` (up to `k`, `_mix`), or with `keep` the first `k` samples
    of each kind, from which `with_examples` gives the same for any smaller `k`."""
    if keep:
        return {"ticket_samples": ticket_samples[:k], "case_samples": case_samples[:k]}
    samples = _mix(ticket_samples, case_samples, k)
    return {"examples": [s["text"] for s in samples], "samples": samples}


def with_examples(row: dict, k: int) -> dict:
    """A row computed with `keep` as it would have been computed with `k` examples."""
    row = dict(row)
    t, c = row.pop("ticket_samples", None), row.pop("case_samples", None)
    return {**row, **_samples(t, c, k)} if t is not None else row


# --- clusters ---------------------------------------------------------------------------------


def month_clusters(month: str, qs=None, min_size: int = 2, examples: int = 3, *, cases=None, user=None) -> list[dict]:
    """Near-duplicate clusters of the month's tickets and cases (see the module's docstring),
    largest first, each with its category, its tickets, cases and total, its places, example
    texts from both and the ids of its tickets and cases."""
    tickets_qs, cases_qs = sources(qs, cases, user)
    return _clusters(month, tickets_qs, case_rows(cases_qs, [month]), min_size, examples)


def _clusters(month, tickets_qs, crows, min_size=2, examples=3, keep=False):
    tickets = list(tickets_qs.filter(month=month).select_related("grid", "matched_address__compound")
                   .order_by("received_at", "id"))
    nt = len(tickets)
    links = _Links(nt + len(crows))
    by_cat = defaultdict(list)
    for i, t in enumerate(tickets):
        by_cat[(part_of(t.grid.path if t.grid_id else ""), t.category_l1 or "未分类")].append(i)
    for idx in by_cat.values():
        for g in similarity_groups([tickets[i].content for i in idx]):
            for x in g[1:]:
                links.union(idx[g[0]], idx[x])
    # links at one place, part by part (the IDF over the part's texts: `part_of`)
    t_parts, c_parts = defaultdict(list), defaultdict(list)
    for i, t in enumerate(tickets):
        t_parts[part_of(t.grid.path if t.grid_id else "")].append(i)
    for j, c in enumerate(crows):
        c_parts[part_of(c["grid_path"])].append(j)
    for p in sorted(set(c_parts)):
        ti, cj = t_parts.get(p, []), c_parts[p]
        with_tickets, with_cases = _same_place_links([tickets[i] for i in ti], [crows[j] for j in cj])
        for j, i in with_tickets:
            links.union(nt + cj[j], ti[i])
        for j, k in with_cases:
            links.union(nt + cj[j], nt + cj[k])
    out = []
    for group in links.groups():
        if len(group) < min_size:
            continue
        group.sort()
        ts = [tickets[i] for i in group if i < nt]
        cs = [crows[i - nt] for i in group if i >= nt]
        places = {}
        for key, name, kind in [(*_place(t), "tickets") for t in ts] + [(c["place"], c["place_name"], "cases") for c in cs]:
            p = places.setdefault(key, {"key": key, "name": name, "tickets": 0, "cases": 0})
            p[kind] += 1
        if ts:
            cats = Counter(category_key(t.category_l1, t.category_l2) for t in ts)
            key = f"{month}:{ts[0].category_l1 or '未分类'}:{ts[0].ticket_id}"
        else:
            cats = Counter(c["category"] for c in cs)
            key = f"{month}:{cs[0]['item__code'] or UNCLASSIFIED_CASE}:case-{cs[0]['id']}"
        out.append({
            "key": key,
            "category": cats.most_common(1)[0][0],
            "category_source": "hotline" if ts else "cases",
            "tickets": len(ts),
            "cases": len(cs),
            "total": len(group),
            "places": sorted(places.values(), key=lambda p: -(p["tickets"] + p["cases"]))[:5],
            **_samples([{"kind": "ticket", "id": t.id, "text": t.content[:160]} for t in ts[:examples]],
                       [{"kind": "case", "id": c["id"], "number": c["number"], "text": (c["text"] or "")[:160]}
                        for c in cs[:examples]], examples, keep),
            "ticket_ids": [t.id for t in ts],
            "case_ids": [c["id"] for c in cs],
        })
    out.sort(key=lambda c: (-c["total"], c["key"]))
    return out


# --- hot spots and recurring problems ---------------------------------------------------------


def place_category_rows(window: list[str], tickets_qs, crows: list[dict], located_only: bool) -> list[dict]:
    """One row per (place, category) pair over the months of `window`, with tickets and cases
    (`crows`, from case_rows over the window) per month; cases counted with the tickets of
    their place and item as the module's docstring says."""
    acc = {}

    def row(place, name, source, l1="", l2="", category="", compound=None, item=""):
        key = (place, source, category)
        if key not in acc:
            acc[key] = {"place": place, "name": name, "category": category, "category_source": source,
                        "category_l1": l1, "category_l2": l2, "item": item, "compound": compound,
                        "tickets": dict.fromkeys(window, 0), "cases": dict.fromkeys(window, 0),
                        "grids": Counter(), "case_samples": []}
        return acc[key]

    rows = (tickets_qs.filter(month__in=window)
            .values("matched_address__compound_id", "matched_address__compound__name", "grid_id", "grid__name",
                    "category_l1", "category_l2", "month").annotate(n=Count("id")))
    for r in rows.order_by():
        compound = r["matched_address__compound_id"]
        if compound:
            place = (f"compound:{compound}", r["matched_address__compound__name"])
        elif r["grid_id"]:
            place = (f"grid:{r['grid_id']}", r["grid__name"])
        elif located_only:
            continue
        else:
            place = ("none", "未定位")
        a = row(*place, "hotline", r["category_l1"], r["category_l2"], category_key(r["category_l1"], r["category_l2"]), compound)
        a["tickets"][r["month"]] += r["n"]
        a["grids"][r["grid_id"]] += r["n"]
    if crows:
        from gridgov.cases.models import Item

        from .services import item_for_category

        items = list(Item.objects.filter(active=True))
        item_of = {}
        by_item_grid, by_item_compound = defaultdict(list), defaultdict(list)
        for a in list(acc.values()):
            k = (a["category_l1"], a["category_l2"])
            if k not in item_of:
                it = item_for_category(a["category_l1"], a["category_l2"], "", items)
                item_of[k] = it.id if it else None
            if item_of[k] is None:
                continue
            if a["compound"]:
                by_item_compound[(item_of[k], a["compound"])].append(a)
            for g in a["grids"]:
                by_item_grid[(item_of[k], g)].append(a)
        for c in crows:
            if located_only and c["place"] == "none":
                continue
            found = []
            if c["item_id"]:
                if c["compound_id"]:
                    found = by_item_compound.get((c["item_id"], c["compound_id"]), []) + [
                        a for a in by_item_grid.get((c["item_id"], c["grid_id"]), []) if not a["compound"]]
                elif c["grid_id"]:
                    found = by_item_grid.get((c["item_id"], c["grid_id"]), [])
            if found:
                a = min(found, key=lambda a: (-sum(a["tickets"].values()), a["place"], a["category"]))
            else:
                a = row(c["place"], c["place_name"], "cases", category=c["category"], compound=c["compound_id"],
                        item=c["item__code"] or "")
                a["grids"][c["grid_id"]] += 1
            a["cases"][c["month"]] += 1
            a["case_samples"].append(c)
    return list(acc.values())


def _counts(a: dict) -> dict:
    t, c = sum(a["tickets"].values()), sum(a["cases"].values())
    return {"tickets": t, "cases": c, "total": t + c}


def hot_spots(month: str, qs=None, limit: int = 20, *, cases=None, user=None) -> list[dict]:
    """(place, category) pairs with the most tickets and cases this month."""
    tickets_qs, cases_qs = sources(qs, cases, user)
    return _hot_spots(month, tickets_qs, case_rows(cases_qs, [month]), limit)


def _hot_spots(month, tickets_qs, crows, limit):
    rows = place_category_rows([month], tickets_qs, crows, located_only=False)
    out = [{"place": a["place"], "name": a["name"], "category": a["category"], "category_source": a["category_source"],
            **_counts(a)} for a in rows]
    out.sort(key=lambda r: (-r["total"], r["place"], r["category"]))
    return out[:limit]


def _ticket_examples(tickets_qs, window, a, k) -> list[dict]:
    qs = tickets_qs.filter(month__in=window, category_l1=a["category_l1"], category_l2=a["category_l2"])
    if a["compound"]:
        qs = qs.filter(matched_address__compound_id=a["compound"])
    else:
        qs = qs.filter(grid_id=int(a["place"].split(":")[1]), matched_address__compound__isnull=True)
    return [{"kind": "ticket", "id": pk, "text": text[:160]}
            for pk, text in qs.order_by("-received_at", "-id").values_list("id", "content")[:k]]


def recurring_problems(month: str, qs=None, months: int = LOOKBACK, min_months: int = RECUR_MONTHS,
                       min_tickets: int = RECUR_TICKETS, *, cases=None, user=None, limit: int | None = None,
                       examples: int = 0) -> list[dict]:
    """(place, category) pairs that keep coming back: tickets or cases in ≥ `min_months` of the
    `months` months up to `month`, ≥ `min_tickets` tickets and cases in all. Proposed as
    proactive projects. With `examples`, each has that many recent texts (tickets and cases)."""
    window = [add_months(month, -k) for k in range(months - 1, -1, -1)]
    tickets_qs, cases_qs = sources(qs, cases, user)
    return _recurring(window, tickets_qs, case_rows(cases_qs, window), min_months, min_tickets, limit, examples)


def _recurring(window, tickets_qs, crows, min_months=RECUR_MONTHS, min_tickets=RECUR_TICKETS, limit=None, examples=0,
               keep=False):
    rows = place_category_rows(window, tickets_qs, crows, located_only=True)
    out = []
    for a in rows:
        counts = _counts(a)
        active = sum(1 for m in window if a["tickets"][m] or a["cases"][m])
        if active < min_months or counts["total"] < min_tickets:
            continue
        out.append({
            "place": a["place"], "name": a["name"], "category_l1": a["category_l1"], "category_l2": a["category_l2"],
            "category": a["category"], "category_source": a["category_source"], "item": a["item"],
            "grid_id": a["grids"].most_common(1)[0][0],
            "months": active,
            "months_with_tickets": sum(1 for m in window if a["tickets"][m]),
            "months_with_cases": sum(1 for m in window if a["cases"][m]),
            **counts,
            "by_month": [{"month": m, "tickets": a["tickets"][m], "cases": a["cases"][m]} for m in window],
            "_row": a,
        })
    out.sort(key=lambda r: (-r["total"], r["place"], r["category"]))
    out = out[:limit] if limit is not None else out
    for r in out:
        a = r.pop("_row")
        if examples:
            tickets = _ticket_examples(tickets_qs, window, a, examples) if r["tickets"] else []
            recent = a["case_samples"][::-1][:examples]
            r.update(_samples(tickets, [{"kind": "case", "id": c["id"], "number": c["number"], "text": (c["text"] or "")[:160]}
                                        for c in recent], examples, keep))
    return out


def month_topics(month: str, qs=None, limit: int = 10, *, cases=None, user=None, examples: int = 3,
                 keep: bool = False) -> dict:
    """What `gridgov hotline topics` proposes: the largest near-duplicate clusters (the month's
    topics), the hot spots and the recurring problems, over the month's tickets and cases
    (`sources` says which). With `keep`, rows keep their samples by kind (`with_examples`)."""
    tickets_qs, cases_qs = sources(qs, cases, user)
    window = [add_months(month, -k) for k in range(LOOKBACK - 1, -1, -1)]
    crows = case_rows(cases_qs, window)  # loaded once for the three
    this_month = [c for c in crows if c["month"] == month]
    return {
        "month": month,
        "tickets": tickets_qs.filter(month=month).count(),
        "cases": len(this_month),
        "topics": _clusters(month, tickets_qs, this_month, examples=examples, keep=keep)[:limit],
        "hot_spots": _hot_spots(month, tickets_qs, this_month, limit),
        "recurring": _recurring(window, tickets_qs, crows, limit=limit, examples=examples, keep=keep),
    }
