"""API of deliberation (execution), at /api/deliberation/execution. Views validate and call
gridgov.deliberation.execution; errors answer {"detail": the Chinese message, "code": a stable code}
(core.errors.api_error)."""

from ninja import Router

router = Router(tags=["deliberation"])
