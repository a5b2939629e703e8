"""The sensitive-word and abuse filter of public posts.

Words live in `SensitiveWord` (admins edit them through /api/cases/words; migration 0002 seeds a
small default list). Matching normalises both the word and the text: Unicode NFKC (full-width
letters and digits become ASCII), case folding, then every character that is not a letter or a
digit is dropped — so "傻 逼", "傻.逼", "傻＊逼" and "ＦＵＣＫ" all match. A match never drops a
post: `services.submit_case` stores it with `held=True`, acknowledges it as received, and
dispatches nothing until a moderator releases or rejects it (`services.moderate`)."""

import unicodedata

DEFAULT_WORDS = [
    # abuse
    ("傻逼", "abuse"), ("草泥马", "abuse"), ("操你妈", "abuse"), ("你妈死了", "abuse"), ("去死吧", "abuse"),
    ("fuck", "abuse"), ("motherfucker", "abuse"),
    # spam
    ("代开发票", "spam"), ("刷单返利", "spam"), ("加微信领红包", "spam"),
]


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def active_words() -> list[str]:
    from .models import SensitiveWord

    return list(SensitiveWord.objects.filter(active=True).values_list("word", flat=True))


def find_words(*texts: str, words=None) -> list[str]:
    """The listed words found in any of `texts` (each text on its own), in list order."""
    words = active_words() if words is None else words
    norms = [normalize(t) for t in texts if t]
    found = []
    for w in words:
        n = normalize(w)
        if n and any(n in t for t in norms):
            found.append(w)
    return found
