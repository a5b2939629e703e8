"""Issue 16, item 13 (part): the default key file (field keys, index key, secret key) was
generated into the data directory beside the SQLite file, silently. `gridgov check --deploy`
and `gridgov serve` now warn about it (not with GRIDGOV_DEBUG=1)."""

import os
import subprocess
import sys

import pytest

KEY_VARS = ("GRIDGOV_SECRET_KEY", "GRIDGOV_FIELD_KEYS", "GRIDGOV_INDEX_KEY", "GRIDGOV_KEY_FILE", "GRIDGOV_DEBUG",
            "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")


def _run(args, tmp_path, **env):
    full = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
    full.update(GRIDGOV_DATA_DIR=str(tmp_path / "data"), **env)
    return subprocess.run([sys.executable, *args], env=full, capture_output=True, text=True, timeout=120)


def _check(tmp_path, **env):
    r = _run(["-m", "gridgov", "check", "--deploy"], tmp_path, **env)
    return r.stdout + r.stderr


def _serve_warning(tmp_path, **env):
    code = ("import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'gridgov.settings'); django.setup();"
            "from gridgov.core.management.commands.serve import Command; Command()._warn_keys_beside_database()")
    return _run(["-c", code], tmp_path, **env).stderr


@pytest.mark.parametrize("where", [_check, _serve_warning])
def test_keys_beside_the_database_are_reported(tmp_path, where):
    out = where(tmp_path)
    assert "gridgov.W001" in out or "WARNING" in out
    assert "secret.json" in out and "GRIDGOV_FIELD_KEYS" in out


@pytest.mark.parametrize("where", [_check, _serve_warning])
def test_keys_kept_apart_or_development_are_not_reported(tmp_path, where):
    assert "secret.json" not in where(tmp_path, GRIDGOV_KEY_FILE=str(tmp_path / "keys" / "secret.json"))
    assert (tmp_path / "keys" / "secret.json").exists() and not (tmp_path / "data" / "secret.json").exists()
    assert "secret.json" not in where(tmp_path, GRIDGOV_DEBUG="1")
