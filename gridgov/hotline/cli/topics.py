"""Propose the month's topics (每月一题): near-duplicate clusters, hot spots and recurring problems,
over the month's 12345 tickets and the cases reported through the other channels (resident,
volunteer, patrol, API; the tickets' own hotline cases are not counted twice).

Recurring problems (the same place and category month after month) are candidates for a
proactive project (主动治理); create one through the API (POST /api/hotline/projects)."""

import json

from django.core.management.base import CommandError

from gridgov.hotline import clusters, rates


def add_arguments(parser):
    parser.add_argument("--month", required=True, help="YYYY-MM")
    parser.add_argument("--limit", type=int, default=10, help="how many of each (default 10)")
    parser.add_argument("--json", action="store_true", help="print as JSON")


def counts(tickets: int, cases: int) -> str:
    """'6 tickets + 1 case', '2 cases', '6 tickets'."""
    parts = []
    if tickets or not cases:
        parts.append(f"{tickets} ticket{'' if tickets == 1 else 's'}")
    if cases:
        parts.append(f"{cases} case{'' if cases == 1 else 's'}")
    return " + ".join(parts)


def handle(options, stdout, stderr):
    try:
        options["month"] = rates.check_month(options["month"])
    except ValueError as e:
        raise CommandError(str(e))
    data = clusters.month_topics(options["month"], limit=options["limit"])
    if options.get("json"):
        stdout.write(json.dumps(data, ensure_ascii=False, indent=1))
        return
    stdout.write(f"{data['month']}: {data['tickets']} tickets, {data['cases']} cases from the other channels")
    stdout.write("topics (near-duplicate tickets and cases):")
    for i, c in enumerate(data["topics"], start=1):
        if c["cases"]:
            places = "; ".join(f"{p['name']}: {counts(p['tickets'], p['cases'])}" for p in c["places"][:3])
        else:
            places = ", ".join(f"{p['name']} {p['tickets']}" for p in c["places"][:3])
        stdout.write(f"{i:>3}. {c['category']} — {counts(c['tickets'], c['cases'])} ({places})")
        for s in c["samples"]:
            tag = f"[case {s['number'] or s['id']}]" if s["kind"] == "case" else ""
            stdout.write(f"       {tag}「{s['text'][:70]}」")
    stdout.write("hot spots (place × category):")
    for h in data["hot_spots"]:
        stdout.write(f"     {h['name']} · {h['category']}: {counts(h['tickets'], h['cases'])}")
    stdout.write("recurring problems (proposed proactive projects):")
    for r in data["recurring"]:
        trail = " ".join(f"{m['tickets']}+{m['cases']}" if r["cases"] else str(m["tickets"]) for m in r["by_month"])
        stdout.write(f"     {r['name']} · {r['category']}: {counts(r['tickets'], r['cases'])} in {r['months']} months [{trail}]")
