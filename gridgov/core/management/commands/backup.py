from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Back up the database: SQLite online backup, or pg_dump custom format (see core/backup.py)."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True)

    def handle(self, *args, **opts):
        from gridgov.core import audit
        from gridgov.core.backup import backup

        audit.record(None, "backup", object_type="*", detail=opts["out"])
        fmt = backup(opts["out"])
        self.stdout.write(f"wrote {opts['out']} ({fmt})")
