from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    """A resident's rights under PIPL (export, erase): above registry, accounts, cases and
    Open311, whose records it gathers. No models of its own."""

    name = "gridgov.privacy"
    label = "privacy"
    verbose_name = "PIPL requests"
