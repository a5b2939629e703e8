"""Volunteers' points: the catalogue, one's own points, redeeming, a station verifying a code, and
the staff's accounts and award rules. Views validate and call services; errors answer
{"detail": the Chinese message, "code": a stable code}."""

from django.core.exceptions import PermissionDenied
from ninja import Router, Schema

from gridgov.accounts import policy

from . import services
from .models import PointRule, Reward

try:  # django-ninja ≥ 1.5 wants Status; older versions take a (status, body) tuple
    from ninja import Status
except ImportError:  # pragma: no cover
    def Status(status_code, value):  # noqa: N802
        return status_code, value

router = Router(tags=["volunteers"])
ERRORS = {400: dict, 403: dict, 404: dict, 409: dict}


def _error(exc):
    if isinstance(exc, services.PointsError):
        return Status(exc.status, {"detail": str(exc), "code": exc.code})
    if isinstance(exc, PermissionDenied):
        return Status(403, {"detail": str(exc) or "not allowed", "code": "not_allowed"})
    raise exc


def _reward_out(r: Reward) -> dict:
    return {"id": r.pk, "name": r.name, "description": r.description, "price": r.price, "stock": r.stock,
            "station": r.account.name, "station_id": r.account_id}


@router.get("/rewards", response=list[dict])
def rewards(request):
    """The catalogue: active rewards of every station and merchant."""
    return [_reward_out(r) for r in Reward.objects.filter(active=True).select_related("account")]


@router.post("/rewards/{reward_id}/redeem", response={201: dict, **ERRORS})
def redeem(request, reward_id: int):
    """Spend points on one item: 201 with the one-time `code` (shown this once), 409 when out of
    stock, 400 when the balance is short."""
    try:
        red, code = services.redeem(request.user, reward_id)
    except Exception as exc:  # noqa: BLE001 - mapped by _error
        return _error(exc)
    return Status(201, {"id": red.pk, "code": code, "reward": red.reward.name, "points": red.points,
                        "state": red.state, "balance": red.account.balance})


@router.get("/me/points", response=dict)
def my_points(request):
    """My balance, my latest movements and my redemptions (codes are never shown again)."""
    acc = services.volunteer_account(request.user, create=False)
    if acc is None:
        return {"balance": 0, "movements": [], "redemptions": []}
    return {
        "balance": acc.balance,
        "movements": [{"at": m.at.isoformat(), "amount": m.amount, "kind": m.transfer.kind, "reason": m.transfer.reason}
                      for m in services.statement(acc)],
        "redemptions": [{"id": r.pk, "reward": r.reward.name, "points": r.points, "state": r.state,
                         "created_at": r.created_at.isoformat()}
                        for r in acc.redemptions.select_related("reward")[:50]],
    }


class CodeIn(Schema):
    code: str


@router.post("/redemptions/verify", response={200: dict, **ERRORS})
def verify_redemption(request, data: CodeIn):
    """The station's user marks a code used (once)."""
    try:
        red = services.verify_code(request.user, data.code)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return {"id": red.pk, "reward": red.reward.name, "points": red.points, "state": red.state}


@router.post("/redemptions/{redemption_id}/cancel", response={200: dict, **ERRORS})
def cancel_redemption(request, redemption_id: int):
    try:
        red = services.cancel(request.user, redemption_id)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return {"id": red.pk, "state": red.state}


@router.get("/points/accounts", response={200: list[dict], 403: dict})
def accounts(request, kind: str = ""):
    """Staff: the points accounts on their grids (points × list)."""
    if not policy.allows(request.user, "points", "list"):
        return Status(403, {"detail": "not allowed: list points"})
    qs = services.accounts_for(request.user)
    if kind:
        qs = qs.filter(kind=kind)
    return [{"id": a.pk, "kind": a.kind, "name": a.name, "balance": a.balance,
             "community": a.node.name if a.node_id else ""} for a in qs[:500]]


@router.get("/points/rules", response={200: list[dict], 403: dict})
def rules(request):
    if not policy.allows(request.user, "points", "list"):
        return Status(403, {"detail": "not allowed: list points"})
    return [_rule_out(r) for r in PointRule.objects.all()]


def _rule_out(r: PointRule) -> dict:
    return {"key": r.key, "name": r.name, "unit": r.unit, "points": r.points, "daily_cap": r.daily_cap,
            "monthly_cap": r.monthly_cap, "active": r.active, "version": r.version}


class RuleIn(Schema):
    name: str | None = None
    unit: str | None = None
    points: int | None = None
    daily_cap: int | None = None
    monthly_cap: int | None = None
    active: bool | None = None
    version: int | None = None


@router.put("/points/rules/{key}", response={200: dict, **ERRORS})
def update_rule(request, key: str, data: RuleIn):
    """Administrators: create or change an award rule (kept in the history)."""
    changes = {k: v for k, v in data.dict().items() if v is not None and k != "version"}
    try:
        r = services.update_rule(request.user, key, data.version, **changes)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return _rule_out(r)

