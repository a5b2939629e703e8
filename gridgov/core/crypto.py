"""Personal data at rest: Fernet encryption with rotating keys, a blind index, masking.

Ciphertext is what the database holds; the plaintext leaves this module only through
`decrypt`, which callers reach through `core.services.reveal` so that every read is audited.
"""

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_KEYS))


def encrypt(value: str | None) -> str:
    if not value:
        return ""
    return fernet().encrypt(value.encode()).decode()


def decrypt(token: str | None) -> str:
    if not token:
        return ""
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:  # a key is missing from GRIDGOV_FIELD_KEYS
        raise ValueError("personal data cannot be decrypted with the configured keys") from exc


def rotate(token: str) -> str:
    """Re-encrypt a token under the first (current) key."""
    if not token:
        return token
    return fernet().rotate(token.encode()).decode()


def blind_index(value: str | None) -> str:
    """A keyed hash for equality search on an encrypted field (normalised, upper case)."""
    if not value:
        return ""
    norm = value.strip().upper().replace(" ", "")
    return hmac.new(settings.INDEX_KEY.encode(), norm.encode(), hashlib.sha256).hexdigest()[:40]


def mask_id_number(value: str) -> str:
    """110106********123X style: keep the region's first 3 and the last 4 characters."""
    if not value:
        return ""
    v = value.strip()
    if len(v) <= 7:
        return "*" * len(v)
    return v[:3] + "*" * (len(v) - 7) + v[-4:]


def mask_phone(value: str) -> str:
    """138****5678 style."""
    if not value:
        return ""
    v = value.strip()
    if len(v) <= 7:
        return v[:1] + "*" * (len(v) - 1)
    return v[:3] + "*" * (len(v) - 7) + v[-4:]


def mask_name(value: str) -> str:
    """张*明 style, used in public and cross-scope lists."""
    if not value:
        return ""
    if len(value) == 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]
