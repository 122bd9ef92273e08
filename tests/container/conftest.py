"""A plan factory: one training instance rooted in a temporary directory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from sagebrush.container.training import ChannelPlan, InstancePlan

MakePlan = Callable[..., InstancePlan]


@pytest.fixture
def make_plan(tmp_path: Path) -> MakePlan:
    def make(**changes: Any) -> InstancePlan:
        plan = InstancePlan(
            job_name="job-1",
            job_arn="arn:aws:sagemaker:us-east-1:123456789012:training-job/job-1",
            region="us-east-1",
            host="algo-1",
            hosts=("algo-1",),
            instance_type="ml.m5.xlarge",
            root=tmp_path / "job-1" / "algo-1",
            hyperparameters={},
            channels=(ChannelPlan("train", content_type="text/csv"),),
            environment={},
            num_cpus=2,
            num_gpus=0,
            memory_mib=4096,
            runtime="script",
            image_dir=None,
            framework="sklearn",
            venv_cache=tmp_path / "venvs",
        )
        return replace(plan, **changes)

    return make
