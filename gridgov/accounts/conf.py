"""Settings of the accounts app that administrators may change on the pages.

Each is read, like gridgov.cases.conf, from the Django setting of its name (tests use
`override_settings`), else the environment variable beside it, else the default; and a row of
core.models.SettingValue with that key, in force now (the latest `valid_from` not in the future),
overrides all three: that is how the settings pages change it without a restart."""

import os

from django.conf import settings
from django.utils import timezone

DEFAULTS = {
    # the roles that must use the second factor (TOTP) before anything else: "1"/"on" for the
    # leaders and administrators, a comma-separated list of roles, or empty / "0" for nobody
    "ACCOUNTS_REQUIRE_SECOND_FACTOR": ("GRIDGOV_REQUIRE_2FA_ROLES", ""),
}

#: what "on" means for ACCOUNTS_REQUIRE_SECOND_FACTOR
SECOND_FACTOR_ROLES = ("leader", "admin")
_ON = {"1", "true", "yes", "on"}
_OFF = {"", "0", "false", "no", "off"}


def get(name: str, at=None) -> str:
    from gridgov.core.models import SettingValue

    row = (SettingValue.objects.filter(key=name, valid_from__lte=at or timezone.now())
           .order_by("-valid_from", "-id").values_list("value", flat=True).first())
    if row is not None:
        return row
    if hasattr(settings, name):
        return getattr(settings, name)
    env, default = DEFAULTS[name]
    return os.environ.get(env, default)


def second_factor_roles(at=None) -> frozenset:
    """The roles that must have the second factor on (ACCOUNTS_REQUIRE_SECOND_FACTOR)."""
    value = get("ACCOUNTS_REQUIRE_SECOND_FACTOR", at)
    if isinstance(value, bool):
        return frozenset(SECOND_FACTOR_ROLES if value else ())
    if isinstance(value, (list, tuple, set, frozenset)):
        return frozenset(value)
    text = str(value).strip().lower()
    if text in _OFF:
        return frozenset()
    if text in _ON:
        return frozenset(SECOND_FACTOR_ROLES)
    return frozenset(r.strip() for r in text.split(",") if r.strip())


def needs_second_factor(user) -> bool:
    """Whether `user` must enrol in the second factor before doing anything else. Asks the
    setting only for a signed-in user without the factor whose role might be concerned."""
    if not getattr(user, "is_authenticated", False) or user.totp_enabled:
        return False
    role = "admin" if user.is_superuser and user.role not in SECOND_FACTOR_ROLES else user.role
    if role == "resident":
        return False
    return role in second_factor_roles()
