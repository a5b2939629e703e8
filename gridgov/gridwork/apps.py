from django.apps import AppConfig


class GridworkConfig(AppConfig):
    name = "gridgov.gridwork"
    label = "gridwork"
    verbose_name = "Grid work"

    def ready(self):
        from . import conf  # noqa: F401 (registers the app's tunables)
