"""Faults, with nothing lost.

A worker SIGKILLed in the middle of an escalation sweep, then restarted, escalates each case
exactly once: each clock is claimed and escalated in one transaction, so the kill either lost
the whole claim (the restart does it) or none of it (the restart skips it). Runs on both
databases: a scratch SQLite file, or a scratch PostgreSQL database when DATABASE_URL is one."""

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings as dj_settings

ROOT = Path(__file__).resolve().parents[3]
N = 6


@pytest.fixture
def scratch_db(tmp_path):
    """Environment for subprocesses pointing at a fresh, migrated scratch database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDGOV_FAULT")}
    env["GRIDGOV_DATA_DIR"] = str(tmp_path)
    env["DJANGO_SETTINGS_MODULE"] = "gridgov.settings"
    env["GRIDGOV_NOTIFY_CHANNELS"] = "console"
    drop = None
    if dj_settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        import psycopg

        d = dj_settings.DATABASES["default"]
        name = f"gridgov_fault_{uuid.uuid4().hex[:10]}"
        admin = f"host={d['HOST'] or '127.0.0.1'} port={d['PORT'] or 5432} user={d['USER']} dbname=postgres"
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = f"postgres://{d['USER']}@{d['HOST'] or '127.0.0.1'}:{d['PORT'] or 5432}/{name}"

        def drop():
            with psycopg.connect(admin, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        env.pop("DATABASE_URL", None)
    try:
        run(env, "-m", "gridgov", "migrate", "-v0")
        yield env
    finally:
        if drop:
            drop()


def run(env, *args, check=True):
    p = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError(f"{args}: exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


@pytest.mark.slow
def test_sweep_killed_mid_escalation_then_restarted_escalates_each_case_once(scratch_db):
    world = "-m", "gridgov.cases.tests.fault_world"
    run(scratch_db, *world, "build", str(N))
    killed = run({**scratch_db, "GRIDGOV_FAULT_KILL_AFTER_ESCALATIONS": "2"},
                 "-m", "gridgov", "sla-sweep", "--at", "2025-09-30T10:20", check=False)
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr)
    mid = json.loads(run(scratch_db, *world, "count").stdout)
    assert sum(v["escalations"] for v in mid.values()) == 2  # killed part way
    run(scratch_db, "-m", "gridgov", "sla-sweep", "--at", "2025-09-30T10:20")
    run(scratch_db, "-m", "gridgov", "sla-sweep", "--at", "2025-09-30T10:20")  # and once more: nothing twice
    after = json.loads(run(scratch_db, *world, "count").stdout)
    assert len(after) == N
    assert all(v == {"breaches": 1, "escalations": 1, "state": "escalated"} for v in after.values()), after
