"""`gridgov assess --period 2026-Q3 [--json] [--as-of DATE] [--under PATH] [--publish]`: every
worker on duty in the period with each indicator's numerator, denominator and value, the score,
grade and rank (or the reason for no rank). Half-years (2026-H1), years (2026) and months too."""

import sys
from datetime import datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone


class Command(BaseCommand):
    help = "The grid workers' assessment of a period (gridgov.gridwork.assess), as a table or JSON."

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="2026-Q3, 2026-H1, 2026 or 2026-07")
        parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
        parser.add_argument("--as-of", default="", help="count what had happened by the end of this date (YYYY-MM-DD)")
        parser.add_argument("--under", default="", help="only the duties under this grid path")
        parser.add_argument("--publish", action="store_true",
                            help="publish the period (as the first administrator) and pay the points")

    def handle(self, *args, period, as_of: str, under: str, publish: bool, **opts):
        from gridgov.gridwork import assess, periods

        try:
            p = periods.parse(period)
        except periods.PeriodError as e:
            raise CommandError(str(e)) from None
        moment = None
        if as_of:
            try:
                day = datetime.strptime(as_of, "%Y-%m-%d").date()
            except ValueError:
                raise CommandError(f"--as-of {as_of!r}: expected YYYY-MM-DD") from None
            moment = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
        if publish:
            from gridgov.accounts.models import Role, User

            admin = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first()
            if admin is None:
                raise CommandError("no active administrator to publish as")
            try:
                assess.publish(admin, p)
            except assess.AssessError as e:
                raise CommandError(str(e)) from None
        t0 = timezone.now()
        data = assess.assess(p, as_of=moment, under=under)
        if opts["json"]:
            import json as _json

            self.stdout.write(_json.dumps(data, ensure_ascii=False, indent=1))
            return
        self._table(data)
        secs = (timezone.now() - t0).total_seconds()
        print(f"{len(data['workers'])} workers, {len(data['grids'])} grids, {len(data['communities'])} communities "
              f"in {secs:.1f}s", file=sys.stderr)

    def _table(self, data):
        inds = data["scheme"]["indicators"]
        w = self.stdout.write
        w(f"{data['period']} ({data['first']} – {data['last']}), as of {data['as_of']}; scheme "
          f"{data['scheme']['name']} from {data['scheme']['valid_from']}")
        w("duty\trank\tgrade\tscore\tbase\tworkload\tdays\tworker\t" + "\t".join(
            f"{i['formula']} (num/den=value)" for i in inds))
        for r in data["workers"]:
            cells = []
            for i in inds:
                f = r["indicators"][i["formula"]]
                value = "-" if f["value"] is None else f"{f['value']:.3f}"
                cells.append(f"{f['numerator']:g}/{f['denominator']:g}={value}")
            rank = str(r["rank"]) if r["rank"] else "— " + "；".join(x["text"] for x in r["unranked"])
            w(f"{r['duty']}\t{rank}\t{r['grade']}\t{_n(r['score'])}\t{_n(r['base'])}\t{r['workload']['coefficient']}\t{r['days']}\t"
              f"{r['username']} {r['name']}\t" + "\t".join(cells))


def _n(x):
    return "-" if x is None else f"{x:.2f}"
