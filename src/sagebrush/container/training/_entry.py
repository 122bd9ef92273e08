"""How the toolkit classifies a script-mode entry point and turns it into a command."""

from __future__ import annotations

import enum
import shlex
from pathlib import Path


class EntryPointType(enum.Enum):
    PYTHON_PACKAGE = "PYTHON_PACKAGE"
    PYTHON_PROGRAM = "PYTHON_PROGRAM"
    COMMAND = "COMMAND"


def classify(code_dir: Path, name: str) -> EntryPointType:
    """The toolkit's order matters: ``.sh`` wins over a ``setup.py`` sitting beside it."""
    if name.endswith(".sh"):
        return EntryPointType.COMMAND
    if (code_dir / "setup.py").exists():
        return EntryPointType.PYTHON_PACKAGE
    if name.endswith(".py"):
        return EntryPointType.PYTHON_PROGRAM
    return EntryPointType.COMMAND


def entry_command(kind: EntryPointType, name: str, args: list[str], python: str) -> list[str]:
    if kind is EntryPointType.PYTHON_PACKAGE:
        return [python, "-m", name.removesuffix(".py"), *args]
    if kind is EntryPointType.PYTHON_PROGRAM:
        # "--" as in sagemaker-training 5.x (COMPAT.md §3.1): a name can never become an option.
        return [python, "--", name, *args]
    # The toolkit runs commands through the shell from the code directory.
    return ["/bin/sh", "-c", " ".join([f"./{name}", *(shlex.quote(a) for a in args)])]
