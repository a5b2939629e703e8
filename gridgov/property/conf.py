"""Tunables of the property alliance (the mechanism: gridgov.core.conf). The ones administrators
edit on /settings/ are listed in core.settings_rows.SETTINGS; a quarter's scores read the values
in force at the quarter's end, so a change from a date leaves earlier quarters as they were."""

from gridgov.core import conf as _conf
from gridgov.core.conf import get, get_float, get_int  # noqa: F401 (the app's readers)

DEFAULTS = _conf.register({
    # the composite score: inspection score × this + data score × PROPERTY_DATA_WEIGHT (sum 1)
    "PROPERTY_INSPECTION_WEIGHT": (None, 0.6),
    "PROPERTY_DATA_WEIGHT": (None, 0.4),
    # complaints (property cases + 12345 tickets) per 1,000 households in a quarter at which the
    # complaint part of the data score reaches 0 (it falls linearly from full marks at none)
    "PROPERTY_COMPLAINTS_REF": (None, 40.0),
    # the 12345 tickets about property management: their level-2 (else level-1) categories, | separated
    "PROPERTY_TICKET_CATEGORIES": (None, "物业管理"),
    # a late problem rises to the street this many working days after its deadline
    "PROPERTY_ESCALATE_DAYS": (None, 3),
})
