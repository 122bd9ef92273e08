"""System dependencies the suite needs beyond its Python packages.

Locally a test whose system dependency is missing is skipped, with the command that
installs it. In CI (``CI=true``) ``.ci/run`` installs every one of them first, so a missing
one is a broken CI set-up and fails the test instead of hiding it behind a skip.
"""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require(available: bool, what: str, how: str) -> None:
    """Skip (locally) or fail (in CI) unless ``available``; ``how`` says how to get it."""
    if available:
        return
    message = f"{what} is not available here ({how})"
    if in_ci():
        pytest.fail(f"{message}; .ci/run must provide it", pytrace=False)
    pytest.skip(message)
