"""What the endpoint controller and its helpers share: stores, launcher, settings, clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sagebrush.compute import Launcher
from sagebrush.config import Settings
from sagebrush.state.logs import LogStore
from sagebrush.state.metrics import MetricStore
from sagebrush.state.resources import Resource, ResourceStore
from sagebrush.storage import ObjectStore


@dataclass(frozen=True)
class EndpointContext:
    settings: Settings
    store: ResourceStore
    objects: ObjectStore
    logs: LogStore
    metrics: MetricStore
    launcher: Launcher
    clock: Callable[[], float]
    endpoint_url: str

    @property
    def root(self) -> Path:
        return self.settings.home / "endpoints"

    def endpoint_dir(self, record: Resource) -> Path:
        return self.root / record.account_id / record.region / record.name
