from django.apps import AppConfig


class MobileConfig(AppConfig):
    name = "gridgov.mobile"
    verbose_name = "H5 for residents and volunteers"
