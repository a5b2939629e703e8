"""Demo tickets for whatever street is in the database (called by `gridgov demo`).

About 17,000 tickets a year at scale 1 (Nanyuan received 17,134 in 2023), falling by a quarter
a year (Jan–Sep 2024: −25.41 %), a quarter of them about property management; more in summer
(leaking roofs, rain) and in the heating season, fewer at the Spring Festival; most calls in
office hours. Texts are the public messages of /work/shared/data/hotline/messages.xlsx with their
placeholder places (A市, A3区) replaced by the demo street's compounds and communities. Each
ticket lies at a point inside a finest grid. Each community has a few recurring problems (the
same compound and category month after month, in near-identical words) for the topics page.

Every ticket has its case, as intake would have opened it (`services.open_case`: channel
hotline, key `case_key(ticket_id)`, the item recognition gives its text) and played along the
cases demo's workflow to the ticket's outcome (`build_demo_cases_with_tickets`, docs/demo.md)."""

import functools
import math
import random
import re
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import shapely
from django.db import transaction
from django.utils import timezone

from gridgov.geo import levels as gl
from gridgov.geo.models import GridNode

from .models import AddressMatch, CategorySource, Ticket

ROOT = Path(__file__).resolve().parents[2]
#: ../shared/data relative to the project root (a worktree one level deeper also finds it)
DATA_CANDIDATES = [ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data"]


def messages_path() -> Path:
    for d in DATA_CANDIDATES:
        if (d / "hotline" / "messages.xlsx").exists():
            return d / "hotline" / "messages.xlsx"
    return DATA_CANDIDATES[0] / "hotline" / "messages.xlsx"


PREFIX = "DEMO-"

#: (level 1, level 2, share, keywords that pick messages for it)
CATEGORIES = [
    ("城乡建设", "物业管理", 0.25, "物业|业主|电梯|小区|停车位|物管|业委会"),
    ("城乡建设", "房屋修缮", 0.08, "漏水|漏雨|房屋|墙体|维修|屋顶"),
    ("城乡建设", "市政设施", 0.09, "道路|路灯|井盖|下水|排水|管道|积水"),
    ("环境保护", "噪声扰民", 0.09, "噪音|噪声|扰民|施工"),
    ("城乡建设", "市容环卫", 0.10, "垃圾|卫生|环境|违建|占道"),
    ("城乡建设", "供暖供水", 0.07, "供暖|暖气|供水|停水|停电|燃气"),
    ("交通运输", "交通出行", 0.08, "公交|交通|出租|地铁|停车"),
    ("商贸旅游", "市场监管", 0.07, "商家|价格|消费|退款|商户|市场"),
    ("劳动和社会保障", "社会保障", 0.07, "社保|医保|工资|养老|退休"),
    ("教育文体", "教育", 0.05, "学校|教育|学生|老师|幼儿园"),
    ("民政", "社区服务", 0.05, "社区|老人|残疾|低保|救助"),
]
MONTH_FACTOR = {1: 1.05, 2: 0.8, 3: 0.95, 4: 0.95, 5: 1.0, 6: 1.15, 7: 1.3, 8: 1.25, 9: 1.0, 10: 0.9, 11: 1.05, 12: 1.1}
HOUR_WEIGHTS = np.array([1, 0.5, 0.3, 0.2, 0.2, 0.4, 1.5, 4, 8, 10, 10, 8, 5, 6, 8, 9, 8, 7, 5, 6, 6, 5, 3, 2], float)


def _messages(path=None) -> list[str]:
    return list(_read_messages(str(path or messages_path())))


@functools.lru_cache(maxsize=2)
def _read_messages(path: str) -> tuple[str, ...]:
    import openpyxl

    if not Path(path).exists():
        raise FileNotFoundError(f"{path}: the public messages are read from ../shared/data (see its README)")
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        out = []
        for row in wb.worksheets[0].iter_rows(min_row=2, values_only=True):
            subject, detail = (row[2] or "").strip(), re.sub(r"\s+", "", str(row[4] or ""))
            if subject:
                out.append(f"{subject}。{detail}"[:300])
    finally:
        wb.close()
    return tuple(out)


def _bucket(messages):
    buckets = {c[1]: [] for c in CATEGORIES}
    pats = [(c[1], re.compile(c[3])) for c in CATEGORIES]
    for m in messages:
        for name, pat in pats:
            if pat.search(m[:80]):
                buckets[name].append(m)
                break
    for name in buckets:  # a category the keywords missed still gets texts
        if not buckets[name]:
            buckets[name] = messages[:50]
    return buckets


_PLACE = re.compile(r"[A-Z]\d*[市区县]")


def _localise(text, place, street_name):
    text = text.replace("A市", "北京市", 1)
    return _PLACE.sub(lambda m: place if m.group(0).endswith(("区", "县")) else "", text)


def _points_in(geom, n, rng):
    x0, y0, x1, y1 = geom.bounds
    shapely.prepare(geom)
    pts = np.empty((0, 2))
    while len(pts) < n:
        cand = np.column_stack([rng.uniform(x0, x1, n * 2), rng.uniform(y0, y1, n * 2)])
        pts = np.vstack([pts, cand[shapely.contains_xy(geom, cand[:, 0], cand[:, 1])]])
    return pts[:n]


def build_demo_tickets(seed, years=2, scale=1.0, progress=None) -> int:
    """Replace the demo tickets (ids starting DEMO-), and the cases they opened, with `years`
    years of tickets ending last month; their cases come with the demo's cases
    (`build_demo_cases_with_tickets`). Returns how many tickets were created."""
    rng = np.random.default_rng(seed)
    rnd = random.Random(seed)
    # in a fixed order (never by id or by the order rows come back: both differ between builds)
    nodes = list(GridNode.objects.exclude(geom_wkt="").order_by("path").values("id", "name", "level", "path", "geom_wkt", "parent_id"))
    if not nodes:
        raise ValueError("no grids in the database: create the street first")
    parents = {n["parent_id"] for n in nodes}
    leaves = [n for n in nodes if n["id"] not in parents and n["level"] > gl.street_level()]
    by_path = {n["path"]: n for n in nodes}
    street = min(nodes, key=lambda n: n["level"])

    def community(n):
        return by_path.get(gl.community_path(n["path"]), n)

    from gridgov.registry.models import Compound

    compounds = {}
    for name, comm in Compound.objects.order_by("id").values_list("name", "community_id"):
        compounds.setdefault(comm, []).append(name)
    pools = {leaf["id"]: _points_in(shapely.from_wkt(leaf["geom_wkt"]), 300, rng) for leaf in leaves}
    leaf_weight = rng.gamma(2.0, 1.0, len(leaves))
    leaf_weight /= leaf_weight.sum()
    comm_quality = {c: rng.normal(0, 0.05) for c in dict.fromkeys(community(n)["id"] for n in leaves)}
    buckets = _bucket(_messages())
    cat_names = [c[1] for c in CATEGORIES]
    cat_l1 = {c[1]: c[0] for c in CATEGORIES}
    cat_share = np.array([c[2] for c in CATEGORIES])
    cat_share /= cat_share.sum()
    hours = HOUR_WEIGHTS / HOUR_WEIGHTS.sum()

    # recurring problems: per community two (leaf, category, text) that come back every month
    hot = []
    for cid in comm_quality:
        ls = [k for k, n in enumerate(leaves) if community(n)["id"] == cid]
        for cat in rnd.sample(cat_names[:6], 2):
            hot.append((rnd.choice(ls), cat, rnd.choice(buckets[cat])))

    now = timezone.localtime()
    end = now.year * 12 + now.month - 2  # last full month, as a month index
    months = [end - k for k in range(12 * years - 1, -1, -1)]
    per_year = 17000 * scale
    from gridgov.cases.models import Case

    # the cases the replaced tickets opened go with them: no hotline case without its ticket
    Case.objects.filter(pk__in=Ticket.objects.filter(ticket_id__startswith=PREFIX, case__isnull=False).values("case_id")).delete()
    Ticket.objects.filter(ticket_id__startswith=PREFIX).delete()
    tz = timezone.get_default_timezone()
    total = 0
    for mi, midx in enumerate(months):
        y, m = divmod(midx, 12)
        m += 1
        trend = 0.75 ** (mi / 12)  # a quarter fewer each year
        n = int(rng.poisson(per_year / 12 * MONTH_FACTOR[m] * trend))
        days = (datetime(y + (m == 12), m % 12 + 1, 1) - datetime(y, m, 1)).days
        share = cat_share.copy()
        if m in (6, 7, 8):
            share[cat_names.index("房屋修缮")] *= 2.0
        if m in (11, 12, 1, 2):
            share[cat_names.index("供暖供水")] *= 2.5
        share /= share.sum()
        cats = rng.choice(len(cat_names), n, p=share)
        leaf_idx = rng.choice(len(leaves), n, p=leaf_weight)
        hrs = rng.choice(24, n, p=hours)
        improve = 0.06 * mi / max(len(months) - 1, 1)
        batch = []
        for k in range(n):
            li = int(leaf_idx[k])
            leaf = leaves[li]
            cat = cat_names[cats[k]]
            text = rnd.choice(buckets[cat])
            if rnd.random() < 0.08:  # a recurring problem's ticket
                li, cat, text = rnd.choice(hot)
                leaf = leaves[li]
            comm = community(leaf)
            places = compounds.get(comm["id"]) or [leaf["name"]]
            place = places[li % len(places)]
            at = datetime(y, m, int(rng.integers(1, days + 1)), int(hrs[k]), int(rng.integers(0, 60)), tzinfo=None)
            at = timezone.make_aware(at, tz)
            px, py = pools[leaf["id"]][int(rng.integers(0, 300))]
            q = comm_quality.get(comm["id"], 0) + improve - (0.08 if cat == "物业管理" else 0)
            contacted = rnd.random() < 0.97 + q / 5
            solved = rnd.random() < 0.80 + q
            r = rnd.random()
            if solved:
                sat = "satisfied" if r < 0.86 + q else "basic" if r < 0.93 else "unsatisfied" if r < 0.97 else ""
            else:
                sat = "satisfied" if r < 0.3 else "basic" if r < 0.5 else "unsatisfied" if r < 0.9 else ""
            batch.append(Ticket(
                ticket_id=f"{PREFIX}{y:04d}{m:02d}-{k + 1:05d}", received_at=at, month=f"{y:04d}-{m:02d}",
                content=_localise(text, place, street["name"]), category_l1=cat_l1[cat], category_l2=cat,
                category_source=CategorySource.IMPORT, address_text=f"{place}{rnd.randint(1, 20)}号楼",
                community_text=comm["name"], lat=float(py), lon=float(px), grid_id=leaf["id"],
                community_id=comm["id"] if comm["level"] == 1 else None, valid=rnd.random() < 0.95,
                contacted=contacted, solved=solved, satisfaction=sat, address_match=AddressMatch.COORDS,
            ))
        with transaction.atomic():
            Ticket.objects.bulk_create(batch, batch_size=2000)
        total += n
        if progress:
            progress(mi + 1, len(months), f"{y:04d}-{m:02d}: {n} tickets")
    return total


def case_intakes() -> list:
    """For each demo ticket without a case, what `services.open_case` would give
    `cases.services.submit_case` and what submit_case would decide (`cases.demo.Intake`): its
    content, coordinates, address and grid, the key `case_key(ticket_id)`, and the item its
    category names (`item_for_category`; none of the demo's categories names one) else the one
    recognition finds at its threshold (`intake_item`, the same function submit_case uses), else
    none — the case then waits for a person, who classifies it as recognition's best guess.
    `solved` is the ticket's own outcome, which its case reaches."""
    from gridgov.cases.demo import Intake
    from gridgov.cases.models import Item
    from gridgov.cases.recognize import get_recognizer
    from gridgov.cases.services import intake_item

    from .services import case_key, item_for_category

    items = list(Item.objects.filter(active=True))  # in the order open_cases passes them
    by_code = {i.code: i for i in items}
    recognizer = get_recognizer()
    seen: dict[str, tuple] = {}  # recurring problems repeat their text word for word
    named_by: dict[tuple, object] = {}

    def recognize(text):
        if text not in seen:
            seen[text] = recognizer.recognize(text)
        return seen[text]

    out = []
    rows = (
        # (every demo ticket lies at a point in a grid)
        Ticket.objects.filter(ticket_id__startswith=PREFIX, case__isnull=True, grid__isnull=False, lon__isnull=False, lat__isnull=False)
        .order_by("received_at", "id")
        .values_list("id", "ticket_id", "received_at", "content", "address_text", "lon", "lat", "grid_id",
                     "category_l1", "category_l2", "category_l3", "solved")
    )
    for pk, ticket_id, at, content, address, lon, lat, grid_id, l1, l2, l3, solved in rows.iterator(chunk_size=5000):
        if (l1, l2, l3) not in named_by:
            named_by[(l1, l2, l3)] = item_for_category(l1, l2, l3, items)
        named = named_by[(l1, l2, l3)]
        item, source, confidence, reason = intake_item(content, named, recognize)
        alternatives = reason.get("alternatives") or []
        staff_item = item or (by_code[alternatives[0]["code"]] if alternatives else items[0])
        out.append(Intake(
            ref=pk, key=case_key(ticket_id), created=at, text=content, address=(address or "")[:200], lon=lon, lat=lat,
            grid_id=grid_id, item=item, item_source=source, item_confidence=confidence, item_reason=reason,
            staff_item=staff_item, solved=solved,
        ))
    return out


def link_cases(intakes) -> int:
    """Set `Ticket.case` of the tickets whose intakes got a case; returns how many."""
    from django.db import connection

    pairs = [(i.case_id, i.ref) for i in intakes if i.case_id is not None]
    table = connection.ops.quote_name(Ticket._meta.db_table)
    with transaction.atomic(), connection.cursor() as cur:
        cur.executemany(f"UPDATE {table} SET case_id = %s WHERE id = %s", pairs)
    return len(pairs)


def build_demo_cases_with_tickets(seed, months=12, scale=1.0, progress=None, until=None) -> dict:
    """The demo's cases (`gridgov.cases.demo.build_demo_cases`) with one hotline case for every
    demo ticket that has none, linked to it; returns the counts."""
    from gridgov.cases.demo import build_demo_cases as build_cases
    from gridgov.cases.models import Item
    from gridgov.cases.taxonomy import seed_taxonomy

    if not Item.objects.exists():
        seed_taxonomy()
    intakes = case_intakes()
    counts = build_cases(seed, months=months, scale=scale, progress=progress, until=until, intakes=intakes)
    counts["linked_tickets"] = link_cases(intakes)
    return counts
