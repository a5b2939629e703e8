"""Tunables of grid work (the mechanism: gridgov.core.conf). The ones administrators edit on
/settings/ are listed in core.settings_rows.SETTINGS; an assessment reads the values in force at
its period's end, so a change from a date leaves earlier periods as they were."""

from gridgov.core import conf as _conf
from gridgov.core.conf import get, get_float, get_int  # noqa: F401 (the app's readers)

DEFAULTS = _conf.register({
    # the visit plan of the special-care groups (registry.Resident.SPECIAL_CARE): days between
    # two visits of one person; a special-care person living alone by the shorter ALONE interval
    "GRIDWORK_VISIT_DAYS_ELDERLY": (None, 90),
    "GRIDWORK_VISIT_DAYS_FRAIL": (None, 60),
    "GRIDWORK_VISIT_DAYS_SICK": (None, 60),
    "GRIDWORK_VISIT_DAYS_DISABLED": (None, 60),
    "GRIDWORK_VISIT_DAYS_PREGNANT": (None, 30),
    "GRIDWORK_VISIT_DAYS_ALONE": (None, 30),
    # grades of the assessment: A from 90, B from 75, C from 60, D from 40, E below
    "GRIDWORK_GRADE_A": (None, 90.0),
    "GRIDWORK_GRADE_B": (None, 75.0),
    "GRIDWORK_GRADE_C": (None, 60.0),
    "GRIDWORK_GRADE_D": (None, 40.0),
    # a worker whose reports, time limits and resolved cases in the period are fewer is scored,
    # not ranked
    "GRIDWORK_MIN_SAMPLE": (None, 5),
    # ... and one who served fewer days of the period
    "GRIDWORK_MIN_DAYS": (None, 30),
    # the workload coefficient: 1 ± this at twice / none of the street's mean workload
    "GRIDWORK_WORKLOAD_SPAN": (None, 0.05),
    # points per score point paid to non-salaried workers (volunteers, stewards) on publishing
    "GRIDWORK_POINTS_PER_SCORE": (None, 1.0),
    # days after a dispute ends when it is followed up (回访)
    "GRIDWORK_FOLLOW_UP_DAYS": (None, 15),
    # the duties assessed (accounts.models.Duty values, | separated), of the people whose account
    # has one of the roles assessed (a street leader with a duty on a grid is not assessed)
    "GRIDWORK_ASSESSED_DUTIES": (None, "worker|leader"),
    "GRIDWORK_ASSESSED_ROLES": (None, "grid_worker|grid_leader"),
    # the duties that patrol and visit: patrol and visit coverage apply to their spans only
    "GRIDWORK_FIELD_DUTIES": (None, "worker"),
})
