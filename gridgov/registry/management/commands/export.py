"""gridgov export KIND --user USERNAME --out FILE.xlsx [--grid CODE]

The rows USERNAME may see; ID numbers and phones masked unless the user may see personal data
(then decrypted, and the export is audited as such). The same export job as the staff pages'
(registry.exporters), run in this process; progress on stderr."""

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from gridgov.accounts.models import User
from gridgov.geo.models import GridNode
from gridgov.registry.exporters import export_xlsx
from gridgov.registry.importers import SPECS


class Command(BaseCommand):
    help = "Export base data visible to a user to .xlsx"

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(SPECS))
        parser.add_argument("--user", required=True, help="username whose scope and role apply")
        parser.add_argument("--out", required=True)
        parser.add_argument("--grid", default="", help="only the rows under this grid (a code the user sees)")

    def handle(self, kind, user, out, grid, **opts):
        try:
            u = User.objects.get(username=user)
        except User.DoesNotExist:
            raise CommandError(f"no user {user!r}") from None
        shown = {"last": None}

        def progress(done, total):
            step = (done * 10 // total if total else 10, done == total)
            if step != shown["last"]:  # about ten lines, whatever the size
                shown["last"] = step
                self.stderr.write(f"导出 {done}/{total}")

        try:
            stats = export_xlsx(kind, u, out, grid=grid, on_progress=progress)
        except PermissionDenied as exc:
            raise CommandError(f"user {user!r} may not export {kind}: {exc}") from None
        except GridNode.DoesNotExist:
            raise CommandError(f"no grid {grid!r} visible to {user!r}") from None
        except RuntimeError as exc:  # the job failed (logged with its cause)
            raise CommandError(str(exc)) from None
        shown = "decrypted" if stats["revealed"] else "masked"
        self.stdout.write(f"{stats['count']} rows written to {out} (personal data {shown})")
