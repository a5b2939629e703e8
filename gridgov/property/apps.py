from django.apps import AppConfig


class PropertyConfig(AppConfig):
    name = "gridgov.property"
    label = "property"
    verbose_name = "Property alliance"

    def ready(self):
        from . import conf  # noqa: F401 (registers the app's tunables)
