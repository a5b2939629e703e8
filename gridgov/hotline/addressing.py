"""Matching the free-text address of a ticket to the standard-address registry.

`parse_address("北京市丰台区南苑街道阳光星苑三号楼２单元１０１室")` gives the compound text and the
building, unit and room numbers, with Chinese and full-width numerals normalised (三号楼 = 3号楼 =
3栋 = 3幢). City, district and street prefixes need no stripping: a compound is found by
its name occurring anywhere in the text. `AddressIndex` holds the registry's addresses in memory (one load per import) and
scores candidates:

    score = Σ weight × credit / Σ weight      over the parts either side has
    parts and weights: compound 0.4, building 0.3, unit 0.15, room 0.15
    credit: equal 1; the address stops above a part the text gives (coarser, still right) 0.5;
            the address has a part the text lacks (more specific than we know) 0.3; differ 0
    compound credit: 1 when the compound's name occurs in the text, else character-bigram overlap

A match is taken when the best score reaches the threshold (RateSettings.address_threshold,
0.8) and leads the next candidate by the margin (0.05); otherwise the ticket waits as `pending`
with the best candidates for staff to confirm."""

import re
import unicodedata
from dataclasses import dataclass

WEIGHTS = {"compound": 0.4, "building": 0.3, "unit": 0.15, "room": 0.15}
CREDIT_COARSER, CREDIT_FINER = 0.5, 0.3

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_NUM = re.compile(r"[零〇一二两三四五六七八九十百]+")


def _cn_to_int(s: str) -> int | None:
    """三 → 3, 十二 → 12, 二十三 → 23, 一百零五 → 105, 一〇五 → 105."""
    if not s:
        return None
    if "十" not in s and "百" not in s:
        return int("".join(str(_DIGITS[c]) for c in s))
    total, cur = 0, 0
    for c in s:
        if c in _DIGITS:
            cur = _DIGITS[c]
        elif c == "十":
            total += (cur or 1) * 10
            cur = 0
        elif c == "百":
            total += (cur or 1) * 100
            cur = 0
    return total + cur


def normalize(text: str) -> str:
    """Full-width to half-width (NFKC), Chinese numerals before a unit word to digits, no spaces
    or punctuation."""
    t = unicodedata.normalize("NFKC", text or "")
    t = re.sub(r"[\s,，。、;；:：()（）\[\]【】\"'“”‘’]", "", t)

    def repl(m):
        end = m.end()
        nxt = t[end : end + 1]
        if nxt in ("号", "栋", "幢", "单", "室", "层", "楼", "门", "座", "区", "排", "户", "院") or m.group(0) in ("十",):
            v = _cn_to_int(m.group(0))
            return str(v) if v is not None else m.group(0)
        return m.group(0)

    t = _CN_NUM.sub(repl, t)
    return t


_DASH = re.compile(r"(\d+)-(\d+)-(\d+)")
_BUILDING = re.compile(r"(\d+)(?:号楼|栋|幢|座)")
_BUILDING_WEAK = re.compile(r"(\d+)(?:号|楼)(?!院)")
_UNIT = re.compile(r"(\d+)(?:单元|门)")
_ROOM = re.compile(r"(\d+)(?:室|号|户)?$")


@dataclass
class ParsedAddress:
    text: str  # normalised
    compound: str  # the text before the building number (may contain the community's name)
    building: str = ""
    unit: str = ""
    room: str = ""


def parse_address(text: str) -> ParsedAddress:
    t = normalize(text)
    building = unit = room = ""
    head = t
    m = _DASH.search(t)
    if m:
        building, unit, room = m.group(1), m.group(2), m.group(3)
        head = t[: m.start()]
    else:
        mb = _BUILDING.search(t) or _BUILDING_WEAK.search(t)
        if mb:
            building = mb.group(1)
            head = t[: mb.start()]
            rest = t[mb.end() :]
            mu = _UNIT.search(rest)
            if mu:
                unit = mu.group(1)
                rest = rest[mu.end() :]
            mr = _ROOM.search(rest)
            if mr and (unit or rest.strip()):
                room = mr.group(1)
    return ParsedAddress(text=t, compound=head, building=building, unit=unit, room=room)


def building_number(name: str) -> str:
    """'3号楼' / '三号楼' / '3栋' → '3'; other names are kept normalised."""
    n = normalize(name)
    m = re.match(r"^(\d+)", n)
    return m.group(1) if m else n


def unit_number(name: str) -> str:
    n = normalize(name)
    m = re.match(r"^(\d+)", n)
    return m.group(1) if m else n


def compound_key(name: str) -> str:
    n = normalize(name)
    return n[:-2] if n.endswith("小区") and len(n) > 3 else n


def _bigrams(s: str) -> set[str]:
    return {s[i : i + 2] for i in range(len(s) - 1)} if len(s) > 1 else {s} if s else set()


def compound_similarity(key: str, text: str) -> float:
    """1 when the compound's key occurs in the text, else the share of its bigrams found there."""
    if not key:
        return 0.0
    if key in text:
        return 1.0
    kb = _bigrams(key)
    return len(kb & _bigrams(text)) / len(kb) if kb else 0.0


@dataclass
class _Addr:
    id: int
    text: str
    compound_id: int | None
    community_id: int
    grid_id: int | None
    building: str
    unit: str
    room: str


class AddressIndex:
    """The registry's addresses by compound, loaded once (for an import or one ticket)."""

    def __init__(self, queryset=None):
        from gridgov.registry.models import Address, Compound

        self.compounds = {}  # id -> (key, community_id, name)
        for cid, name, comm in Compound.objects.values_list("id", "name", "community_id"):
            self.compounds[cid] = (compound_key(name), comm, name)
        self.by_compound: dict[int, list[_Addr]] = {}
        qs = queryset if queryset is not None else Address.objects.all()
        rows = qs.values_list(
            "id", "text", "compound_id", "community_id", "grid_id", "building__name", "unit", "room"
        )
        for aid, text, cid, comm, grid, bname, unit, room in rows:
            a = _Addr(aid, text, cid, comm, grid, building_number(bname or ""), unit_number(unit or ""), unit_number(room or ""))
            self.by_compound.setdefault(cid, []).append(a)

    def __len__(self):
        return sum(len(v) for v in self.by_compound.values())

    def candidates(self, text: str, community_id: int | None = None, limit: int = 5) -> list[dict]:
        """Scored candidates, best first: [{"id", "text", "score", "grid_id", "community_id"}]."""
        p = parse_address(text)
        if not p.text:
            return []
        scored = []
        for cid, (key, comm, _name) in self.compounds.items():
            sim = compound_similarity(key, p.compound or p.text)
            if sim < 0.5:
                continue
            if community_id is not None and comm != community_id:
                sim *= 0.9  # the file's community says otherwise: weaker, not excluded
            for a in self.by_compound.get(cid, ()):
                scored.append((self._score(p, a, sim), a))
        scored.sort(key=lambda x: (-x[0], x[1].id))
        out = []
        for s, a in scored[:limit]:
            out.append({"id": a.id, "text": a.text, "score": round(s, 4), "grid_id": a.grid_id, "community_id": a.community_id})
        return out

    @staticmethod
    def _score(p: ParsedAddress, a: _Addr, compound_sim: float) -> float:
        num = WEIGHTS["compound"] * compound_sim
        den = WEIGHTS["compound"]
        for part in ("building", "unit", "room"):
            t, v = getattr(p, part), getattr(a, part)
            if not t and not v:
                continue
            w = WEIGHTS[part]
            den += w
            if t and v:
                num += w if t == v else 0.0
            elif t:
                num += w * CREDIT_COARSER
            else:
                num += w * CREDIT_FINER
        return num / den


def decide(candidates: list[dict], threshold: float, margin: float):
    """The candidate to take, or None when the ticket must wait for staff."""
    if not candidates:
        return None
    best = candidates[0]
    if best["score"] < threshold:
        return None
    if len(candidates) > 1 and best["score"] - candidates[1]["score"] < margin:
        return None
    return best
