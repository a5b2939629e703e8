"""The property alliance's API: the ledger slice (mounted by gridgov.api under /api/property/problems)."""

from ninja import Router

router = Router(tags=["property"])
