"""The apps' layers (docs/architecture.md, "Layers"; the contract is [tool.importlinter] in
pyproject.toml): `lint-imports` keeps it, so `make test` and CI fail on an import that crosses
a layer upwards or joins two sibling apps (web, mobile, insight, privacy; hotline, Open311)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def test_imports_keep_the_layers():
    lint = Path(sys.executable).parent / "lint-imports"
    if not lint.exists():
        pytest.fail(f"{lint} is missing: pip install -e '.[dev]' (import-linter)")
    result = subprocess.run([str(lint), "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout
