"""What the training controller and its runs share: stores, launcher, settings, clock."""

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
class TrainingContext:
    settings: Settings
    store: ResourceStore
    objects: ObjectStore
    logs: LogStore
    metrics: MetricStore
    launcher: Launcher
    clock: Callable[[], float]
    # Where code inside an instance reaches this server (AWS_ENDPOINT_URL there).
    endpoint_url: str

    def job_dir(self, job: Resource) -> Path:
        return self.settings.jobs_dir / job.account_id / job.region / job.name
