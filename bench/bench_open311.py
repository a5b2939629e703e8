"""Open311 intake over HTTP: POST requests.json against `gridgov serve` at concurrency 1, 4, 8.

The server runs in a subprocess (`gridgov serve --no-worker`, gunicorn gthread) on the same
scratch database as this process (GRIDGOV_DATA_DIR, or DATABASE_URL). Each level sends N
form-encoded POSTs from a thread pool, one keep-alive http.client connection per thread, on
loopback only. Baseline, in the same run and database: N plain `Case.objects.create` rows
through the ORM in this process (what one request costs beyond a bare insert: HTTP, key check,
locating, recognition is skipped (service_code given), routing, clocks, events, outbox)."""

import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from bench.common import report

N = int(os.environ.get("BENCH_OPEN311_N", "300"))
LEVELS = (1, 4, 8)
CODES = ["PS01", "CC01", "CC02", "WG01", "WG03", "PS05"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(port, proc, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gridgov serve exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/api/health")
            if c.getresponse().status == 200:
                c.close()
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gridgov serve did not answer /api/health within a minute")


def _pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def _bodies(key, n, seed):
    import random

    from gridgov.testing import DLAT, DLON, LAT0, LON0

    rnd = random.Random(seed)
    out = []
    for i in range(n):
        out.append(urllib.parse.urlencode({
            "api_key": key, "service_code": CODES[i % len(CODES)], "description": f"压测诉求 {seed}-{i}",
            "lat": f"{LAT0 + rnd.random() * DLAT:.6f}", "long": f"{LON0 + rnd.random() * DLON:.6f}",
            "phone": f"139{rnd.randrange(10**8):08d}",
        }))
    return out


def _post_all(port, bodies, concurrency):
    """POST every body; returns (wall seconds, latencies in ms). Raises on any non-201."""
    import threading

    local = threading.local()
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}

    def one(body):
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        t0 = time.perf_counter()
        conn.request("POST", "/open311/v2/requests.json", body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        ms = (time.perf_counter() - t0) * 1000
        if resp.status != 201:
            raise RuntimeError(f"POST answered {resp.status}: {data[:300]!r}")
        return ms

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        lat = list(pool.map(one, bodies))
    return time.perf_counter() - t0, lat


def _inserts(n):
    from django.utils import timezone

    from gridgov.cases.models import Case

    lat = []
    t0 = time.perf_counter()
    for i in range(n):
        s = time.perf_counter()
        now = timezone.now()
        Case.objects.create(channel="api", text=f"baseline {i}", created_at=now, updated_at=now)
        lat.append((time.perf_counter() - s) * 1000)
    return time.perf_counter() - t0, lat


def run():
    from django.conf import settings
    from django.db import connection

    from bench.bench_cases import _street
    from gridgov.cases.models import Case
    from gridgov.open311 import services

    _street()
    _, key = services.create_key(f"bench-{os.getpid()}-{time.time_ns()}", rate_per_minute=0)
    port = _free_port()
    log = open(os.path.join(tempfile.gettempdir(), f"gridgov-bench-open311-{port}.log"), "w")
    env = {**os.environ, "GRIDGOV_DATA_DIR": str(settings.DATA_DIR)}
    if connection.vendor == "postgresql" and not env.get("DATABASE_URL"):  # pragma: no cover
        raise RuntimeError("the server needs the same database: set DATABASE_URL")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gridgov", "serve", "--no-worker", "--no-collectstatic", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        _wait_up(port, proc)
        db = connection.vendor
        before = Case.objects.filter(channel="api").count()
        _post_all(port, _bodies(key, 20, 0), 2)  # warm the workers
        for c in LEVELS:
            secs, lat = _post_all(port, _bodies(key, N, c), c)
            bsecs, blat = _inserts(N)
            report(f"open311 POST c={c} ({db})", N / secs, "req/s", "plain Case insert, ORM, 1 thread", N / bsecs)
            for p in (50, 95, 99):
                report(f"open311 POST c={c} p{p} latency", _pct(lat, p), "ms", f"plain insert p{p}", _pct(blat, p), higher_is_better=False)
        made = Case.objects.filter(channel="api").count() - before
        expected = 20 + len(LEVELS) * N * 2
        if made != expected:
            raise RuntimeError(f"expected {expected} new api cases (requests + baseline rows), found {made}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
