"""The accounts API (mounted at /api/accounts/, session auth): each area keeps its operations in
its own module, added to this router (duties: api_duties)."""

from ninja import Router

from .api_duties import router as duties_router

router = Router(tags=["accounts"])
router.add_router("/duties", duties_router)
