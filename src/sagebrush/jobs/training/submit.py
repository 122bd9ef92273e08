"""Recording a new training job: CreateTrainingJob, and a tuning job creating a child."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sagebrush.jobs.lifecycle import log_created
from sagebrush.jobs.training.status import KIND, TrainingJobStatus
from sagebrush.jobs.training.status import SecondaryStatus as S
from sagebrush.state.resources import Resource, ResourceStore


def submit(
    store: ResourceStore,
    *,
    account_id: str,
    region: str,
    arn: str,
    request: Mapping[str, Any],
    now: float,
    tags: Mapping[str, str],
) -> Resource:
    """Store the job, ``Starting``; the training controller admits it when woken. Raises
    :class:`~sagebrush.state.resources.ResourceExists` for a name already taken."""
    job = store.create(
        kind=KIND,
        account_id=account_id,
        region=region,
        name=str(request["TrainingJobName"]),
        arn=arn,
        spec=json.loads(json.dumps(request, default=str)),
        status=TrainingJobStatus.IN_PROGRESS,
        secondary_status=S.STARTING,
        message="Launching requested ML instances",
        now=now,
        tags=tags,
    )
    log_created(job)
    return job
