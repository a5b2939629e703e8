"""Open311 GeoReport v2 on top of `gridgov.cases`: keys, intake and the public view of a case.

Intake goes through `gridgov.cases.services.submit_case` (channel "api"), so locating, item
recognition, routing, duplicates and clocks are those of every channel. The contact details a
POST may carry are encrypted into `Open311Request` in the same transaction as the case.

The public view (`request_out`) holds no personal data: no names, phones, e-mails, device or
account ids; coordinates rounded to 4 decimals (about 10 m); descriptions and addresses with
mobile, landline and ID numbers masked; the description and address of cases from other
channels (residents, hotline, patrol) are not published at all — only their item, grid and
progress; status notes are a fixed public message per state (`STATUS_NOTES`), never a note
someone typed (staff notes, rating comments, routing messages). Lists are paged
(`page`, `page_size` ≤ MAX_PAGE_SIZE). See docs/api.md."""

import hashlib
import hmac
import json
import math
import re
import secrets
import uuid
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from gridgov.cases.recognize import active_item
from gridgov.geo import levels as gl
from gridgov.cases import services as case_services
from gridgov.cases.models import OPEN_STATES, Case, Channel, Clock, ClockKind, ClockState, HandlerLevel, Item, State, Urgency
from gridgov.core import crypto, history
from gridgov.core.freetext import mask_personal
from gridgov.core.i18n import source_text
from gridgov.geo.models import GridNode

from .models import ApiKey, Open311Request

KEY_PREFIX = "gg"
#: GET Service Requests is paged: `page_size` (default DEFAULT_PAGE_SIZE, at most MAX_PAGE_SIZE)
#: and `page` (1-based, at most MAX_PAGE); also at most MAX_PAGE_SIZE ids in service_request_id
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
MAX_PAGE = 1000
MAX_SPAN = timedelta(days=90)
COORD_DECIMALS = 4
#: Open311 status: closed once verified (or closed, merged, rejected); a resolved case waits
#: for the community's verification and may be sent back, so it is still open.
CLOSED_STATES = (State.VERIFIED, State.CLOSED, State.MERGED, State.REJECTED)
IDEMPOTENCY_NS = uuid.UUID("5b0f7f5e-6f0e-4c55-9d53-0b4a2f8f3111")


class Open311Error(Exception):
    """An error in the spec's format: `code` goes into the body and is the HTTP status."""

    def __init__(self, code: int, description: str):
        super().__init__(description)
        self.code, self.description = code, description


def bad(description):
    return Open311Error(400, description)


# --- API keys ---------------------------------------------------------------------------------


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def create_key(name: str, *, created_by=None, rate_per_minute: int = 60, can_submit: bool = True) -> tuple[ApiKey, str]:
    """A new key; returns (row, the key). Only its SHA-256 is stored: show the key once."""
    name = (name or "").strip()
    if not name:
        raise ValueError("name: give the key a name (who uses it)")
    if ApiKey.objects.filter(name=name).exists():
        raise ValueError(f"name: a key named {name!r} exists already")
    prefix = secrets.token_hex(4)
    while ApiKey.objects.filter(prefix=prefix).exists():  # pragma: no cover - 1 in 4 billion
        prefix = secrets.token_hex(4)
    raw = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    if rate_per_minute is None or int(rate_per_minute) < 0:
        raise ValueError("rate_per_minute: 0 (no limit) or more")
    key = ApiKey.objects.create(
        name=name, prefix=prefix, secret_hash=_digest(raw), created_by=created_by, created_at=timezone.now(),
        rate_per_minute=rate_per_minute, can_submit=can_submit,
    )
    history.record(created_by, "apikeys", key, "create", history.diff({}, history.snapshot(key, KEY_FIELDS)))
    return key, raw


#: what the history of a key shows (never its secret or hash)
KEY_FIELDS = ("name", "prefix", "can_submit", "rate_per_minute", "revoked")


@transaction.atomic
def revoke_key(name_or_prefix: str, by=None) -> ApiKey:
    key = ApiKey.objects.filter(name=name_or_prefix).first() or ApiKey.objects.filter(prefix=name_or_prefix).first()
    if key is None:
        raise ValueError(f"no API key named or prefixed {name_or_prefix!r}")
    if ApiKey.objects.filter(pk=key.pk, revoked=False).update(revoked=True, revoked_at=timezone.now()):
        history.record(by, "apikeys", key, "revoke", {"revoked": [False, True]})
    key.refresh_from_db()
    return key


@transaction.atomic
def set_rate(key: ApiKey, rate_per_minute: int, by=None) -> ApiKey:
    """A key's own limit: requests a minute (0 = none). Takes effect from the next request."""
    rate = int(rate_per_minute)
    if rate < 0 or rate > 100_000:
        raise ValueError("rate_per_minute: 0 (no limit) to 100000")
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.rate_per_minute != rate:
        old = key.rate_per_minute
        key.rate_per_minute = rate
        key.save(update_fields=["rate_per_minute"])
        history.record(by, "apikeys", key, "update", {"rate_per_minute": [old, rate]})
    return key


def authenticate(raw: str | None, request=None) -> ApiKey:
    """The key row for `raw`, or Open311Error 403. Constant-time comparison of the digests.
    With the `request`, the key the rate limiter already checked for it (`key_of`) is taken
    as it is, not read again."""
    if not raw:
        raise Open311Error(403, "api_key is required to create a service request")
    key = getattr(request, "_open311_key", None) if request is not None else None
    if key is None:
        parts = raw.strip().split("_", 2)
        key = ApiKey.objects.filter(prefix=parts[1]).first() if len(parts) == 3 and parts[0] == KEY_PREFIX else None
    if key is None or not hmac.compare_digest(key.secret_hash, _digest(raw.strip())) or key.revoked:
        raise Open311Error(403, "invalid api_key -- cannot create a service request")
    if not key.can_submit:
        raise Open311Error(403, "this api_key may not create service requests")
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):  # one write a minute at most
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def valid_key(raw: str | None, *, submit: bool = False) -> ApiKey | None:
    """The unrevoked key row for `raw` (that may POST requests, with submit=True), else None;
    never an error. The rate limit middleware asks it: a request carrying a valid key is counted
    on its key's own rate only, never on the anonymous per-device or per-address limits; a bogus
    or revoked key gets no such exemption."""
    parts = (raw or "").strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    key = ApiKey.objects.filter(prefix=parts[1], revoked=False).first()
    if key is None or not hmac.compare_digest(key.secret_hash, _digest(raw.strip())):
        return None
    return key if key.can_submit or not submit else None


def key_of(request) -> ApiKey | None:
    """The valid key an Open311 request carries (`api_key` field or query parameter, or the
    `X-API-Key` header), else None. Only under /open311/: a key means nothing elsewhere."""
    if not request.path.startswith("/open311/"):
        return None
    if hasattr(request, "_open311_key"):  # asked once per request (the limiter, then the view)
        return request._open311_key
    post = request.method == "POST"
    raw = (request.POST.get("api_key") if post else request.GET.get("api_key")) or request.headers.get("X-API-Key")
    request._open311_key = valid_key(raw, submit=post)
    return request._open311_key


def check_rate(key: ApiKey, now=None) -> None:
    """A fixed one-minute window per key, counted in the database or Redis (shared by every
    process; gridgov.core.ratelimit). Open311Error 429 when the key is over its limit."""
    if not key.rate_per_minute:
        return
    from gridgov.core import ratelimit

    v = ratelimit.hit(f"open311:key:{key.prefix}", key.rate_per_minute, 60, now=now.timestamp() if now else None)
    if not v.allowed:
        raise Open311Error(429, f"rate limit: {key.rate_per_minute} requests a minute for this api_key; retry in {v.retry_after} s")


# --- services (the items) ---------------------------------------------------------------------


def _attributes(item: Item) -> list[dict]:
    """What a client may send with a request of this item: the urgency (the item's default
    otherwise), an idempotency key, and for emergencies a notice to call the emergency numbers."""
    attrs = []
    if item.scenario.code == "emergency" or item.default_urgency == Urgency.EMERGENCY:
        attrs.append({
            "variable": False, "code": "emergency_notice", "datatype": "string", "required": False,
            "datatype_description": None, "order": 1,
            "description": "如有人员受伤、被困或明火，请先拨打 110 / 119 / 120；本渠道不是报警电话。", "values": [],
        })
    attrs.append({
        "variable": True, "code": "urgency", "datatype": "singlevaluelist", "required": False,
        "datatype_description": f"默认：{source_text(Urgency(item.default_urgency).label)}", "order": len(attrs) + 1,
        "description": "紧急程度", "values": [{"key": u.value, "name": source_text(u.label)} for u in Urgency],
    })
    attrs.append({
        "variable": True, "code": "idempotency_key", "datatype": "string", "required": False,
        "datatype_description": "any string up to 200 characters, e.g. a UUID", "order": len(attrs) + 1,
        "description": "重试时使用同一值，只会生成一条诉求（也可用 Idempotency-Key 请求头）", "values": [],
    })
    return attrs


def service_list() -> list[dict]:
    items = Item.objects.filter(active=True).select_related("scenario").order_by("scenario__order", "code")
    return [
        {
            "service_code": i.code, "service_name": i.name,
            "description": f"{i.scenario.name}：{i.name}（{i.department}办理）",
            "metadata": True, "type": "realtime",
            "keywords": ", ".join(i.keyword_list()), "group": i.scenario.name,
        }
        for i in items
    ]


def service_definition(code: str) -> dict:
    item = Item.objects.filter(code=code, active=True).select_related("scenario").first()
    if item is None:
        raise Open311Error(404, f"service_code {code!r} was not found")
    return {"service_code": item.code, "attributes": _attributes(item)}


def service_notice(item: Item | None) -> str | None:
    if item is None:
        return None
    parts = [f"{item.limit_text(kind)}内{verb}" for kind, verb in (("accept", "受理"), ("arrive", "到场"), ("resolve", "处置"))
             if item.limit(kind)]
    return "，".join(parts) + "。" if parts else None


# --- intake -----------------------------------------------------------------------------------


def _float(data, name):
    try:
        value = float(data[name])
    except (TypeError, ValueError):
        raise bad(f"{name}: {data[name]!r} is not a number") from None
    if not math.isfinite(value):
        raise bad(f"{name}: {data[name]!r} is not a number")
    return value


def _location(data) -> dict:
    """lat & long, or address_string, or address_id (the registry's standard address code)."""
    lat, lon = (data.get("lat") or "").strip(), (data.get("long") or "").strip()
    address = (data.get("address_string") or "").strip()  # its length is checked by submit_case
    address_id = (data.get("address_id") or "").strip()
    out = {"lon": None, "lat": None, "address": address, "address_id": address_id[:40]}
    if lat or lon:
        if not (lat and lon):
            raise bad("lat and long: send both")
        out["lat"], out["lon"] = _float(data, "lat"), _float(data, "long")
        if not (-90 <= out["lat"] <= 90 and -180 <= out["lon"] <= 180):
            raise bad(f"lat/long: {lat},{lon} is not a WGS-84 latitude,longitude")
    elif address_id:
        from gridgov.registry.models import Address

        found = Address.objects.filter(code=address_id).first()
        if found is None:
            raise Open311Error(404, f"address_id {address_id!r} was not found in the standard address registry")
        out["address"] = out["address"] or found.text[:200]
        if found.lat is not None and found.lon is not None:
            out["lat"], out["lon"] = found.lat, found.lon
    elif not address:
        raise bad("location: send lat and long, or address_string, or address_id")
    return out


def parse_attributes(post) -> dict:
    """attribute[code]=value and attribute[code][]=v1&attribute[code][]=v2 → {code: value | [values]}."""
    out = {}
    for key in post.keys():
        m = re.fullmatch(r"attribute\[([^\]]+)\](\[\])?", key)
        if not m:
            continue
        values = post.getlist(key) if hasattr(post, "getlist") else [post[key]]
        out[m.group(1)] = values if m.group(2) else (values[-1] if values else "")
    return out


def _idempotency(key: ApiKey, value: str | None):
    """A client's idempotency key, namespaced by its API key (two clients never share one)."""
    value = (value or "").strip()
    if not value:
        return None
    if len(value) > 200:
        raise bad("idempotency key: at most 200 characters")
    return uuid.uuid5(IDEMPOTENCY_NS, f"{key.prefix}:{value}")


def submit(key: ApiKey, data, *, idempotency_key: str | None = None) -> tuple[Open311Request, bool]:
    """POST Service Request: validate, file the case (channel api) and keep the Open311 side and
    the encrypted contact details in the same transaction. Returns (request, created)."""
    code = (data.get("service_code") or "").strip()
    if not code:
        raise bad("service_code was not provided")
    item = active_item(code)
    if item is None:
        raise Open311Error(404, f"service_code {code!r} was not found")
    attributes = parse_attributes(data)
    where = _location(data)
    description = (data.get("description") or "").strip()  # its length: submit_case (CASES_MAX_TEXT)
    urgency = attributes.get("urgency") or None
    if isinstance(urgency, list):
        raise bad("attribute[urgency]: one value only")
    if urgency and urgency not in Urgency.values:
        raise bad(f"attribute[urgency]: {urgency!r}; use one of {', '.join(Urgency.values)}")
    media_url = (data.get("media_url") or "").strip()
    if media_url and not re.match(r"^https?://[^\s]+$", media_url, re.I):
        raise bad("media_url: give an http(s) URL")
    if len(media_url) > 500:
        raise bad("media_url: at most 500 characters")
    email = (data.get("email") or "").strip()
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise bad(f"email: {email!r} is not an e-mail address")
    phone = re.sub(r"[\s-]", "", data.get("phone") or "")
    if phone and not re.fullmatch(r"\+?\d{5,20}", phone):
        raise bad("phone: digits only (5 to 20), optionally with a leading +")
    idem = _idempotency(key, idempotency_key or attributes.get("idempotency_key"))
    kept = {k: v for k, v in attributes.items() if k in ("urgency",)}
    first, last = (data.get("first_name") or "").strip(), (data.get("last_name") or "").strip()
    account_id = (data.get("account_id") or "").strip()[:200]
    device_id = (data.get("device_id") or "").strip()[:200]
    # the rest of the body, for telling a retry (same body) from another request (409)
    extra = {"media_url": media_url, "address_id": where["address_id"], "email": email, "phone": phone,
             "first_name": first, "last_name": last, "device_id": device_id, "account_id": account_id}
    try:
        with transaction.atomic():
            case, created = case_services.submit_case(
                reporter=None, channel=Channel.API, text=description or item.name, lon=where["lon"], lat=where["lat"],
                crs="wgs84", address=where["address"], item=item, urgency=urgency, idempotency_key=idem,
                request_extra=extra, defer=settings.INTAKE_DEFERRED,
            )
            if not created:
                existing = Open311Request.objects.filter(case=case).select_related("case").first()
                if existing is None or existing.api_key_id != key.pk:
                    raise Open311Error(409, "idempotency key already used for another request")
                return existing, False
            req = Open311Request(
                case=case, api_key=key, service_code=item.code, media_url=media_url, address_id=where["address_id"],
                attributes=kept, created_at=case.created_at,
                email_enc=crypto.encrypt(email), email_hash=crypto.blind_index(email),
                phone_enc=crypto.encrypt(phone), phone_hash=crypto.blind_index(phone), phone_masked=crypto.mask_phone(phone),
                name_enc=crypto.encrypt(json.dumps({"first_name": first, "last_name": last}, ensure_ascii=False)) if first or last else "",
                device_id_enc=crypto.encrypt(device_id),
                account_id_enc=crypto.encrypt(account_id), account_id_hash=crypto.blind_index(account_id),
            )
            req.save()
    except case_services.Conflict as exc:
        raise Open311Error(409, str(exc)) from None
    except case_services.CaseError as exc:
        # submit_case names its own parameters: say the Open311 field instead
        msg = re.sub(r"^text:", "description:", re.sub(r"^address:", "address_string:", str(exc)))
        raise bad(msg) from None
    return req, True


# --- the public view of a case ----------------------------------------------------------------

_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])(\d{3})\d{11}(\d{3}[\dXx])(?![0-9A-Za-z])")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})-?\d{4}(\d{3,4})(?!\d)")


def scrub(text: str | None) -> str | None:
    """Published text: ID and mobile numbers are masked at intake already (core.freetext, the
    one masking function); here also any 18-character number (rows stored before masking, a
    mistyped ID) and landlines, which intake keeps (a shop's or an office's number)."""
    if not text:
        return text
    text = mask_personal(text)
    text = _ID_LIKE.sub(lambda m: m.group(1) + "*" * 11 + m.group(2), text)
    return _LANDLINE.sub(r"\1****\2", text)


def open311_status(state: str) -> str:
    return "closed" if state in CLOSED_STATES else "open"


#: the public status note of each state: fixed text, never a note someone typed
STATUS_NOTES = {
    State.SUBMITTED: "已收到，等待分派",
    State.DISPATCHED: "已派遣，等待受理",
    State.ACCEPTED: "已受理，正在处置",
    State.ON_SITE: "处置人员已到场",
    State.RESOLVED: "已处置，等待社区核查",
    State.VERIFIED: "已核查办结",
    State.CLOSED: "已结案",
    State.RETURNED: "重新分派中",
    State.ESCALATED: "已升级办理",
    State.MERGED: "已与其他诉求合并办理",
    State.REJECTED: "不予受理",
    State.REOPENED: "已重新办理",
}


def status_notes(case: Case) -> str:
    if case.state == State.MERGED and case.merged_into_id:
        return f"已与诉求 {case.merged_into.number} 合并办理"
    return STATUS_NOTES.get(case.state) or source_text(State(case.state).label)


def w3(dt) -> str | None:
    return timezone.localtime(dt).isoformat(timespec="seconds") if dt else None


def _round(v):
    return None if v is None else round(v, COORD_DECIMALS)


class Context:
    """Per-response lookups shared by every request in a list (community names)."""

    def __init__(self):
        self._communities = None
        self._leader_grids = {}

    def leader_grid(self, case) -> str | None:
        """The grid where the case's grid leader leads: the finest node on the case's path the
        handler is assigned to as leader (the case's own grid may be a micro-grid below it)."""
        k = (case.handler_user_id, case.grid_path)
        if k not in self._leader_grids:
            from gridgov.accounts.models import Duty, GridAssignment

            codes = [c for c in (case.grid_path or "").strip("/").split("/") if c]
            node = (
                GridAssignment.objects.in_force().filter(user_id=case.handler_user_id, duty=Duty.LEADER, node__code__in=codes)
                .order_by("-node__level").values_list("node__name", flat=True).first()
            ) if case.handler_user_id else None
            self._leader_grids[k] = node or (case.grid.name if case.grid_id else None)
        return self._leader_grids[k]

    def community_name(self, grid_path: str) -> str | None:
        if self._communities is None:
            self._communities = dict(GridNode.objects.filter(level=gl.community_level()).values_list("code", "name"))
        for code in (grid_path or "").strip("/").split("/"):
            if code in self._communities:
                return self._communities[code]
        return None


def agency_responsible(case: Case, ctx: Context) -> str | None:
    """Who handles the case now, by office, never by person: the department for a section, the
    grid or community and the role label for grid leaders and community secretaries."""
    level = case.handler_level
    if not level:
        return None
    label = source_text(HandlerLevel(level).label)
    if level == HandlerLevel.SECTION:
        return case.handler_department or label
    if level == HandlerLevel.GRID_LEADER:
        grid = ctx.leader_grid(case)
        return f"{grid}{label}" if grid else label
    if level == HandlerLevel.COMMUNITY_SECRETARY:
        community = ctx.community_name(case.grid_path)
        return f"{community}{label}" if community else label
    return label


def public_cases():
    """Cases with what a public response needs, in one query."""
    due = Clock.objects.filter(
        case=OuterRef("pk"), kind=ClockKind.RESOLVE, state__in=[ClockState.RUNNING, ClockState.WARNED]
    ).order_by("-id").values("due_at")[:1]
    # a case held for moderation is not published until a moderator releases it
    return Case.objects.filter(held=False).select_related("item", "grid", "open311", "merged_into").annotate(
        expected_at=Subquery(due)
    )


def request_out(case: Case, ctx: Context) -> dict:
    o = getattr(case, "open311", None)
    mine = case.channel == Channel.API
    if mine:
        address = case.address or None
    else:
        address = case.grid.name if case.grid_id else None
    return {
        "service_request_id": case.number,
        "status": open311_status(case.state),
        "status_notes": status_notes(case),
        "service_name": case.item.name if case.item_id else None,
        "service_code": case.item.code if case.item_id else None,
        "description": scrub(case.text) if mine else None,
        "agency_responsible": agency_responsible(case, ctx),
        "service_notice": service_notice(case.item if case.item_id else None),
        "requested_datetime": w3(case.created_at),
        "updated_datetime": w3(case.closed_at if case.state == State.CLOSED and case.closed_at else case.updated_at),
        "expected_datetime": w3(getattr(case, "expected_at", None)) if case.state in OPEN_STATES else None,
        "address": scrub(address),
        "address_id": (o.address_id or None) if o else None,
        "zipcode": None,
        "lat": _round(case.lat),
        "long": _round(case.lon),
        "media_url": (o.media_url or None) if o else None,
    }


def get_request(number: str) -> dict:
    case = public_cases().filter(number=number).first()
    if case is None:
        raise Open311Error(404, f"service_request_id {number!r} was not found")
    return request_out(case, Context())


def token_lookup(token: str) -> dict:
    try:
        value = uuid.UUID(token)
    except ValueError:
        raise Open311Error(404, f"token {token!r} was not found") from None
    req = Open311Request.objects.filter(token=value).select_related("case").first()
    if req is None:
        raise Open311Error(404, f"token {token!r} was not found")
    return {"service_request_id": req.case.number, "token": str(req.token)}


def _when(value: str, name: str, end=False):
    value = value.strip()
    dt = parse_datetime(value)
    if dt is None:
        d = parse_date(value)
        if d is None:
            raise bad(f"{name}: {value!r} is not a W3C date/time such as 2025-09-01T00:00:00+08:00")
        dt = datetime.combine(d, time.max if end else time.min)
    if timezone.is_naive(dt):
        dt = timezone.make_aware(dt)
    return dt


def _csv(value) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def page_params(params) -> tuple[int, int]:
    def number(name, default, top):
        raw = (params.get(name) or "").strip()
        if not raw:
            return default
        if not raw.isdigit() or not 1 <= int(raw) <= top:
            raise bad(f"{name}: {raw!r}; give a whole number from 1 to {top}")
        return int(raw)

    return number("page", 1, MAX_PAGE), number("page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def search(params, now=None) -> tuple[list[dict], bool]:
    """GET Service Requests: service_request_id (comma list, at most MAX_PAGE_SIZE; overrides
    the rest), service_code, start_date, end_date (at most 90 days apart; the last 90 days by
    default), status open|closed; paged by `page` (from 1) and `page_size` (default
    DEFAULT_PAGE_SIZE, at most MAX_PAGE_SIZE). Newest first. Returns (the page, whether a next
    page exists)."""
    qs = public_cases()
    page, size = page_params(params)
    ids = _csv(params.get("service_request_id"))
    if ids:
        if len(ids) > MAX_PAGE_SIZE:
            raise bad(f"service_request_id: at most {MAX_PAGE_SIZE} ids")
        qs = qs.filter(number__in=ids)
    else:
        now = now or timezone.now()
        start = _when(params["start_date"], "start_date") if (params.get("start_date") or "").strip() else None
        end = _when(params["end_date"], "end_date", end=True) if (params.get("end_date") or "").strip() else None
        if start and end:
            if end < start:
                raise bad("end_date is before start_date")
            if end - start > MAX_SPAN:
                raise bad("start_date and end_date may not span more than 90 days")
        elif start:
            end = start + MAX_SPAN
        elif end:
            start = end - MAX_SPAN
        else:
            start, end = now - MAX_SPAN, now
        qs = qs.filter(created_at__gte=start, created_at__lte=end)
        codes = _csv(params.get("service_code"))
        if codes:
            qs = qs.filter(item__code__in=codes)
        statuses = _csv(params.get("status"))
        unknown = set(statuses) - {"open", "closed"}
        if unknown:
            raise bad(f"status: {', '.join(sorted(unknown))}; use open or closed")
        if statuses and set(statuses) != {"open", "closed"}:
            qs = qs.filter(state__in=CLOSED_STATES) if statuses[0] == "closed" else qs.exclude(state__in=CLOSED_STATES)
    ctx = Context()
    start = (page - 1) * size
    rows = list(qs.order_by("-created_at", "-id")[start : start + size + 1])
    return [request_out(c, ctx) for c in rows[:size]], len(rows) > size
