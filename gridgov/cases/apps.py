from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "gridgov.cases"
    label = "cases"
    verbose_name = "Cases"

    def ready(self):
        from gridgov.geo.signals import levels_shifted

        levels_shifted.connect(_shift_rule_levels, dispatch_uid="cases-shift-rule-levels")
        # residents' sign-in codes (accounts.signin, a layer below) go out through the notifications
        from gridgov.accounts import signin

        from .notify import queue_to_phone

        signin.send_to_phone = queue_to_phone

        from gridgov.accounts.duties import duty_ended

        from .services import on_duty_ended

        # a person's last duty in a grid ends: their open cases there are handed on (accounts
        # does not know cases; end_duty sends this inside its transaction)
        duty_ended.connect(on_duty_ended, dispatch_uid="cases-hand-over")

        from gridgov.accounts.departments import department_references, department_renamed

        from . import departments

        department_renamed.connect(departments.rename, dispatch_uid="cases-department-rename")
        department_references.connect(departments.references, dispatch_uid="cases-department-references")



def _shift_rule_levels(sender, shift, **kwargs):
    """Routing rules name the level of a case's finest grid; a root above the streets deepens it."""
    from django.db.models import F

    from .models import RoutingRule

    RoutingRule.objects.filter(grid_level__isnull=False).update(grid_level=F("grid_level") + shift)
