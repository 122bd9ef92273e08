"""What the tuning controller uses: the platform's stores and clock (it runs no process)."""

from __future__ import annotations

from dataclasses import dataclass

from sagebrush.jobs.context import PlatformContext


@dataclass(frozen=True)
class TuningContext(PlatformContext):
    pass
