"""Offline item recognition: which must-handle item a free-text report is about.

Two signals per item, combined by a noisy-or:

* keywords — the item's name and keywords found in the text; longer matches weigh more
  (`1 - exp(-matched_characters / 2.5)`: one two-character word ≈ 0.55, four ≈ 0.8);
* similarity — cosine of character uni+bigram TF-IDF vectors (English: words) between the
  text and the item's document: its name, keywords and every text staff re-labelled to it
  (`Correction`), so corrections teach it new words.

Confidence = top score × (1 − ½ × second/top): a clear winner keeps its score, a tie halves
it. Below `CASES_RECOGNIZE_THRESHOLD` the caller leaves the item for a person. The model is
cached per process and rebuilt when items or corrections change (a version read from the
database), so several processes stay consistent."""

import math
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass

from django.db.models import Count, Max

from .models import Correction, Item

_WORD = re.compile(r"[a-z0-9]+|[\u3400-\u9fff]+")


def grams(text: str) -> Counter:
    out = Counter()
    for token in _WORD.findall((text or "").lower()):
        if token[0].isascii():
            if len(token) > 1:
                out[token] += 1
            continue
        out.update(token)
        out.update(map(str.__add__, token, token[1:]))  # the bigrams token[i:i+2]
    return out


def bigrams(text: str) -> set:
    """Character bigrams of the CJK runs plus English words: for Jaccard similarity."""
    out = set()
    for token in _WORD.findall((text or "").lower()):
        if token[0].isascii():
            out.add(token)
        else:
            out.update(token[i : i + 2] for i in range(len(token) - 1)) if len(token) > 1 else out.add(token)
    return out


def jaccard(a: str, b: str) -> float:
    x, y = bigrams(a), bigrams(b)
    return len(x & y) / len(x | y) if x and y else 0.0


@dataclass
class _Entry:
    item_id: int
    keywords: list[str]
    vector: dict
    norm: float


class Recognizer:
    def __init__(self, items, corrections):
        docs = {}
        for it in items:
            docs[it.pk] = [it.name, *it.keyword_list()]
        for item_id, text in corrections:
            if item_id in docs:
                docs[item_id].append(text)
        counted = {pk: grams(" ".join(parts)) for pk, parts in docs.items()}
        df = Counter()
        for c in counted.values():
            df.update(c.keys())
        n = max(len(counted), 1)
        self.idf = {g: math.log((1 + n) / (1 + d)) + 1 for g, d in df.items()}
        self.entries = []
        self.items = {it.pk: it for it in items}
        self.by_code = {it.code: it for it in items}
        for it in items:
            vec = {g: (1 + math.log(tf)) * self.idf[g] for g, tf in counted[it.pk].items()}
            norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
            # longest first, then in code-point order (a set alone would order them by string hash)
            kws = sorted({k.lower() for k in [it.name, *it.keyword_list()] if k}, key=lambda k: (-len(k), k))
            self.entries.append(_Entry(it.pk, kws, vec, norm))
        # gram → [(entry index, weight)]: a text's dot product with every item in one pass over
        # its grams, adding the same non-zero terms in the same order as a per-item sum would
        self.postings: dict[str, list] = {}
        for idx, e in enumerate(self.entries):
            for g, w in e.vector.items():
                self.postings.setdefault(g, []).append((idx, w))

    def _keyword_score(self, text: str, keywords: list[str]) -> tuple[float, list[str]]:
        found, taken = [], text
        for k in keywords:  # longest first; a matched span is not counted again
            if k in taken:
                found.append(k)
                taken = taken.replace(k, "\x00")
        chars = sum(len(k) if not k.isascii() else max(2, len(k) // 2) for k in found)
        return 1 - math.exp(-chars / 2.5), found

    def scores(self, text: str) -> list[tuple[float, int, list[str]]]:
        low = (text or "").lower()
        q = grams(low)
        qvec = {g: (1 + math.log(tf)) * self.idf[g] for g, tf in q.items() if g in self.idf}
        qnorm = math.sqrt(sum(v * v for v in qvec.values())) or 1.0
        dots = [0] * len(self.entries)
        for g, v in qvec.items():
            for idx, w in self.postings[g]:
                dots[idx] += v * w
        out = []
        for e, dot in zip(self.entries, dots):
            kw, found = self._keyword_score(low, e.keywords)
            cos = dot / (qnorm * e.norm)
            out.append((1 - (1 - kw) * (1 - cos), e.item_id, found))
        out.sort(key=lambda t: (-t[0], t[1]))
        return out

    def recognize(self, text: str, k: int = 3):
        ranked = self.scores(text)
        if not ranked or ranked[0][0] <= 0:
            return None, 0.0, []
        top = ranked[0][0]
        second = ranked[1][0] if len(ranked) > 1 else 0.0
        confidence = round(top * (1 - 0.5 * second / top), 3)
        alternatives = [
            {"code": self.items[pk].code, "name": self.items[pk].name, "score": round(s, 3), "matched": found}
            for s, pk, found in ranked[:k]
            if s > 0
        ]
        return self.items[ranked[0][1]], confidence, alternatives


_lock = threading.Lock()
_cache: dict = {}


def _version():
    # the highest id too: items deleted and seeded again within one clock tick (a demo reset)
    # have the same count and time but are other rows
    items = Item.objects.filter(active=True).aggregate(n=Count("id"), at=Max("updated_at"), top=Max("id"))
    return (items["n"], items["at"], items["top"], Correction.objects.aggregate(m=Max("id"))["m"])


#: seconds between reads of the items' and corrections' version (as the locator's grids): a
#: report does not pay two queries for it; items and corrections saved in this process, and
#: `forget()`, make the next call read it
CHECK_INTERVAL = 1.0


def forget(**kwargs):
    """Make the next `get_recognizer()` read the version (a signal receiver too)."""
    _cache.pop("checked", None)


def get_recognizer() -> Recognizer:
    now = time.monotonic()
    model = _cache.get("model")
    if model is not None and now - _cache.get("checked", float("-inf")) < CHECK_INTERVAL:
        return model
    version = _version()
    with _lock:
        if _cache.get("version") != version:
            items = list(Item.objects.filter(active=True).select_related("scenario"))
            corrections = list(Correction.objects.filter(new_item__isnull=False).values_list("new_item_id", "text"))
            _cache["model"] = Recognizer(items, corrections)
            _cache["version"] = version
        _cache["checked"] = now
        return _cache["model"]


def active_item(code: str):
    """The active item with `code`, or None, from the recogniser's rows (read at most once a
    second: a report naming its item costs no query for it)."""
    return get_recognizer().by_code.get(code)


def recognize_item(text: str):
    """(item or None, confidence 0..1, alternatives [{code, name, score, matched}])."""
    return get_recognizer().recognize(text)
