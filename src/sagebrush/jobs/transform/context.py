"""What the transform controller and its runs share, and where jobs' instances live."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sagebrush.jobs.context import PlatformContext
from sagebrush.state.resources import Resource


@dataclass(frozen=True)
class TransformContext(PlatformContext):
    def job_dir(self, job: Resource) -> Path:
        return self.settings.home / "transform" / job.account_id / job.region / job.name
