from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "gridgov.demo"
    label = "demo"
    verbose_name = "Demo street"
