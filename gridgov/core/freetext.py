"""Personal data in free text: ONE masking function for every intake of text people type.

Case texts and addresses, Open311 descriptions, rating comments, staff and follower notes,
summons notes and reports are stored masked: what looks like a resident ID number (18 digits,
or an old 15-digit one; `validators.looks_like_id_number`) keeps its first 3 and last 4
characters, a mobile number (11 digits starting 13–19, also written 3-4-4 with spaces or
hyphens, optionally after +86) its first 3 and last 4 digits — the masks of `crypto`. The text
as typed is kept Fernet-encrypted beside it (`*_enc`) when anything was masked, for staff with
the right to personal data of the case's grid (`cases.services.reveal_originals`, audited).

Digits inside a longer run of digits are left alone (a 20-digit account number holds no
mobile), and so is what fails the checks (an 18-digit grid code has no valid birth date)."""

import re

from . import crypto
from .validators import looks_like_id_number

# a run of 15 or 18 characters (digits, the last may be X), not inside a longer run of digits
_ID_RUN = re.compile(r"(?<![0-9])([0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9Xx])")
_MOBILE = re.compile(r"(?<![0-9])((?:\+?86[ -]?)?)(1[3-9][0-9])[ -]?([0-9]{4})[ -]?([0-9]{4})(?![0-9])")


def _id(m):
    value = m.group(1)
    return crypto.mask_id_number(value) if looks_like_id_number(value) else value


def mask_personal(text: str | None) -> str:
    """`text` with ID numbers and mobile numbers masked (`110***********123X`, `139****5678`)."""
    if not text:
        return text or ""
    text = _ID_RUN.sub(_id, text)
    return _MOBILE.sub(lambda m: f"{m.group(1)}{m.group(2)}****{m.group(4)}", text)


def protect(text: str | None) -> tuple[str, str]:
    """(the masked text, the text as typed encrypted — or "" when nothing was masked)."""
    text = text or ""
    masked = mask_personal(text)
    return masked, (crypto.encrypt(text) if masked != text else "")


def original(masked: str, token: str) -> str:
    """The text as typed: the decrypted original when one was kept, else the stored text."""
    return crypto.decrypt(token) if token else masked
