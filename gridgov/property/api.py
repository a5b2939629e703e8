"""The property alliance's API routers, one per slice, mounted by gridgov.api under /api/property/."""

from . import api_inspections, api_ledger, api_scores

ROUTERS = (("/property/inspections", api_inspections.router), ("/property/problems", api_ledger.router),
           ("/property/scores", api_scores.router))
