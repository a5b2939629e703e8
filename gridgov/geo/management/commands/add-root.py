from django.core.management.base import BaseCommand, CommandError

from gridgov.geo import services


class Command(BaseCommand):
    help = ("Put a district or a city above the streets of this install (one transaction): every grid moves one level "
            "down, every stored grid path follows, the street's leaders keep their street. Then add more streets under it.")

    def add_arguments(self, parser):
        parser.add_argument("--code", required=True, help="the county's 6-digit administrative division code, e.g. 110106")
        parser.add_argument("--name", required=True, help="the district's or city's name, e.g. 丰台区")
        parser.add_argument("--kind", default="district", choices=["district", "city"])

    def handle(self, *args, code, name, kind, **options):
        try:
            root = services.add_root(code=code, name=name, kind=kind)
        except services.RootError as e:
            raise CommandError(str(e)) from None
        streets = root.children.count()
        self.stdout.write(f"ok: {root.name} ({root.code}) is the root; {streets} street(s) under it")
