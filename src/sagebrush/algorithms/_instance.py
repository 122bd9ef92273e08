"""What every built-in algorithm reads from its instance: hyperparameters and channels."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ClientError(Exception):
    """A problem with the job's input: reported as ``ClientError: ...`` in FailureReason."""


@dataclass(frozen=True)
class Instance:
    root: Path

    @property
    def hyperparameters(self) -> dict[str, str]:
        data: dict[str, str] = json.loads(
            (self.root / "input" / "config" / "hyperparameters.json").read_text()
        )
        return data

    @property
    def channels(self) -> dict[str, dict[str, Any]]:
        data: dict[str, dict[str, Any]] = json.loads(
            (self.root / "input" / "config" / "inputdataconfig.json").read_text()
        )
        return data

    def channel_files(self, name: str) -> list[Path]:
        folder = self.root / "input" / "data" / name
        return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    def fail(self, message: str) -> None:
        failure = self.root / "output" / "failure"
        failure.parent.mkdir(parents=True, exist_ok=True)
        failure.write_text(message)
