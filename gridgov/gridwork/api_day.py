"""The grid work API: the day slice (mounted under /api/gridwork/)."""

from ninja import Router

router = Router(tags=["gridwork"])
