"""Tunables of the volunteers app (the mechanism: gridgov.core.conf). The ones administrators
edit on /settings/ are listed in core.settings_rows.SETTINGS."""

from gridgov.core import conf as _conf
from gridgov.core.conf import get, get_float, get_int  # noqa: F401 (the app's readers)

DEFAULTS = _conf.register({
    # check-in by location: the default radius (metres) of a new activity's place
    "VOLUNTEERS_CHECKIN_RADIUS_M": (None, 200),
    # the check-in code the organiser's phone shows changes every this many seconds; a code is
    # accepted in its own step and the one before (a person who read it just before it changed)
    "VOLUNTEERS_CODE_STEP_SECONDS": (None, 30),
    # check-in opens this many minutes before the start; check-out closes this many after the end
    "VOLUNTEERS_CHECKIN_EARLY_MINUTES": (None, 60),
    "VOLUNTEERS_CHECKOUT_LATE_MINUTES": (None, 180),
    # 实事: each party member is expected to do this many a year (Zhongyun: 1–2)
    "VOLUNTEERS_PARTY_DEEDS_EXPECTED": (None, 2),
    # points expire this many months after the end of the month they were awarded (0: never)
    "VOLUNTEERS_POINTS_EXPIRE_MONTHS": (None, 24),
})
