"""API of the volunteers' wishes (issue 11): filled in by its slice."""

from ninja import Router

router = Router(tags=["volunteers"])
