"""Tunables, one mechanism for every app: a Django setting when set there (tests use
`override_settings`), else the setting row in force for the keys administrators edit on
/settings/ (core.settings_rows), else the environment variable beside it, else the default.

Each app keeps its own table — setting name → (environment variable or None, default) — and
registers it here (`register(DEFAULTS)`, e.g. cases.conf, core.ratelimit, core.tabular), so
nothing needs an edit of settings.py and a reader finds every tunable of an app in one place."""

import os

from django.conf import settings

#: every registered tunable: setting name → (environment variable or None, default)
DEFAULTS: dict[str, tuple[str | None, object]] = {}

_NO_DEFAULT = object()


def register(defaults: dict) -> dict:
    """Add an app's table of tunables; returns it (so `DEFAULTS = register({...})` reads well)."""
    DEFAULTS.update(defaults)
    return defaults


def get(name: str, default=_NO_DEFAULT):
    """The value of tunable `name`: the Django setting, else its environment variable, else its
    default. An unregistered name needs `default` (the setting alone, no variable)."""
    if hasattr(settings, name):
        return getattr(settings, name)
    from . import settings_rows

    row = settings_rows.row_value(name)  # a setting administrators edit on /settings/, in force now
    if row is not None:
        return row
    return fallback(name, default)


def fallback(name: str, default=_NO_DEFAULT):
    """The value without a setting row: the Django setting, the environment, the default."""
    if hasattr(settings, name):
        return getattr(settings, name)
    if name not in DEFAULTS and default is not _NO_DEFAULT:
        return default
    env, value = DEFAULTS[name]
    return os.environ.get(env, value) if env else value


def get_float(name: str, default=_NO_DEFAULT) -> float:
    return float(get(name, default))


def get_int(name: str, default=_NO_DEFAULT) -> int:
    return int(get(name, default))


def get_list(name: str, default=_NO_DEFAULT) -> list[str]:
    value = get(name, default)
    if isinstance(value, (list, tuple)):
        return list(value)
    return [v.strip() for v in str(value).split(",") if v.strip()]
