"""What every controller of the jobs layer shares: stores, launcher, settings, clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from sagebrush.compute import Launcher
from sagebrush.config import Settings
from sagebrush.state.logs import LogStore
from sagebrush.state.metrics import MetricStore
from sagebrush.state.resources import ResourceStore
from sagebrush.storage import ObjectStore

C = TypeVar("C", bound="PlatformContext")


@dataclass(frozen=True)
class PlatformContext:
    settings: Settings
    store: ResourceStore
    objects: ObjectStore
    logs: LogStore
    metrics: MetricStore
    launcher: Launcher
    clock: Callable[[], float]
    # Where code inside an instance reaches this server (AWS_ENDPOINT_URL there).
    endpoint_url: str

    def derive(self, cls: type[C]) -> C:
        """The same context as one controller's own kind (which adds its paths)."""
        values: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        return cls(**values)
