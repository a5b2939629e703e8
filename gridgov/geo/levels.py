"""The grid levels (gridgov.core.levels, where the scheme lives so that accounts can read it too)."""

from gridgov.core.levels import (  # noqa: F401
    LEVEL_LABELS,
    above,
    codes_of,
    community_level,
    community_path,
    finest_level,
    forget,
    grid_level,
    level_index,
    level_label,
    level_names,
    multi_street,
    prefix_at,
    street_level,
    street_path,
)


def read_above() -> list:
    """The names of the levels above the street, from the GeoVersion row."""
    from django.db import DatabaseError

    from .models import GeoVersion

    try:
        return GeoVersion.objects.filter(pk=1).values_list("above", flat=True).first() or []
    except DatabaseError:  # before the migration (migrate itself, a check)
        return []
