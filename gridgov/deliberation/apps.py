from django.apps import AppConfig


class DeliberationConfig(AppConfig):
    name = "gridgov.deliberation"
    label = "deliberation"
    verbose_name = "Deliberation"

    def ready(self):
        from . import conf  # noqa: F401 (registers the app's tunables)
