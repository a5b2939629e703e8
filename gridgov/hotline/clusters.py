"""Hot spots, near-duplicate tickets, the month's topics (每月一题) and recurring problems.

Meaning: tickets of the same level-1 category are compared by character 2- and 3-gram TF-IDF
vectors (sublinear tf, l2-normalised; no word segmentation needed for Chinese; n-grams seen in
one text only add to its norm, shared ones are hashed into DIMS columns); two tickets whose
cosine similarity reaches SIMILARITY (0.35, chosen on the 4,326 public messages: paraphrases
of one complaint score 0.4–0.8, different complaints below 0.2) are linked, and a cluster is a connected
group of links. The vectors are built with numpy from the texts themselves (no model, no
download), so the result depends only on the month's tickets.

Place: a ticket's place is its compound (through the matched address) when known, else its
grid. A recurring problem is a (place, category) pair with tickets in at least RECUR_MONTHS of
the last LOOKBACK months and at least RECUR_TICKETS in all: a candidate proactive project."""

import math
import re
from collections import Counter, defaultdict

import numpy as np
from django.db.models import Count

from .models import Ticket
from .rates import add_months, category_key

SIMILARITY = 0.35
DIMS = 4096  # shared n-grams are hashed into this many columns (keeps the product fast)
MAX_CHARS = 200  # texts are cut here: the first sentences say what the problem is
RECUR_MONTHS = 3
RECUR_TICKETS = 5
LOOKBACK = 6

_STRIP = re.compile(r"[\s\d\W_]+", re.UNICODE)


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
    import zlib

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


def similarity_groups(texts: list[str], threshold: float = SIMILARITY) -> list[list[int]]:
    """Indices of `texts` grouped by near-duplicate links (single linkage), largest group first."""
    n = len(texts)
    if n == 0:
        return []
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    m = tfidf_matrix(texts)
    block = 512
    for start in range(0, n, block):
        sims = m[start : start + block] @ m.T
        rows, cols = np.nonzero(sims >= threshold)
        for i, j in zip((rows + start).tolist(), cols.tolist()):
            if i < j:
                a, b = find(i), find(j)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    groups = defaultdict(list)
    for i in range(n):
        groups[find(i)].append(i)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]))


def _place(t) -> tuple[str, str]:
    """(key, label) of a ticket's place: its compound, else its grid."""
    a = getattr(t, "matched_address", None)
    if a is not None and a.compound_id:
        return f"compound:{a.compound_id}", a.compound.name
    if t.grid_id:
        return f"grid:{t.grid_id}", t.grid.name
    return "none", "未定位"


def month_clusters(month: str, qs=None, min_size: int = 2, examples: int = 3) -> list[dict]:
    """Near-duplicate clusters of the month's tickets within each level-1 category, largest first,
    each with its places, its count, example texts and its ticket ids."""
    qs = (qs if qs is not None else Ticket.objects.all()).filter(month=month)
    tickets = list(qs.select_related("grid", "matched_address__compound").order_by("received_at", "id"))
    by_cat = defaultdict(list)
    for t in tickets:
        by_cat[t.category_l1 or "未分类"].append(t)
    out = []
    for l1, ts in by_cat.items():
        for g in similarity_groups([t.content for t in ts]):
            if len(g) < min_size:
                continue
            members = [ts[i] for i in g]
            places = Counter(_place(t) for t in members)
            cats = Counter(category_key(t.category_l1, t.category_l2) for t in members)
            out.append({
                "key": f"{month}:{l1}:{members[0].ticket_id}",
                "category": cats.most_common(1)[0][0],
                "tickets": len(members),
                "places": [{"key": k, "name": name, "tickets": n} for (k, name), n in places.most_common(5)],
                "examples": [t.content[:160] for t in members[:examples]],
                "ticket_ids": [t.id for t in members],
            })
    out.sort(key=lambda c: (-c["tickets"], c["key"]))
    return out


def hot_spots(month: str, qs=None, limit: int = 20) -> list[dict]:
    """(place, category) pairs with the most tickets this month."""
    qs = (qs if qs is not None else Ticket.objects.all()).filter(month=month)
    counts = Counter()
    names = {}
    for t in qs.select_related("grid", "matched_address__compound"):
        k, name = _place(t)
        key = (k, category_key(t.category_l1, t.category_l2))
        counts[key] += 1
        names[k] = name
    return [{"place": k, "name": names[k], "category": c, "tickets": n}
            for (k, c), n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))[:limit]]


def recurring_problems(month: str, qs=None, months: int = LOOKBACK, min_months: int = RECUR_MONTHS,
                       min_tickets: int = RECUR_TICKETS) -> list[dict]:
    """(place, category) pairs that keep coming back: tickets in ≥ `min_months` of the `months`
    months up to `month`, ≥ `min_tickets` in all. Proposed as proactive projects."""
    window = [add_months(month, -k) for k in range(months - 1, -1, -1)]
    qs = (qs if qs is not None else Ticket.objects.all()).filter(month__in=window)
    rows = (qs.values("matched_address__compound_id", "matched_address__compound__name", "grid_id", "grid__name",
                      "grid__code", "category_l1", "category_l2", "month").annotate(n=Count("id")))
    acc = {}
    for r in rows:
        if r["matched_address__compound_id"]:
            place = (f"compound:{r['matched_address__compound_id']}", r["matched_address__compound__name"])
        elif r["grid_id"]:
            place = (f"grid:{r['grid_id']}", r["grid__name"])
        else:
            continue
        key = (place[0], r["category_l1"], r["category_l2"])
        a = acc.setdefault(key, {"place": place[0], "name": place[1], "category_l1": r["category_l1"],
                                 "category_l2": r["category_l2"], "by_month": dict.fromkeys(window, 0),
                                 "grid_ids": Counter()})
        a["by_month"][r["month"]] += r["n"]
        a["grid_ids"][r["grid_id"]] += r["n"]
    out = []
    for a in acc.values():
        active = sum(1 for v in a["by_month"].values() if v)
        total = sum(a["by_month"].values())
        if active >= min_months and total >= min_tickets:
            grid_id = a.pop("grid_ids").most_common(1)[0][0]
            out.append({**a, "grid_id": grid_id, "months_with_tickets": active, "tickets": total,
                        "category": category_key(a["category_l1"], a["category_l2"]),
                        "by_month": [{"month": m, "tickets": n} for m, n in a["by_month"].items()]})
    out.sort(key=lambda r: (-r["tickets"], r["place"], r["category"]))
    return out


def month_topics(month: str, qs=None, limit: int = 10) -> dict:
    """What `gridgov hotline topics` proposes: the largest near-duplicate clusters (the month's
    topics), the hot spots and the recurring problems."""
    return {
        "month": month,
        "topics": month_clusters(month, qs)[:limit],
        "hot_spots": hot_spots(month, qs, limit),
        "recurring": recurring_problems(month, qs)[:limit],
    }
