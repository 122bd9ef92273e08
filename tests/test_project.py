"""Project-level checks: lint, types, layer contracts, and docs that track the code."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)


def _tool(name: str) -> str:
    found = BIN / name
    if found.exists():
        return str(found)
    which = shutil.which(name)
    if which is None:
        pytest.fail(f"{name} is not installed (it is in the [test] extra)")
    return which


def test_ruff_is_clean() -> None:
    proc = _run(_tool("ruff"), "check", "src", "tests", "benchmarks", "examples")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_layer_contracts_hold() -> None:
    proc = _run(_tool("lint-imports"))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict_is_clean() -> None:
    proc = _run(_tool("mypy"))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_compatibility_table_matches_the_providers() -> None:
    from sagebrush.services.compatibility import render

    assert (ROOT / "docs" / "compatibility.md").read_text() == render(), (
        "regenerate: python -m sagebrush.services.compatibility > docs/compatibility.md"
    )
