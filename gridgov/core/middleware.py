"""Security headers that Django 5.2 does not set itself: a content security policy and a
permissions policy."""

from urllib.parse import urlsplit

from django.conf import settings


def content_security_policy() -> str:
    img = ["'self'", "data:", "blob:"]
    tile = getattr(settings, "MAP_TILE_URL", "")
    if tile:
        parts = urlsplit(tile.replace("{s}", "a"))
        if parts.scheme and parts.netloc:
            host = parts.netloc.replace("a.", "*.", 1) if "{s}" in tile else parts.netloc
            img.append(f"{parts.scheme}://{host}")
    img += list(getattr(settings, "CSP_IMG_HOSTS", []))
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            # Leaflet and ECharts set style attributes; no inline <script> is ever allowed.
            "style-src 'self' 'unsafe-inline'",
            "img-src " + " ".join(img),
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.csp = content_security_policy()

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", self.csp)
        response.setdefault("Permissions-Policy", "geolocation=(self), camera=(self), microphone=(), payment=(), usb=()")
        return response


DEVICE_COOKIE = "gridgov_device"


class PublicRateLimitMiddleware:
    """Rate limits of the public doors (gridgov.core.ratelimit): POSTs to the paths of
    GRIDGOV_RATE_LIMIT_PATHS, per device and per client address, and the public reads (GET and
    HEAD on GRIDGOV_RATE_LIMIT_READ_PATHS, the Open311 server) per client address, counted in
    the database or Redis (shared by every process). Over a limit: 429 with Retry-After;
    nothing is stored. Any page added under those paths (the mobile report page /m/) inherits
    the limits. Staff signed in are not limited; nor is an Open311 client carrying a valid, unrevoked
    key (ratelimit.keyed_client; open311 registers its keys): it is counted on its key's own rate only (rate_per_minute,
    0 = none), its POSTs in the view, its reads here. A bogus or revoked key is limited as anyone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from gridgov.core import ratelimit

        device = ratelimit.device_of(request)
        if request.method == "POST" and ratelimit.limited_path(request.path) and not self._exempt(request):
            refused = self._check(request, device, ratelimit)
            if refused is not None:
                return refused
        elif request.method in ("GET", "HEAD") and ratelimit.limited_read_path(request.path) and not self._exempt(request):
            refused = self._check_read(request, ratelimit)
            if refused is not None:
                return refused
        response = self.get_response(request)
        if not request.COOKIES.get(DEVICE_COOKIE) and (request.path.startswith("/m/") or request.path.startswith("/api/cases")):
            import secrets

            response.set_cookie(DEVICE_COOKIE, secrets.token_urlsafe(16), max_age=365 * 24 * 3600, httponly=True,
                                samesite="Lax", secure=getattr(settings, "HTTPS", False))
        return response

    @staticmethod
    def _exempt(request) -> bool:
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_authenticated and getattr(user, "is_staff_role", False))

    def _check(self, request, device, ratelimit):
        from gridgov.core.net import client_ip

        if ratelimit.keyed_client(request) is not None:  # a valid key: counted on its own rate (the door), never here
            return None
        checks = []
        if device:
            checks.append(("device", device, ratelimit.parse_limit(ratelimit.setting("RATE_LIMIT_PER_DEVICE"))))
        checks.append(("address", client_ip(request) or "unknown", ratelimit.parse_limit(ratelimit.setting("RATE_LIMIT_PER_ADDRESS"))))
        over = ratelimit.first_over("public", checks)
        return ratelimit.too_many(request, *over, what="reports") if over else None

    def _check_read(self, request, ratelimit):
        from gridgov.core.net import client_ip

        keyed = ratelimit.keyed_client(request)
        if keyed is not None:  # a valid key: its own rate (reads counted apart), never per address
            ident, rate = keyed
            over = ratelimit.first_over("keyed-read", [("api_key", ident, (rate, 60))])
            return ratelimit.too_many(request, *over, what="requests") if over else None
        limit = ratelimit.parse_limit(ratelimit.setting("RATE_LIMIT_READS_PER_ADDRESS"))
        over = ratelimit.first_over("public-read", [("address", client_ip(request) or "unknown", limit)])
        return ratelimit.too_many(request, *over, what="requests") if over else None
