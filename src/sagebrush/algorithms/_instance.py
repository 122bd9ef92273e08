"""What every built-in algorithm reads from its instance: hyperparameters and channels."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

# Re-exported: algorithms raise it for bad input.
from sagebrush.algorithms.errors import ClientError

__all__ = ["ClientError", "Instance"]


@dataclass(frozen=True)
class Instance:
    """The ``/opt/ml`` tree of one training instance (``root``)."""

    root: Path

    @cached_property
    def hyperparameters(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self._config("hyperparameters.json").items()}

    @cached_property
    def channels(self) -> dict[str, dict[str, Any]]:
        return dict(self._config("inputdataconfig.json"))

    @cached_property
    def resources(self) -> dict[str, Any]:
        return dict(self._config("resourceconfig.json"))

    @property
    def current_host(self) -> str:
        return str(self.resources.get("current_host", "algo-1"))

    @property
    def hosts(self) -> list[str]:
        return list(self.resources.get("hosts", [self.current_host]))

    def _config(self, name: str) -> dict[str, Any]:
        path = self.root / "input" / "config" / name
        data = json.loads(path.read_text()) if path.exists() else {}
        return data if isinstance(data, dict) else {}

    def check_channels(self, algorithm: str, allowed: tuple[str, ...]) -> None:
        """``train`` is required; channels outside ``allowed`` are refused."""
        unknown = sorted(set(self.channels) - set(allowed))
        if unknown:
            raise ClientError(
                f"Channel(s) {', '.join(unknown)} not supported by {algorithm}: use 'train' "
                f"and optionally {', '.join(repr(c) for c in allowed if c != 'train')}"
            )
        if "train" not in self.channels:
            raise ClientError(f"Channel 'train' is required for {algorithm} training")

    def input_mode(self, name: str) -> str:
        return str(self.channels.get(name, {}).get("TrainingInputMode", "File"))

    def channel_files(self, name: str) -> list[Path]:
        folder = self.root / "input" / "data" / name
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))

    def channel_sources(self, name: str, epoch: int = 0) -> list[Path | bytes]:
        """A File/FastFile channel's files, or all of a Pipe channel's epoch ``epoch``."""
        if self.input_mode(name) != "Pipe":
            return list(self.channel_files(name))
        fifo = self.root / "input" / "data" / f"{name}_{epoch}"
        with fifo.open("rb") as pipe:
            data = pipe.read()
        return [data] if data else []

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def output_data_dir(self) -> Path:
        return self.root / "output" / "data"

    def fail(self, message: str) -> None:
        failure = self.root / "output" / "failure"
        failure.parent.mkdir(parents=True, exist_ok=True)
        failure.write_text(message)
