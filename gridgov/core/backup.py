"""Backup and restore of the whole database, in the engine's own exact format.

* SQLite: the online backup API (`sqlite3.Connection.backup`): a consistent page-for-page copy
  taken while the server runs; the backup file is itself a SQLite database.
* PostgreSQL: `pg_dump --format=custom` and `pg_restore --clean --if-exists --single-transaction`.

Why not one portable JSON dump (dumpdata/loaddata) for both: Django's JSON encoder cuts
date-times to milliseconds, and the audit chain hashes the full ISO time stamp, so a JSON
round trip would break `gridgov audit verify`; the native formats are also exact for every
column type and fast. Either way encrypted fields travel as the ciphertext they are: a backup
holds no plaintext personal data, and restoring it needs the same GRIDGOV_FIELD_KEYS."""

import os
import shutil
import sqlite3
import subprocess

from django.db import connection


def _pg_env(sd) -> tuple[list[str], dict]:
    args = ["-h", sd.get("HOST") or "127.0.0.1", "-p", str(sd.get("PORT") or 5432), "-U", sd.get("USER") or "postgres"]
    env = dict(os.environ)
    if sd.get("PASSWORD"):
        env["PGPASSWORD"] = sd["PASSWORD"]
    return args, env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} not found on PATH (install the PostgreSQL client tools)")
    return path


def backup(out: str) -> str:
    """Write a backup of the default database to `out`; returns the format ("sqlite" or "pg_custom")."""
    connection.ensure_connection()
    if connection.vendor == "sqlite":
        if os.path.exists(out):
            os.remove(out)
        dest = sqlite3.connect(out)
        try:
            connection.connection.backup(dest)
        finally:
            dest.close()
        return "sqlite"
    if connection.vendor == "postgresql":
        sd = connection.settings_dict
        args, env = _pg_env(sd)
        subprocess.run([_tool("pg_dump"), *args, "--format=custom", "--no-owner", "--file", out, sd["NAME"]],
                       check=True, env=env, capture_output=True)
        return "pg_custom"
    raise RuntimeError(f"backup: unsupported database {connection.vendor}")


def restore(path: str) -> None:
    """Replace the default database's contents with the backup at `path` (same engine)."""
    if not os.path.exists(path):
        raise FileNotFoundError(path)
    connection.ensure_connection()
    with open(path, "rb") as fh:
        head = fh.read(16)
    if connection.vendor == "sqlite":
        if head != b"SQLite format 3\x00":
            raise ValueError(f"{path} is not a SQLite backup")
        src = sqlite3.connect(path)
        try:
            src.backup(connection.connection)
        finally:
            src.close()
        return
    if connection.vendor == "postgresql":
        if not head.startswith(b"PGDMP"):
            raise ValueError(f"{path} is not a pg_dump custom-format backup")
        sd = connection.settings_dict
        args, env = _pg_env(sd)
        connection.close()  # pg_restore drops and recreates the tables
        subprocess.run([_tool("pg_restore"), *args, "--clean", "--if-exists", "--no-owner", "--single-transaction",
                        "-d", sd["NAME"], path], check=True, env=env, capture_output=True)
        return
    raise RuntimeError(f"restore: unsupported database {connection.vendor}")
