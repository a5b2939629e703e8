"""`gridgov property <sub-command>`: the property alliance's tools.

* `scores --quarter YYYY-QN [--json] [--publish [--force]]`: each ranked project of the quarter
  with its inspection score, data score (and its four parts), composite, rank, trend and the
  counts behind each figure (gridgov.property.scores.compute; the formulas are in that module's
  text and docs/property.md). --json prints the list compute gives (figures as numbers);
  --publish also keeps the quarter as the announced ranking (scores.publish by the system;
  --force for a quarter not over yet). A malformed quarter: an error and a non-zero exit.

A sub-command is a pair (add_arguments, handle) in SUBCOMMANDS."""

import json

from django.core.management.base import BaseCommand, CommandError


def _scores_arguments(p):
    p.add_argument("--quarter", required=True, help="YYYY-QN, e.g. 2026-Q3")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.add_argument("--publish", action="store_true", help="also publish the quarter (ScoreSnapshot rows)")
    p.add_argument("--force", action="store_true", help="with --publish: publish a quarter not over yet")


def _fmt(v, signed=False):
    if v is None:
        return "—"
    return f"{v:+.2f}" if signed else f"{v:.2f}"


def _trend(r) -> str:
    if r.get("prev_rank") is None:
        return "new"
    d = r["rank_delta"]
    arrow = "↑" if d > 0 else "↓" if d < 0 else "="
    return f"{arrow}{abs(d) if d else ''} (was {r['prev_rank']}, {_fmt(r['delta'], True)})"


def _scores(options, stdout, stderr):
    from gridgov.property import scores, services

    try:
        quarter = services.quarter_key(options["quarter"])
    except services.PropertyError as exc:
        raise CommandError(str(exc)) from None
    if options.get("publish"):
        try:
            snaps = scores.publish(None, quarter, force=options.get("force", False))
        except services.PropertyError as exc:
            raise CommandError(str(exc)) from None
        stderr.write(f"published {quarter}: {len(snaps)} projects")
    rows = scores.compute(quarter)
    if options.get("json"):
        stdout.write(json.dumps(scores.plain(rows), ensure_ascii=False, indent=1))
        return
    head = ["rank", "project", "inspection", "n", "data", "complaints", "resolution", "satisfaction",
            "rectification", "composite", "trend", "cases", "tickets", "households", "rate", "resolved", "rated",
            "problems", "late", "reopened", "flags"]
    out = [head]
    for r in rows:
        p = r["parts"]
        c, s, f = p["complaints"], p["satisfaction"], p["rectification"]
        out.append([str(r["rank"]), r["name"], _fmt(r["inspection_score"]), str(r["n_inspections"]),
                    _fmt(r["data_score"]), _fmt(c["points"]), _fmt(p["resolution"]["points"]), _fmt(s["points"]),
                    _fmt(f["points"]), _fmt(r["composite"]), _trend(r), str(c["cases"]), str(c["tickets"]),
                    str(c["households"]), _fmt(c["rate"]), str(p["resolution"]["resolved"]),
                    f"{s['rated']} ({s['satisfied']}/{s['basic']}/{s['unsatisfied']})", str(f["problems"]),
                    str(f["late"]), str(f["reopened"]), ",".join(r["flags"])])
    widths = [max(_width(row[i]) for row in out) for i in range(len(head))]
    stdout.write(f"{quarter}: {len(rows)} projects")
    for row in out:
        stdout.write("  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths)).rstrip())


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


#: name -> (add_arguments(parser), handle(options, stdout, stderr), help)
SUBCOMMANDS = {
    "scores": (_scores_arguments, _scores, "the quarter's scores and ranking of the property projects"),
}


class Command(BaseCommand):
    help = "Property alliance tools: " + ", ".join(SUBCOMMANDS)

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", metavar="{" + ",".join(SUBCOMMANDS) + "}")
        for name, (add, _handle, text) in SUBCOMMANDS.items():
            p = sub.add_parser(name, help=text, description=text,
                               called_from_command_line=getattr(parser, "called_from_command_line", None))
            add(p)

    def handle(self, *args, **options):
        name = options.get("subcommand")
        if not name:
            raise CommandError(f"give a sub-command: {', '.join(SUBCOMMANDS)}")
        SUBCOMMANDS[name][1](options, self.stdout, self.stderr)
