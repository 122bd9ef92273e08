"""CreateTrainingJob, DescribeTrainingJob, ListTrainingJobs and StopTrainingJob."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sagebrush.jobs.lifecycle import IllegalTransition, transition
from sagebrush.jobs.training import status as training_status
from sagebrush.jobs.training.controller import TrainingController
from sagebrush.jobs.training.status import KIND, LIFECYCLE
from sagebrush.jobs.training.status import SecondaryStatus as S
from sagebrush.services.base import RequestContext
from sagebrush.services.sagemaker._common import (
    Listing,
    SageMakerBase,
    arn,
    in_use,
    not_found,
    tag_map,
    validation,
)
from sagebrush.services.sagemaker._training_check import check_create
from sagebrush.services.sagemaker._training_view import describe, summary
from sagebrush.state.resources import ResourceExists


class TrainingOperations(SageMakerBase):
    @property
    def training(self) -> TrainingController:
        controller = self.runtime.training
        assert controller is not None, "the app factory builds the training controller"
        return controller

    def create_training_job(self, ctx: RequestContext, **members: Any) -> dict[str, Any]:
        request = self.request_of(ctx, members)
        check_create(ctx, request, self.runtime.settings)
        name = request["TrainingJobName"]
        job_arn = arn(ctx, "training-job", name)
        spec = json.loads(json.dumps(request, default=str))
        try:
            self.resources.create(
                kind=KIND,
                account_id=ctx.account_id,
                region=ctx.region,
                name=name,
                arn=job_arn,
                spec=spec,
                status=training_status.TrainingJobStatus.IN_PROGRESS,
                secondary_status=S.STARTING,
                message="Launching requested ML instances",
                now=self.runtime.clock(),
                tags=tag_map(request.get("Tags")),
            )
        except ResourceExists as exc:
            raise in_use(
                "Training job names must be unique within an AWS account and region, and a "
                f"training job with this name already exists ({exc.arn})"
            ) from None
        self.training.wake()
        return {"TrainingJobArn": job_arn}

    def describe_training_job(self, ctx: RequestContext, training_job_name: str) -> dict[str, Any]:
        job = self.resources.find(KIND, ctx.account_id, ctx.region, training_job_name)
        if job is None:
            raise not_found()
        return describe(job, self.resources.events(job.id))

    def list_training_jobs(
        self,
        ctx: RequestContext,
        *,
        creation_time_after: datetime | None = None,
        creation_time_before: datetime | None = None,
        last_modified_time_after: datetime | None = None,
        last_modified_time_before: datetime | None = None,
        name_contains: str | None = None,
        status_equals: str | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        next_token: str | None = None,
        max_results: int | None = None,
    ) -> dict[str, Any]:
        items, token = Listing(
            next_token,
            max_results,
            name_contains,
            creation_time_after,
            creation_time_before,
            last_modified_time_after,
            last_modified_time_before,
            status_equals,
            sort_by,
            sort_order,
        ).page(self.resources, ctx, KIND)
        result: dict[str, Any] = {"TrainingJobSummaries": [summary(item) for item in items]}
        if token is not None:
            result["NextToken"] = token
        return result

    def stop_training_job(self, ctx: RequestContext, training_job_name: str) -> dict[str, Any]:
        for _ in range(5):
            job = self.resources.find(KIND, ctx.account_id, ctx.region, training_job_name)
            if job is None:
                raise not_found()
            if job.secondary_status == S.STOPPING:
                return {}
            if LIFECYCLE.is_final(job.secondary_status):
                raise validation(
                    f"The request was rejected because the training job is in status {job.status}."
                )
            try:
                moved = transition(
                    self.resources,
                    LIFECYCLE,
                    job,
                    S.STOPPING,
                    "Stopping the training job",
                    now=self.runtime.clock(),
                    stop_requested=True,
                )
            except IllegalTransition:
                moved = None
            if moved is not None:
                self.training.wake()
                return {}
        raise validation(
            f"Training job {training_job_name} changed while being stopped; try again."
        )
