"""gridgov check-coverage [--date YYYY-MM-DD] [--json]

Grids (the configured grid level) without a grid leader or a grid worker in force on the day
(default today), or without a party organization set on them (支部建在网格上). Exit 1 when any
grid lacks one of them, with the list; 0 when every grid is covered."""

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from gridgov.registry.coverage import GAPS, coverage, has_gaps

TITLES = {"without_leader": "无网格长的网格", "without_worker": "无网格员的网格", "without_party_org": "无党组织的网格"}


def _date(text):
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--date: expected YYYY-MM-DD, got {text!r}") from None


class Command(BaseCommand):
    help = "Report grids with no grid leader, no grid worker or no party organization on a day; exit 1 when any"

    def add_arguments(self, parser):
        parser.add_argument("--date", dest="day", help="the day (YYYY-MM-DD; default today)")
        parser.add_argument("--json", action="store_true", dest="as_json")
        parser.add_argument("--strict", action="store_true", help="(kept for old scripts: gaps always exit 1)")

    def handle(self, day=None, as_json=False, strict=False, **opts):
        rep = coverage(_date(day) if day else None)
        if as_json:
            self.stdout.write(json.dumps(rep, ensure_ascii=False, indent=2))
        else:
            self.stdout.write(
                f"{rep['date']} 网格 {rep['grids']} 个；无网格长 {len(rep['without_leader'])} 个；"
                f"无网格员 {len(rep['without_worker'])} 个；无党组织 {len(rep['without_party_org'])} 个"
            )
            for key in GAPS:
                if rep[key]:
                    self.stdout.write(f"\n{TITLES[key]}:")
                    self.stdout.write(f"  {'编码':<20} 名称")
                    for g in rep[key]:
                        self.stdout.write(f"  {g['code']:<20} {g['name']}")
        if has_gaps(rep):
            raise CommandError("coverage incomplete", returncode=1)
