"""Import the city's 12345 ticket export (.xlsx or .csv); re-importing updates, never duplicates.

Canonical columns: ticket_id, received_at, content, category, address, community, lat, lon,
contacted, solved, satisfaction (and valid, category_l1..l3); the usual Chinese headers are
recognised (docs/hotline.md). All or nothing: any bad value rejects the file, listing each."""

from django.core.management.base import CommandError

from gridgov.hotline import services


def add_arguments(parser):
    parser.add_argument("file", help=".xlsx or .csv (UTF-8, UTF-8 with BOM, or GBK)")
    parser.add_argument(
        "--mapping",
        default="",
        help="explicit headers for columns the aliases miss: col=header,... e.g. ticket_id=单号,content=描述",
    )


def handle(options, stdout, stderr):
    def progress(done, total, stage):
        stderr.write(f"{stage}: {done}/{total}")

    try:
        mapping = services.parse_mapping(options.get("mapping"))
        result = services.import_file(options["file"], mapping=mapping, progress=progress)
    except FileNotFoundError:
        raise CommandError(f"{options['file']}: no such file")
    except services.TicketImportError as e:
        raise CommandError(str(e))
    stdout.write(result.summary())
