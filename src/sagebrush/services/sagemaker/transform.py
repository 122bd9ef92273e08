"""CreateTransformJob, DescribeTransformJob, ListTransformJobs and StopTransformJob.

The job records the model as it was at create time (as endpoints do); the transform
controller runs it.
"""

from __future__ import annotations

from typing import Any

from sagebrush.jobs.lifecycle import IllegalTransition, transition
from sagebrush.jobs.transform import processing as dp
from sagebrush.jobs.transform.capture import BatchCapture, CaptureError
from sagebrush.jobs.transform.controller import TransformController
from sagebrush.jobs.transform.status import KIND, LIFECYCLE, TERMINAL
from sagebrush.jobs.transform.status import TransformJobStatus as T
from sagebrush.services.base import RequestContext
from sagebrush.services.sagemaker._common import (
    Listing,
    SageMakerBase,
    arn,
    in_use,
    validation,
)
from sagebrush.state.resources import Resource

MAX_PAYLOAD_MB = 100
_SUPPORTED_DATA_TYPES = ("S3Prefix", "ManifestFile")


class TransformOperations(SageMakerBase):
    @property
    def transform(self) -> TransformController:
        controller = self.runtime.transform
        assert controller is not None, "the app factory builds the transform controller"
        return controller

    def create_transform_job(self, ctx: RequestContext, **members: Any) -> dict[str, Any]:
        request = self.request_of(ctx, members)
        name = request["TransformJobName"]
        model = self.resources.find("model", ctx.account_id, ctx.region, request["ModelName"])
        if model is None:
            raise validation(f'Could not find model "{arn(ctx, "model", request["ModelName"])}".')
        _check(request)
        spec = {**request, "Model": dict(model.spec)}
        job_arn = arn(ctx, "transform-job", name)
        self.record_new(
            ctx,
            kind=KIND,
            name=name,
            arn=job_arn,
            spec=spec,
            status=T.IN_PROGRESS,
            secondary_status=T.IN_PROGRESS,
            tags=request.get("Tags"),
            exists=lambda taken: in_use(
                "Job name must be unique within an AWS account and region, and a job with "
                f"this name already exists ({taken})"
            ),
        )
        self.transform.wake()
        return {"TransformJobArn": job_arn}

    def describe_transform_job(
        self, ctx: RequestContext, transform_job_name: str
    ) -> dict[str, Any]:
        return transform_job_view(self._job(ctx, transform_job_name))

    def list_transform_jobs(self, ctx: RequestContext, **members: Any) -> dict[str, Any]:
        items, token = Listing.of(members).page(self.resources, ctx, KIND)
        result: dict[str, Any] = {"TransformJobSummaries": [_summary(item) for item in items]}
        if token is not None:
            result["NextToken"] = token
        return result

    def stop_transform_job(self, ctx: RequestContext, transform_job_name: str) -> dict[str, Any]:
        for _ in range(5):
            job = self._job(ctx, transform_job_name)
            if job.status == T.STOPPING:
                return {}
            if job.status in TERMINAL:
                raise validation(
                    f"The request was rejected because the transform job is in status {job.status}."
                )
            try:
                moved = transition(
                    self.resources,
                    LIFECYCLE,
                    job,
                    T.STOPPING,
                    "",
                    now=self.runtime.clock(),
                    stop_requested=True,
                )
            except IllegalTransition:
                moved = None
            if moved is not None:
                self.transform.wake()
                return {}
        raise validation(f"Transform job {transform_job_name} changed while being stopped.")

    def _job(self, ctx: RequestContext, name: str) -> Resource:
        job = self.resources.find(KIND, ctx.account_id, ctx.region, name)
        if job is None:
            raise validation(f"Could not find requested job with name {name}")
        return job


def _check(request: dict[str, Any]) -> None:
    payload = request.get("MaxPayloadInMB")
    concurrent = request.get("MaxConcurrentTransforms")
    if payload is not None and payload > MAX_PAYLOAD_MB:
        raise validation(f"MaxPayloadInMB {payload} exceeds the maximum of {MAX_PAYLOAD_MB} MB.")
    if payload and concurrent and payload * concurrent > MAX_PAYLOAD_MB:
        raise validation(
            f"The product of MaxConcurrentTransforms ({concurrent}) and MaxPayloadInMB "
            f"({payload}) must not exceed {MAX_PAYLOAD_MB} MB."
        )
    source = request["TransformInput"]["DataSource"]["S3DataSource"]
    if source["S3DataType"] not in _SUPPORTED_DATA_TYPES:
        raise validation(
            f"S3DataType {source['S3DataType']} is not supported for transform jobs; use "
            "S3Prefix or ManifestFile."
        )
    for uri in (source["S3Uri"], request["TransformOutput"]["S3OutputPath"]):
        if not uri.startswith("s3://") or len(uri) <= len("s3://"):
            raise validation(f"{uri} is not a valid S3 URI (expected s3://bucket/prefix).")
    transform_input, output = request["TransformInput"], request["TransformOutput"]
    if request.get("DataCaptureConfig"):
        try:
            BatchCapture.from_request(
                request["DataCaptureConfig"],
                output.get("Accept"),
                transform_input.get("ContentType"),
            )
        except CaptureError as exc:
            raise validation(str(exc)) from None
    try:
        dp.Processing.of_job(request)
    except dp.ProcessingError as exc:
        raise validation(str(exc)) from None


def transform_job_view(job: Resource) -> dict[str, Any]:
    spec = job.spec
    view: dict[str, Any] = {
        "TransformJobName": job.name,
        "TransformJobArn": job.arn,
        "TransformJobStatus": job.status,
        "ModelName": spec["ModelName"],
        "TransformInput": {
            "CompressionType": "None",
            "SplitType": "None",
            **spec["TransformInput"],
        },
        "TransformOutput": {"AssembleWith": "None", **spec["TransformOutput"]},
        "TransformResources": spec["TransformResources"],
        "CreationTime": job.created,
    }
    for field in (
        "MaxConcurrentTransforms",
        "MaxPayloadInMB",
        "BatchStrategy",
        "ModelClientConfig",
        "Environment",
        "DataProcessing",
        "DataCaptureConfig",
        "ExperimentConfig",
    ):
        if spec.get(field) is not None:
            view[field] = spec[field]
    if job.facts.get("failure_reason"):
        view["FailureReason"] = job.facts["failure_reason"]
    if job.facts.get("started"):
        view["TransformStartTime"] = job.created
    if job.ended is not None:
        view["TransformEndTime"] = job.ended
    return view


def _summary(job: Resource) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "TransformJobName": job.name,
        "TransformJobArn": job.arn,
        "CreationTime": job.created,
        "LastModifiedTime": job.modified,
        "TransformJobStatus": job.status,
    }
    if job.ended is not None:
        summary["TransformEndTime"] = job.ended
    if job.facts.get("failure_reason"):
        summary["FailureReason"] = job.facts["failure_reason"]
    return summary
