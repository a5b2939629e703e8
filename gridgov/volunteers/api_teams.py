"""API of the volunteers' teams (issue 11): filled in by its slice."""

from ninja import Router

router = Router(tags=["volunteers"])
