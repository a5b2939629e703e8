from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from gridgov.cases import services


class Command(BaseCommand):
    help = "Warn and escalate cases whose time limits are due, as of now or --at (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--at", help="ISO time, e.g. 2025-09-30T17:00 (local time when no offset)")

    def handle(self, *args, at=None, **options):
        now = timezone.now()
        if at:
            try:
                now = datetime.fromisoformat(at)
            except ValueError:
                raise CommandError(f"--at {at!r}: not an ISO time such as 2025-09-30T17:00") from None
            if timezone.is_naive(now):
                now = timezone.make_aware(now)
        r = services.sweep(now)
        self.stdout.write(f"as of {timezone.localtime(now):%Y-%m-%d %H:%M}: {r['warned']} warned, {r['breached']} breached, {r['escalated']} escalated")
