"""What the endpoint controller and its helpers share, and where endpoints live on disk."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sagebrush.jobs.context import PlatformContext
from sagebrush.state.resources import Resource


@dataclass(frozen=True)
class EndpointContext(PlatformContext):
    @property
    def root(self) -> Path:
        return self.settings.home / "endpoints"

    def endpoint_dir(self, record: Resource) -> Path:
        return self.root / record.account_id / record.region / record.name
