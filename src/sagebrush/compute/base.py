"""The launcher interface: start an instance's process, watch it, stop it.

Admission (how many instances may run) is the coordinator's business, not the launcher's.
A :class:`Handle` is plain data, persisted with the job, so a restarted server can find
its instances again (:meth:`Launcher.adopt`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

UNKNOWN_EXIT = -1


@dataclass(frozen=True)
class LaunchSpec:
    name: str  # for messages: "<job>/algo-1"
    argv: Sequence[str]
    env: Mapping[str, str]
    cwd: Path
    log_path: Path  # the instance's stdout and stderr, appended


@dataclass(frozen=True)
class Handle:
    launcher: str
    pid: int
    # Identifies this process among every process that ever had ``pid`` (pids are reused).
    start_ticks: int
    name: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Handle:
        return cls(
            str(data["launcher"]), int(data["pid"]), int(data["start_ticks"]), str(data["name"])
        )


class Launcher(ABC):
    name: str

    @abstractmethod
    def launch(self, spec: LaunchSpec) -> Handle: ...

    @abstractmethod
    def poll(self, handle: Handle) -> int | None:
        """The exit status once the instance's main process has ended, else None.

        For an adopted process (not our child) the status is unknowable here:
        :data:`UNKNOWN_EXIT` is reported, and the caller judges from what the process
        left behind.
        """

    @abstractmethod
    def terminate(self, handle: Handle) -> None:
        """Ask every process of the instance to stop (SIGTERM)."""

    @abstractmethod
    def kill(self, handle: Handle) -> None:
        """Stop every process of the instance now (SIGKILL); idempotent."""

    @abstractmethod
    def adopt(self, handle: Handle) -> bool:
        """Take over an instance launched by an earlier server; False if it is gone."""

    @abstractmethod
    def alive(self, handle: Handle) -> bool:
        """Whether the instance's main process still runs (for ``sagebrush status``): a
        look only, which neither reaps a child nor changes what :meth:`poll` reports."""
