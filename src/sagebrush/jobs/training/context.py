"""What the training controller and its runs share: stores, launcher, settings, clock."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sagebrush.jobs.context import PlatformContext
from sagebrush.state.resources import Resource


@dataclass(frozen=True)
class TrainingContext(PlatformContext):
    def job_dir(self, job: Resource) -> Path:
        return self.settings.jobs_dir / job.account_id / job.region / job.name
