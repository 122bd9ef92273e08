"""A stored tuning job as DescribeHyperParameterTuningJob, ListHyperParameterTuningJobs
and ListTrainingJobsForHyperParameterTuningJob show it (counters and the best child are
read from the children each time)."""

from __future__ import annotations

import copy
from typing import Any

from sagebrush.container.images import resolve_training_image
from sagebrush.jobs.training import status as training
from sagebrush.jobs.training.builtin import builtin_metrics
from sagebrush.jobs.tuning.children import Child, children_of, objective_value, succeeded
from sagebrush.jobs.tuning.progress import Progress, progress_of
from sagebrush.jobs.tuning.space import Objective, definitions_of
from sagebrush.jobs.tuning.status import KIND
from sagebrush.state.resources import Resource, ResourceStore


def objective_of(job: Resource) -> Objective:
    return definitions_of(job.spec)[0].objective


def describe(store: ResourceStore, job: Resource) -> dict[str, Any]:
    spec = job.spec
    children = children_of(store, job)
    state = progress_of(job, children, objective_of(job))
    config = copy.deepcopy(spec["HyperParameterTuningJobConfig"])
    config.setdefault("TrainingJobEarlyStoppingType", "Off")
    view: dict[str, Any] = {
        "HyperParameterTuningJobName": job.name,
        "HyperParameterTuningJobArn": job.arn,
        "HyperParameterTuningJobConfig": config,
        "HyperParameterTuningJobStatus": job.status,
        "CreationTime": job.created,
        "LastModifiedTime": job.modified,
        "TrainingJobStatusCounters": state.status_counters,
        "ObjectiveStatusCounters": state.objective_counters,
    }
    if spec.get("TrainingJobDefinition"):
        view["TrainingJobDefinition"] = _definition(spec["TrainingJobDefinition"], config)
    else:
        view["TrainingJobDefinitions"] = [
            _definition(d, config) for d in spec["TrainingJobDefinitions"]
        ]
    if job.ended is not None:
        view["HyperParameterTuningEndTime"] = job.ended
    if state.best is not None:
        child, record, _ = state.best
        view["BestTrainingJob"] = summary_of(job, child, record, state.objective)
    if spec.get("WarmStartConfig"):
        view["WarmStartConfig"] = spec["WarmStartConfig"]
        overall = _overall_best(store, job, state)
        if overall is not None:
            view["OverallBestTrainingJob"] = overall
    if job.facts.get("failure_reason"):
        view["FailureReason"] = job.facts["failure_reason"]
    details: dict[str, Any] = {}
    if "not_improving" in job.facts:
        details["NumberOfTrainingJobsObjectiveNotImproving"] = job.facts["not_improving"]
    if job.facts.get("converged_at") is not None:
        details["ConvergenceDetectedTime"] = job.facts["converged_at"]
    if details:
        view["TuningJobCompletionDetails"] = details
    end = job.ended if job.ended is not None else job.modified
    view["ConsumedResources"] = {"RuntimeInSeconds": max(0, round(end - job.created))}
    return view


def _definition(definition: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """As the SDK's attach() reads it: ``_tuning_objective_metric`` among the static
    hyperparameters, and ResourceConfig whichever of the two resource members was sent."""
    out = copy.deepcopy(definition)
    objective = out.get("TuningObjective") or config.get("HyperParameterTuningJobObjective") or {}
    static = dict(out.get("StaticHyperParameters") or {})
    static.setdefault("_tuning_objective_metric", objective.get("MetricName", ""))
    out["StaticHyperParameters"] = static
    resources = out.get("ResourceConfig") or out.get("HyperParameterTuningResourceConfig")
    if resources and "ResourceConfig" not in out:
        out["ResourceConfig"] = {
            k: v
            for k, v in resources.items()
            if k in ("InstanceType", "InstanceCount", "VolumeSizeInGB", "VolumeKmsKeyId")
        }
    # As SageMaker shows it: a built-in algorithm's own metrics when none were given
    # (the SDK's attach() reads the member).
    algorithm = out["AlgorithmSpecification"]
    if "MetricDefinitions" not in algorithm:
        image = resolve_training_image(
            algorithm, None, hyperparameters=static, environment=out.get("Environment") or {}
        )
        algorithm["MetricDefinitions"] = builtin_metrics(image)
    output = out.get("OutputDataConfig")
    if output is not None:
        out["OutputDataConfig"] = {"KmsKeyId": "", **output}
    return out


def summary_of(
    job: Resource, child: Child, record: Resource | None, objective: Objective
) -> dict[str, Any]:
    """A child as HyperParameterTrainingJobSummary."""
    view: dict[str, Any] = {
        "TrainingJobName": child.name,
        "TrainingJobArn": record.arn if record else "",
        "TuningJobName": job.name,
        "CreationTime": record.created if record else job.modified,
        "TrainingJobStatus": record.status if record else "InProgress",
        "TunedHyperParameters": dict(child.tuned),
    }
    if child.definition:
        view["TrainingJobDefinitionName"] = child.definition
    if record is None:
        view["ObjectiveStatus"] = "Pending"
        return view
    facts = record.facts
    if facts.get("training_start") is not None:
        view["TrainingStartTime"] = facts["training_start"]
    if record.ended is not None and facts.get("training_end") is not None:
        view["TrainingEndTime"] = facts["training_end"]
    if facts.get("failure_reason"):
        view["FailureReason"] = facts["failure_reason"]
    value = objective_value(record, objective)
    if value is not None:
        view["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": objective.type,
            "MetricName": objective.metric,
            "Value": value,
        }
    if record.status not in training.TERMINAL:
        view["ObjectiveStatus"] = "Pending"
    elif value is not None and record.status != training.TrainingJobStatus.FAILED:
        view["ObjectiveStatus"] = "Succeeded"
    else:
        view["ObjectiveStatus"] = "Failed"
    return view


def _overall_best(store: ResourceStore, job: Resource, state: Progress) -> dict[str, Any] | None:
    """The best completed child of this job and its warm-start parents."""
    best: tuple[Resource, Child, Resource, float] | None = None
    if state.best is not None:
        best = (job, *state.best)
    objective = state.objective
    for ref in job.spec["WarmStartConfig"].get("ParentHyperParameterTuningJobs") or []:
        parent = store.find(KIND, job.account_id, job.region, ref["HyperParameterTuningJobName"])
        if parent is None:
            continue
        for child, record in children_of(store, parent):
            if record is None or not succeeded(record):
                continue
            value = objective_value(record, objective)
            if value is not None and (best is None or objective.better(value, best[3])):
                best = (parent, child, record, value)
    if best is None:
        return None
    owner, child, record, _ = best
    return summary_of(owner, child, record, objective)


def summary(store: ResourceStore, job: Resource) -> dict[str, Any]:
    """A tuning job as HyperParameterTuningJobSummary."""
    state = progress_of(job, children_of(store, job), objective_of(job))
    config = job.spec["HyperParameterTuningJobConfig"]
    view: dict[str, Any] = {
        "HyperParameterTuningJobName": job.name,
        "HyperParameterTuningJobArn": job.arn,
        "HyperParameterTuningJobStatus": job.status,
        "Strategy": config["Strategy"],
        "CreationTime": job.created,
        "LastModifiedTime": job.modified,
        "TrainingJobStatusCounters": state.status_counters,
        "ObjectiveStatusCounters": state.objective_counters,
        "ResourceLimits": config["ResourceLimits"],
    }
    if job.ended is not None:
        view["HyperParameterTuningEndTime"] = job.ended
    return view
