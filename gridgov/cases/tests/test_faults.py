"""Faults, with nothing lost.

A worker SIGKILLed in the middle of an escalation sweep, then restarted, escalates each case
exactly once: each clock is claimed and escalated in one transaction, so the kill either lost
the whole claim (the restart does it) or none of it (the restart skips it). Runs on both
databases: a scratch SQLite file, or a scratch PostgreSQL database when DATABASE_URL is one.

Reports filed by concurrent clients while PostgreSQL restarts each exist exactly once (a private
cluster of its own; see the section below)."""

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


# --- Submissions while PostgreSQL restarts -------------------------------------------------
#
# A private PostgreSQL cluster (initdb in a temp dir, its own port; never the machine's shared
# server), `gridgov serve` against it, client threads that each file reports with their own
# Idempotency-Key and resend with the same key on connection errors, 5xx and timeouts, while
# the main thread stops and starts the cluster. Afterwards every acknowledged report exists
# exactly once: idempotency keys make a retry of a committed-but-unanswered POST return the
# first case, and a POST whose transaction the restart aborted left nothing behind.

THREADS, PER_THREAD = 8, 25
CSRF = "f" * 32  # a 32-character secret in both the cookie and the header passes Django's check


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*args, timeout=120):
    import shutil

    cmd = list(args)
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        cmd = [shutil.which("runuser") or "/usr/sbin/runuser", "-u", "postgres", "--", *cmd]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError(f"{args}: exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def _pg_bin(name):
    import glob
    import shutil

    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        pytest.fail(f"{name} not found (PostgreSQL server binaries are needed for the restart fault test)")
    return found


@pytest.fixture
def private_pg():
    """A private PostgreSQL cluster on a free loopback port (trust auth); yields (url, restart)."""
    import shutil
    import tempfile

    base = tempfile.mkdtemp(prefix="gg-pg-", dir="/tmp")
    data = os.path.join(base, "data")
    port = _free_port()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    pg_ctl = _pg_bin("pg_ctl")
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
    started = False
    try:
        _as_postgres(_pg_bin("initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        _as_postgres(pg_ctl, "-D", data, "-o", opts, "-l", os.path.join(base, "log"), "-w", "start")
        started = True
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True) as c:
            c.execute("CREATE DATABASE gridgov")

        def stop():
            _as_postgres(pg_ctl, "-D", data, "-m", "fast", "-w", "stop")

        def start():
            _as_postgres(pg_ctl, "-D", data, "-o", opts, "-l", os.path.join(base, "log"), "-w", "start")

        def restart():
            _as_postgres(pg_ctl, "-D", data, "-o", opts, "-l", os.path.join(base, "log"), "-m", "fast", "-w", "restart")

        yield f"postgres://postgres@127.0.0.1:{port}/gridgov", stop, start, restart
    finally:
        if started:
            subprocess.run(["runuser", "-u", "postgres", "--", pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"]
                           if os.geteuid() == 0 else [pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def _post_report(port, session, key, text, timeout=10):
    """One POST /api/cases/; returns the HTTP status (raises on connection errors and timeouts)."""
    import http.client
    from urllib.parse import urlencode

    body = urlencode({"text": text, "lon": "116.383", "lat": "39.787"})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", "/api/cases/", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"sessionid={session}; csrftoken={CSRF}",
            "X-CSRFToken": CSRF,
            "Idempotency-Key": key,
        })
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


@pytest.mark.slow
def test_submissions_while_postgresql_restarts_keep_every_acknowledged_report_exactly_once(private_pg, tmp_path):
    import threading
    import time

    url, pg_stop, pg_start, pg_restart = private_pg
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDGOV_FAULT")}
    env.update({
        "DATABASE_URL": url, "GRIDGOV_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "gridgov.settings",
        "GRIDGOV_NOTIFY_CHANNELS": "console",
        # the public rate limits would refuse one resident's 200 reports; they are not under test
        "GRIDGOV_RATE_LIMIT_PER_DEVICE": "0/60", "GRIDGOV_RATE_LIMIT_PER_ADDRESS": "0/60",
    })
    run(env, "-m", "gridgov", "migrate", "-v0")
    session = json.loads(run(env, "-m", "gridgov.cases.tests.fault_world", "resident").stdout)["session"]
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gridgov", "serve", "--no-worker", "--no-collectstatic", "--port", str(port),
         "--workers", "2", "--threads", "4"],
        cwd=ROOT, env=env, stdout=(tmp_path / "serve.log").open("w"), stderr=subprocess.STDOUT,
    )
    lock = threading.Lock()
    acked, gave_up, statuses, errors = {}, [], {}, []
    stats = {"retries": 0, "failed": 0, "during_outage": 0}
    outage = threading.Event()

    def client(t):
        for i in range(PER_THREAD):
            key = str(uuid.uuid4())
            deadline, delay = time.monotonic() + 20, 0.1
            for attempt in range(40):
                try:
                    status = _post_report(port, session, key, f"小区门口的路灯坏了 {t}-{i}")
                except OSError as exc:  # refused, reset, timed out
                    status = type(exc).__name__
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                if isinstance(status, int) and 200 <= status < 300:
                    with lock:
                        acked[key] = status
                    break
                if isinstance(status, int) and status < 500:
                    with lock:
                        errors.append(f"report {t}-{i} (attempt {attempt + 1}) refused with {status}")
                    return
                with lock:
                    stats["failed"] += 1
                    stats["during_outage"] += outage.is_set()
                if time.monotonic() + delay > deadline:
                    with lock:
                        gave_up.append(key)
                    break
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
                with lock:
                    stats["retries"] += 1

    try:
        for _ in range(300):  # the server answers (health reads the database)
            try:
                if _post_report(port, session, str(uuid.uuid4()), "") in (400, 422):
                    break
            except OSError:
                pass
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            time.sleep(0.1)
        t0 = time.monotonic()
        threads = [threading.Thread(target=client, args=(t,)) for t in range(THREADS)]
        for th in threads:
            th.start()
        total = THREADS * PER_THREAD
        # mid-run: stop the cluster for a second, later restart it at once (the workers' open
        # connections are then dead although the server answers again)
        for fraction, down in ((0.25, True), (0.6, False)):
            while len(acked) < total * fraction and any(th.is_alive() for th in threads):
                time.sleep(0.05)
            outage.set()
            if down:
                pg_stop()
                time.sleep(1.0)
                pg_start()
            else:
                pg_restart()
            outage.clear()
        for th in threads:
            th.join(timeout=120)
        elapsed = time.monotonic() - t0
        assert not any(th.is_alive() for th in threads)
        # restarted while idle: every worker thread's open connection is dead, and the next
        # report is still acknowledged at the first attempt (CONN_HEALTH_CHECKS replaces it)
        pg_restart()
        idle_keys = [str(uuid.uuid4()) for _ in range(THREADS)]
        first_after_idle = [_post_report(port, session, k, f"小区门口的路灯坏了 idle-{i}") for i, k in enumerate(idle_keys)]
        counts = json.loads(run(env, "-m", "gridgov.cases.tests.fault_world", "keys").stdout)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    print(f"\n{len(acked)}/{total} acknowledged, {len(gave_up)} gave up, {stats['retries']} retries, "
          f"{stats['failed']} failed requests ({stats['during_outage']} while the cluster was stopping, down or starting), "
          f"statuses {statuses}, {elapsed:.1f} s")
    assert not errors, errors
    assert all(s == 201 for s in first_after_idle), first_after_idle
    missing = [k for k in acked if counts.get(k) != 1]
    assert not missing, f"acknowledged but not stored exactly once: {[(k, counts.get(k)) for k in missing]}"
    assert all(n == 1 for n in counts.values()), {k: n for k, n in counts.items() if n != 1}
    sent = set(acked) | set(gave_up)
    assert set(counts) <= sent | set(idle_keys), f"cases nobody sent: {set(counts) - sent - set(idle_keys)}"
    assert not gave_up, f"{len(gave_up)} reports never acknowledged"
    assert len(acked) == total
    assert stats["retries"] > 0 and stats["failed"] > 0, "the restarts did not overlap the submissions"
