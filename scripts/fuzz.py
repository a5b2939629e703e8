"""`make fuzz`: schemathesis over every operation of /api/openapi.json against a real server.

Builds a scratch data directory (SQLite database, migrated, the small demo street without
tickets), starts `gridgov serve --no-worker` on a free loopback port, signs in a street leader
(a session made directly in the session store, plus a CSRF token sent as header and cookie),
runs `schemathesis run` with bounded examples (checks: not_a_server_error,
status_code_conformance and response_schema_conformance), stops the server and exits with schemathesis' status.

    python scripts/fuzz.py [--max-examples 20] [--keep] [-- extra schemathesis options]
"""

import argparse
import os
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
BIN = Path(PY).parent

SESSION_SNIPPET = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
u = get_user_model().objects.filter(role="leader", is_active=True).order_by("pk").first()
s = SessionStore()
s[SESSION_KEY] = str(u.pk)
s[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
s[HASH_SESSION_KEY] = u.get_session_auth_hash()
s.create()
print(s.session_key)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(env, *args, **kw):
    return subprocess.run([PY, "-m", "gridgov", *args], cwd=ROOT, env=env, check=True, **kw)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--max-examples", type=int, default=20)
    p.add_argument("--workers", default="2", help="schemathesis workers")
    p.add_argument("--keep", action="store_true", help="keep the scratch data directory")
    p.add_argument("extra", nargs="*", help="more schemathesis options (after --)")
    a = p.parse_args()

    data = Path(tempfile.mkdtemp(prefix="gridgov-fuzz-"))
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        GRIDGOV_DATA_DIR=str(data),
        GRIDGOV_DEBUG="0",
        # The fuzzer posts far more than a resident would: lift the public limits for this run.
        GRIDGOV_RATE_LIMIT_PER_DEVICE="1000000/60",
        GRIDGOV_RATE_LIMIT_PER_ADDRESS="1000000/60",
        GRIDGOV_HUEY_IMMEDIATE="0",
    )
    server = None
    try:
        print(f"== scratch data dir {data}", flush=True)
        run(env, "migrate", "--noinput", stdout=subprocess.DEVNULL)
        run(env, "demo", "--scale", "0.01", "--no-tickets", "--quiet")
        session = run(env, "shell", "-c", SESSION_SNIPPET, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        csrf = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))  # CSRF alphabet
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = open(data / "server.log", "w")
        server = subprocess.Popen(
            [PY, "-m", "gridgov", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/health", timeout=2).read()
                break
            except Exception:
                if server.poll() is not None:
                    print((data / "server.log").read_text(), file=sys.stderr)
                    return 1
                time.sleep(0.5)
        else:
            print("server did not answer /api/health", file=sys.stderr)
            return 1
        print(f"== server at {base} (leader session), schemathesis {a.max_examples} examples per operation", flush=True)
        cmd = [
            str(BIN / "schemathesis"), "run", f"{base}/api/openapi.json",
            "--checks", "not_a_server_error,status_code_conformance,response_schema_conformance",
            "--max-examples", str(a.max_examples),
            "--workers", a.workers,
            "--seed", "1",
            "--generation-deterministic",
            "--request-timeout", "30",
            "-H", f"Cookie: sessionid={session}; csrftoken={csrf}",
            "-H", f"X-CSRFToken: {csrf}",
            "-H", f"Referer: {base}/",
            "--report-dir", str(data / "report"),
            *a.extra,
        ]
        rc = subprocess.call(cmd, cwd=data, env=env)  # its cache and crash files stay in the scratch dir
        if rc:
            print(f"== schemathesis failed (exit {rc}); server log: {data / 'server.log'}", flush=True)
            a.keep = True
        return rc
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        if not a.keep:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
