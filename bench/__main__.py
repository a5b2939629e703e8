"""`make bench`: run every bench/bench_*.py module (or those named) and print ratios.

    python -m bench            # all
    python -m bench locate     # only bench/bench_locate.py

Each module runs in a process of its own on a scratch database of its own: a fresh
GRIDGOV_DATA_DIR (SQLite), or, when DATABASE_URL names PostgreSQL, a database created for it and
dropped after (`<name>_bench_<module>`), so no benchmark finds another's street. Each module
defines `run()`; set-up is shared (bench.common.setup_django). The figures of all of them are
saved together in bench/out/results.json."""

import json
import os
import pkgutil
import subprocess
import sys
import tempfile
from pathlib import Path

OUT = Path("bench/out/results.json")


def names() -> list[str]:
    return sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))


def scratch_env(name: str, base: dict | None = None) -> tuple[dict, str | None]:
    """The environment of module `name`'s process: its own data folder, and its own PostgreSQL
    database when DATABASE_URL is one (returned to be dropped after)."""
    env = dict(base if base is not None else os.environ)
    env["GRIDGOV_DATA_DIR"] = tempfile.mkdtemp(prefix=f"gridgov-bench-{name}-")
    url = env.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        env.pop("DATABASE_URL", None)
        return env, None
    head, _, db = url.rpartition("/")
    scratch = f"{db.split('?')[0] or 'gridgov'}_bench_{name}"
    _admin(url, f'DROP DATABASE IF EXISTS "{scratch}"', f'CREATE DATABASE "{scratch}"')
    env["DATABASE_URL"] = f"{head}/{scratch}"
    return env, scratch


def _admin(url: str, *sql: str):
    import psycopg

    head = url.rpartition("/")[0]
    with psycopg.connect(f"{head}/postgres", autocommit=True) as conn:
        for s in sql:
            conn.execute(s)


def run_one(name: str) -> list[dict]:
    """Run module `name` in this process (the child's side)."""
    import importlib

    from bench import common

    common.setup_django()
    print(f"--- {name}", flush=True)
    importlib.import_module(f"bench.bench_{name}").run()
    return common.RESULTS


def main(argv):
    if argv[:1] == ["--one"]:  # the child: one module, its figures to a file
        results = run_one(argv[1])
        Path(argv[2]).write_text(json.dumps(results, ensure_ascii=False))
        return
    have = names()
    chosen = argv or have
    unknown = set(chosen) - set(have)
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; have {', '.join(have)}")
    print(f"{'figure':<45} {'value':>14} {'unit':<12} | {'baseline (same run)':<35} {'value':>14} | ratio", flush=True)
    results, failed = [], []
    for name in chosen:
        env, scratch = scratch_env(name)
        out = Path(env["GRIDGOV_DATA_DIR"]) / "results.json"
        try:
            rc = subprocess.call([sys.executable, "-m", "bench", "--one", name, str(out)], env=env)
        finally:
            if scratch:
                _admin(os.environ["DATABASE_URL"], f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        if rc != 0 or not out.exists():
            failed.append(name)
            continue
        results.extend(json.loads(out.read_text()))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    if failed:
        sys.exit(f"benchmark(s) failed: {', '.join(failed)}")


if __name__ == "__main__":
    main(sys.argv[1:])
