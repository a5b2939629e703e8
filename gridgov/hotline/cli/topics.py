"""Propose the month's topics (每月一题): near-duplicate clusters, hot spots and recurring problems.

Recurring problems (the same place and category month after month) are candidates for a
proactive project (主动治理); create one through the API (POST /api/hotline/projects)."""

import json

from django.core.management.base import CommandError

from gridgov.hotline import clusters, rates


def add_arguments(parser):
    parser.add_argument("--month", required=True, help="YYYY-MM")
    parser.add_argument("--limit", type=int, default=10, help="how many of each (default 10)")
    parser.add_argument("--json", action="store_true", help="print as JSON")


def handle(options, stdout, stderr):
    try:
        rates.check_month(options["month"])
    except ValueError as e:
        raise CommandError(str(e))
    data = clusters.month_topics(options["month"], limit=options["limit"])
    if options.get("json"):
        stdout.write(json.dumps(data, ensure_ascii=False, indent=1))
        return
    stdout.write(f"{data['month']}: topics (near-duplicate tickets)")
    for i, c in enumerate(data["topics"], start=1):
        places = ", ".join(f"{p['name']} {p['tickets']}" for p in c["places"][:3])
        stdout.write(f"{i:>3}. {c['category']} — {c['tickets']} tickets ({places})")
        for ex in c["examples"]:
            stdout.write(f"       「{ex[:70]}」")
    stdout.write("hot spots (place × category):")
    for h in data["hot_spots"]:
        stdout.write(f"     {h['name']} · {h['category']}: {h['tickets']}")
    stdout.write("recurring problems (proposed proactive projects):")
    for r in data["recurring"]:
        trail = " ".join(str(m["tickets"]) for m in r["by_month"])
        stdout.write(f"     {r['name']} · {r['category']}: {r['tickets']} tickets in {r['months_with_tickets']} months [{trail}]")
