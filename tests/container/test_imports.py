"""The container package runs inside job processes: standard library only."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import sagebrush.container

PACKAGE = Path(sagebrush.container.__file__).parent


def test_container_imports_only_the_standard_library() -> None:
    offenders = []
    for module in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                allowed = top in sys.stdlib_module_names or top == "__future__"
                if not (allowed or name.startswith("sagebrush.container")):
                    offenders.append(f"{module.relative_to(PACKAGE)}: {name}")
    assert offenders == []
