"""API of deliberation (proposals), at /api/deliberation/proposals. Views validate and call
gridgov.deliberation.proposals; errors answer {"detail": the Chinese message, "code": a stable code}
(core.errors.api_error)."""

from ninja import Router

router = Router(tags=["deliberation"])
