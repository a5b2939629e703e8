"""API of deliberation (platform), at /api/deliberation/platform. Views validate and call
gridgov.deliberation.platform; errors answer {"detail": the Chinese message, "code": a stable code}
(core.errors.api_error)."""

from ninja import Router

router = Router(tags=["deliberation"])
