"""CreateTrainingJob, DescribeTrainingJob, ListTrainingJobs and StopTrainingJob."""

from __future__ import annotations

from typing import Any

from sagebrush.jobs.training.controller import TrainingController
from sagebrush.jobs.training.status import KIND
from sagebrush.jobs.training.stopping import StopConflict, request_stop
from sagebrush.jobs.training.submit import submit
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
        job_arn = arn(ctx, "training-job", request["TrainingJobName"])
        try:
            submit(
                self.resources,
                account_id=ctx.account_id,
                region=ctx.region,
                arn=job_arn,
                request=request,
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

    def list_training_jobs(self, ctx: RequestContext, **members: Any) -> dict[str, Any]:
        items, token = Listing.of(members).page(self.resources, ctx, KIND)
        result: dict[str, Any] = {"TrainingJobSummaries": [summary(item) for item in items]}
        if token is not None:
            result["NextToken"] = token
        return result

    def stop_training_job(self, ctx: RequestContext, training_job_name: str) -> dict[str, Any]:
        job = self.resources.find(KIND, ctx.account_id, ctx.region, training_job_name)
        if job is None:
            raise not_found()
        try:
            stopping, job = request_stop(
                self.resources, job, self.runtime.clock, "Stopping the training job"
            )
        except StopConflict as exc:
            raise validation(str(exc)) from None
        if not stopping:
            raise validation(
                f"The request was rejected because the training job is in status {job.status}."
            )
        self.training.wake()
        return {}
