"""A resident's rights under PIPL: `gridgov pipl export RESIDENT_ID --out FILE.json` (everything
held about them, decrypted, audited) and `gridgov pipl erase RESIDENT_ID [--anonymise]`."""

import json

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Export or erase one resident's personal data (PIPL requests)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="sub", required=True)
        ex = sub.add_parser("export")
        ex.add_argument("resident_id", type=int)
        ex.add_argument("--out", required=True)
        er = sub.add_parser("erase")
        er.add_argument("resident_id", type=int)
        er.add_argument("--anonymise", action="store_true", help="keep the record for statistics, remove what identifies")

    def handle(self, *args, **opts):
        from gridgov.privacy import services as privacy
        from gridgov.registry.models import Resident

        if not Resident.objects.filter(pk=opts["resident_id"]).exists():
            raise CommandError(f"no resident {opts['resident_id']}")
        if opts["sub"] == "export":
            data = privacy.resident_export(opts["resident_id"])
            with open(opts["out"], "w", encoding="utf-8") as fh:
                json.dump(data, fh, ensure_ascii=False, indent=2, default=str)
            self.stdout.write(f"wrote {opts['out']}")
        else:
            result = privacy.resident_erase(opts["resident_id"], anonymise=opts["anonymise"])
            self.stdout.write(json.dumps(result, ensure_ascii=False))
