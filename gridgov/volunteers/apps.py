from django.apps import AppConfig


class VolunteersConfig(AppConfig):
    name = "gridgov.volunteers"
    label = "volunteers"
    verbose_name = "Volunteers"

    def ready(self):
        from . import conf  # noqa: F401 (registers the app's tunables)
        from gridgov.cases.signals import case_verified

        case_verified.connect(_award_for_case, dispatch_uid="volunteers-award-case")


def _award_for_case(sender, case, **kwargs):
    """A verified case earns points: the volunteer who grabbed it (its task done), and a volunteer
    who reported it (the report was valid). Runs after the verification committed; idempotent
    per case (the transfer's key), so a replay awards nothing twice."""
    from .services import award_for_case

    award_for_case(case)
