"""`make bench` gives every benchmark its own scratch database: a data folder of its own on
SQLite, a database of its own on PostgreSQL (created empty, dropped after)."""

import os

import psycopg
import pytest

from bench.__main__ import _admin, scratch_env

PG = os.environ.get("DATABASE_URL", "")


def test_each_benchmark_gets_its_own_data_folder():
    a, _ = scratch_env("cases", {"PATH": "/bin"})
    b, _ = scratch_env("locate", {"PATH": "/bin"})
    assert a["GRIDGOV_DATA_DIR"] != b["GRIDGOV_DATA_DIR"]
    assert not os.listdir(a["GRIDGOV_DATA_DIR"]) and "DATABASE_URL" not in a


@pytest.mark.skipif(not PG.startswith("postgres"), reason="needs DATABASE_URL=postgres://…")
def test_each_benchmark_gets_its_own_postgresql_database():
    url = PG.rpartition("/")[0] + "/gridgov_scratchtest"
    made = []
    try:
        for name in ("cases", "locate"):
            env, db = scratch_env(name, {"DATABASE_URL": url})
            made.append(db)
            assert env["DATABASE_URL"].endswith(f"/gridgov_scratchtest_bench_{name}")
            with psycopg.connect(env["DATABASE_URL"]) as conn:  # created, and empty
                assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 0
        assert len(set(made)) == 2
    finally:
        for db in made:
            _admin(url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
