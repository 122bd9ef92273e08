"""CreateTrainingJob's rules beyond what the service model checks, with SageMaker's errors."""

from __future__ import annotations

from typing import Any

from sagebrush.algorithms import IMPLEMENTED
from sagebrush.aws.errors import AwsError
from sagebrush.config import Settings
from sagebrush.container.images import resolve_training_image
from sagebrush.services.base import RequestContext
from sagebrush.services.sagemaker._common import limit_exceeded, validation

MAX_RUNTIME_LIMIT = 28 * 86_400


def check_create(ctx: RequestContext, request: dict[str, Any], settings: Settings) -> None:
    _check_algorithm(request, settings)
    _check_channels(request)
    _check_stopping(request)
    _check_quota(request, settings)


def _check_algorithm(request: dict[str, Any], settings: Settings) -> None:
    algorithm = request["AlgorithmSpecification"]
    image, name = algorithm.get("TrainingImage"), algorithm.get("AlgorithmName")
    if bool(image) == bool(name):
        raise validation(
            "Exactly one of AlgorithmSpecification.TrainingImage and "
            "AlgorithmSpecification.AlgorithmName must be given."
        )
    runtime = resolve_training_image(
        algorithm,
        settings.images_dir,
        hyperparameters=request.get("HyperParameters") or {},
        environment=request.get("Environment") or {},
    )
    if runtime.kind == "builtin" and runtime.framework not in IMPLEMENTED:
        raise validation(
            f"Built-in algorithm image {image or name} ({runtime.framework}) cannot be run "
            f"by this Sagebrush version: built-in algorithms available: "
            f"{', '.join(sorted(IMPLEMENTED))}."
        )
    if runtime.kind == "unknown" and name:
        raise validation(
            f"Algorithm {name} does not exist. AlgorithmName takes a built-in algorithm "
            f"Sagebrush runs: {', '.join(sorted(IMPLEMENTED))}."
        )
    if runtime.kind == "unknown":
        raise validation(
            f"Image {image or name} does not exist or is not a training image Sagebrush can "
            "run. Use a SageMaker framework image (scikit-learn, PyTorch, TensorFlow, "
            "XGBoost, Hugging Face) for script mode, or register a local image: a directory "
            f"{settings.images_dir}/<repository>/ holding an executable 'train'."
        )


def _check_channels(request: dict[str, Any]) -> None:
    channels = request.get("InputDataConfig") or []
    names = [c["ChannelName"] for c in channels]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise validation(
            f"Channel names must be unique: {', '.join(duplicates)} appears more "
            "than once in InputDataConfig."
        )
    job_mode = request["AlgorithmSpecification"].get("TrainingInputMode", "File")
    for channel in channels:
        source = channel["DataSource"].get("S3DataSource")
        if source is None:
            raise validation(
                f"Channel {channel['ChannelName']}: only S3DataSource channels are supported "
                "(FileSystemDataSource and DatasetSource are not)."
            )
        if not str(source["S3Uri"]).startswith("s3://"):
            raise validation(
                f"Channel {channel['ChannelName']}: S3Uri {source['S3Uri']} is not an s3:// URI."
            )
        mode = channel.get("InputMode") or job_mode
        if mode == "FastFile" and source["S3DataType"] != "S3Prefix":
            raise validation(
                f"Channel {channel['ChannelName']}: FastFile input mode "
                "requires S3DataType S3Prefix."
            )
        if source["S3DataType"] == "Converse":
            raise validation(
                f"Channel {channel['ChannelName']}: S3DataType Converse is not supported."
            )


def _check_stopping(request: dict[str, Any]) -> None:
    stopping = request.get("StoppingCondition") or {}
    runtime = stopping.get("MaxRuntimeInSeconds", 86_400)
    if runtime > MAX_RUNTIME_LIMIT:
        raise validation(
            f"Invalid MaxRuntimeInSeconds: {runtime}. It must be less than or "
            f"equal to {MAX_RUNTIME_LIMIT}."
        )
    wait = stopping.get("MaxWaitTimeInSeconds")
    if request.get("EnableManagedSpotTraining"):
        if wait is None:
            raise validation(
                "Invalid MaxWaitTimeInSeconds. It is required for managed spot training."
            )
        if wait < runtime:
            raise validation(
                "Invalid MaxWaitTimeInSeconds. It must be present and be greater "
                "than or equal to MaxRuntimeInSeconds"
            )
    elif wait is not None:
        raise validation(
            "Invalid MaxWaitTimeInSeconds. It is only valid for managed spot "
            "training (EnableManagedSpotTraining)."
        )


def _check_quota(request: dict[str, Any], settings: Settings) -> None:
    resources = request["ResourceConfig"]
    if resources.get("InstanceGroups"):
        raise validation(
            "ResourceConfig.InstanceGroups (heterogeneous clusters) is not "
            "supported; give InstanceType and InstanceCount."
        )
    if not resources.get("InstanceType"):
        raise validation("ResourceConfig.InstanceType is required.")
    count = int(resources.get("InstanceCount") or 0)
    if count < 1:
        raise validation("ResourceConfig.InstanceCount must be at least 1.")
    quota = settings.instance_quota
    if count > quota:
        raise _quota_error(resources["InstanceType"], quota, count)


def _quota_error(instance_type: str, quota: int, count: int) -> AwsError:
    return limit_exceeded(
        f"The account-level service limit '{instance_type} for training job usage' is "
        f"{quota} Instances, with current utilization of 0 Instances and a request delta of "
        f"{count} Instances. Raise Sagebrush's instance quota (sagebrush serve "
        "--instance-quota, or SAGEBRUSH_INSTANCE_QUOTA) to run this job."
    )
