"""Self-registration of residents from the phone (H5)."""

import secrets

from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from gridgov.accounts.models import Role, User
from gridgov.core.crypto import blind_index, encrypt, mask_phone


class PhoneTaken(ValueError):
    pass


def user_by_phone(phone: str):
    return User.objects.filter(phone_hash=blind_index(phone), is_active=True).first() if phone else None


@transaction.atomic
def register_resident(phone: str, password: str, display_name: str = "") -> User:
    """A resident account: the phone is kept encrypted (with a blind index to log in by it and
    a masked copy to show), never as the user name; the password must pass the validators."""
    if user_by_phone(phone):
        raise PhoneTaken(gettext("该手机号已注册，请直接登录"))
    for _ in range(5):
        username = "r" + secrets.token_hex(5)
        if not User.objects.filter(username=username).exists():
            break
    user = User(
        username=username, role=Role.RESIDENT, display_name=display_name or mask_phone(phone),
        phone_enc=encrypt(phone), phone_hash=blind_index(phone), phone_masked=mask_phone(phone),
    )
    user.set_password(password)
    try:
        user.save()
    except IntegrityError:  # pragma: no cover - a race on the same phone
        raise PhoneTaken(gettext("该手机号已注册，请直接登录")) from None
    return user
