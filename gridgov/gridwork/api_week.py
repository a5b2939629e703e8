"""The grid work API: the week slice (mounted under /api/gridwork/)."""

from ninja import Router

router = Router(tags=["gridwork"])
