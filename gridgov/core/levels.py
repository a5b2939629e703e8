"""The grid levels: the levels above the street (none for a one-street install; "district" or
"city" when one install serves many streets), the street, and the configured levels below it.

`GridNode.level` is the node's depth from the root. The levels above the street are a property of
the data, not of the deployment: `geo.services.add_root` puts a district above the streets and
records its level names on the `GeoVersion` row in the same transaction, so every process reads
the same scheme as the grids it serves (geo registers that reader here, `READER`, so that the
apps below geo, accounts and core, can ask too; geo.levels is the same module for the others). Each process keeps the names it read for
`CHECK_INTERVAL` seconds and forgets them at the start of every request and after a re-rooting.

Code never writes a level number: it asks `street_level()`, `community_level()` and
`grid_level()`, which follow the scheme (0, 1, 2 on a one-street install; 1, 2, 3 under a
district)."""

import threading
import time

from django.conf import settings
from django.utils.translation import gettext, gettext_noop

#: the levels' names, translated when shown
LEVEL_LABELS = {
    "city": gettext_noop("市"),
    "district": gettext_noop("区县"),
    "street": gettext_noop("街道"),
    "community": gettext_noop("社区/村"),
    "grid": gettext_noop("网格"),
    "microgrid": gettext_noop("微网格"),
    "subgrid": gettext_noop("子网格"),
}

CHECK_INTERVAL = 1.0
_cache = threading.local()
#: () -> list of names above the street; geo.apps sets it (a read of the GeoVersion row)
READER = None


def above() -> list[str]:
    """The names of the levels above the street, root first ([] on a one-street install)."""
    now = time.monotonic()
    got = getattr(_cache, "above", None)
    if got is not None and now - _cache.at < CHECK_INTERVAL:
        return got
    got = list(READER() or []) if READER is not None else []
    _cache.above, _cache.at = got, now
    return got


def forget(**kwargs):
    """Read the scheme again at the next use (a request starts, the grids were re-rooted, a test)."""
    _cache.above = None


def level_names() -> list[str]:
    return [*above(), "street", *settings.GRID_LEVELS]


def street_level() -> int:
    """The level of the streets (towns): 0, or the number of levels above them."""
    return len(above())


def community_level() -> int:
    return street_level() + 1


def grid_level() -> int:
    """The level grid workers serve: the one named "grid", else the second below the street."""
    names = level_names()
    return names.index("grid") if "grid" in names else street_level() + 2


def multi_street() -> bool:
    """Whether the install has a root above the streets (a district or a city)."""
    return street_level() > 0


def level_index(name_or_index) -> int:
    """Accept 'grid', '2' or 2; raise ValueError with the allowed names otherwise."""
    names = level_names()
    if isinstance(name_or_index, int) or str(name_or_index).isdigit():
        i = int(name_or_index)
        if 0 <= i < len(names):
            return i
    elif name_or_index in names:
        return names.index(name_or_index)
    raise ValueError(f"unknown grid level {name_or_index!r}; levels are {', '.join(names)} (0..{len(names) - 1})")


def finest_level() -> int:
    return len(level_names()) - 1


def level_label(i: int) -> str:
    """The level's name in the active language."""
    names = level_names()
    if not 0 <= i < len(names):
        return str(i)
    return gettext(LEVEL_LABELS[names[i]]) if names[i] in LEVEL_LABELS else names[i]


def codes_of(path: str) -> list[str]:
    return [c for c in (path or "").strip("/").split("/") if c]


def prefix_at(path: str, level: int) -> str:
    """The path of the ancestor at `level` of the node at `path` ('' when the node lies above it)."""
    codes = codes_of(path)
    return "/" + "/".join(codes[: level + 1]) + "/" if len(codes) > level else ""


def street_path(path: str) -> str:
    """The path of the street a node lies in ('' for a node above the streets)."""
    return prefix_at(path, street_level())


def community_path(path: str) -> str:
    """The path of the community a node lies in; the street's own path for a street, '' above."""
    codes = codes_of(path)
    return "/" + "/".join(codes[: community_level() + 1]) + "/" if len(codes) > street_level() else ""
