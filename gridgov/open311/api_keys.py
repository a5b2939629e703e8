"""The Open311 API keys' JSON API (mounted at /api/apikeys/): what the page /apikeys/ does —
list, create (the key in that answer only), revoke, set a key's rate. Who may: the access table's
kind "apikeys" (list / create / update: administrators), 403 otherwise. It validates input and
calls open311.services (create_key, revoke_key, set_rate), which keep the history rows
(core.history, kind "apikeys"). Errors: {"detail": the Chinese message, "code"}: 400 bad input,
404 unknown key, 409 a key of that name exists already. The secret is never listed."""

from django.utils import translation
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.responses import Status

from gridgov.accounts.policy import api_require

from . import services
from .models import ApiKey

router = Router(tags=["apikeys"])
ERRORS = {400: dict, 403: dict, 404: dict, 409: dict}
MAX_RATE = 100_000


def _error(status, code, message, **params):
    """The message in Chinese (the API's language, as the other routers), whatever the request's."""
    with translation.override(None):
        text = _(message) % params if params else _(message)
    return Status(status, {"detail": text, "code": code})


def _rate(raw):
    """(rate, None) or (None, the 400 answer): a whole number 0–100000 (a JSON number or its digits)."""
    if isinstance(raw, bool) or isinstance(raw, float) and not raw.is_integer():
        return None, _error(400, "invalid_rate", "速率请填写整数（0 表示不限）")
    try:
        rate = int(str(raw).strip()) if isinstance(raw, str) else int(raw)
    except ValueError:
        return None, _error(400, "invalid_rate", "速率请填写整数（0 表示不限）")
    if rate < 0 or rate > MAX_RATE:
        return None, _error(400, "invalid_rate", "速率请填写 0 到 100000 之间的整数（0 表示不限）")
    return rate, None


def key_out(key: ApiKey) -> dict:
    """A key as listed: its prefix only, never the key or its hash."""
    return {"id": key.pk, "name": key.name, "prefix": key.prefix, "created_at": key.created_at,
            "last_used_at": key.last_used_at, "revoked": key.revoked, "revoked_at": key.revoked_at,
            "rate_per_minute": key.rate_per_minute, "can_submit": key.can_submit}


@router.get("", response={200: list, 403: dict})
def list_keys(request):
    api_require(request, "apikeys", "list")
    return [key_out(k) for k in ApiKey.objects.order_by("revoked", "name")]


class KeyIn(Schema):
    name: str
    rate_per_minute: int | float | str = 60
    can_submit: bool = True


class RateIn(Schema):
    rate_per_minute: int | float | str


@router.post("", response={201: dict, **ERRORS})
def create_key(request, body: KeyIn):
    """201 with `key`: the whole key, in this answer only (only its SHA-256 is stored)."""
    api_require(request, "apikeys", "create")
    name = body.name.strip()
    if not name:
        return _error(400, "name_required", "请填写密钥名称（谁使用它）")
    rate, bad = _rate(body.rate_per_minute)
    if bad:
        return bad
    if ApiKey.objects.filter(name=name).exists():
        return _error(409, "name_taken", "已有名为「%(name)s」的密钥", name=name)
    try:
        key, raw = services.create_key(name, created_by=request.user, rate_per_minute=rate,
                                       can_submit=body.can_submit)
    except ValueError:  # the same name created meanwhile (the rest is checked above)
        return _error(409, "name_taken", "已有名为「%(name)s」的密钥", name=name)
    return Status(201, {**key_out(key), "key": raw})


def _key(key_id):
    return ApiKey.objects.filter(pk=key_id).first()


def _not_found():
    return _error(404, "not_found", "没有这个密钥")


@router.post("/{int:key_id}/revoke", response={200: dict, **ERRORS})
def revoke_key(request, key_id: int):
    """Revoked at once (no request with it is served any more); revoking twice is no change."""
    api_require(request, "apikeys", "update")
    key = _key(key_id)
    if key is None:
        return _not_found()
    return key_out(services.revoke_key(key.prefix, by=request.user))


@router.put("/{int:key_id}/rate", response={200: dict, **ERRORS})
def set_rate(request, key_id: int, body: RateIn):
    """The key's own limit: requests a minute, 0 = none; from the next request."""
    api_require(request, "apikeys", "update")
    key = _key(key_id)
    if key is None:
        return _not_found()
    rate, bad = _rate(body.rate_per_minute)
    if bad:
        return bad
    return key_out(services.set_rate(key, rate, by=request.user))
