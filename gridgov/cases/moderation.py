"""The sensitive-word and abuse filter of public posts.

Words live in `SensitiveWord` (admins edit them through /api/cases/words; migration 0002 seeds a
small default list). Matching normalises both the word and the text: Unicode NFKC (full-width
letters and digits become ASCII), case folding, then every character that is not a letter or a
digit is dropped — so "傻 逼", "傻.逼", "傻＊逼" and "ＦＵＣＫ" all match. A match never drops a
post: `services.submit_case` stores it with `held=True`, acknowledges it as received, and
dispatches nothing until a moderator releases or rejects it (`services.moderate`)."""

import time
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


#: the active words are read at most once per CHECK_INTERVAL seconds per process; a word saved
#: or deleted in this process, and `forget()`, make the next call read them
CHECK_INTERVAL = 1.0
_words: dict = {}


def forget(**kwargs):
    """Make the next `active_words()` read the table (a signal receiver too)."""
    _words.clear()


def active_words() -> list[str]:
    from .models import SensitiveWord

    now = time.monotonic()
    if "list" in _words and now - _words["at"] < CHECK_INTERVAL:
        return _words["list"]
    words = list(SensitiveWord.objects.filter(active=True).values_list("word", flat=True))
    _words.update(list=words, at=now)
    return words


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
