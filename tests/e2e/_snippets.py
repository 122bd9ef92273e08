"""The runnable snippets of the project's Markdown: every fenced ``sh`` and ``python`` block.

A snippet runs as written. An HTML comment on the line right above its fence may say how:

    <!-- snippet: server -->          runs in the background for the rest of the document
                                      (``sagebrush serve``); the run waits for its banner
    <!-- snippet: ci -->              the test suite's own command: ``.ci/run`` must run
                                      exactly it (running it here would recurse)
    <!-- snippet: expect=TEXT -->     its output must contain TEXT (may be repeated, ``;``)

Blocks without a language, or with another one (``text``, ``yaml``, ``toml``), are not code
to run: diagrams, synopses, configuration excerpts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

SHELL = frozenset({"sh", "bash", "shell", "console"})
PYTHON = frozenset({"python", "py", "python3"})
_DIRECTIVE = re.compile(r"^<!--\s*snippet:\s*(?P<body>.*?)\s*-->$")
_FENCE = re.compile(r"^```\s*(?P<info>[\w+-]*)")


@dataclass(frozen=True)
class Snippet:
    source: Path
    line: int  # of the opening fence, 1-based
    language: str  # "sh" or "python"
    text: str
    server: bool = False
    ci: bool = False
    expect: tuple[str, ...] = field(default=())

    @property
    def where(self) -> str:
        return f"{self.source.name}:{self.line}"


def snippets(path: Path) -> list[Snippet]:
    """The shell and Python snippets of a Markdown file, in order."""
    lines = path.read_text().splitlines()
    found: list[Snippet] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        info = match.group("info").lower()
        start = i
        i += 1
        body: list[str] = []
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        language = "sh" if info in SHELL else "python" if info in PYTHON else None
        if language is None:
            continue
        options = _directive(lines, start)
        found.append(
            Snippet(
                source=path,
                line=start + 1,
                language=language,
                text="\n".join(body) + "\n",
                server="server" in options,
                ci="ci" in options,
                expect=tuple(v for k, v in options.items() if k.startswith("expect")),
            )
        )
    return found


def _directive(lines: list[str], fence: int) -> dict[str, str]:
    j = fence - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    match = _DIRECTIVE.match(lines[j].strip()) if j >= 0 else None
    if not match:
        return {}
    options: dict[str, str] = {}
    for n, part in enumerate(p.strip() for p in match.group("body").split(";")):
        key, _, value = part.partition("=")
        key = key.strip()
        if key not in {"server", "ci", "expect"}:
            raise ValueError(f"{lines[j]!r}: unknown snippet option {key!r}")
        options[f"expect{n}" if key == "expect" else key] = value.strip()
    return options


def documents(root: Path) -> list[Path]:
    """README.md first, then docs/*.md by name."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]
