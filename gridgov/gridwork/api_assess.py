"""The grid work API: the assess slice (mounted under /api/gridwork/)."""

from ninja import Router

router = Router(tags=["gridwork"])
