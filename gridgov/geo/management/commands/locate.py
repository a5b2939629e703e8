from django.core.management.base import BaseCommand, CommandError

from gridgov.geo.csvlocate import LocateError, locate_csv


class Command(BaseCommand):
    help = "Add grid_code and grid_name (the finest grid containing each point) to a CSV file."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file, UTF-8 (with or without BOM) or GBK")
        parser.add_argument("--lat-col", required=True, help="column of latitudes")
        parser.add_argument("--lon-col", required=True, help="column of longitudes")
        parser.add_argument("--out", required=True, help="output CSV (UTF-8 with BOM)")
        parser.add_argument("--crs", default="wgs84", choices=["wgs84", "gcj02", "bd09"],
                            help="coordinate system of the points (WeChat/AMap: gcj02, Baidu: bd09)")
        parser.add_argument("--skip-bad", action="store_true",
                            help="write rows with bad coordinates with empty grid columns instead of failing")

    def handle(self, *args, **o):
        try:
            r = locate_csv(o["file"], o["out"], o["lat_col"], o["lon_col"], crs=o["crs"], skip_bad=o["skip_bad"])
        except FileNotFoundError:
            raise CommandError(f"{o['file']}: no such file")
        except LocateError as e:
            raise CommandError(str(e))
        for msg in r.bad:
            self.stderr.write(f"skipped: {msg}")
        self.stdout.write(
            f"{r.rows} row(s) ({r.encoding}): {r.located} in a grid, {r.outside} outside every grid, "
            f"{r.rows - r.located - r.outside} with bad coordinates; wrote {o['out']}"
        )
