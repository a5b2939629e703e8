"""Sub-commands of `gridgov hotline`. Each lives in its own module of this package and defines
`help` (one line), `add_arguments(parser)` and `handle(options, out, err)`; register it here."""

import importlib

# name -> module under gridgov.hotline.cli; add new sub-commands (import, rates, topics) here
SUBCOMMANDS = {
    "train": "gridgov.hotline.cli.train",
    "classify": "gridgov.hotline.cli.classify",
}


def load(name):
    return importlib.import_module(SUBCOMMANDS[name])
