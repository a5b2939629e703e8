"""The audit log: `gridgov audit verify` checks the hash chain (non-zero exit and the problems
when broken); `gridgov audit list [--user U] [--since DATE] [--action A]` prints entries."""

from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime


class Command(BaseCommand):
    help = "Verify or list the hash-chained audit log."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="sub", required=True)
        sub.add_parser("verify", help="check the chain; exit 1 and list problems when broken")
        ls = sub.add_parser("list", help="print entries, oldest first")
        ls.add_argument("--user", default="")
        ls.add_argument("--since", default="", help="YYYY-MM-DD or an ISO date-time")
        ls.add_argument("--action", default="")
        ls.add_argument("--limit", type=int, default=1000)

    def handle(self, *args, **opts):
        from gridgov.core import audit
        from gridgov.core.models import AuditEntry

        if opts["sub"] == "verify":
            problems = audit.verify()
            n = AuditEntry.objects.count()
            if problems:
                for p in problems:
                    self.stderr.write(p)
                raise CommandError(f"audit chain broken: {len(problems)} problem(s) in {n} entries")
            self.stdout.write(f"audit chain intact: {n} entries")
            return
        qs = AuditEntry.objects.order_by("id")
        if opts["user"]:
            qs = qs.filter(username=opts["user"])
        if opts["action"]:
            qs = qs.filter(action=opts["action"])
        if opts["since"]:
            since = parse_datetime(opts["since"])
            if since is None:
                d = parse_date(opts["since"])
                if d is None:
                    raise CommandError(f"--since: not a date: {opts['since']!r}")
                since = datetime.combine(d, time.min)
            if timezone.is_naive(since):
                since = timezone.make_aware(since)
            qs = qs.filter(at__gte=since)
        for e in qs[: opts["limit"]]:
            self.stdout.write(
                f"{e.id}\t{timezone.localtime(e.at):%Y-%m-%d %H:%M:%S}\t{e.username or '-'}\t{e.action}\t"
                f"{e.object_type}#{e.object_id}\t{e.fields}\t{e.detail}"
            )
