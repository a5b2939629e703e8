"""Accounts: login throttling and the optional TOTP second factor."""

from datetime import timedelta

import pyotp
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.core import audit, crypto

from .models import LoginAttempt, User

#: failures allowed per user name, and per address, inside the window
MAX_FAILURES_PER_USER = int(getattr(settings, "LOGIN_MAX_FAILURES_PER_USER", 5))
MAX_FAILURES_PER_IP = int(getattr(settings, "LOGIN_MAX_FAILURES_PER_IP", 30))
WINDOW = timedelta(minutes=int(getattr(settings, "LOGIN_THROTTLE_MINUTES", 15)))


class Throttled(Exception):
    pass


def check_throttle(username: str, ip: str | None, now=None) -> None:
    """Raise Throttled when the user name or the address failed too often in the window."""
    now = now or timezone.now()
    since = now - WINDOW
    recent = LoginAttempt.objects.filter(at__gte=since, success=False)
    if recent.filter(username=username.lower()).count() >= MAX_FAILURES_PER_USER:
        raise Throttled(_("登录失败次数过多，请 %(minutes)d 分钟后再试。") % {"minutes": WINDOW.seconds // 60})
    if ip and recent.filter(ip=ip).count() >= MAX_FAILURES_PER_IP:
        raise Throttled(_("该地址登录失败次数过多，请 %(minutes)d 分钟后再试。") % {"minutes": WINDOW.seconds // 60})


def record_attempt(username: str, ip: str | None, success: bool) -> None:
    LoginAttempt.objects.create(username=username.lower(), ip=ip or None, at=timezone.now(), success=success)
    if success:  # a success clears the user's failures
        LoginAttempt.objects.filter(username=username.lower(), success=False).delete()


def purge_attempts(older_than: timedelta = timedelta(days=1)) -> int:
    return LoginAttempt.objects.filter(at__lt=timezone.now() - older_than).delete()[0]


# ---- TOTP -----------------------------------------------------------------------------------


@transaction.atomic
def start_totp(user: User) -> tuple[str, str]:
    """A new secret for the user (not yet enabled); returns (secret, otpauth URI) to show once."""
    secret = pyotp.random_base32()
    user.totp_secret_enc = crypto.encrypt(secret)
    user.totp_enabled = False
    user.save(update_fields=["totp_secret_enc", "totp_enabled"])
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name="gridgov")
    return secret, uri


def verify_totp(user: User, code: str) -> bool:
    if not user.totp_secret_enc:
        return False
    code = (code or "").strip().replace(" ", "")
    return bool(code) and pyotp.TOTP(crypto.decrypt(user.totp_secret_enc)).verify(code, valid_window=1)


@transaction.atomic
def confirm_totp(user: User, code: str) -> bool:
    """Enable the second factor once the user proves their authenticator shows the right code."""
    if not verify_totp(user, code):
        return False
    user.totp_enabled = True
    user.save(update_fields=["totp_enabled"])
    audit.record(user, "totp_enabled", user)
    return True


@transaction.atomic
def disable_totp(user: User, by: User) -> None:
    user.totp_enabled = False
    user.totp_secret_enc = ""
    user.save(update_fields=["totp_enabled", "totp_secret_enc"])
    audit.record(by, "totp_disabled", user)
