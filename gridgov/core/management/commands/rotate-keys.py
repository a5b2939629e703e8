"""Re-encrypt every encrypted field under the first key of GRIDGOV_FIELD_KEYS.

Procedure: put the new key FIRST in GRIDGOV_FIELD_KEYS (keep the old one after it), restart,
run `gridgov rotate-keys`, check with `gridgov rotate-keys --check`, then drop the old key."""

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Re-encrypt all personal data under the first (current) field key; idempotent, in batches."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--check", action="store_true",
                            help="only check that every value decrypts with the FIRST key alone (non-zero exit if not)")

    def handle(self, *args, **opts):
        from gridgov.core import privacy

        if opts["check"]:
            bad = privacy.check_first_key()
            for line in bad[:50]:
                self.stderr.write(line)
            if bad:
                raise CommandError(f"{len(bad)} value(s) not under the first key")
            self.stdout.write("every encrypted value is under the first key")
            return

        def progress(label, done, total):
            self.stdout.write(f"{label}: {done}/{total}")

        done = privacy.rotate_keys(batch_size=opts["batch_size"], progress=progress)
        self.stdout.write(self.style.SUCCESS(f"re-encrypted {sum(done.values())} row(s) in {len(done)} model(s)"))
