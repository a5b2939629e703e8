"""Grid work's API routers, one per slice, mounted by gridgov.api under /api/gridwork/."""

from . import api_assess, api_day, api_disputes, api_week

ROUTERS = (("/gridwork/day", api_day.router), ("/gridwork/disputes", api_disputes.router),
           ("/gridwork/week", api_week.router), ("/gridwork/assess", api_assess.router))
