"""Tunables of grid work (the mechanism: gridgov.core.conf). The ones administrators edit on
/settings/ are listed in core.settings_rows.SETTINGS; an assessment reads the values in force at
its period's end, so a change from a date leaves earlier periods as they were."""

from gridgov.core import conf as _conf
from gridgov.core.conf import get, get_float, get_int  # noqa: F401 (the app's readers)

DEFAULTS = _conf.register({
    # the visit plan of the special-care groups (registry.Resident.SPECIAL_CARE): days between
    # two visits of one person; a special-care person living alone by the shorter ALONE interval
    "GRIDWORK_VISIT_DAYS_ELDERLY": (None, 30),
    "GRIDWORK_VISIT_DAYS_FRAIL": (None, 30),
    "GRIDWORK_VISIT_DAYS_SICK": (None, 30),
    "GRIDWORK_VISIT_DAYS_DISABLED": (None, 30),
    "GRIDWORK_VISIT_DAYS_PREGNANT": (None, 30),
    "GRIDWORK_VISIT_DAYS_ALONE": (None, 7),
    # grades of the assessment: A from 90, B from 75, C from 60, D from 40, E below
    "GRIDWORK_GRADE_A": (None, 90.0),
    "GRIDWORK_GRADE_B": (None, 75.0),
    "GRIDWORK_GRADE_C": (None, 60.0),
    "GRIDWORK_GRADE_D": (None, 40.0),
    # a worker whose reports + cases to handle in the period are fewer is scored, not ranked
    "GRIDWORK_MIN_SAMPLE": (None, 10),
    # ... and one who served fewer days of the period
    "GRIDWORK_MIN_DAYS": (None, 30),
    # the workload coefficient: 1 ± this at twice / none of the street's mean workload
    "GRIDWORK_WORKLOAD_SPAN": (None, 0.05),
    # points per score point paid to non-salaried workers (volunteers, stewards) on publishing
    "GRIDWORK_POINTS_PER_SCORE": (None, 1.0),
    # days after a dispute ends when it is followed up (回访)
    "GRIDWORK_FOLLOW_UP_DAYS": (None, 15),
    # the duties assessed (accounts.models.Duty values, | separated)
    "GRIDWORK_ASSESSED_DUTIES": (None, "worker|leader"),
})
