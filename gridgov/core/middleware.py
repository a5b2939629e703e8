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
