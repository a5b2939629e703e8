from django.core.management.base import BaseCommand, CommandError

from gridgov.cases.taxonomy import REQUIRED, TaxonomyImportError, import_taxonomy


class Command(BaseCommand):
    help = (
        "Import must-handle items from a UTF-8 CSV (columns: " + ", ".join(REQUIRED) + "; optional scenario_code, keywords, "
        "urgency, national_kind, national_code, national_name). All or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--replace", action="store_true", help="deactivate items that are not in the file")

    def handle(self, *args, file, replace, **options):
        try:
            r = import_taxonomy(open(file, "rb"), replace=replace)
        except FileNotFoundError:
            raise CommandError(f"{file}: no such file") from None
        except TaxonomyImportError as exc:
            raise CommandError("nothing imported:\n  " + "\n  ".join(exc.errors)) from None
        self.stdout.write(f"items: {r['created']} created, {r['updated']} updated, {r['deactivated']} deactivated")
