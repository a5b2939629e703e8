import sys
import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = ("The dashboards' rollups: `rebuild` recomputes every month from the cases (and the topics of the latest "
            "month); `refresh` folds in what changed.")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["rebuild", "refresh"])
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args, action, quiet=False, **options):
        from gridgov.insight import rollup

        t0 = time.perf_counter()
        if action == "rebuild":
            progress = None if quiet or options.get("verbosity", 1) == 0 else (
                lambda msg: print(f"[{time.perf_counter() - t0:7.1f}s] {msg}", file=sys.stderr, flush=True))
            n = rollup.rebuild(progress)
            self.stdout.write(f"rollups rebuilt: {n:,} rows in {time.perf_counter() - t0:.1f}s")
            t1 = time.perf_counter()
            k = rollup.rebuild_topics(progress=progress)
            self.stdout.write(f"topic rollups rebuilt: {k:,} parts of the latest month in {time.perf_counter() - t1:.1f}s")
        else:
            months = rollup.refresh()
            self.stdout.write(f"rollups refreshed: {', '.join(months) or 'nothing changed'}")
            done = rollup.refresh_topics()
            self.stdout.write(f"topic rollups refreshed: {', '.join(f'{m} {p or chr(45)}' for m, p in done) or 'nothing stale'}")
