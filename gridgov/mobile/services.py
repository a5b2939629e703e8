"""Self-registration of residents from the phone (H5).

Two steps, so that nobody registers a number they do not hold and the page never tells which
numbers are registered: `start_registration` sends a one-time code to the number (through the
notification channels: SMS, or the console in development) and answers the same whether the
number is new or registered; for a registered number it sends no code but a message to its
owner to log in instead (and keeps a decoy row that no code answers). `finish_registration`
creates the account when the code answers (accounts.services.use_phone_code: it expires, allows
a few attempts and is used once)."""

import secrets

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from gridgov.accounts import services as account_services
from gridgov.accounts.models import PhoneCode, Role, User
from gridgov.core.crypto import blind_index, decrypt, encrypt, mask_phone

PURPOSE = "register"


class PhoneTaken(ValueError):
    pass


class CodeInvalid(ValueError):
    pass


def user_by_phone(phone: str):
    return User.objects.filter(phone_hash=blind_index(phone), is_active=True).first() if phone else None


@transaction.atomic
def start_registration(phone: str, password: str, display_name: str = "") -> PhoneCode:
    """Send a registration code to `phone` (or, when it is registered, a note to log in) and
    return the row the code answers; raises accounts.services.CodeRefused when the number asked
    for too many codes. The password is hashed either way (the same time for both answers)."""
    from gridgov.cases import notify

    data = {"password": make_password(password), "display_name": display_name}
    known = user_by_phone(phone) is not None
    pc, code = account_services.issue_phone_code(PURPOSE, phone, data={} if known else data, decoy=known)
    if known:
        notify.queue_to_phone(phone, "register_known", "该手机号已注册，请直接登录；忘记密码请联系社区重置。")
    else:
        notify.queue_to_phone(phone, "register_code", "注册验证码（10分钟内有效，请勿告诉他人）", secret=code)
    return pc


def finish_registration(pk, code: str) -> User:
    """The account, once the code answers; CodeInvalid otherwise (wrong, expired, used, too many
    tries, or a registered number: one message for all)."""
    pc = account_services.use_phone_code(pk, PURPOSE, code)
    if pc is None:
        raise CodeInvalid(gettext("验证码不正确或已失效，请重新获取。"))
    user = _create_resident(decrypt(pc.phone_enc), pc.data["password"], pc.data.get("display_name", ""))
    PhoneCode.objects.filter(pk=pc.pk).update(data={})  # the password hash is in the account now
    return user


@transaction.atomic
def _create_resident(phone: str, password_hash: str, display_name: str = "") -> User:
    """A resident account: the phone is kept encrypted (with a blind index to log in by it and
    a masked copy to show), never as the user name."""
    if user_by_phone(phone):
        raise PhoneTaken(gettext("该手机号已注册，请直接登录"))
    for _ in range(5):
        username = "r" + secrets.token_hex(5)
        if not User.objects.filter(username=username).exists():
            break
    user = User(
        username=username, role=Role.RESIDENT, display_name=display_name or mask_phone(phone),
        phone_enc=encrypt(phone), phone_hash=blind_index(phone), phone_masked=mask_phone(phone), password=password_hash,
    )
    try:
        user.save()
    except IntegrityError:  # pragma: no cover - a race on the same phone
        raise PhoneTaken(gettext("该手机号已注册，请直接登录")) from None
    return user
