"""Every change of hotline data goes through here: importing tickets (file or API), placing them
in grids, confirming addresses, classifying, and proactive projects."""

import logging
import math
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from gridgov.geo import levels as gl
from gridgov.geo.models import GridNode

from .addressing import AddressIndex, decide
from .models import (AddressMatch, CategorySource, HotlineEvent, Milestone, ProactiveProject, RateSettings,
                     Satisfaction, Ticket)

logger = logging.getLogger(__name__)

# --- classification ------------------------------------------------------------------------


def classify_texts(texts: list[str]) -> list[tuple[str | None, float]]:
    """(label, confidence) for each text; (None, 0.0) for all when no trained model is available
    (`gridgov hotline train` makes one). The only door to gridgov.hotline.classifier. A label may
    hold several levels separated by '/'."""
    from . import classifier

    if not texts:
        return []
    if not classifier.default_model_path().exists():
        return [(None, 0.0) for _ in texts]
    return [(p.label, p.confidence) for p in classifier.get_classifier().predict(list(texts))]


def _model_ready() -> bool:
    from . import classifier

    return classifier.default_model_path().exists()


#: imports with more unclassified tickets than this classify them in the background worker
SYNC_CLASSIFY_MAX = 200


def classify_pending(limit: int | None = None, batch: int = 100) -> int:
    """Classify tickets that have no category yet (and none set by staff); idempotent, so the
    background task can run it again after a crash. Returns how many got a category."""
    done = 0
    while limit is None or done < limit:
        todo = list(
            Ticket.objects.filter(category_l1="").exclude(category_source=CategorySource.STAFF).order_by("id")[:batch]
        )
        if not todo:
            break
        labels = classify_texts([t.content for t in todo])
        if not any(label for label, _ in labels):
            break  # no model: nothing will change
        with transaction.atomic():
            for t, (label, conf) in zip(todo, labels):
                if label:
                    l1, l2, l3 = _split_category(label)
                    done += Ticket.objects.filter(pk=t.pk, category_l1="").exclude(
                        category_source=CategorySource.STAFF
                    ).update(category_l1=l1, category_l2=l2, category_l3=l3,
                             category_source=CategorySource.CLASSIFIER, category_confidence=float(conf))
    return done


def staff_labelled_examples(labels=None) -> tuple[list[tuple[str, str]], int]:
    """Training examples from staff corrections: (ticket content, level-1 category) of every
    ticket whose category a staff member set (`set_category`, category_source = staff), oldest
    first. With `labels` (the taxonomy's names), tickets whose level-1 category is not one of them
    are left out; returns (examples, how many were left out). Nothing else from the database is
    used: imported categories are the city's, classifier output is the model's own, and the cases
    app's `Correction` rows label case items, another taxonomy (its recognition learns from them)."""
    rows = Ticket.objects.filter(category_source=CategorySource.STAFF).exclude(category_l1="").order_by("updated_at", "id")
    out, skipped = [], 0
    allowed = set(labels) if labels is not None else None
    for content, l1 in rows.values_list("content", "category_l1").iterator():
        if allowed is not None and l1 not in allowed:
            skipped += 1
            continue
        if content.strip():
            out.append((content, l1))
    return out, skipped


def unlabelled_ticket_texts(limit: int = 2000) -> list[str]:
    """The content of the latest `limit` tickets, newest first: the office's own mix of messages,
    whose mean embedding centres the classifier's zero-shot scores (docs/hotline-classifier.md).
    No categories are read."""
    rows = Ticket.objects.exclude(content="").order_by("-received_at", "-id").values_list("content", flat=True)
    return list(rows[:limit])


def _split_category(label: str) -> tuple[str, str, str]:
    parts = [p.strip() for p in re.split(r"[/>＞→\-－—|｜]+", label or "") if p.strip()]
    parts += ["", "", ""]
    return parts[0][:100], parts[1][:100], "/".join(parts[2:]).strip("/")[:100]


# --- cases ---------------------------------------------------------------------------------

#: imports with more new tickets than this open their cases in the background worker (intake
#: through the cases services costs tens of ms a ticket, `bench hotline_cases`: fine for a daily
#: file, not for a year's)
SYNC_CASES_MAX = 100
#: namespace of the idempotency keys of the cases opened by tickets (uuid5 of the ticket id)
CASE_KEY_NAMESPACE = uuid.UUID("5b0c1e2a-12e4-5a45-9d2b-6a0c1e2a3450")


def case_key(ticket_id: str) -> uuid.UUID:
    """The idempotency key of the case a ticket opens: the same ticket id always gives the same
    key, so a re-import (or a retried background task) never opens a second case."""
    return uuid.uuid5(CASE_KEY_NAMESPACE, f"12345:{ticket_id}")


def item_for_category(l1: str, l2: str = "", l3: str = "", items=None):
    """The active case item a hotline category names, or None (then recognition reads the text):
    an item whose name equals a level of the category (deepest first), else the longest item
    name contained in the category."""
    from gridgov.cases.models import Item

    levels = [c for c in (l3, l2, l1) if c]
    if not levels:
        return None
    if items is None:
        items = list(Item.objects.filter(active=True))
    by_name = {i.name: i for i in items}
    for level in levels:
        for part in level.split("/"):
            if part in by_name:
                return by_name[part]
    whole = "/".join(levels)
    for i in sorted(items, key=lambda i: -len(i.name)):
        if len(i.name) >= 2 and i.name in whole:
            return i
    return None


def open_case(ticket: Ticket, entered_by=None, items=None):
    """The ticket's case through `gridgov.cases.services.submit_case` (channel "hotline"): its
    text, its coordinates (else the matched standard address's, else the grid it was placed in),
    its address, the case item its category names (else recognition) and a key derived from the
    ticket id. Idempotent: returns the existing case for a ticket that already opened one."""
    from gridgov.cases import services as cases

    lon = lat = None
    if ticket.lat is not None and ticket.lon is not None:
        lon, lat = ticket.lon, ticket.lat
    elif ticket.matched_address_id and ticket.matched_address.lat is not None and ticket.matched_address.lon is not None:
        lon, lat = ticket.matched_address.lon, ticket.matched_address.lat
    item = item_for_category(ticket.category_l1, ticket.category_l2, ticket.category_l3, items)
    from gridgov.cases import conf as cases_conf

    case, _ = cases.submit_case(
        # a case holds at most CASES_MAX_TEXT characters on every door; the ticket keeps it all
        reporter=None, channel="hotline", text=ticket.content[: cases_conf.get_int("CASES_MAX_TEXT")], lon=lon, lat=lat,
        address=(ticket.address_text or "")[:200], item=item, idempotency_key=case_key(ticket.ticket_id),
        entered_by=entered_by, grid=ticket.grid if lon is None else None,
    )
    if ticket.case_id != case.pk:
        Ticket.objects.filter(pk=ticket.pk).update(case=case)
        ticket.case = case
    return case


def open_cases(ticket_ids, entered_by=None, batch: int = 200) -> int:
    """Open the cases of these tickets (by ticket_id) that have none; idempotent, so the worker
    may run it again after a crash. Returns how many tickets got their case."""
    from gridgov.cases.models import Item

    ticket_ids = list(ticket_ids)
    items = list(Item.objects.filter(active=True))
    done = 0
    for k in range(0, len(ticket_ids), batch):
        todo = Ticket.objects.filter(ticket_id__in=ticket_ids[k : k + batch], case__isnull=True).select_related(
            "grid", "matched_address"
        ).order_by("id")
        for t in todo:
            with transaction.atomic():
                open_case(t, entered_by=entered_by, items=items)
            done += 1
    return done


# --- reading files -------------------------------------------------------------------------

#: canonical column → header aliases in the city's exports (compared without spaces, case-insensitive)
ALIASES = {
    "ticket_id": ["ticket_id", "工单编号", "工单号", "诉求编号", "编号", "受理编号"],
    "received_at": ["received_at", "来电时间", "受理时间", "登记时间", "诉求时间", "创建时间", "派单时间"],
    "content": ["content", "诉求内容", "反映内容", "来电内容", "问题描述", "诉求描述", "内容"],
    "category": ["category", "诉求类别", "问题分类", "问题类别", "诉求分类", "分类", "类别"],
    "category_l1": ["category_l1", "一级分类", "一级类别"],
    "category_l2": ["category_l2", "二级分类", "二级类别"],
    "category_l3": ["category_l3", "三级分类", "三级类别"],
    "address": ["address", "地址", "事发地址", "诉求地址", "问题地址", "详细地址"],
    "community": ["community", "所属社区", "社区", "社区名称"],
    "lat": ["lat", "latitude", "纬度"],
    "lon": ["lon", "lng", "longitude", "经度"],
    "contacted": ["contacted", "是否联系", "响应", "是否响应", "是否联系诉求人", "响应情况"],
    "solved": ["solved", "是否解决", "解决情况", "是否已解决"],
    "satisfaction": ["satisfaction", "满意度", "评价", "满意情况", "回访评价", "评价结果"],
    "valid": ["valid", "是否考核", "是否有效", "纳入考核"],
}
REQUIRED = ("ticket_id", "received_at", "content")

TRUE_WORDS = {"是", "y", "yes", "true", "1", "已联系", "已响应", "响应", "已解决", "解决", "有效", "考核", "纳入", "√"}
FALSE_WORDS = {"否", "n", "no", "false", "0", "未联系", "未响应", "不响应", "未解决", "不解决", "无效", "不考核", "不纳入", "×", ""}
SATISFACTION_WORDS = {
    "满意": Satisfaction.SATISFIED,
    "非常满意": Satisfaction.SATISFIED,
    "satisfied": Satisfaction.SATISFIED,
    "基本满意": Satisfaction.BASIC,
    "basic": Satisfaction.BASIC,
    "不满意": Satisfaction.UNSATISFIED,
    "非常不满意": Satisfaction.UNSATISFIED,
    "unsatisfied": Satisfaction.UNSATISFIED,
    "": Satisfaction.EMPTY,
    "未评价": Satisfaction.EMPTY,
    "无": Satisfaction.EMPTY,
    "empty": Satisfaction.EMPTY,
}


def _key(header) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(header or ""))).lower()


@dataclass
class RowError:
    row: int  # file row (header = 1) or record number (API, from 1)
    column: str
    value: str
    reason: str

    def __str__(self):
        return f"row {self.row}, column {self.column} ({self.value!r}): {self.reason}"


class TicketImportError(ValueError):
    """Nothing was saved; `errors` lists every problem found."""

    MAX_SHOWN = 30

    def __init__(self, errors: list):
        self.errors = errors
        shown = [str(e) for e in errors[: self.MAX_SHOWN]]
        more = f"\n… and {len(errors) - len(shown)} more" if len(errors) > len(shown) else ""
        super().__init__(f"{len(errors)} error(s), nothing imported:\n" + "\n".join(shown) + more)


def parse_mapping(text: str | None) -> dict[str, str]:
    """'ticket_id=单号,content=描述' → {'ticket_id': '单号', 'content': '描述'}."""
    out = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise TicketImportError([RowError(0, "--mapping", part, "expected column=header")])
        col, header = (s.strip() for s in part.split("=", 1))
        if col not in ALIASES:
            raise TicketImportError([RowError(0, "--mapping", part, f"unknown column {col!r}; known: {', '.join(ALIASES)}")])
        out[col] = header
    return out


def _resolve_header(header: list, mapping: dict[str, str]) -> tuple[dict[str, int], dict[str, str]]:
    """Column index and header text of each canonical column present."""
    keys = [_key(h) for h in header]
    idx, names = {}, {}
    for col, aliases in ALIASES.items():
        wanted = [mapping[col]] if col in mapping else aliases
        for alias in wanted:
            k = _key(alias)
            if k in keys:
                idx[col] = keys.index(k)
                names[col] = str(header[idx[col]])
                break
        else:
            if col in mapping:
                raise TicketImportError([RowError(1, mapping[col], "", f"header given for {col} is not in the file")])
    missing = [c for c in REQUIRED if c not in idx]
    if missing:
        raise TicketImportError(
            [RowError(1, c, "", f"no column for {c} (headers: {', '.join(map(str, header))})") for c in missing]
        )
    return idx, names


def read_table(path) -> tuple[list, list[tuple[int, list]], str]:
    """Header, [(row number, cells)] and a description of the format, for .xlsx or .csv.

    Read through gridgov.core.tabular: streamed, at most GRIDGOV_IMPORT_MAX_ROWS rows, formulas
    kept as text, a corrupt file or mixed encodings one clear error (TicketImportError)."""
    from gridgov.core.tabular import TableError, open_table

    try:
        info: dict = {}
        head, cells_iter, fmt = open_table(path, str(path), info=info)
        header = None
        rows = []
        if any(c not in (None, "") and str(c).strip() for c in head):
            header = list(head)
        for n, cells in cells_iter:
            if not any(c not in (None, "") and str(c).strip() for c in cells):
                continue
            if header is None:
                header = list(cells)
                continue
            rows.append((n, list(cells)))
    except TableError as exc:
        raise TicketImportError([RowError(1, "", "", str(exc))]) from None
    if header is None:
        raise TicketImportError([RowError(1, "", "", "the file is empty")])
    return header, rows, f"csv ({info['encoding']})" if fmt == "csv" else fmt


def records_from_table(header, rows, mapping=None) -> tuple[list[tuple[int, dict]], dict[str, str]]:
    idx, names = _resolve_header(header, mapping or {})
    out = []
    for n, cells in rows:
        rec = {col: (cells[i] if i < len(cells) else None) for col, i in idx.items()}
        out.append((n, rec))
    return out, names


# --- cleaning values -----------------------------------------------------------------------

_DT_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d",
               "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M", "%Y%m%d%H%M%S", "%Y.%m.%d %H:%M", "%Y.%m.%d"]


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return unicodedata.normalize("NFKC", str(v)).strip()


def _datetime(v):
    if isinstance(v, datetime):
        dt = v
    elif isinstance(v, date):
        dt = datetime(v.year, v.month, v.day)
    else:
        s = _text(v)
        s = re.sub(r"(\d+)年(\d+)月(\d+)日", r"\1-\2-\3", s).replace("时", ":").replace("分", "").strip()
        dt = None
        for fmt in _DT_FORMATS:
            try:
                dt = datetime.strptime(s, fmt)
                break
            except ValueError:
                continue
        if dt is None:
            raise ValueError("not a date and time (e.g. 2024-03-05 09:30)")
    if timezone.is_naive(dt):
        dt = timezone.make_aware(dt, timezone.get_default_timezone())
    return dt


def _bool(v) -> bool:
    s = _text(v).lower()
    if s in TRUE_WORDS:
        return True
    if s in FALSE_WORDS:
        return False
    raise ValueError("expected 是/否")


def _satisfaction(v) -> str:
    s = _text(v).lower()
    if s in SATISFACTION_WORDS:
        return SATISFACTION_WORDS[s]
    raise ValueError("expected 满意, 基本满意, 不满意 or empty")


def _coord(v, lo, hi):
    s = _text(v)
    if not s:
        return None
    x = float(s)
    if not math.isfinite(x) or not lo <= x <= hi:
        raise ValueError(f"outside {lo:g}..{hi:g}")
    return x


@dataclass
class CleanTicket:
    row: int
    ticket_id: str
    received_at: datetime
    content: str
    category: tuple[str, str, str] | None  # None: not given
    address: str
    community: str
    lat: float | None
    lon: float | None
    contacted: bool
    solved: bool
    satisfaction: str
    valid: bool


def clean_records(records: list[tuple[int, dict]], names: dict[str, str] | None = None) -> list[CleanTicket]:
    """Check every record; raise TicketImportError listing every bad value (nothing saved)."""
    names = names or {}
    errors: list[RowError] = []
    out: list[CleanTicket] = []
    seen: dict[str, int] = {}

    for n, rec in records:
        bad = False

        def fail(col, reason):
            nonlocal bad
            bad = True
            errors.append(RowError(n, names.get(col, col), _text(rec.get(col)), reason))

        def conv(col, fn, default):
            if col not in rec:
                return default
            try:
                return fn(rec[col])
            except (ValueError, TypeError) as e:
                fail(col, str(e) if not isinstance(e, TypeError) else "bad value")
                return default

        tid = _text(rec.get("ticket_id"))
        if not tid:
            fail("ticket_id", "empty")
        elif len(tid) > 64:
            fail("ticket_id", "longer than 64 characters")
        elif tid in seen:
            fail("ticket_id", f"repeats row {seen[tid]}")
        else:
            seen[tid] = n
        received = None
        if rec.get("received_at") in (None, ""):
            fail("received_at", "empty")
        else:
            received = conv("received_at", _datetime, None)
        content = _text(rec.get("content"))
        if not content:
            fail("content", "empty")
        category = None
        if any(_text(rec.get(c)) for c in ("category_l1", "category_l2", "category_l3")):
            category = tuple(_text(rec.get(c))[:100] for c in ("category_l1", "category_l2", "category_l3"))
        elif _text(rec.get("category")):
            category = _split_category(_text(rec.get("category")))
        lat = conv("lat", lambda v: _coord(v, -90, 90), None)
        lon = conv("lon", lambda v: _coord(v, -180, 180), None)
        has_lat, has_lon = bool(_text(rec.get("lat"))), bool(_text(rec.get("lon")))
        if has_lat != has_lon:
            fail("lon" if has_lat else "lat", "latitude and longitude go together")
        address = _text(rec.get("address"))[:255]
        community = _text(rec.get("community"))[:100]
        contacted = conv("contacted", _bool, False)
        solved = conv("solved", _bool, False)
        satisfaction = conv("satisfaction", _satisfaction, "")
        valid = conv("valid", _bool, True) if _text(rec.get("valid")) else True
        if not bad:
            out.append(CleanTicket(n, tid, received, content, category, address, community, lat, lon,
                                   contacted, solved, satisfaction, valid))
    if errors:
        raise TicketImportError(errors)
    return out


# --- placing -------------------------------------------------------------------------------


class _Nodes:
    """Grid nodes by id and code, and the community (level-1 node) of each."""

    def __init__(self):
        rows = list(GridNode.objects.values_list("id", "code", "name", "level", "path"))
        self.by_code = {r[1]: r for r in rows}
        self.by_id = {r[0]: r for r in rows}
        self.community_by_name = {}
        for r in rows:
            if r[3] == 1:
                self.community_by_name.setdefault(r[2], r[0])

    def community_of(self, node_id):
        r = self.by_id.get(node_id)
        if r is None:
            return None
        for code in r[4].strip("/").split("/"):
            n = self.by_code.get(code)
            if n is not None and n[3] == 1:
                return n[0]
        return None

    def community_named(self, name: str):
        if not name:
            return None
        if name in self.community_by_name:
            return self.community_by_name[name]
        for full, nid in self.community_by_name.items():  # "阳光星苑" for "阳光星苑社区"
            if full.startswith(name) or name.startswith(full):
                return nid
        return None


def _place(tickets: list[Ticket], nodes: _Nodes, progress=None):
    """Set grid, community and the address match of each ticket (in memory)."""
    from gridgov.geo.locator import get_locator

    with_xy = [t for t in tickets if t.lat is not None and t.lon is not None]
    if with_xy:
        found = get_locator().finest_many([t.lon for t in with_xy], [t.lat for t in with_xy])
        for t, ref in zip(with_xy, found):
            if ref is not None:
                t.grid_id = ref.id
                t.address_match = AddressMatch.COORDS
    rest = [t for t in tickets if t.address_match != AddressMatch.COORDS and t.address_match != AddressMatch.CONFIRMED]
    settings = RateSettings.current()
    index = AddressIndex() if any(t.address_text for t in rest) else None
    for k, t in enumerate(rest):
        comm_hint = nodes.community_named(t.community_text)
        t.matched_address_id = None
        t.address_score = None
        t.address_candidates = []
        if t.address_text and index is not None:
            cands = index.candidates(t.address_text, community_id=comm_hint)
            best = decide(cands, settings.address_threshold, settings.address_margin)
            if best is not None:
                t.matched_address_id = best["id"]
                t.address_score = best["score"]
                t.grid_id = best["grid_id"] or best["community_id"]
                t.address_match = AddressMatch.MATCHED
            else:
                t.address_candidates = cands
                t.address_score = cands[0]["score"] if cands else None
                t.address_match = AddressMatch.PENDING
                t.grid_id = comm_hint
        else:
            t.address_match = AddressMatch.NONE
            t.grid_id = comm_hint
        if progress and k % 1000 == 999:
            progress(k + 1, len(rest), "address")
    for t in tickets:
        t.community_id = nodes.community_of(t.grid_id) if t.grid_id else None


# --- import --------------------------------------------------------------------------------


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    classified: int = 0
    placed_by_coords: int = 0
    matched: int = 0
    pending: int = 0
    unplaced: int = 0
    cases: int = 0  # cases opened in this transaction
    cases_deferred: int = 0  # new tickets whose cases the worker opens after commit
    source: str = ""
    ticket_ids: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.created} created, {self.updated} updated ({self.source}); {self.classified} classified; "
            f"placed: {self.placed_by_coords} by coordinates, {self.matched} by address; "
            f"{self.pending} waiting for address confirmation, {self.unplaced} without a grid; "
            + (f"{self.cases} cases opened" if not self.cases_deferred
               else f"cases of {self.cases_deferred} new tickets opened by the worker")
        )


def _month(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m")


SCALAR_FIELDS = ["received_at", "month", "content", "address_text", "community_text", "lat", "lon",
                 "valid", "contacted", "solved", "satisfaction"]
PLACE_FIELDS = ["grid", "community", "address_match", "matched_address", "address_score", "address_candidates"]
CATEGORY_FIELDS = ["category_l1", "category_l2", "category_l3", "category_source", "category_confidence"]


@transaction.atomic
def save_tickets(clean: list[CleanTicket], progress=None, source="", entered_by=None) -> ImportResult:
    """Create or update (by ticket_id) the checked tickets, classify those without a category,
    place them, and open a case for each new ticket (`open_case`). All or nothing."""
    result = ImportResult(source=source)
    ids = [c.ticket_id for c in clean]
    existing = {}
    for k in range(0, len(ids), 2000):
        for t in Ticket.objects.filter(ticket_id__in=ids[k : k + 2000]):
            existing[t.ticket_id] = t
    tickets, new = [], []
    for c in clean:
        t = existing.get(c.ticket_id)
        moved = False
        if t is None:
            t = Ticket(ticket_id=c.ticket_id)
            new.append(t)
        else:
            moved = (t.address_text != c.address or t.lat != c.lat or t.lon != c.lon
                     or t.community_text != c.community)
        t.received_at, t.month, t.content = c.received_at, _month(c.received_at), c.content
        t.address_text, t.community_text, t.lat, t.lon = c.address, c.community, c.lat, c.lon
        t.valid, t.contacted, t.solved, t.satisfaction = c.valid, c.contacted, c.solved, c.satisfaction
        if c.category is not None:
            if t.category_source != CategorySource.STAFF or t.pk is None:
                t.category_l1, t.category_l2, t.category_l3 = c.category
                t.category_source, t.category_confidence = CategorySource.IMPORT, None
        t._place = t.pk is None or moved or t.address_match in (AddressMatch.NONE, AddressMatch.PENDING)
        if t.pk is not None and moved and t.address_match == AddressMatch.CONFIRMED:
            t.address_match = AddressMatch.NONE  # the address changed: the confirmation no longer holds
        tickets.append(t)
    if progress:
        progress(len(tickets), len(tickets), "checked")
    todo = [t for t in tickets if not t.category_l1 and t.category_source != CategorySource.STAFF]
    defer_classify = len(todo) > SYNC_CLASSIFY_MAX
    # the new tickets' cases: here, in this transaction, for a daily file; by the worker after
    # commit for a big one, or when classification went to the worker (the item follows the category)
    defer_cases = len(new) > SYNC_CASES_MAX or (defer_classify and _model_ready() and any(t.pk is None for t in todo))
    if defer_cases:
        from .tasks import open_cases_task

        case_ticket_ids = [t.ticket_id for t in new]
        user_id = getattr(entered_by, "pk", None)
        transaction.on_commit(lambda: open_cases_task(case_ticket_ids, user_id, classify_first=defer_classify))
    elif defer_classify:
        # e5 embeds a few tickets a second: a big export is classified by the worker after commit
        from .tasks import classify_pending_task

        transaction.on_commit(lambda: classify_pending_task())
    if defer_classify:
        todo = []
    if todo:
        labels = classify_texts([t.content for t in todo])
        for t, (label, conf) in zip(todo, labels):
            if label:
                t.category_l1, t.category_l2, t.category_l3 = _split_category(label)
                t.category_source, t.category_confidence = CategorySource.CLASSIFIER, float(conf)
                result.classified += 1
    _place([t for t in tickets if t._place], _Nodes(), progress)
    now = timezone.now()
    for t in new:
        t.imported_at = t.updated_at = now
    new_ids = {id(t) for t in new}
    Ticket.objects.bulk_create(new, batch_size=1000)
    old = [t for t in tickets if id(t) not in new_ids]
    if old:
        for t in old:
            t.updated_at = now
        Ticket.objects.bulk_update(
            old,
            SCALAR_FIELDS + PLACE_FIELDS + CATEGORY_FIELDS + ["updated_at"],
            batch_size=500,
        )
    result.created, result.updated = len(new), len(old)
    if not defer_cases and new:
        from gridgov.cases.models import Item

        items = list(Item.objects.filter(active=True))
        for k, t in enumerate(new):
            open_case(t, entered_by=entered_by, items=items)
            if progress and k % 100 == 99:
                progress(k + 1, len(new), "cases")
        result.cases = len(new)
    else:
        result.cases_deferred = len(new)
    for t in tickets:
        if t.address_match == AddressMatch.COORDS:
            result.placed_by_coords += 1
        elif t.address_match in (AddressMatch.MATCHED, AddressMatch.CONFIRMED):
            result.matched += 1
        elif t.address_match == AddressMatch.PENDING:
            result.pending += 1
        if t.grid_id is None:
            result.unplaced += 1
    result.ticket_ids = ids
    if progress:
        progress(len(tickets), len(tickets), "saved")
    return result


def import_file(path, mapping: dict[str, str] | None = None, progress=None) -> ImportResult:
    """Import the city's export (.xlsx or .csv in UTF-8, UTF-8 with BOM or GBK)."""
    header, rows, fmt = read_table(path)
    if progress:
        progress(0, len(rows), "read")
    records, names = records_from_table(header, rows, mapping)
    clean = clean_records(records, names)
    return save_tickets(clean, progress=progress, source=fmt)


def import_records(user, records: list[dict]) -> ImportResult:
    """Tickets sent through the API (a list of dicts with the canonical columns); staff only."""
    from gridgov.accounts import policy

    policy.require(user, "tickets", "create")
    recs = [(i, {k: v for k, v in r.items() if k in ALIASES and v is not None}) for i, r in enumerate(records, start=1)]
    clean = clean_records(recs)
    ids = [c.ticket_id for c in clean]
    with transaction.atomic():
        # A ticket number the caller may not see is not "existing" for them: the batch is checked
        # as if it were new, so a batch rolled back for another reason answers the same whether
        # or not the number is taken elsewhere. Only a batch that would be written meets it: one
        # neutral refusal (it does not say where the ticket is), and the ticket is not touched.
        existing = set(Ticket.objects.filter(ticket_id__in=ids).values_list("ticket_id", flat=True))
        visible = set(Ticket.objects.visible_to(user).filter(ticket_id__in=existing).values_list("ticket_id", flat=True))
        taken = existing - visible
        if visible:
            policy.require(user, "tickets", "update")
        mine = [c for c in clean if c.ticket_id not in taken]
        result = save_tickets(mine, source="api", entered_by=user)
        placed = Ticket.objects.filter(ticket_id__in=[c.ticket_id for c in mine]).select_related("grid")
        outside = [t.ticket_id for t in placed if not policy.allows(user, "tickets", "create", t.grid.path if t.grid_id else "")]
        if outside:  # rolls the whole batch back
            raise PermissionDenied(f"tickets that land outside your scope: {', '.join(sorted(outside)[:5])}")
        if taken:  # rolls the whole batch back
            raise PermissionDenied(f"ticket numbers already in use, not yours to change (ask the 12345 office): "
                                   f"{', '.join(sorted(taken)[:5])}")
    return result


# --- address queue -------------------------------------------------------------------------


def _require_staff(user):
    if not (user and user.is_authenticated and user.is_staff_role):
        raise PermissionDenied("staff only")


def _event(user, action, *, ticket=None, project=None, **data) -> HotlineEvent:
    """The history row of one staff change (joins the caller's transaction)."""
    return HotlineEvent.objects.create(
        at=timezone.now(), user=user if getattr(user, "pk", None) else None,
        user_name=(str(user) if user is not None else "")[:150], action=action, ticket=ticket, project=project,
        data=data,
    )


def _place_label(t: Ticket) -> str:
    return t.grid.name if t.grid_id else ""


def _require_ticket_update(user, ticket: Ticket):
    """tickets × update in the policy table, on a ticket the user sees."""
    from gridgov.accounts import policy

    policy.require(user, "tickets", "update")
    if not Ticket.objects.visible_to(user).filter(pk=ticket.pk).exists():
        raise PermissionDenied("ticket not visible")


@transaction.atomic
def confirm_address(user, ticket: Ticket, address) -> Ticket:
    """Staff say which standard address a ticket is at: it is placed in that address's grid."""
    from gridgov.registry.models import Address

    _require_ticket_update(user, ticket)
    if not Address.objects.visible_to(user).filter(pk=address.pk).exists():
        raise PermissionDenied("address not visible")
    t = Ticket.objects.select_for_update().get(pk=ticket.pk)
    before = _place_label(t)
    t.matched_address = address
    t.grid_id = address.grid_id or address.community_id
    t.community_id = _Nodes().community_of(t.grid_id)
    t.address_match = AddressMatch.CONFIRMED
    t.address_score = None
    t.address_candidates = []
    t.save()
    t = Ticket.objects.select_related("grid").get(pk=t.pk)
    _event(user, HotlineEvent.Action.ADDRESS, ticket=t, address_id=address.pk, address=address.text,
           **{"from": before, "to": _place_label(t)})
    return t


@transaction.atomic
def place_ticket(user, ticket: Ticket, grid: GridNode) -> Ticket:
    """Staff put a ticket whose address matched no standard address (or none well enough) in a
    grid they choose: the ticket leaves the address queue, its address stays unmatched."""
    from gridgov.accounts import policy

    _require_ticket_update(user, ticket)
    if grid.level < gl.community_level() or not policy.allows(user, "tickets", "update", grid.path):
        raise PermissionDenied("grid not in your scope")
    t = Ticket.objects.select_for_update().get(pk=ticket.pk)
    before = _place_label(t)
    t.grid = grid
    t.community_id = _Nodes().community_of(grid.pk)
    t.matched_address = None
    t.address_match = AddressMatch.CONFIRMED
    t.address_score = None
    t.address_candidates = []
    t.save()
    _event(user, HotlineEvent.Action.GRID, ticket=t, grid=grid.code, **{"from": before, "to": grid.name})
    return t


# --- staff categories ----------------------------------------------------------------------


class CategoryError(ValueError):
    """A category staff cannot set. `code`: "empty" (no level 1), "unknown" (level 1 not in the
    taxonomy), "level3" (level 3 without level 2) or "no_taxonomy"; `label` is the rejected
    level-1 name and `allowed` the taxonomy's level-1 names."""

    def __init__(self, message, code="", label="", allowed=()):
        super().__init__(message)
        self.code, self.label, self.allowed = code, label, list(allowed)


class TaxonomyMissing(CategoryError):
    """Neither the taxonomy file nor a trained model is there to say which labels exist."""


_taxonomy_cache: dict = {}


def category_taxonomy():
    """The hotline category taxonomy staff corrections are checked against: the file
    `gridgov hotline train` reads by default (`paths.default_taxonomy_path()`, i.e.
    ../shared/data/hotline/taxonomy.xlsx or GRIDGOV_SHARED_DATA), else the taxonomy saved in the
    trained model; None when there is neither. Read once per process and again when the file
    changes."""
    from . import classifier
    from .paths import default_taxonomy_path
    from .taxonomy import Taxonomy

    for path, load in ((default_taxonomy_path(), Taxonomy.from_file),
                       (classifier.default_model_path(), lambda p: classifier.get_classifier(p).taxonomy)):
        try:
            st = path.stat()
        except OSError:
            continue
        key = (str(path), st.st_mtime_ns, st.st_size)
        hit = _taxonomy_cache.get(str(path))
        if hit is None or hit[0] != key:
            try:
                hit = _taxonomy_cache[str(path)] = (key, load(path))
            except (ValueError, OSError) as exc:  # a broken file: say so, try the next source
                logger.warning("hotline taxonomy: cannot read %s: %s", path, exc)
                continue
        return hit[1]
    return None


def category_labels() -> list[str]:
    """The level-1 names staff may choose ([] without a taxonomy)."""
    tax = category_taxonomy()
    return list(tax.names) if tax is not None else []


def category_level2_names() -> list[str]:
    """The taxonomy's level-2 names (suggestions for the optional level 2), in taxonomy order."""
    tax = category_taxonomy()
    if tax is None:
        return []
    return list(dict.fromkeys(c.split("：", 1)[0] for lab in tax.labels for c in lab.children))


@transaction.atomic
def set_category(user, ticket: Ticket, l1: str, l2: str = "", l3: str = "") -> Ticket:
    """Staff correct a ticket's category: level 1 must be one of the taxonomy's labels
    (`category_labels`), levels 2 and 3 are free. The ticket's source becomes "staff": later
    imports keep the category, and `staff_labelled_examples` (so `gridgov hotline train
    --from-db`) learns from it."""
    _require_ticket_update(user, ticket)
    l1, l2, l3 = ((v or "").strip()[:100] for v in (l1, l2, l3))
    labels = category_labels()
    if not labels:
        from .paths import default_taxonomy_path

        raise TaxonomyMissing(f"no category taxonomy: {default_taxonomy_path()} is missing and no model is trained",
                              code="no_taxonomy")
    if l1 not in labels:
        raise CategoryError(
            f"level-1 category {l1!r} is not in the taxonomy; choose one of: {', '.join(labels)}"
            if l1 else f"level-1 category is empty; choose one of: {', '.join(labels)}",
            code="unknown" if l1 else "empty", label=l1, allowed=labels,
        )
    if l3 and not l2:
        raise CategoryError("level 3 needs a level 2", code="level3", allowed=labels)
    t = Ticket.objects.select_for_update().get(pk=ticket.pk)
    before = {"category": t.category, "source": t.category_source, "confidence": t.category_confidence}
    Ticket.objects.filter(pk=t.pk).update(
        category_l1=l1, category_l2=l2, category_l3=l3,
        category_source=CategorySource.STAFF, category_confidence=None, updated_at=timezone.now(),
    )
    ticket.refresh_from_db()
    _event(user, HotlineEvent.Action.CATEGORY, ticket=ticket, to=ticket.category,
           **{"from": before["category"], "from_source": before["source"], "from_confidence": before["confidence"]})
    return ticket


# --- proactive projects --------------------------------------------------------------------

PROJECT_TRANSITIONS = {
    ProactiveProject.Status.PROPOSED: {ProactiveProject.Status.APPROVED, ProactiveProject.Status.CANCELLED},
    ProactiveProject.Status.APPROVED: {ProactiveProject.Status.IN_PROGRESS, ProactiveProject.Status.CANCELLED},
    ProactiveProject.Status.IN_PROGRESS: {ProactiveProject.Status.COMPLETED, ProactiveProject.Status.CANCELLED},
    ProactiveProject.Status.COMPLETED: set(),
    ProactiveProject.Status.CANCELLED: set(),
}


class ProjectError(ValueError):
    pass


#: a project's budget in yuan: ProactiveProject.budget holds 12 digits, 2 after the point
BUDGET_LIMIT = Decimal("1e10")


class BudgetError(ProjectError):
    """`kind`: "number" (not an amount) or "range" (negative, NaN/Infinity, or ≥ BUDGET_LIMIT)."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


def clean_budget(value) -> Decimal | None:
    """THE check of a project's budget, for the form and the API alike: empty → None; otherwise
    a finite amount in yuan, 0 ≤ budget < BUDGET_LIMIT after rounding to the fen (0.01)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise BudgetError(f"budget：{value!r} 不是金额（元），例如 120000", "number")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise BudgetError(f"budget：{str(value)[:40]!r} 不是金额（元），例如 120000", "number") from None
    out_of_range = BudgetError(f"budget：{str(value)[:40]} 不在 0 至 {BUDGET_LIMIT - Decimal('0.01'):,} 元之间", "range")
    if not amount.is_finite() or amount < 0 or amount >= BUDGET_LIMIT:
        raise out_of_range
    amount = amount.quantize(Decimal("0.01"))
    if amount >= BUDGET_LIMIT:  # 9999999999.995 rounds up to the limit
        raise out_of_range
    return amount


@transaction.atomic
def create_project(user, *, title, grid, category_l1="", category_l2="", compound=None, tickets=(), owner="",
                   funding_source="", budget=None, description="", cluster_key="") -> ProactiveProject:
    """Propose a proactive project for a recurring problem at a place, linked to its tickets."""
    _require_staff(user)
    from gridgov.accounts.scope import scope_of

    if not scope_of(user).covers_path(grid.path):
        raise PermissionDenied("grid not in your scope")
    if not title.strip():
        raise ProjectError("title is empty")
    if funding_source and funding_source not in dict(ProactiveProject.FUNDING):
        raise ProjectError(f"unknown funding source {funding_source!r}")
    budget = clean_budget(budget)
    p = ProactiveProject.objects.create(
        title=title.strip()[:200], grid=grid, compound=compound, category_l1=category_l1, category_l2=category_l2,
        owner=owner, funding_source=funding_source, budget=budget, description=description,
        cluster_key=cluster_key[:200], created_by=user,
    )
    ids = [t.pk if isinstance(t, Ticket) else int(t) for t in tickets]
    if ids:
        p.tickets.set(Ticket.objects.visible_to(user).filter(pk__in=ids))
    _event(user, HotlineEvent.Action.PROJECT, project=p, title=p.title, tickets=p.tickets.count(),
           cluster_key=p.cluster_key)
    return p


@transaction.atomic
def add_milestone(user, project: ProactiveProject, title: str, due_on=None) -> Milestone:
    _require_staff(user)
    _visible_project(user, project)
    if not (title or "").strip():
        raise ProjectError("milestone title is empty")
    m = Milestone.objects.create(project=project, title=title.strip()[:200], due_on=due_on)
    _event(user, HotlineEvent.Action.MILESTONE, project=project, milestone=m.title,
           due_on=due_on.isoformat() if due_on else None)
    return m


@transaction.atomic
def update_milestone(user, milestone: Milestone, progress: int, done_on=None) -> Milestone:
    _require_staff(user)
    _visible_project(user, milestone.project)
    if not 0 <= int(progress) <= 100:
        raise ProjectError("progress must be 0..100")
    before = milestone.progress
    milestone.progress = int(progress)
    if milestone.progress == 100 and done_on is None:
        done_on = timezone.localdate()
    milestone.done_on = done_on if milestone.progress == 100 else None
    milestone.save()
    _event(user, HotlineEvent.Action.PROGRESS, project=milestone.project, milestone=milestone.title,
           to=milestone.progress, **{"from": before})
    return milestone


@transaction.atomic
def set_project_status(user, project: ProactiveProject, status: str, on: date | None = None) -> ProactiveProject:
    """Move a project along proposed → approved → in progress → completed (or cancelled)."""
    _require_staff(user)
    _visible_project(user, project)
    p = ProactiveProject.objects.select_for_update().get(pk=project.pk)
    if status not in PROJECT_TRANSITIONS.get(p.status, set()):
        raise ProjectError(f"cannot go from {p.status} to {status}")
    on = on or timezone.localdate()
    if status == ProactiveProject.Status.IN_PROGRESS:
        p.started_on = p.started_on or on
    if status == ProactiveProject.Status.COMPLETED:
        p.completed_on = on
        p.started_on = p.started_on or on
    before = p.status
    p.status = status
    p.save()
    _event(user, HotlineEvent.Action.STATUS, project=p, to=status, on=on.isoformat(), **{"from": before})
    return p


def _visible_project(user, project):
    if not ProactiveProject.objects.visible_to(user).filter(pk=project.pk).exists():
        raise PermissionDenied("project not visible")


def _add_months(month: str, n: int) -> str:
    y, m = map(int, month.split("-"))
    k = y * 12 + (m - 1) + n
    return f"{k // 12:04d}-{k % 12 + 1:02d}"


def project_tickets(project: ProactiveProject):
    """Tickets of the project's place (compound if set, else the grid's subtree) and category."""
    qs = Ticket.objects.all()
    if project.compound_id:
        qs = qs.filter(matched_address__compound_id=project.compound_id)
    else:
        qs = qs.filter(grid__path__startswith=project.grid.path)
    if project.category_l2:
        qs = qs.filter(category_l2=project.category_l2)
    elif project.category_l1:
        qs = qs.filter(category_l1=project.category_l1)
    return qs


def project_effect(project: ProactiveProject, months: int = 6) -> dict:
    """Tickets of the same place and category per month, `months` before the project started
    and `months` after it was completed, and the mean per month on each side."""
    start = project.started_on or (project.created_at and timezone.localtime(project.created_at).date())
    start_m = start.strftime("%Y-%m")
    end_m = project.completed_on.strftime("%Y-%m") if project.completed_on else None
    before = [_add_months(start_m, -k) for k in range(months, 0, -1)]
    after = [_add_months(end_m, k) for k in range(1, months + 1)] if end_m else []
    counts = dict(
        project_tickets(project).filter(month__in=before + after)
        .values("month").annotate(n=Count("id")).values_list("month", "n")
    )
    now_m = timezone.localtime().strftime("%Y-%m")
    b = [{"month": m, "tickets": counts.get(m, 0)} for m in before]
    a = [{"month": m, "tickets": counts.get(m, 0)} for m in after if m <= now_m]
    mean_b = sum(x["tickets"] for x in b) / len(b) if b else None
    mean_a = sum(x["tickets"] for x in a) / len(a) if a else None
    change = None
    if mean_b and mean_a is not None:
        change = round((mean_a - mean_b) / mean_b, 4)
    return {"before": b, "after": a, "mean_before": mean_b, "mean_after": mean_a, "change": change}


# --- settings ------------------------------------------------------------------------------

SETTING_FIELDS = ("basic_weight", "response_weight", "resolution_weight", "satisfaction_weight", "min_sample",
                  "address_threshold", "address_margin")


MIN_SAMPLE_LIMIT = 1_000_000  # valid tickets a unit needs to be ranked: far above any street's month


@transaction.atomic
def update_rate_settings(user, **values) -> RateSettings:
    """Administrators change the rate weights, the minimum sample and the address thresholds:
    setting rows from now (core.settings_rows.set_values: history kept, the three weights
    checked to sum to 1), the same rows /settings/ edits."""
    from gridgov.accounts import policy
    from gridgov.core import settings_rows

    from .models import RATE_KEYS

    if not policy.allows(user, "settings", "update"):
        raise PermissionDenied("only administrators change the rate settings")
    unknown = set(values) - set(SETTING_FIELDS)
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    for k, v in values.items():
        if k == "min_sample":
            if not 0 <= int(v) <= MIN_SAMPLE_LIMIT:
                raise ValueError(f"min_sample must be 0..{MIN_SAMPLE_LIMIT}")
        elif not 0 <= float(v) <= 1:
            raise ValueError(f"{k} must be between 0 and 1")
    now = RateSettings.current()
    total = sum(float(values.get(k, getattr(now, k))) for k in ("response_weight", "resolution_weight", "satisfaction_weight"))
    if abs(total - 1) > 1e-6:
        raise ValueError(f"the three weights must sum to 1 (now {total:g})")
    settings_rows.set_values(user, {RATE_KEYS[k]: v for k, v in values.items()}, note="PUT /api/hotline/settings")
    return RateSettings.current()
