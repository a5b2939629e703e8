"""The grid work API: the disputes slice (mounted under /api/gridwork/)."""

from ninja import Router

router = Router(tags=["gridwork"])
