"""`gridgov hotline <sub-command>`: the 12345 hotline tools. Sub-commands live in
gridgov.hotline.cli (one module each, registered in gridgov.hotline.cli.SUBCOMMANDS)."""

from django.core.management.base import BaseCommand, CommandError

from gridgov.hotline import cli


class Command(BaseCommand):
    help = "12345 hotline tools: " + ", ".join(cli.SUBCOMMANDS)

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", metavar="{" + ",".join(cli.SUBCOMMANDS) + "}")
        # django's CommandParser needs called_from_command_line etc. passed to sub-parsers
        for name in cli.SUBCOMMANDS:
            module = cli.load(name)
            p = sub.add_parser(name, help=cli.help_of(module), description=cli.help_of(module),
                               called_from_command_line=getattr(parser, "called_from_command_line", None))
            module.add_arguments(p)

    def handle(self, *args, **options):
        name = options.get("subcommand")
        if not name:
            raise CommandError(f"give a sub-command: {', '.join(cli.SUBCOMMANDS)}")
        cli.load(name).handle(options, self.stdout, self.stderr)
