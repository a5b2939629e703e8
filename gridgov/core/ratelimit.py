"""Rate limits of the public report doors, counted where every process sees them.

A limit is "N per S seconds" in fixed windows. With REDIS_URL the counters live in Redis (the
Django cache is then Redis: `add` + `incr` are atomic there); otherwise in the database table
`RateCounter` (an atomic `UPDATE … SET count = count + 1`, the row created on the first hit of
a window; a concurrent creator loses the unique key and updates instead). Never per-process
memory: a limit must hold across gunicorn workers.

`PublicRateLimitMiddleware` (gridgov.core.middleware) applies two limits to every POST whose
path matches GRIDGOV_RATE_LIMIT_PATHS — per device (the `X-Device-Id` header or the
`gridgov_device` cookie, which the middleware sets when missing) and per client address — and
answers 429 with Retry-After. Staff are not limited there (they file patrol reports all day);
Open311 clients are also limited per API key (open311.services.check_rate). The public reads
(GET/HEAD on GRIDGOV_RATE_LIMIT_READ_PATHS: the Open311 server) are limited per client address
(GRIDGOV_RATE_LIMIT_READS_PER_ADDRESS), in the same shared counters. `limit_lookup` limits a
look-up (a GET that lists records near any point) per user, device and address, staff included."""

import hashlib
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from . import conf
from .net import client_ip

DEFAULTS = conf.register({
    # "count/seconds"; 0/… switches a limit off
    "RATE_LIMIT_PER_DEVICE": ("GRIDGOV_RATE_LIMIT_PER_DEVICE", "20/3600"),
    # higher: carrier-grade NAT puts many phones behind one address
    "RATE_LIMIT_PER_ADDRESS": ("GRIDGOV_RATE_LIMIT_PER_ADDRESS", "120/3600"),
    # regular expressions of the limited paths (POST only), separated by spaces
    "RATE_LIMIT_PATHS": ("GRIDGOV_RATE_LIMIT_PATHS",
                         r"^/api/cases/?$ ^/api/cases/\d+/(rate|join)$ ^/open311/v2/requests\.(json|xml)$ ^/m/"),
    # look-ups that list records near any point (the duplicates suggestion, `limit_lookup`):
    # per signed-in user and per device, and per client address; staff included
    "RATE_LIMIT_LOOKUP": ("GRIDGOV_RATE_LIMIT_LOOKUP", "60/600"),
    "RATE_LIMIT_LOOKUP_PER_ADDRESS": ("GRIDGOV_RATE_LIMIT_LOOKUP_PER_ADDRESS", "300/600"),
    # public reads (GET, HEAD) without an account: per client address
    "RATE_LIMIT_READS_PER_ADDRESS": ("GRIDGOV_RATE_LIMIT_READS_PER_ADDRESS", "120/60"),
    "RATE_LIMIT_READ_PATHS": ("GRIDGOV_RATE_LIMIT_READ_PATHS", r"^/open311/"),
})


def setting(name: str) -> str:
    return conf.get(name)


def parse_limit(value) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        return int(value[0]), int(value[1])
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(value))
    if not m or int(m.group(2)) <= 0:
        raise ValueError(f"rate limit {value!r}: write COUNT/SECONDS, e.g. 20/3600")
    return int(m.group(1)), int(m.group(2))


@dataclass
class Verdict:
    allowed: bool
    count: int
    limit: int
    retry_after: int  # seconds to the end of the window


def hit(key: str, limit: int, seconds: int, now: float | None = None) -> Verdict:
    """Count one hit of `key` in the current window; allowed while count ≤ limit."""
    now = time.time() if now is None else now
    window = int(now // seconds)
    retry = max(1, math.ceil((window + 1) * seconds - now))
    if limit <= 0:
        return Verdict(True, 0, limit, retry)
    slot = "rl:" + hashlib.sha256(f"{key}:{seconds}:{window}".encode()).hexdigest()[:40]
    if getattr(settings, "REDIS_URL", ""):
        count = _hit_cache(slot, seconds)
    else:
        count = _hit_db(slot, datetime.fromtimestamp((window + 1) * seconds, tz=dt_timezone.utc), now)
    return Verdict(count <= limit, count, limit, retry)


def _hit_cache(slot, seconds) -> int:
    from django.core.cache import cache

    cache.add(slot, 0, timeout=seconds + 5)
    try:
        return cache.incr(slot)
    except ValueError:  # expired between add and incr
        cache.set(slot, 1, timeout=seconds + 5)
        return 1


def _hit_db(slot, expires_at, now) -> int:
    from gridgov.core.models import RateCounter

    with transaction.atomic():
        if not RateCounter.objects.filter(key=slot).update(count=F("count") + 1):
            try:
                with transaction.atomic():
                    RateCounter.objects.create(key=slot, count=1, expires_at=expires_at)
                # a new window: clear the counters of windows that are over
                RateCounter.objects.filter(expires_at__lt=datetime.fromtimestamp(now, tz=dt_timezone.utc) - timedelta(minutes=1)).delete()
                return 1
            except IntegrityError:
                RateCounter.objects.filter(key=slot).update(count=F("count") + 1)
        return RateCounter.objects.filter(key=slot).values_list("count", flat=True).first() or 1


def _matches(name: str, path: str) -> bool:
    return any(re.search(p, path) for p in str(setting(name)).split())


def limited_path(path: str) -> bool:
    return _matches("RATE_LIMIT_PATHS", path)


def device_of(request) -> str:
    """The device a request comes from: the `X-Device-Id` header or the `gridgov_device` cookie
    (which PublicRateLimitMiddleware hands out), '' when neither."""
    from gridgov.core.middleware import DEVICE_COOKIE

    return (request.headers.get("X-Device-Id") or request.COOKIES.get(DEVICE_COOKIE) or "").strip()[:100]


def first_over(prefix: str, checks) -> tuple[str, Verdict] | None:
    """Count one hit in each window of `checks` — (kind, identity, (limit, seconds)) — under
    `prefix`, in order; (kind, verdict) of the first one over its limit, else None."""
    for kind, ident, (limit, seconds) in checks:
        v = hit(f"{prefix}:{kind}:{ident}", limit, seconds)
        if not v.allowed:
            return kind, v
    return None


#: path prefix → answer(request, status, text): the error format of a door that is not JSON
#: (Open311 registers its own in its AppConfig.ready); every other path answers JSON
ANSWERS: dict[str, Callable] = {}


def register_answer(prefix: str, answer: Callable) -> None:
    """Answer over-the-limit requests under `prefix` with `answer(request, status, text)`."""
    ANSWERS[prefix] = answer


#: keyed clients: functions request -> (identity, requests a minute; 0 = no limit) for a request
#: that carries a valid key, else None; registered by the app that issues keys (open311.apps).
#: A keyed client is counted on its key's own rate only, never per device or per address.
KEYED_CLIENTS: list[Callable] = []


def register_keyed_client(resolve: Callable) -> None:
    if resolve not in KEYED_CLIENTS:
        KEYED_CLIENTS.append(resolve)


def keyed_client(request) -> tuple[str, int] | None:
    """(identity, rate a minute) of the valid key the request carries, else None."""
    for resolve in KEYED_CLIENTS:
        found = resolve(request)
        if found is not None:
            return found
    return None


def too_many(request, kind: str, v, what: str):
    """The 429 answer (the door's own format, see ANSWERS, else JSON) with Retry-After."""
    from django.http import JsonResponse

    text = f"rate limit: {v.limit} {what} per window for this {kind}; retry in {v.retry_after} s"
    answer = next((a for prefix, a in ANSWERS.items() if request.path.startswith(prefix)), None)
    if answer is not None:
        resp = answer(request, 429, text)
    else:
        resp = JsonResponse({"detail": text}, status=429)
    resp["Retry-After"] = str(v.retry_after)
    return resp


def limit_lookup(request, name: str):
    """Count one look-up `name` of this request per signed-in user, per device and per client
    address (RATE_LIMIT_LOOKUP, RATE_LIMIT_LOOKUP_PER_ADDRESS); the 429 answer (JSON, with
    Retry-After) when one of them is over its limit, else None."""
    per_user = parse_limit(setting("RATE_LIMIT_LOOKUP"))
    checks = []
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        checks.append(("user", str(user.pk), per_user))
    device = device_of(request)
    if device:
        checks.append(("device", device, per_user))
    checks.append(("address", client_ip(request) or "unknown", parse_limit(setting("RATE_LIMIT_LOOKUP_PER_ADDRESS"))))
    over = first_over(f"lookup:{name}", checks)
    return too_many(request, *over, what="look-ups") if over else None


def limited_read_path(path: str) -> bool:
    return _matches("RATE_LIMIT_READ_PATHS", path)
