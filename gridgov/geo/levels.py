"""The grid levels: the street (0) and the configured levels below it."""

from django.conf import settings

LEVEL_LABELS = {
    "street": "街道",
    "community": "社区/村",
    "grid": "网格",
    "microgrid": "微网格",
    "subgrid": "子网格",
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
    names = level_names()
    return LEVEL_LABELS.get(names[i], names[i]) if 0 <= i < len(names) else str(i)
