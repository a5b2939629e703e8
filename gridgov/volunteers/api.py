"""Volunteers' points: the catalogue, one's own points, redeeming, a station verifying a code, and
the staff's accounts, award rules, rewards, merchants and corrections. Views validate and call services; errors answer
{"detail": the Chinese message, "code": a stable code}."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.db import transaction
from ninja import Router, Schema

from gridgov.accounts import policy

from . import services
from .models import Account, PointRule, Reward

from ninja.responses import Status

from gridgov.core.errors import api_error as _error

router = Router(tags=["volunteers"])
ERRORS = {400: dict, 403: dict, 404: dict, 409: dict}



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
        return {"balance": 0, "expiring": 0, "expires_on": None, "movements": [], "redemptions": []}
    acc = services.link_accounts(acc)
    expiring, expires_on = services.expiring(acc)
    return {
        "balance": acc.balance,
        "expiring": expiring,
        "expires_on": expires_on.isoformat() if expires_on else None,
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



# --- staff: accounts, corrections, rewards, merchants ------------------------------------------


def _account_out(a: Account) -> dict:
    return {"id": a.pk, "kind": a.kind, "name": a.name, "balance": a.balance,
            "community": a.node.name if a.node_id else "", "user": a.user.username if a.user_id else None,
            "registry_volunteer_id": a.volunteer_id, "place_id": a.place_id}


def _staff_account(request, account_id: int) -> Account:
    if not policy.allows(request.user, "points", "list"):
        raise PermissionDenied("not allowed: list points")
    acc = services.account_for(request.user, account_id)
    if acc is None:
        raise Http404
    return acc


def _staff_reward_out(r: Reward, version: int) -> dict:
    return {**_reward_out(r), "active": r.active, "version": version}


@router.get("/points/accounts/{account_id}", response={200: dict, **ERRORS})
def account(request, account_id: int, limit: int = 100):
    """Staff: one account in scope with its statement (newest first), its redemptions (a
    volunteer's, or those of a station's rewards), a station's rewards, what expires next."""
    try:
        acc = _staff_account(request, account_id)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    limit = max(1, min(limit, 1000))
    out = _account_out(acc)
    expiring, expires_on = services.expiring(acc) if acc.kind == Account.Kind.VOLUNTEER else (0, None)
    rewards = list(acc.rewards.select_related("account")) if acc.kind == Account.Kind.STATION else []
    versions = services.reward_versions(rewards)
    out.update(
        expiring=expiring, expires_on=expires_on.isoformat() if expires_on else None,
        movements=[{"at": m.at.isoformat(), "amount": m.amount, "kind": m.transfer.kind, "key": m.transfer.key,
                    "reason": m.transfer.reason, "actor": m.transfer.actor_name}
                   for m in services.statement(acc, limit)],
        redemptions=[{"id": r.pk, "reward": r.reward.name, "station": r.reward.account.name, "volunteer": r.account.name,
                      "points": r.points, "state": r.state, "created_at": r.created_at.isoformat()}
                     for r in services.redemptions_of(acc, limit)],
        rewards=[_staff_reward_out(r, versions[r.pk]) for r in rewards],
    )
    return out


class CorrectionIn(Schema):
    amount: int
    reason: str
    #: optional idempotency key (a client's retry books nothing twice)
    key: str | None = None


def _correction(request, acc, data: CorrectionIn):
    key = f"correct:api:{acc.pk}:{data.key[:60]}" if data.key else None
    t = services.correct(request.user, acc, data.amount, data.reason[:200], key=key)
    acc.refresh_from_db()
    return Status(201, {"transfer_id": t.pk, "key": t.key, "amount": t.amount, "account": _account_out(acc)})


@router.post("/points/accounts/{account_id}/corrections", response={201: dict, **ERRORS})
def correct_account(request, account_id: int, data: CorrectionIn):
    """Administrators: add (amount > 0) or take away (< 0) a volunteer's points with a reason."""
    try:
        acc = _staff_account(request, account_id)
        return _correction(request, acc, data)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)


@router.post("/points/registry-volunteers/{volunteer_id}/corrections", response={201: dict, **ERRORS})
def correct_registry_volunteer(request, volunteer_id: int, data: CorrectionIn):
    """Administrators: correct a registry volunteer's points, with or without a login (their
    account opens on first use and becomes their user's when they sign in)."""
    from gridgov.registry.models import Volunteer

    try:
        policy.require(request.user, "points", "update")
        vol = Volunteer.objects.visible_to(request.user).filter(pk=volunteer_id).first()
        if vol is None:
            raise Http404
        with transaction.atomic():  # the account opens with its correction, never without it
            return _correction(request, services.registry_volunteer_account(vol), data)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)


@router.get("/points/find", response={200: dict, 403: dict})
def find(request, q: str):
    """Staff: accounts in scope by name or username; administrators also get the registry
    volunteers who have no account yet."""
    if not policy.allows(request.user, "points", "list"):
        return Status(403, {"detail": "not allowed: list points"})
    found = services.find_holders(request.user, q[:50])
    return {"accounts": [_account_out(a) for a in found["accounts"]],
            "registry": [{"id": v.pk, "name": v.name, "grid": v.grid.name if v.grid_id else ""} for v in found["registry"]]}


class MerchantIn(Schema):
    name: str
    node_id: int | None = None
    username: str = ""


@router.post("/points/merchants", response={201: dict, **ERRORS})
def add_merchant(request, data: MerchantIn):
    """Administrators: a merchant (a station account without a registry place), its codes
    accepted by the user `username`."""
    from gridgov.geo.models import GridNode

    try:
        node = None
        if data.node_id is not None:
            node = GridNode.objects.filter(pk=data.node_id).first()
            if node is None:
                raise services.PointsError("node_id: no such grid")
        acc = services.add_merchant(request.user, data.name, node=node, username=data.username)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return Status(201, _account_out(acc))


class StationIn(Schema):
    name: str | None = None
    username: str | None = None


@router.put("/points/accounts/{account_id}", response={200: dict, **ERRORS})
def update_station(request, account_id: int, data: StationIn):
    """Administrators: rename a merchant; set who accepts a station's codes ("" for nobody)."""
    try:
        acc = _staff_account(request, account_id)
        if data.name is not None and acc.place_id is not None:
            raise services.PointsError("name: a station is named by its registry place")
        acc = services.update_station(request.user, acc, name=data.name, username=data.username)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return _account_out(acc)


class RewardIn(Schema):
    name: str
    price: int
    stock: int = 0
    description: str = ""


@router.post("/points/accounts/{account_id}/rewards", response={201: dict, **ERRORS})
def add_reward(request, account_id: int, data: RewardIn):
    """Administrators: a new reward in a station's or merchant's catalogue."""
    try:
        acc = _staff_account(request, account_id)
        r = services.add_reward(request.user, acc, data.name, data.price, data.stock, data.description)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return Status(201, _staff_reward_out(r, services.reward_version(r)))


@router.get("/points/rewards", response={200: list[dict], 403: dict})
def staff_rewards(request):
    """Staff: every reward (active or not) of the stations and merchants in scope, with its version."""
    if not policy.allows(request.user, "points", "list"):
        return Status(403, {"detail": "not allowed: list points"})
    stations = services.accounts_for(request.user).filter(kind=Account.Kind.STATION)
    rewards = list(Reward.objects.filter(account__in=stations).select_related("account").order_by("account_id", "id")[:1000])
    versions = services.reward_versions(rewards)
    return [_staff_reward_out(r, versions[r.pk]) for r in rewards]


class RewardChangeIn(Schema):
    version: int
    name: str | None = None
    description: str | None = None
    price: int | None = None
    active: bool | None = None
    #: items more (delivered) or fewer (lost), never below zero; redemptions meanwhile are kept
    add_stock: int = 0


@router.put("/points/rewards/{reward_id}", response={200: dict, **ERRORS})
def update_reward(request, reward_id: int, data: RewardChangeIn):
    """Administrators: change a reward; `version` is the one read (409 when it changed since)."""
    try:
        reward = Reward.objects.filter(pk=reward_id).first()
        if reward is None:
            raise Http404
        _staff_account(request, reward.account_id)
        changes = {k: v for k, v in data.dict().items() if v is not None and k not in ("version", "add_stock")}
        r = services.update_reward(request.user, reward_id, data.version, add_stock=data.add_stock, **changes)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return _staff_reward_out(r, services.reward_version(r))
