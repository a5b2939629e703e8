from django.apps import AppConfig


class Open311Config(AppConfig):
    name = "gridgov.open311"
    label = "open311"
    verbose_name = "Open311 GeoReport v2"

    def ready(self):
        from gridgov.core import ratelimit

        from .render import error

        # over a rate limit, the Open311 server answers in its own format (XML or JSON)
        ratelimit.register_answer(
            "/open311/", lambda request, status, text: error("xml" if request.path.endswith(".xml") else "json", status, text))
        # a client with a valid key is counted on its key's own rate, never per device or address
        ratelimit.register_keyed_client(_keyed)


def _keyed(request):
    from .services import key_of

    key = key_of(request)
    return (key.prefix, key.rate_per_minute) if key is not None else None
