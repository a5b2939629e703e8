"""The grid levels: the street (0) and the configured levels below it."""

from django.conf import settings
from django.utils.translation import gettext, gettext_noop

#: the levels' names, translated when shown
LEVEL_LABELS = {
    "street": gettext_noop("街道"),
    "community": gettext_noop("社区/村"),
    "grid": gettext_noop("网格"),
    "microgrid": gettext_noop("微网格"),
    "subgrid": gettext_noop("子网格"),
}


def level_names() -> list[str]:
    return ["street", *settings.GRID_LEVELS]


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
