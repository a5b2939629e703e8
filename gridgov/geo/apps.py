from django.apps import AppConfig


class GeoConfig(AppConfig):
    name = "gridgov.geo"
    label = "geo"
    verbose_name = "Grids"

    def ready(self):
        from django.core.signals import request_started

        from gridgov.core import levels as core_levels

        from . import levels

        core_levels.READER = levels.read_above
        request_started.connect(levels.forget, dispatch_uid="geo.levels.forget")
