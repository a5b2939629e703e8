"""Where a request comes from."""


def client_ip(request) -> str | None:
    """The client address for throttling: REMOTE_ADDR, or with GRIDGOV_TRUST_X_FORWARDED_FOR=1
    the last X-Forwarded-For entry (the one the proxy in front appended; see docs/deployment.md)."""
    from django.conf import settings

    if getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        fwd = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if fwd:
            return fwd.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR")
