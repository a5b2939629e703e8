"""Tunables of the deliberation app (the mechanism: gridgov.core.conf). The ones administrators
edit on /settings/ are listed in core.settings_rows.SETTINGS."""

from gridgov.core import conf as _conf
from gridgov.core.conf import get, get_float, get_int  # noqa: F401 (the app's readers)

DEFAULTS = _conf.register({
    # a meeting decides only when at least this share of the invited parties is present
    # (0.5: more than half; 2/3 for a stricter rule)
    "DELIBERATION_QUORUM": (None, 0.5),
    # an option is adopted when it has more than this share of the votes of those present
    "DELIBERATION_MAJORITY": (None, 0.5),
    # discussion opened on a month's topic (每月一题) lasts this many days unless staff say otherwise
    "DELIBERATION_DISCUSSION_DAYS": (None, 14),
    # the effect of a decision: months compared before and after it
    "DELIBERATION_EFFECT_MONTHS": (None, 6),
    # a resident has at most this many of their own proposals in the collecting phases
    "DELIBERATION_MAX_OPEN_PROPOSALS": (None, 5),
})
