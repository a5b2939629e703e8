"""`gridgov apikey create NAME | list | revoke NAME|PREFIX`: Open311 API keys.

The key is printed once, at creation; only its SHA-256 is kept."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from gridgov.open311 import services
from gridgov.open311.models import ApiKey


class Command(BaseCommand):
    help = "Manage Open311 API keys: create NAME (prints the key once), list, revoke NAME|PREFIX."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        c = sub.add_parser("create", help="make a key and print it once")
        c.add_argument("name")
        c.add_argument("--rate", type=int, default=60, help="POSTs a minute (0 = no limit; default 60)")
        c.add_argument("--read-only", action="store_true", help="a key that may not POST requests")
        c.add_argument("--created-by", default="", help="username of the person issuing the key")
        sub.add_parser("list", help="list keys (never the keys themselves)")
        r = sub.add_parser("revoke", help="revoke a key by name or prefix")
        r.add_argument("name_or_prefix")

    def handle(self, *args, action, **opts):
        if action == "create":
            user = None
            if opts["created_by"]:
                from gridgov.accounts.models import User

                user = User.objects.filter(username=opts["created_by"]).first()
                if user is None:
                    raise CommandError(f"--created-by: no user {opts['created_by']!r}")
            if opts["rate"] < 0:
                raise CommandError("--rate: 0 or more")
            try:
                key, raw = services.create_key(opts["name"], created_by=user, rate_per_minute=opts["rate"], can_submit=not opts["read_only"])
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(raw)
            self.stderr.write(f"API key {key.name!r} (prefix {key.prefix}) created; it is shown only now: keep it.")
        elif action == "list":
            self.stdout.write(f"{'name':<24} {'prefix':<10} {'state':<8} {'rate/min':>8}  {'created':<16}  last used")
            for k in ApiKey.objects.select_related("created_by").order_by("id"):
                state = "revoked" if k.revoked else ("read" if not k.can_submit else "active")
                created = f"{timezone.localtime(k.created_at):%Y-%m-%d %H:%M}"
                used = f"{timezone.localtime(k.last_used_at):%Y-%m-%d %H:%M}" if k.last_used_at else "-"
                self.stdout.write(f"{k.name:<24} {k.prefix:<10} {state:<8} {k.rate_per_minute or '∞':>8}  {created:<16}  {used}")
        else:
            try:
                key = services.revoke_key(opts["name_or_prefix"])
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"revoked {key.name} ({key.prefix})")
