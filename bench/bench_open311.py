"""Open311 intake over HTTP: POST requests.json against `gridgov serve` at concurrency 1, 4, 8,
with inline intake (routed in the request) and deferred intake (GRIDGOV_INTAKE=deferred: stored,
answered, routed by the worker after).

The server runs in a subprocess (`gridgov serve --no-worker`, gunicorn gthread) on the same
scratch database as this process (GRIDGOV_DATA_DIR, or DATABASE_URL). Each level sends N
form-encoded POSTs from a thread pool, one keep-alive http.client connection per thread, on
loopback only. Baseline, in the same run, server and clients: N trivial GETs of the same door
(the service list; /api/health, which reads nothing, printed beside it).
A bare ORM insert is printed for scale."""

import http.client
import os
import socket
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


GET = "/open311/v2/services.json"  # the door's own trivial GET: the service list, with the client's key


def _get_all(port, n, concurrency, path):
    """GET `path` n times (the trivial request through the same server and clients)."""
    import threading

    local = threading.local()

    def one(_):
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        t0 = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"GET answered {resp.status}")
        return (time.perf_counter() - t0) * 1000

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        lat = list(pool.map(one, range(n)))
    return time.perf_counter() - t0, lat


def _serve(env, log):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gridgov", "serve", "--no-worker", "--no-collectstatic", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        _wait_up(port, proc)
    except Exception:
        _stop(proc)
        raise
    return port, proc


def _stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run():
    from django.conf import settings
    from django.db import connection

    from bench.bench_cases import _street
    from gridgov.cases.models import Case
    from gridgov.open311 import services

    _street()
    _, key = services.create_key(f"bench-{os.getpid()}-{time.time_ns()}", rate_per_minute=0)
    if connection.vendor == "postgresql" and not os.environ.get("DATABASE_URL"):  # pragma: no cover
        raise RuntimeError("the server needs the same database: set DATABASE_URL")
    db = connection.vendor
    get = f"{GET}?{urllib.parse.urlencode({'api_key': key})}"
    before = Case.objects.filter(channel="api").count()
    # each intake mode on a server of its own (GRIDGOV_INTAKE: routed in the request, or by the
    # worker after it; this server runs no worker, so deferred reports stay pending)
    for mode in ("inline", "deferred"):
        env = {**os.environ, "GRIDGOV_DATA_DIR": str(settings.DATA_DIR), "GRIDGOV_INTAKE": mode}
        log = open(os.path.join(tempfile.gettempdir(), f"gridgov-bench-open311-{mode}-{os.getpid()}.log"), "w")
        port, proc = _serve(env, log)
        try:
            _post_all(port, _bodies(key, 20, 0), 2)  # warm the workers
            _get_all(port, 20, 2, get)
            hsecs, _ = _get_all(port, N, 8, "/api/health")
            report(f"GET /api/health c=8 ({mode} server)", N / hsecs, "req/s", f"GET {GET}", N / _get_all(port, N, 8, get)[0])
            for c in LEVELS:
                secs, lat = _post_all(port, _bodies(key, N, c), c)
                gsecs, glat = _get_all(port, N, c, get)
                report(f"open311 POST c={c} ({db}, {mode} intake)", N / secs, "req/s", f"GET {GET}, same server and clients",
                       N / gsecs)
                for p in (50, 95):
                    report(f"open311 POST c={c} p{p} latency ({mode})", _pct(lat, p), "ms", f"GET p{p}", _pct(glat, p),
                           higher_is_better=False)
        finally:
            _stop(proc)
            log.close()
    bsecs, _ = _inserts(N)
    report(f"open311: a bare Case insert ({db}, ORM, 1 thread)", N / bsecs, "rows/s", "the same", N / bsecs)
    made = Case.objects.filter(channel="api").count() - before
    expected = 2 * (20 + len(LEVELS) * N) + N
    if made != expected:
        raise RuntimeError(f"expected {expected} new api cases (requests + baseline rows), found {made}")
