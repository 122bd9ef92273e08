"""A stored training job as DescribeTrainingJob and ListTrainingJobs show it."""

from __future__ import annotations

from typing import Any

from sagebrush.jobs.training.status import SecondaryStatus as S
from sagebrush.state.resources import Event, Resource

_DEFAULT_MAX_RUNTIME = 86_400


def describe(job: Resource, events: list[Event]) -> dict[str, Any]:
    spec, facts = job.spec, job.facts
    algorithm = dict(spec["AlgorithmSpecification"])
    algorithm.setdefault("EnableSageMakerMetricsTimeSeries", False)
    output = {"KmsKeyId": "", "CompressionType": "GZIP", **spec["OutputDataConfig"]}
    resources = {"VolumeSizeInGB": 30, **spec["ResourceConfig"]}
    stopping = {
        "MaxRuntimeInSeconds": _DEFAULT_MAX_RUNTIME,
        **(spec.get("StoppingCondition") or {}),
    }
    view: dict[str, Any] = {
        "TrainingJobName": job.name,
        "TrainingJobArn": job.arn,
        **({"TuningJobArn": spec["TuningJobArn"]} if spec.get("TuningJobArn") else {}),
        "ModelArtifacts": {
            "S3ModelArtifacts": facts.get("model_artifacts") or _model_uri(spec, job.name)
        },
        "TrainingJobStatus": job.status,
        "SecondaryStatus": job.secondary_status,
        "HyperParameters": spec.get("HyperParameters") or {},
        "AlgorithmSpecification": algorithm,
        "RoleArn": spec["RoleArn"],
        "InputDataConfig": spec.get("InputDataConfig") or [],
        "OutputDataConfig": output,
        "ResourceConfig": resources,
        "StoppingCondition": stopping,
        "CreationTime": job.created,
        "LastModifiedTime": job.modified,
        "SecondaryStatusTransitions": transitions(events),
        "FinalMetricDataList": [
            {"MetricName": name, "Value": v["Value"], "Timestamp": v["Timestamp"]}
            for name, v in sorted((facts.get("final_metrics") or {}).items())
        ],
        "EnableNetworkIsolation": bool(spec.get("EnableNetworkIsolation", False)),
        "EnableInterContainerTrafficEncryption": bool(
            spec.get("EnableInterContainerTrafficEncryption", False)
        ),
        "EnableManagedSpotTraining": bool(spec.get("EnableManagedSpotTraining", False)),
    }
    if job.facts.get("failure_reason"):
        view["FailureReason"] = job.facts["failure_reason"]
    start = facts.get("training_start")
    end = facts.get("training_end") if job.ended is not None else None
    if start is not None:
        view["TrainingStartTime"] = start
    if end is not None:
        view["TrainingEndTime"] = end
        if start is not None:
            seconds = max(1, round(end - start))
            view["TrainingTimeInSeconds"] = seconds
            view["BillableTimeInSeconds"] = seconds
    for member in (
        "VpcConfig",
        "CheckpointConfig",
        "DebugHookConfig",
        "ExperimentConfig",
        "DebugRuleConfigurations",
        "TensorBoardOutputConfig",
        "ProfilerConfig",
        "ProfilerRuleConfigurations",
        "Environment",
        "RetryStrategy",
        "RemoteDebugConfig",
        "InfraCheckConfig",
    ):
        if spec.get(member):
            view[member] = spec[member]
    return view


def summary(job: Resource) -> dict[str, Any]:
    view: dict[str, Any] = {
        "TrainingJobName": job.name,
        "TrainingJobArn": job.arn,
        "CreationTime": job.created,
        "LastModifiedTime": job.modified,
        "TrainingJobStatus": job.status,
        "SecondaryStatus": job.secondary_status,
    }
    if job.ended is not None:
        view["TrainingEndTime"] = job.facts.get("training_end") or job.ended
    return view


def transitions(events: list[Event]) -> list[dict[str, Any]]:
    """SecondaryStatusTransitions: one entry per secondary status entered, in order."""
    entries: list[dict[str, Any]] = []
    for event in events:
        if entries and entries[-1]["Status"] == event.secondary_status:
            entries[-1]["StatusMessage"] = event.message
            continue
        if entries:
            entries[-1]["EndTime"] = event.time
        entries.append(
            {
                "Status": event.secondary_status,
                "StartTime": event.time,
                "StatusMessage": event.message,
            }
        )
    if entries and entries[-1]["Status"] in _FINAL:
        entries[-1]["EndTime"] = entries[-1]["StartTime"]
    return entries


_FINAL = {
    s.value
    for s in (S.COMPLETED, S.FAILED, S.STOPPED, S.MAX_RUNTIME_EXCEEDED, S.MAX_WAIT_TIME_EXCEEDED)
}


def _model_uri(spec: dict[str, Any] | Any, name: str) -> str:
    path = str(spec["OutputDataConfig"]["S3OutputPath"]).rstrip("/")
    return f"{path}/{name}/output/model.tar.gz"
