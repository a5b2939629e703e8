"""System checks of gridgov's own settings (`gridgov check --deploy` reports them)."""

from pathlib import Path

from django.conf import settings
from django.core.checks import Tags, Warning, register

#: the e-mail domain of the users `gridgov demo` creates (its --reset deletes them; `gridgov serve`
#: stays quiet about demo keys); here, low, so that the server need not import the demo app
DEMO_EMAIL_DOMAIN = "demo.gridgov.invalid"


def keys_beside_database() -> str | None:
    """Why the keys sit beside the data, or None: some keys come from the key file
    (settings.KEY_FILE, not the environment) and that file is in the directory of the SQLite
    database, so one copy of that directory (a backup, a stolen disk) holds both the encrypted
    personal data and the keys that open it. Silent with GRIDGOV_DEBUG=1."""
    if settings.DEBUG or not getattr(settings, "KEYS_FROM_FILE", None):
        return None
    db = settings.DATABASES["default"]
    if db.get("ENGINE") != "django.db.backends.sqlite3" or str(db.get("NAME", "")).startswith((":memory:", "file:")):
        return None
    key_dir = Path(settings.KEY_FILE).resolve().parent
    if Path(db["NAME"]).resolve().parent != key_dir:
        return None
    return (
        f"{', '.join(settings.KEYS_FROM_FILE)} come from {settings.KEY_FILE}, in the same directory as the "
        f"database: a copy of {key_dir} holds the encrypted personal data and its keys."
    )


@register(Tags.security, deploy=True)
def check_keys_beside_database(app_configs, **kwargs):
    msg = keys_beside_database()
    if not msg:
        return []
    return [
        Warning(
            msg,
            hint="Set GRIDGOV_SECRET_KEY, GRIDGOV_FIELD_KEYS and GRIDGOV_INDEX_KEY in the environment, or "
            "GRIDGOV_KEY_FILE to a path outside the data directory (docs/deployment.md, 'Keys').",
            id="gridgov.W001",
        )
    ]
