import json

from django.core.management.base import BaseCommand, CommandError

from gridgov.geo.tiling import DEFAULT_TOLERANCE_M2, check_tiling, format_table


class Command(BaseCommand):
    help = "Prove that the children of every grid tile it: report gaps, overlaps and children outside their parent."

    def add_arguments(self, parser):
        parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE_M2, metavar="M2",
                            help=f"ignore problems of at most this area in m² (default {DEFAULT_TOLERANCE_M2})")
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def handle(self, *args, tolerance, json: bool = False, **options):
        if tolerance < 0:
            raise CommandError("--tolerance must be >= 0")
        problems = check_tiling(tolerance)
        if json:
            self.stdout.write(_json_dumps({"ok": not problems, "tolerance_m2": tolerance,
                                           "problems": [p.as_dict() for p in problems]}))
        elif problems:
            self.stdout.write(format_table(problems))
        else:
            self.stdout.write(f"ok: every grid is tiled by its children (tolerance {tolerance:g} m²)")
        if problems:
            raise CommandError(f"{len(problems)} tiling problem(s) above {tolerance:g} m²", returncode=1)


def _json_dumps(data):
    return json.dumps(data, ensure_ascii=False, indent=2)
