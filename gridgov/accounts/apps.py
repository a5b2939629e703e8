from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "gridgov.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from gridgov.core import settings_rows

        from . import policy

        # settings rows live in core; who may set them is the access table's settings × update
        settings_rows.register_permission(lambda actor: policy.require(actor, "settings", "update"))
