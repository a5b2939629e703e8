"""gridgov check-coverage [--json] [--strict]

Grid-level nodes without a party organization set on them (支部建在网格上) and grids without a
grid leader. A report: exit 0 unless --strict and something is missing."""

import json

from django.core.management.base import BaseCommand, CommandError

from gridgov.registry.coverage import coverage


class Command(BaseCommand):
    help = "Report grids with no party organization and grids with no grid leader"

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", dest="as_json")
        parser.add_argument("--strict", action="store_true", help="exit 1 when anything is missing")

    def handle(self, as_json=False, strict=False, **opts):
        rep = coverage()
        if as_json:
            self.stdout.write(json.dumps(rep, ensure_ascii=False, indent=2))
        else:
            self.stdout.write(f"网格 {rep['grids']} 个；无党组织 {len(rep['without_party_org'])} 个；无网格长 {len(rep['without_leader'])} 个")
            for title, key in (("无党组织的网格", "without_party_org"), ("无网格长的网格", "without_leader")):
                if rep[key]:
                    self.stdout.write(f"\n{title}:")
                    self.stdout.write(f"  {'编码':<20} 名称")
                    for g in rep[key]:
                        self.stdout.write(f"  {g['code']:<20} {g['name']}")
        if strict and (rep["without_party_org"] or rep["without_leader"]):
            raise CommandError("coverage incomplete", returncode=1)

