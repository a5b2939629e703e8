from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Restore the database from a backup made by `gridgov backup` (replaces all data), then verify the audit chain."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, **opts):
        from gridgov.core import audit
        from gridgov.core.backup import restore

        try:
            restore(opts["file"])
        except (ValueError, FileNotFoundError) as exc:
            raise CommandError(str(exc))
        problems = audit.verify()
        if problems:
            for p in problems:
                self.stderr.write(p)
            raise CommandError("restored, but the audit chain does not verify")
        self.stdout.write(f"restored {opts['file']}; audit chain intact")
