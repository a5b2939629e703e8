"""API of deliberation (effect), at /api/deliberation/effect. Views validate and call
gridgov.deliberation.effect; errors answer {"detail": the Chinese message, "code": a stable code}
(core.errors.api_error)."""

from ninja import Router

router = Router(tags=["deliberation"])
