"""Shared helpers for benchmarks: Django set-up on a scratch database, timing, reporting.

Every figure is printed beside a baseline measured in the same run, with their ratio, since
the machines are shared and noisy."""

import json
import os
import tempfile
import time
from pathlib import Path

RESULTS: list[dict] = []
SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def setup_django(database_url: str | None = None):
    """Configure Django on a scratch SQLite database (or DATABASE_URL) and migrate it."""
    if "GRIDGOV_DATA_DIR" not in os.environ:
        os.environ["GRIDGOV_DATA_DIR"] = tempfile.mkdtemp(prefix="gridgov-bench-")
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridgov.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def timed(fn, *args, repeat: int = 1, **kwargs):
    """Best wall time of `repeat` runs, and the last result."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - t0)
    return best, result


def report(name: str, value: float, unit: str, baseline_name: str, baseline_value: float, higher_is_better: bool = True):
    ratio = (value / baseline_value if higher_is_better else baseline_value / value) if baseline_value and value else float("nan")
    row = {
        "name": name,
        "value": round(value, 3),
        "unit": unit,
        "baseline": baseline_name,
        "baseline_value": round(baseline_value, 3),
        "ratio": round(ratio, 2),
    }
    RESULTS.append(row)
    print(f"{name:<45} {value:>14,.1f} {unit:<12} | {baseline_name:<35} {baseline_value:>14,.1f} | ×{ratio:,.2f}", flush=True)
    return row


def save(path: str = "bench/out/results.json"):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(RESULTS, ensure_ascii=False, indent=2))
