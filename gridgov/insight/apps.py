from django.apps import AppConfig


class InsightConfig(AppConfig):
    name = "gridgov.insight"
    label = "insight"
    verbose_name = "地图与驾驶舱"
