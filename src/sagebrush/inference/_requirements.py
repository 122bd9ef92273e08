"""A code directory's ``requirements.txt``, installed as the serving containers install it.

The containers run ``pip install -r requirements.txt`` before importing the script. Here the
model server shares the platform's interpreter, so pip runs only when something listed is
not already satisfied: a satisfied file costs no pip run (and no network), and an
unsatisfied one that pip cannot install fails the load naming what is missing.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

PIP_TIMEOUT_SECONDS = 900


class RequirementsError(Exception):
    """The code directory's requirements cannot be met; the message names them."""


def unmet_requirements(path: Path) -> list[str]:
    """The lines of ``path`` (and of the files it includes with ``-r``) not satisfied now.

    A line this check cannot judge (an editable install, a URL, a local path) counts as
    unmet, so that pip decides. Option lines (``--index-url``) need nothing installed.
    """
    unmet: list[str] = []
    for line in _lines(path):
        included = _included(line)
        if included is not None:
            unmet += unmet_requirements(path.parent / included)
        elif line.startswith(("-e", "--editable")):
            unmet.append(line)
        elif line.startswith("-"):
            continue
        elif not _satisfied(line):
            unmet.append(line)
    return unmet


def ensure_requirements(path: Path, environment: Mapping[str, str]) -> None:
    """Install ``path`` with pip unless everything in it is already satisfied."""
    unmet = unmet_requirements(path)
    if not unmet:
        return
    command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check"]
    command += ["--no-input", "-r", str(path)]
    try:
        proc = subprocess.run(
            command,
            cwd=path.parent,
            env={**os.environ, **environment},
            capture_output=True,
            text=True,
            timeout=PIP_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RequirementsError(
            f"requirements.txt needs {', '.join(unmet)}: pip did not finish installing "
            f"within {PIP_TIMEOUT_SECONDS} s"
        ) from None
    if proc.returncode != 0:
        errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("ERROR")]
        reason = (errors or proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RequirementsError(
            f"requirements.txt needs {', '.join(unmet)}, which pip could not install: {reason}"
        )
    importlib.invalidate_caches()


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RequirementsError(f"cannot read {path.name}: {exc.strerror}") from None
    lines = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def _included(line: str) -> str | None:
    """The file an ``-r FILE`` / ``--requirement=FILE`` line includes."""
    for option in ("--requirement", "-r"):
        if line.startswith(option):
            return line[len(option) :].lstrip(" =")
    return None


def _satisfied(line: str) -> bool:
    try:
        requirement = Requirement(line)
    except InvalidRequirement:
        return False
    if requirement.url:
        return False
    if requirement.marker is not None and not requirement.marker.evaluate():
        return True
    try:
        version = importlib.metadata.version(requirement.name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return requirement.specifier.contains(version, prereleases=True)
