"""Interface languages (docs/architecture.md, "Languages"): the source strings are Chinese and
the `en` catalogue in gridgov/locale translates them.

`JavaScriptCatalog` serves the scripts' catalogue (`/jsi18n/?lang=en`): with `lang` the answer
depends on the URL alone, so the phone pages' service worker can keep one copy per language
and the report page still has its strings with no signal."""

from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.views.i18n import JavaScriptCatalog as DjangoJavaScriptCatalog


CATALOGUE_MAX_AGE = 3600  # seconds; an upgrade's new strings reach open browsers within the hour


class JavaScriptCatalog(DjangoJavaScriptCatalog):
    """Django's catalogue view; `?lang=` (one of LANGUAGES) picks the language instead of the
    request's cookie or Accept-Language, and the answer is then kept by the browser for an hour
    (every page loads it: one request per language and hour, not one per page)."""

    def get(self, request, *args, **kwargs):
        lang = request.GET.get("lang", "")
        if lang not in dict(settings.LANGUAGES):
            return super().get(request, *args, **kwargs)
        with translation.override(lang):
            response = super().get(request, *args, **kwargs)
        patch_cache_control(response, public=True, max_age=CATALOGUE_MAX_AGE)
        return response


def source_text(text) -> str:
    """A (lazily) translated string in the source language (Chinese), whatever language is
    active: for text that is stored (history notes, notifications) or matched against input."""
    with translation.override(None):
        return str(text)


def read_po(path) -> list[dict]:
    """The entries of a gettext .po file, without the header and obsolete (#~) entries: dicts
    with `context` (or None), `msgid`, `plural` (or None), `msgstr` (a list: one string, or one
    per plural form) and `fuzzy`. Enough for the catalogue checks of the tests; the catalogues
    themselves are written by `makemessages` and compiled by `compilemessages`."""
    import ast
    from pathlib import Path

    entries, cur, key, flags = [], {}, None, set()

    def close():
        nonlocal cur, key, flags
        if "msgid" in cur and cur["msgid"] != "":
            strs = cur.get("msgstr", {})
            entries.append({
                "context": cur.get("msgctxt"), "msgid": cur["msgid"], "plural": cur.get("msgid_plural"),
                "msgstr": [strs[i] for i in sorted(strs)], "fuzzy": "fuzzy" in flags,
            })
        cur, key, flags = {}, None, set()

    for line in Path(path).read_text(encoding="utf-8").splitlines() + [""]:
        line = line.strip()
        if not line:
            close()
        elif line.startswith("#,"):
            flags |= {f.strip() for f in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            text = ast.literal_eval(line)
            if isinstance(key, tuple):
                cur["msgstr"][key[1]] += text
            else:
                cur[key] += text
        else:
            word, _, rest = line.partition(" ")
            text = ast.literal_eval(rest)
            if word.startswith("msgstr"):
                index = int(word[7:-1]) if word.startswith("msgstr[") else 0
                cur.setdefault("msgstr", {})[index] = text
                key = ("msgstr", index)
            else:
                cur[word] = text
                key = word
    return entries
