"""Where the hotline's shared data lives: `../shared/data/` relative to the project root, found at
run time (GRIDGOV_SHARED_DATA overrides; in a git worktree the nearest ancestor holding
shared/data is used)."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


def shared_data_dir() -> Path:
    env = os.environ.get("GRIDGOV_SHARED_DATA")
    if env:
        return Path(env)
    for parent in PROJECT_ROOT.parents:
        candidate = parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return PROJECT_ROOT.parent / "shared" / "data"  # the documented place, for the error message


def default_taxonomy_path() -> Path:
    return shared_data_dir() / "hotline" / "taxonomy.xlsx"
