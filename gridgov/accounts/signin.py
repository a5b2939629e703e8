"""Residents sign in with their mobile number and a one-time SMS code: no password.

`request_code(phone, ip)` sends a code (purpose "login") to the number through the
notification channels (the SMS gateway; the console in development), limited per number
(PHONE_CODES_PER_HOUR, 5, in accounts.services.issue_phone_code) and per client address
(SMS_CODES_PER_ADDRESS_PER_HOUR, 20), both in the shared rate counters (core.ratelimit). The
code expires (PHONE_CODE_MINUTES, 10), allows a few tries (PHONE_CODE_ATTEMPTS, 5) and is used
once (compare-and-set on used_at): accounts.services.use_phone_code. Only its keyed hash is
stored; it is never written to a log record (the console channel shows it on the developer's
stdout with DEBUG only: cases.notify.ConsoleChannel).

`sign_in(phone, code)` answers the user to log in: the resident (or volunteer, steward) with
that number, or a new resident account made on the first sign-in (the number encrypted, with
its blind index and mask; no usable password) — a first report from a phone needs nothing
else. Staff accounts never sign in by SMS: their number gets no code (a decoy row that no code
answers, and a note to use the password login), and `sign_in` refuses them as well, so a staff
account cannot be reached without its password (and its TOTP second factor where enabled). The
answer to a code request is the same for every number.

A WeChat web-view sign-in (accounts.wechat) binds an openid to the user proven here."""

import re
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.core import audit
from gridgov.core.crypto import blind_index, decrypt, encrypt, mask_phone

from . import services
from .models import PhoneCode, Role, User

PURPOSE = "login"
#: roles that may sign in with a code alone (everyone else needs the password login)
SMS_ROLES = frozenset({Role.RESIDENT, Role.VOLUNTEER, Role.STEWARD})


PHONE = re.compile(r"^1[3-9]\d{9}$")


def normalize_phone(raw: str | None) -> str:
    """A mainland mobile number (11 digits; spaces, dashes and +86 dropped), '' when it is not one."""
    phone = re.sub(r"[\s-]", "", raw or "")
    if phone.startswith("+86"):
        phone = phone[3:]
    return phone if PHONE.match(phone) else ""


class CodeInvalid(ValueError):
    """Wrong, expired, used, too many tries, or a number that may not sign in by SMS: one message."""


#: how a message reaches a phone: (phone, kind, title, secret="") -> None. The notifications (a
#: layer above: cases.apps registers cases.notify.queue_to_phone, the SMS gateway or the console)
send_to_phone = None


def _send(phone: str, kind: str, title: str, secret: str = "") -> None:
    if send_to_phone is None:
        raise RuntimeError("no channel registered to send codes to a phone (accounts.signin.send_to_phone)")
    send_to_phone(phone, kind, title, secret=secret)


def _per_address() -> int:
    return int(getattr(settings, "SMS_CODES_PER_ADDRESS_PER_HOUR", 20))


def _may_use_sms(user: User) -> bool:
    return user.is_active and user.role in SMS_ROLES and not user.is_superuser and not user.is_staff_role


def _owners(phone: str):
    return list(User.objects.filter(phone_hash=blind_index(phone)))


@transaction.atomic
def request_code(phone: str, ip: str | None) -> PhoneCode:
    """Send a sign-in code to `phone` and return the row it answers; accounts.services.CodeRefused
    (with retry_after) when the address or the number asked for too many codes. A number held by
    a staff or disabled account gets no code (a decoy row) and the same answer."""
    from gridgov.core import ratelimit

    verdict = ratelimit.hit(f"phone-code-address:{ip or 'unknown'}", _per_address(), 3600)
    if not verdict.allowed:
        raise services.CodeRefused(
            _("该地址获取验证码过于频繁，请 %(minutes)d 分钟后再试。") % {"minutes": services._minutes(verdict.retry_after)},
            verdict.retry_after,
        )
    owners = _owners(phone)
    refused = any(not _may_use_sms(u) for u in owners)
    pc, code = services.issue_phone_code(PURPOSE, phone, decoy=refused)
    minutes = services._conf("PHONE_CODE_MINUTES", 10)
    if refused:
        if any(u.is_active for u in owners):
            _send(phone, "login_password", _("该手机号属于工作人员账号，请用用户名和密码登录。"))
    else:
        _send(phone, "login_code", _("登录验证码（%(minutes)d分钟内有效，请勿告诉他人）") % {"minutes": minutes},
                              secret=code)
    return pc


def pending_for(phone: str) -> PhoneCode | None:
    """The latest live sign-in code row of `phone` (the one a code typed now answers)."""
    return (PhoneCode.objects.filter(purpose=PURPOSE, phone_hash=blind_index(phone), used_at__isnull=True,
                                     expires_at__gt=timezone.now()).order_by("-id").first())


def sign_in(phone: str, code: str) -> tuple[User, bool]:
    """(user, created) once `code` answers the number's latest live code; CodeInvalid otherwise.
    Call it outside a transaction (every try is counted and kept)."""
    pc = pending_for(phone)
    if pc is None:
        raise CodeInvalid(_("验证码不正确或已失效，请重新获取。"))
    return finish(pc.pk, code)


def finish(pk, code: str) -> tuple[User, bool]:
    """(user, created) once `code` answers the row `pk`; CodeInvalid otherwise."""
    pc = services.use_phone_code(pk, PURPOSE, code)
    if pc is None:
        raise CodeInvalid(_("验证码不正确或已失效，请重新获取。"))
    return _user_for(decrypt(pc.phone_enc))


@transaction.atomic
def _user_for(phone: str) -> tuple[User, bool]:
    owners = _owners(phone)
    if any(not _may_use_sms(u) for u in owners):  # a staff or disabled account: never by SMS
        raise CodeInvalid(_("验证码不正确或已失效，请重新获取。"))
    if owners:
        user = min(owners, key=lambda u: u.pk)
        audit.record(user, "sms_sign_in", user)
        return user, False
    user = create_resident(phone)
    audit.record(user, "sms_sign_in", user, detail="first sign-in: resident account created")
    return user, True


def create_resident(phone: str, display_name: str = "") -> User:
    """A resident account for a number proven by a code: the phone kept encrypted (with a blind
    index to find it and a masked copy to show), never as the user name; no usable password."""
    for _i in range(5):
        username = "r" + secrets.token_hex(5)
        if not User.objects.filter(username=username).exists():
            break
    user = User(username=username, role=Role.RESIDENT, display_name=display_name or mask_phone(phone),
                phone_enc=encrypt(phone), phone_hash=blind_index(phone), phone_masked=mask_phone(phone))
    user.set_unusable_password()
    user.save()
    return user
