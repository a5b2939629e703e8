"""Residents' sign-in API (no password): a code by SMS, then the code; and WeChat's web-view.

POST /api/accounts/sms-code {phone} → 200 {sent, phone (masked), expires_in} (the same answer
for every number), 429 with Retry-After when the number or the address asked too often.
POST /api/accounts/sms-login {phone, code} → 200 {id, role, created} and a session; 400 for a
wrong, expired, used or exhausted code (one message). Staff never sign in here.
POST /api/accounts/wechat-login {code} → 200 {signed_in: true, ...} when the openid is bound;
else {signed_in: false}: the openid waits in the session and the next sms-login binds it.

No session is needed to call them; a browser's cross-site request (another Origin) is refused
(a login CSRF would sign the victim into someone else's account)."""

from django.contrib.auth import login as auth_login
from django.http import JsonResponse
from ninja import Router, Schema
from ninja.errors import HttpError

from . import services, signin, wechat
from gridgov.core.net import client_ip

router = Router(tags=["accounts"])

BACKEND = "django.contrib.auth.backends.ModelBackend"
WECHAT_SESSION_KEY = "wechat_openid"


class PhoneIn(Schema):
    phone: str


class SmsLoginIn(Schema):
    phone: str
    code: str


class WechatIn(Schema):
    code: str


def _same_origin(request) -> None:
    origin = request.headers.get("Origin")
    if request.headers.get("Sec-Fetch-Site") == "cross-site" or (
        origin and origin != "null" and origin.split("://", 1)[-1] != request.get_host()
    ):
        raise HttpError(403, "cross-site sign-in refused")


def _phone(raw: str) -> str:
    phone = signin.normalize_phone(raw)
    if not phone:
        raise HttpError(400, "phone: an 11-digit mobile number")
    return phone


def _signed_in(request, user, created: bool) -> dict:
    auth_login(request, user, backend=BACKEND)
    return {"id": user.pk, "role": user.role, "display_name": str(user), "created": created}


@router.post("/sms-code", auth=None, summary="Send a sign-in code to a mobile number")
def sms_code(request, body: PhoneIn):
    _same_origin(request)
    phone = _phone(body.phone)
    try:
        pc = signin.request_code(phone, client_ip(request))
    except services.CodeRefused as exc:
        resp = JsonResponse({"detail": str(exc)}, status=429)
        resp["Retry-After"] = str(exc.retry_after)
        return resp
    return {"sent": True, "phone": pc.phone_masked, "expires_in": services._conf("PHONE_CODE_MINUTES", 10) * 60}


@router.post("/sms-login", auth=None, summary="Sign in with the mobile number and its code")
def sms_login(request, body: SmsLoginIn):
    _same_origin(request)
    phone = _phone(body.phone)
    try:
        user, created = signin.sign_in(phone, body.code)
    except signin.CodeInvalid as exc:
        raise HttpError(400, str(exc)) from None
    openid = request.session.pop(WECHAT_SESSION_KEY, None)  # a first sign-in from WeChat: bind it now
    out = _signed_in(request, user, created)
    if openid:
        out["wechat_bound"] = wechat.bind(openid, user) is not None
    return out


@router.post("/wechat-login", auth=None, summary="Sign in from WeChat's web-view (OAuth code)")
def wechat_login(request, body: WechatIn):
    _same_origin(request)
    prov = wechat.provider()
    if prov is None:
        raise HttpError(404, "WeChat sign-in is not configured")
    try:
        openid = prov.exchange(body.code)
    except wechat.WechatError:
        raise HttpError(400, "the WeChat code was refused") from None
    user = wechat.user_for(openid)
    if user is None:
        request.session[WECHAT_SESSION_KEY] = openid
        return {"signed_in": False, "next": "sms-code"}
    return {"signed_in": True, **_signed_in(request, user, False)}
