"""Show a month's response, resolution, satisfaction and composite rates by community or grid.

Figures, rankings (with the minimum sample), month-on-month and year-on-year changes, rising
categories and the tickets that cost the most points; --json for the whole report, --xlsx to
write the workbook."""

import json

from django.core.management.base import CommandError

from gridgov.hotline import rates


def add_arguments(parser):
    parser.add_argument("--month", required=True, help="YYYY-MM")
    parser.add_argument("--level", type=int, default=1, help="1 = communities (default), 2 = grids")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--xlsx", help="also write the report to this .xlsx file")


def _pct(v):
    return "—" if v is None else f"{v * 100:.2f}"


def _pp(v):
    return "—" if v is None else f"{v * 100:+.2f}"


def handle(options, stdout, stderr):
    try:
        options["month"] = rates.check_month(options["month"])
    except ValueError as e:
        raise CommandError(str(e))
    report = rates.monthly_report(options["month"], None, options["level"])
    if options.get("xlsx"):
        rates.export_xlsx(report, options["xlsx"])
        stderr.write(f"wrote {options['xlsx']}")
    if options.get("json"):
        stdout.write(json.dumps(report, ensure_ascii=False, indent=1, default=str))
        return
    s = report["settings"]
    stdout.write(
        f"{report['month']}  composite = {s['response_weight']:g}×响应 + {s['resolution_weight']:g}×解决 + "
        f"{s['satisfaction_weight']:g}×满意 (基本满意 × {s['basic_weight']:g}); min sample {s['min_sample']}"
    )
    ytd = report["ytd"]
    stdout.write(f"1—{int(report['month'][5:])}月 {ytd['tickets']} tickets, a year earlier {ytd['previous']} "
                 f"({_pp(ytd['change'])} %)")
    stdout.write(f"{'':<4}{'unit':<16}{'tickets':>8}{'valid':>7}{'resp':>8}{'resol':>8}{'satis':>8}{'comp':>8}"
                 f"{'MoM':>8}{'YoY':>8}  note")
    rows = [dict(report["street"], name="全街道", rank=None, note="")] + report["units"]
    for r in rows:
        stdout.write(
            f"{r['rank'] or '':<4}{r['name']:<16}{r['counts']['all']:>8}{r['counts']['valid']:>7}"
            f"{_pct(r['response']):>8}{_pct(r['resolution']):>8}{_pct(r['satisfaction']):>8}{_pct(r['composite']):>8}"
            f"{_pp(r['mom']['composite']):>8}{_pp(r['yoy']['composite']):>8}  {r['note']}"
        )
    if report["rising_categories"]:
        stdout.write("rising categories: " + "; ".join(
            f"{c['category']} {c['tickets']} ({c['mom']:+d} MoM, {c['yoy']:+d} YoY)" for c in report["rising_categories"][:5]))
    if report["dragging"]:
        stdout.write("costliest tickets: " + "; ".join(
            f"{d['ticket_id']} −{d['cost'] * 100:.2f}" for d in report["dragging"][:5]))
