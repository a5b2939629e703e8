"""Sign-in from WeChat's web-view (公众号网页授权): an OAuth code exchanged for the user's openid.

A provider has one job, `exchange(code) -> openid` (raise WechatError when the code is refused),
and an `authorize_url(redirect_uri, state)` to send the browser to. `WechatProvider` calls
`https://api.weixin.qq.com/sns/oauth2/access_token` (scope snsapi_base: the openid only, no
profile) with the app id and secret (settings WECHAT_APP_ID, WECHAT_APP_SECRET, or the
environment GRIDGOV_WECHAT_APP_ID, GRIDGOV_WECHAT_APP_SECRET); `FakeProvider` (development,
tests) takes a code "fake-<openid>" and answers that openid, without any network. The provider
is WECHAT_OAUTH_PROVIDER ("wechat" or "fake"; default: "wechat" when an app id is set, else
"fake" with DEBUG, else none: WeChat sign-in is off).

The openid is bound to a user (accounts.models.ExternalLogin, provider "wechat") the first time
by an SMS-code proof of the number (accounts.signin); later sign-ins from WeChat need the openid
alone. Staff accounts are never bound nor signed in this way (the same rule as SMS sign-in)."""

import json
import os
import urllib.parse
import urllib.request

from django.conf import settings
from django.db import IntegrityError, transaction

from gridgov.core import audit

from .models import ExternalLogin, User

PROVIDER = "wechat"
API_BASE = "https://api.weixin.qq.com"
AUTHORIZE = "https://open.weixin.qq.com/connect/oauth2/authorize"


class WechatError(RuntimeError):
    pass


def _conf(name: str) -> str:
    return str(getattr(settings, name, "") or os.environ.get(f"GRIDGOV_{name}", ""))


class WechatProvider:
    """The real exchange, over HTTPS (urllib; a 5 s timeout)."""

    name = "wechat"

    def __init__(self, app_id: str, secret: str, api_base: str = API_BASE):
        self.app_id, self.secret, self.api_base = app_id, secret, api_base.rstrip("/")

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        q = urllib.parse.urlencode({"appid": self.app_id, "redirect_uri": redirect_uri, "response_type": "code",
                                    "scope": "snsapi_base", "state": state})
        return f"{AUTHORIZE}?{q}#wechat_redirect"

    def exchange_url(self, code: str) -> str:
        q = urllib.parse.urlencode({"appid": self.app_id, "secret": self.secret, "code": code,
                                    "grant_type": "authorization_code"})
        return f"{self.api_base}/sns/oauth2/access_token?{q}"

    def fetch(self, url: str) -> bytes:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return resp.read()
        except OSError as exc:
            raise WechatError(f"wechat: {exc.__class__.__name__}") from None  # the URL holds the secret

    def exchange(self, code: str) -> str:
        if not code:
            raise WechatError("wechat: no code")
        try:
            answer = json.loads(self.fetch(self.exchange_url(code)) or b"{}")
        except ValueError:
            raise WechatError("wechat: not JSON") from None
        if answer.get("errcode") or not answer.get("openid"):
            raise WechatError(f"wechat: errcode {answer.get('errcode')}")
        return str(answer["openid"])


class FakeProvider:
    """Development and tests: code "fake-<openid>" → openid; anything else is refused."""

    name = "fake"

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        sep = "&" if "?" in redirect_uri else "?"
        return f"{redirect_uri}{sep}{urllib.parse.urlencode({'code': 'fake-dev-openid', 'state': state})}"

    def exchange(self, code: str) -> str:
        if not code or not code.startswith("fake-") or len(code) > 128:
            raise WechatError("fake: code refused")
        return code[len("fake-"):]


def provider():
    """The configured provider, or None when WeChat sign-in is off."""
    kind = _conf("WECHAT_OAUTH_PROVIDER") or ("wechat" if _conf("WECHAT_APP_ID") else ("fake" if settings.DEBUG else ""))
    if kind == "wechat":
        return WechatProvider(_conf("WECHAT_APP_ID"), _conf("WECHAT_APP_SECRET"))
    if kind == "fake":
        return FakeProvider()
    return None


def user_for(openid: str) -> User | None:
    """The user bound to `openid`, when they may still sign in this way."""
    from .signin import _may_use_sms

    ext = ExternalLogin.objects.select_related("user").filter(provider=PROVIDER, subject=openid).first()
    return ext.user if ext is not None and _may_use_sms(ext.user) else None


@transaction.atomic
def bind(openid: str, user: User) -> ExternalLogin | None:
    """Bind `openid` to `user` (just proven by an SMS code). An openid bound to someone else stays
    theirs (None); a staff account is never bound."""
    from .signin import _may_use_sms

    if not openid or not _may_use_sms(user):
        return None
    ext = ExternalLogin.objects.filter(provider=PROVIDER, subject=openid).first()
    if ext is not None:
        return ext if ext.user_id == user.pk else None
    try:
        with transaction.atomic():
            ext = ExternalLogin.objects.create(provider=PROVIDER, subject=openid, user=user)
    except IntegrityError:  # bound meanwhile by a concurrent request
        return None
    audit.record(user, "wechat_bound", user)
    return ext
