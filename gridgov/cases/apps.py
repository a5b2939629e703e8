from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "gridgov.cases"
    label = "cases"
    verbose_name = "Cases"

    def ready(self):
        from gridgov.geo.signals import grid_path_moved

        grid_path_moved.connect(_repath_cases, dispatch_uid="cases-repath")

        from gridgov.accounts.departments import department_references, department_renamed

        from . import departments

        department_renamed.connect(departments.rename, dispatch_uid="cases-department-rename")
        department_references.connect(departments.references, dispatch_uid="cases-department-references")


def _repath_cases(sender, old_prefix, new_prefix, **kwargs):
    """Cases keep a copy of their grid's path for scope checks; when a subtree moves, so do they."""
    from django.db.models import F, Value
    from django.db.models.functions import Concat, Substr

    from .models import Case

    Case.objects.filter(grid_path__startswith=old_prefix).update(
        grid_path=Concat(Value(new_prefix), Substr(F("grid_path"), len(old_prefix) + 1))
    )
