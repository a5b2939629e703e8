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

        # the recogniser's and the word filter's caches follow what this process saves
        from django.db.models.signals import post_delete, post_save

        from . import moderation, recognize
        from .models import Correction, Item, SensitiveWord

        for model in (Item, Correction):
            post_save.connect(recognize.forget, sender=model, dispatch_uid=f"cases-recognizer-{model.__name__}")
            post_delete.connect(recognize.forget, sender=model, dispatch_uid=f"cases-recognizer-del-{model.__name__}")
        post_save.connect(moderation.forget, sender=SensitiveWord, dispatch_uid="cases-words")
        post_delete.connect(moderation.forget, sender=SensitiveWord, dispatch_uid="cases-words-del")
        department_references.connect(departments.references, dispatch_uid="cases-department-references")



def _shift_rule_levels(sender, shift, **kwargs):
    """Routing rules name the level of a case's finest grid; a root above the streets deepens it."""
    from django.db.models import F

    from .models import RoutingRule

    RoutingRule.objects.filter(grid_level__isnull=False).update(grid_level=F("grid_level") + shift)
