"""gridgov export KIND --user USERNAME --out FILE.xlsx

The rows USERNAME may see; ID numbers and phones masked unless the user may see personal data
(then decrypted, and the export is audited as such)."""

from django.core.management.base import BaseCommand, CommandError

from gridgov.accounts.models import User
from gridgov.registry.exporters import export_xlsx
from gridgov.registry.importers import SPECS


class Command(BaseCommand):
    help = "Export base data visible to a user to .xlsx"

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(SPECS))
        parser.add_argument("--user", required=True, help="username whose scope and role apply")
        parser.add_argument("--out", required=True)

    def handle(self, kind, user, out, **opts):
        try:
            u = User.objects.get(username=user)
        except User.DoesNotExist:
            raise CommandError(f"no user {user!r}") from None
        stats = export_xlsx(kind, u, out)
        shown = "decrypted" if stats["revealed"] else "masked"
        self.stdout.write(f"{stats['count']} rows written to {out} (personal data {shown})")
