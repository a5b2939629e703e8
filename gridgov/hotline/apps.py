from django.apps import AppConfig


class HotlineConfig(AppConfig):
    name = "gridgov.hotline"
    label = "hotline"
    verbose_name = "12345 hotline"
