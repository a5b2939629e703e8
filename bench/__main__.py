"""`make bench`: run every bench/bench_*.py module (or those named) and print ratios.

    python -m bench            # all
    python -m bench locate     # only bench/bench_locate.py
Each module defines `run()`; set-up is shared (bench.common.setup_django)."""

import importlib
import pkgutil
import sys
from pathlib import Path

from bench import common


def main(argv):
    names = sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    chosen = argv or names
    unknown = set(chosen) - set(names)
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; have {', '.join(names)}")
    common.setup_django()
    print(f"{'figure':<45} {'value':>14} {'unit':<12} | {'baseline (same run)':<35} {'value':>14} | ratio")
    for name in chosen:
        print(f"--- {name}")
        importlib.import_module(f"bench.bench_{name}").run()
    common.save()


if __name__ == "__main__":
    main(sys.argv[1:])
