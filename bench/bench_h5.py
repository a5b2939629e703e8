"""Weight and speed of the H5 report page (/m/) on a poor phone connection.

Serves the app with `gridgov serve --no-worker` on a free loopback port against the scratch
database (a small street, a resident), then loads the page in Debian's Chromium (Playwright)
with the Chrome DevTools "Slow 3G" preset sent over CDP (Network.emulateNetworkConditions with
DevTools' own values: 500 kbit/s × 0.8 = 400 kbit/s down and up, latency 400 ms × 5 = 2000 ms),
cache disabled, cold. Figures: bytes transferred (sum of Network.loadingFinished
encodedDataLength) and time to interactive (the page's script stamps `data-ready-ms`, from
navigation start, when the report button is enabled). Baselines in the same run: the same page
unthrottled, a minimal response (/api/health) under the same Slow 3G, and the staff login page."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.common import report

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("GRIDGOV_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "bench-h5-password-1"
SLOW_3G = {"offline": False, "latency": 400 * 5, "downloadThroughput": 500 * 1000 / 8 * 0.8, "uploadThroughput": 500 * 1000 / 8 * 0.8}
NO_THROTTLE = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _data():
    from gridgov.accounts.models import Role, User
    from gridgov.cases.taxonomy import seed_taxonomy
    from gridgov.geo.models import GridNode
    from gridgov.testing import make_small_street

    if not GridNode.objects.filter(code="110106001000000").exists():
        make_small_street()
    seed_taxonomy()
    if not User.objects.filter(username="bench-h5-resident").exists():
        User.objects.create_user("bench-h5-resident", password=PASSWORD, role=Role.RESIDENT)


def _wait(url, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def _load(page, cdp, url, conditions, ready_selector=None):
    """Cold load of `url` under `conditions`: (bytes transferred, ms to interactive)."""
    sizes = {}
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]))
    cdp.send("Network.clearBrowserCache")
    cdp.send("Network.emulateNetworkConditions", conditions)
    t0 = time.perf_counter()
    page.goto(url, wait_until="load", timeout=120_000)
    if ready_selector:
        page.wait_for_selector(ready_selector, timeout=120_000)
        ms = float(page.evaluate("document.body.dataset.readyMs"))
    else:
        ms = (time.perf_counter() - t0) * 1000
    page.wait_for_timeout(300)  # the last loadingFinished events
    total = sum(sizes.values())
    sizes.clear()  # later loads on this session do not add to this one
    return total, ms


def run():
    from playwright.sync_api import sync_playwright

    _data()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "GRIDGOV_HUEY_IMMEDIATE": ""}
    cmd = [sys.executable, "-m", "gridgov", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--threads", "4"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait(f"{base}/api/health")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-quic"])
            # a first visit: no service worker yet (its fetches would also bypass the page's throttling)
            ctx = browser.new_context(base_url=base, locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                      service_workers="block")
            page = ctx.new_page()
            page.goto("/m/login/")
            page.fill("#id_username", "bench-h5-resident")
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/m/")
            cdp = ctx.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})

            def best(url, cond, sel=None, n=2):
                runs = [_load(page, cdp, url, cond, sel) for _ in range(n)]
                return min(r[0] for r in runs), min(r[1] for r in runs)

            ready = "body[data-ready='1']"
            slow_bytes, slow_ms = best("/m/", SLOW_3G, ready)
            fast_bytes, fast_ms = best("/m/", NO_THROTTLE, ready, n=3)
            min_bytes, min_ms = best("/api/health", SLOW_3G)
            page.goto("/m/")
            # the pin map (Leaflet) is loaded only when asked for: its extra weight
            sizes = {}
            cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]))
            cdp.send("Network.emulateNetworkConditions", NO_THROTTLE)
            page.click("#pin")
            page.wait_for_selector("#pinmap path", state="attached")
            page.wait_for_timeout(300)
            map_bytes = sum(sizes.values())
            ctx.clear_cookies()
            login_bytes, _ = best("/login/", NO_THROTTLE, n=1)
            browser.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)

    report("h5 /m/ transferred bytes (Slow 3G, cold)", slow_bytes, "bytes", "staff /login/ page, cold", login_bytes, higher_is_better=False)
    report("h5 /m/ time to interactive (Slow 3G)", slow_ms, "ms", "minimal /api/health, Slow 3G", min_ms, higher_is_better=False)
    report("h5 /m/ time to interactive (unthrottled)", fast_ms, "ms", "same page under Slow 3G", slow_ms, higher_is_better=False)
    report("h5 pin map on demand (Leaflet) bytes", map_bytes, "bytes", "h5 /m/ page itself", slow_bytes, higher_is_better=False)
    return {"slow_bytes": slow_bytes, "fast_bytes": fast_bytes, "min_bytes": min_bytes}
