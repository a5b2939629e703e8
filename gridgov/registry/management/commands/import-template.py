"""gridgov import-template KIND --out FILE.xlsx: the spreadsheet to fill in for one kind."""

from django.core.management.base import BaseCommand, CommandError

from gridgov.registry.importers import SPECS, write_template


class Command(BaseCommand):
    help = "Write the import template (.xlsx) of a kind of base data"

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(SPECS))
        parser.add_argument("--out", required=True, help="the .xlsx to write")

    def handle(self, kind, out, **opts):
        if not out.lower().endswith(".xlsx"):
            raise CommandError("--out must name an .xlsx file")
        write_template(kind, out)
        self.stdout.write(f"{SPECS[kind].label} template written to {out}")
