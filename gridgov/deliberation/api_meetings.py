"""API of deliberation (meetings), at /api/deliberation/meetings. Views validate and call
gridgov.deliberation.meetings; errors answer {"detail": the Chinese message, "code": a stable code}
(core.errors.api_error)."""

from ninja import Router

router = Router(tags=["deliberation"])
