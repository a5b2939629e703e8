from django.core.management.base import BaseCommand, CommandError

from gridgov.geo import services


class Command(BaseCommand):
    help = "Import grid polygons of one level from a GeoJSON file (all or nothing; existing codes are updated)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="GeoJSON FeatureCollection of Polygon/MultiPolygon features")
        parser.add_argument("--level", required=True, help="level name (street, community, grid, microgrid…) or number")
        parser.add_argument("--name-field", required=True, help="property holding the grid name")
        parser.add_argument("--code-field", help="property holding the grid code (default: generate codes)")
        parser.add_argument("--parent", help="code of the parent of every feature (default: by containment)")
        parser.add_argument("--crs", default="wgs84", choices=["wgs84", "gcj02", "bd09"],
                            help="coordinate system of the file (default wgs84, as GeoJSON requires)")

    def handle(self, *args, **o):
        def progress(done, total):
            if total >= 50 and (done % max(1, total // 20) == 0 or done == total):
                self.stderr.write(f"  {done}/{total} grids saved")

        try:
            data = services.read_geojson(o["file"])
            result = services.import_grids(
                data, o["level"], o["name_field"], code_field=o["code_field"], parent_code=o["parent"],
                crs=o["crs"], progress=progress,
            )
        except FileNotFoundError:
            raise CommandError(f"{o['file']}: no such file")
        except ValueError as e:
            raise CommandError(str(e))
        for w in result.warnings:
            self.stderr.write(f"warning: {w}")
        self.stdout.write(f"imported {len(result.created)} new and updated {len(result.updated)} existing grid(s)")
