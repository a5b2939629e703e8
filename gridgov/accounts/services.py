"""Accounts: login throttling and the optional TOTP second factor."""

import hashlib
import hmac
import math
import secrets
from datetime import timedelta

import pyotp
from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.core import audit, conf, crypto

from .models import LoginAttempt, PhoneCode, User

def _conf(name: str, default: int) -> int:
    """A throttling tunable: the Django setting `name`, else `default` (gridgov.core.conf)."""
    return conf.get_int(name, default)


class Throttled(Exception):
    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


def _minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))


def check_throttle(username: str, ip: str | None, now=None) -> None:
    """Raise Throttled (with the seconds to wait) before a login is tried.

    Failures are counted in the database (every process sees them) over the window
    (LOGIN_THROTTLE_MINUTES, 15):
    - per (user name, address) pair: LOGIN_FREE_FAILURES_PER_PAIR (5) free, then each further
      try waits LOGIN_DELAY_SECONDS (30) after the last failure, doubling with every failure up to
      the window. Only that pair waits: the same user from another address is not slowed down.
    - per address, whatever the user names: LOGIN_MAX_FAILURES_PER_IP (30) (password spraying).
    - per user name from every address: LOGIN_MAX_FAILURES_PER_USER (100), a ceiling against a
      guess distributed over many addresses (reaching it takes at least a dozen addresses, since
      each pair is slowed down); an address where this user logged in before
      (LOGIN_KNOWN_ADDRESS_DAYS, 30) still gets in."""
    now = now or timezone.now()
    window = timedelta(minutes=_conf("LOGIN_THROTTLE_MINUTES", 15))
    name = username.lower()
    recent = LoginAttempt.objects.filter(at__gte=now - window, success=False)
    pair = recent.filter(username=name, ip=ip or None)
    free = _conf("LOGIN_FREE_FAILURES_PER_PAIR", 5)
    n = pair.count()
    if n >= free:
        last = pair.aggregate(last=Max("at"))["last"]
        wait = min(timedelta(seconds=_conf("LOGIN_DELAY_SECONDS", 30) * 2 ** min(n - free, 20)), window)
        if now < last + wait:
            left = (last + wait - now).total_seconds()
            raise Throttled(_("登录失败次数过多，请 %(minutes)d 分钟后再试。") % {"minutes": _minutes(left)}, left)
    if ip:
        by_ip = recent.filter(ip=ip)
        if by_ip.count() >= _conf("LOGIN_MAX_FAILURES_PER_IP", 30):
            left = (by_ip.aggregate(first=Min("at"))["first"] + window - now).total_seconds()
            raise Throttled(_("该地址登录失败次数过多，请 %(minutes)d 分钟后再试。") % {"minutes": _minutes(left)}, left)
    by_user = recent.filter(username=name)
    if by_user.count() >= _conf("LOGIN_MAX_FAILURES_PER_USER", 100):
        known = ip and LoginAttempt.objects.filter(
            username=name, ip=ip, success=True, at__gte=now - timedelta(days=_conf("LOGIN_KNOWN_ADDRESS_DAYS", 30))
        ).exists()
        if not known:
            left = (by_user.aggregate(first=Min("at"))["first"] + window - now).total_seconds()
            raise Throttled(_("登录失败次数过多，请 %(minutes)d 分钟后再试。") % {"minutes": _minutes(left)}, left)


def record_attempt(username: str, ip: str | None, success: bool) -> None:
    name = username.lower()
    LoginAttempt.objects.create(username=name, ip=ip or None, at=timezone.now(), success=success)
    if success:  # a success clears the failures of this pair only (not a stranger's elsewhere)
        LoginAttempt.objects.filter(username=name, ip=ip or None, success=False).delete()
        purge_attempts()


def purge_attempts() -> int:
    """Forget failures older than a day and successes older than the known-address horizon."""
    now = timezone.now()
    days = _conf("LOGIN_KNOWN_ADDRESS_DAYS", 30)
    return LoginAttempt.objects.filter(
        Q(success=False, at__lt=now - timedelta(days=1)) | Q(at__lt=now - timedelta(days=days))
    ).delete()[0]


# ---- TOTP -----------------------------------------------------------------------------------


class WrongCode(ValueError):
    pass


def _totp_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name="gridgov")


def pending_totp_uri(user: User) -> tuple[str, str] | None:
    """(secret, URI) of an enrolment started and not yet confirmed, to show again; None when
    the factor is on (its secret is never shown again) or no enrolment was started."""
    if user.totp_enabled or not user.totp_secret_enc:
        return None
    secret = crypto.decrypt(user.totp_secret_enc)
    return secret, _totp_uri(user, secret)


@transaction.atomic
def start_totp(user: User, code: str = "") -> tuple[str, str]:
    """A new secret for the user (not yet enabled); returns (secret, otpauth URI) to show once.
    When the factor is on, this turns it off until the new secret is confirmed, so it needs a
    fresh valid code of the current secret, and is audited."""
    was_on = user.totp_enabled
    if was_on and not verify_totp(user, code):
        raise WrongCode(_("验证码不正确，请重试。"))
    secret = pyotp.random_base32()
    user.totp_secret_enc = crypto.encrypt(secret)
    user.totp_enabled = False
    user.totp_last_step = 0  # a new secret: none of its codes was used
    user.save(update_fields=["totp_secret_enc", "totp_enabled", "totp_last_step"])
    if was_on:
        audit.record(user, "totp_restarted", user)
    return secret, _totp_uri(user, secret)


def verify_totp(user: User, code: str) -> bool:
    """True when `code` is the user's code of the current time step (±1) and no code of that
    step or a later one was used before; the step is then consumed with a compare-and-set, so a
    code works once, even for two logins at the same moment."""
    if not user.totp_secret_enc:
        return False
    code = (code or "").strip().replace(" ", "")
    if not code.isdigit():
        return False
    totp = pyotp.TOTP(crypto.decrypt(user.totp_secret_enc))
    now = totp.timecode(timezone.now())
    for step in (now - 1, now, now + 1):
        if pyotp.utils.strings_equal(code, totp.generate_otp(step)):
            used = User.objects.filter(pk=user.pk, totp_last_step__lt=step).update(totp_last_step=step)
            if used:
                user.totp_last_step = step
            return bool(used)
    return False


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
def disable_totp(user: User, by: User, code: str = "") -> None:
    """Turn the second factor off: the user themselves must give a fresh valid code."""
    if user.totp_enabled and by.pk == user.pk and not verify_totp(user, code):
        raise WrongCode(_("验证码不正确，请重试。"))
    user.totp_enabled = False
    user.totp_secret_enc = ""
    user.save(update_fields=["totp_enabled", "totp_secret_enc"])
    audit.record(by, "totp_disabled", user)


# ---- one-time codes sent to a phone ---------------------------------------------------------


class CodeRefused(ValueError):
    """Too many codes asked for this number; retry_after in seconds."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


def _code_hash(pc_purpose: str, phone_hash: str, code: str) -> str:
    msg = f"{pc_purpose}:{phone_hash}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), msg, hashlib.sha256).hexdigest()


def issue_phone_code(purpose: str, phone: str, data: dict | None = None, decoy: bool = False) -> tuple[PhoneCode, str]:
    """A new code for `phone` (PHONE_CODE_MINUTES, 10, to use it; PHONE_CODE_ATTEMPTS, 5, tries),
    limited per number to PHONE_CODES_PER_HOUR (5) in the shared rate counters. Returns the row
    and the code to send; a decoy row (decoy=True) keeps no code and no code can answer it, so
    the caller can answer the same way whether or not it sends a code."""
    from gridgov.core import ratelimit

    phone_hash = crypto.blind_index(phone)
    verdict = ratelimit.hit(f"phone-code:{phone_hash}", _conf("PHONE_CODES_PER_HOUR", 5), 3600)
    if not verdict.allowed:
        raise CodeRefused(
            _("该手机号获取验证码过于频繁，请 %(minutes)d 分钟后再试。") % {"minutes": _minutes(verdict.retry_after)},
            verdict.retry_after,
        )
    purge_phone_codes()
    code = f"{secrets.randbelow(10**6):06d}"
    now = timezone.now()
    pc = PhoneCode.objects.create(
        purpose=purpose, phone_hash=phone_hash, phone_enc=crypto.encrypt(phone), phone_masked=crypto.mask_phone(phone),
        code_hash="" if decoy else _code_hash(purpose, phone_hash, code), data=data or {}, created_at=now,
        expires_at=now + timedelta(minutes=_conf("PHONE_CODE_MINUTES", 10)),
    )
    return pc, code


def use_phone_code(pk, purpose: str, code: str) -> PhoneCode | None:
    """The row when `code` answers it: unexpired, unused, under the attempt limit; it is then
    used up (compare-and-set, so two requests cannot both use it). Every try counts, and is
    committed (call it outside a transaction, as the views do)."""
    code = (code or "").strip()
    now = timezone.now()
    live = PhoneCode.objects.filter(
        pk=pk, purpose=purpose, used_at__isnull=True, expires_at__gt=now, attempts__lt=_conf("PHONE_CODE_ATTEMPTS", 5)
    )
    with transaction.atomic():
        if not live.update(attempts=F("attempts") + 1):
            return None
    pc = PhoneCode.objects.get(pk=pk)
    if not pc.code_hash or not hmac.compare_digest(pc.code_hash, _code_hash(purpose, pc.phone_hash, code)):
        return None
    if not PhoneCode.objects.filter(pk=pk, used_at__isnull=True).update(used_at=now):
        return None
    pc.used_at = now
    return pc


def purge_phone_codes() -> int:
    return PhoneCode.objects.filter(expires_at__lt=timezone.now() - timedelta(days=1)).delete()[0]
