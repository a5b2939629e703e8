"""`gridgov serve` starts gunicorn (and optionally the huey consumer) and answers over HTTP."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url, deadline):
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.status, r.read().decode()
        except OSError as exc:  # not listening yet
            last = exc
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer: {last}")


@pytest.mark.django_db
@pytest.mark.parametrize("worker", [False, True])
def test_serve_answers_health_and_login(tmp_path, worker):
    env = {**os.environ, "GRIDGOV_DATA_DIR": str(tmp_path), "GRIDGOV_HUEY_IMMEDIATE": ""}
    if connection.vendor == "postgresql":
        s = connection.settings_dict
        env["DATABASE_URL"] = f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    else:
        env.pop("DATABASE_URL", None)  # a fresh SQLite file in tmp_path
    port = _free_port()
    cmd = [sys.executable, "-m", "gridgov", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--threads", "2"]
    if not worker:
        cmd.append("--no-worker")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        status, body = _get(f"http://127.0.0.1:{port}/api/health", deadline)
        assert status == 200 and '"ok"' in body
        # (a query string can carry personal data: a search by ID number, a name)
        status, body = _get(f"http://127.0.0.1:{port}/login/?q=110101199003071234", deadline)
        assert status == 200 and 'name="password"' in body
        status, _ = _get(f"http://127.0.0.1:{port}/static/web/app.css", deadline)
        assert status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
    assert proc.returncode == 0, out
    assert "GET /api/health" in out and "GET /login/ " in out  # access log on stdout
    assert "110101199003071234" not in out  # without query strings
    if worker:
        import re

        pid = int(re.search(r"huey consumer started \(pid (\d+)\)", out).group(1))
        with pytest.raises(ProcessLookupError):  # stopped with the server (and reaped by it)
            os.kill(pid, 0)
    else:
        assert "huey consumer" not in out
    # nothing of the server is left running
    leftover = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert not leftover
