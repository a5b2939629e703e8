"""Sub-commands of `gridgov hotline`. Each lives in its own module of this package and defines
`help` (one line; else the docstring's first line), `add_arguments(parser)` and `handle(options, out, err)`; register it here."""

import importlib

# name -> module under gridgov.hotline.cli; add new sub-commands (import, rates, topics) here
SUBCOMMANDS = {
    "import": "gridgov.hotline.cli.import_tickets",
    "rates": "gridgov.hotline.cli.rates",
    "topics": "gridgov.hotline.cli.topics",
    "train": "gridgov.hotline.cli.train",
    "classify": "gridgov.hotline.cli.classify",
}


def load(name):
    return importlib.import_module(SUBCOMMANDS[name])


def help_of(module) -> str:
    """A sub-command's one-line help: its `help`, else its docstring's first line."""
    return getattr(module, "help", None) or ((module.__doc__ or "").strip().splitlines() or [""])[0]
