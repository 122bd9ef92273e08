"""Hyperparameter tuning jobs: Create, Describe, List, Stop and Delete, and the training
jobs of one tuning job (ListTrainingJobsForHyperParameterTuningJob)."""

from __future__ import annotations

import contextlib
from typing import Any

from sagebrush.aws.errors import AwsError
from sagebrush.jobs.lifecycle import IllegalTransition, transition
from sagebrush.jobs.tuning.children import children_of
from sagebrush.jobs.tuning.controller import TuningController
from sagebrush.jobs.tuning.status import KIND, LIFECYCLE, TERMINAL, TuningJobStatus
from sagebrush.services.base import RequestContext
from sagebrush.services.sagemaker._common import (
    Listing,
    SageMakerBase,
    arn,
    decode_token,
    encode_token,
    in_use,
    validation,
)
from sagebrush.services.sagemaker._tuning_check import check_create
from sagebrush.services.sagemaker._tuning_view import describe, objective_of, summary, summary_of
from sagebrush.state.resources import Resource


class TuningOperations(SageMakerBase):
    @property
    def tuning(self) -> TuningController:
        controller = self.runtime.tuning
        assert controller is not None, "the app factory builds the tuning controller"
        return controller

    def _tuning_job(self, ctx: RequestContext, name: str) -> Resource:
        job = self.resources.find(KIND, ctx.account_id, ctx.region, name)
        if job is None:
            raise AwsError(
                "ResourceNotFound", f"Amazon SageMaker can't find a tuning job with name {name}"
            )
        return job

    def create_hyper_parameter_tuning_job(
        self, ctx: RequestContext, **members: Any
    ) -> dict[str, Any]:
        request = self.request_of(ctx, members)
        check_create(ctx, request, self.runtime.settings, self.resources)
        name = request["HyperParameterTuningJobName"]
        job_arn = arn(ctx, "hyper-parameter-tuning-job", name)
        self.record_new(
            ctx,
            kind=KIND,
            name=name,
            arn=job_arn,
            spec=request,
            status=TuningJobStatus.IN_PROGRESS,
            secondary_status=TuningJobStatus.IN_PROGRESS,
            tags=request.get("Tags"),
            exists=lambda taken: in_use(
                f"Hyperparameter tuning job names must be unique within an AWS account and "
                f"region, and a tuning job with this name already exists ({taken})"
            ),
            facts={"children": []},
        )
        self.tuning.wake()
        return {"HyperParameterTuningJobArn": job_arn}

    def describe_hyper_parameter_tuning_job(
        self, ctx: RequestContext, hyper_parameter_tuning_job_name: str
    ) -> dict[str, Any]:
        return describe(self.resources, self._tuning_job(ctx, hyper_parameter_tuning_job_name))

    def list_hyper_parameter_tuning_jobs(
        self, ctx: RequestContext, **members: Any
    ) -> dict[str, Any]:
        items, token = Listing.of(members).page(self.resources, ctx, KIND)
        result: dict[str, Any] = {
            "HyperParameterTuningJobSummaries": [summary(self.resources, j) for j in items]
        }
        if token is not None:
            result["NextToken"] = token
        return result

    def list_training_jobs_for_hyper_parameter_tuning_job(
        self,
        ctx: RequestContext,
        hyper_parameter_tuning_job_name: str,
        *,
        next_token: str | None = None,
        max_results: int | None = None,
        status_equals: str | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
    ) -> dict[str, Any]:
        job = self._tuning_job(ctx, hyper_parameter_tuning_job_name)
        objective = objective_of(job)
        rows = [
            summary_of(job, child, record, objective)
            for child, record in children_of(self.resources, job)
        ]
        if status_equals:
            rows = [r for r in rows if r["TrainingJobStatus"] == status_equals]
        sort_by = sort_by or "Name"
        if sort_by == "FinalObjectiveMetricValue":
            rows = [r for r in rows if "FinalHyperParameterTuningJobObjectiveMetric" in r]
        key = {
            "Name": lambda r: r["TrainingJobName"],
            "CreationTime": lambda r: r["CreationTime"],
            "Status": lambda r: r["TrainingJobStatus"],
            "FinalObjectiveMetricValue": (
                lambda r: r["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
            ),
        }[sort_by]
        rows.sort(key=key, reverse=(sort_order or "Ascending") == "Descending")
        query = {"job": job.name, "status": status_equals, "sort": sort_by, "order": sort_order}
        offset = decode_token(next_token, query)
        limit = max_results or 10
        result: dict[str, Any] = {"TrainingJobSummaries": rows[offset : offset + limit]}
        if offset + limit < len(rows):
            result["NextToken"] = encode_token(offset + limit, query)
        return result

    def stop_hyper_parameter_tuning_job(
        self, ctx: RequestContext, hyper_parameter_tuning_job_name: str
    ) -> dict[str, Any]:
        job = self._tuning_job(ctx, hyper_parameter_tuning_job_name)
        if job.status == TuningJobStatus.STOPPING:
            return {}
        if job.status in TERMINAL:
            raise validation(
                f"The request was rejected because the tuning job is in status {job.status}."
            )
        with contextlib.suppress(IllegalTransition):  # it may have ended meanwhile
            transition(
                self.resources,
                LIFECYCLE,
                job,
                TuningJobStatus.STOPPING,
                "Stopping the tuning job",
                now=self.runtime.clock(),
                stop_requested=True,
            )
        self.tuning.wake()
        return {}

    def delete_hyper_parameter_tuning_job(
        self, ctx: RequestContext, hyper_parameter_tuning_job_name: str
    ) -> dict[str, Any]:
        job = self._tuning_job(ctx, hyper_parameter_tuning_job_name)
        if job.status not in TERMINAL:
            raise validation(
                f"The tuning job {job.name} is {job.status}; only a job that has ended "
                "(Completed, Failed or Stopped) can be deleted. Stop it first."
            )
        self.resources.delete(job.id)
        return {}
