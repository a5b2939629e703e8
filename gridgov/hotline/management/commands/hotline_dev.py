"""TEMPORARY: `gridgov hotline_dev <import|rates|topics> ...` dispatches to gridgov/hotline/cli/<name>.py.

The lead registers these sub-commands in `gridgov hotline` and deletes this file."""

import importlib

from django.core.management.base import BaseCommand

SUBCOMMANDS = {"import": "import_tickets", "rates": "rates", "topics": "topics"}


class Command(BaseCommand):
    help = "Hotline sub-commands under development (import, rates, topics)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        for name, module in SUBCOMMANDS.items():
            try:
                mod = importlib.import_module(f"gridgov.hotline.cli.{module}")
            except ModuleNotFoundError:
                continue
            mod.add_arguments(sub.add_parser(name, help=(mod.__doc__ or "").strip().splitlines()[0]))

    def handle(self, *args, **options):
        mod = importlib.import_module(f"gridgov.hotline.cli.{SUBCOMMANDS[options['subcommand']]}")
        return mod.handle(options, self.stdout, self.stderr)
