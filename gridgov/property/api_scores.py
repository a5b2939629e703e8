"""The property alliance's API: the scores slice (mounted by gridgov.api under /api/property/scores)."""

from ninja import Router

router = Router(tags=["property"])
