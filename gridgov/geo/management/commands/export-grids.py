import json

from django.core.management.base import BaseCommand, CommandError

from gridgov.geo import services


class Command(BaseCommand):
    help = "Write grids as a GeoJSON FeatureCollection (code, name, level, parent_code, area_m2)."

    def add_arguments(self, parser):
        parser.add_argument("--level", help="only this level (name or number)")
        parser.add_argument("--out", help="output file (default: standard output)")

    def handle(self, *args, level=None, out=None, **options):
        try:
            data = services.export_grids(level=level)
        except ValueError as e:
            raise CommandError(str(e))
        text = json.dumps(data, ensure_ascii=False)
        if out:
            with open(out, "w", encoding="utf-8") as fh:
                fh.write(text)
            self.stderr.write(f"wrote {len(data['features'])} grid(s) to {out}")
        else:
            self.stdout.write(text)
