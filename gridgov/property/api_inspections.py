"""The property alliance's API: the inspections slice (mounted by gridgov.api under /api/property/inspections)."""

from ninja import Router

router = Router(tags=["property"])
