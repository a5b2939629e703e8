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
