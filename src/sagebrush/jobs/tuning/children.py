"""A tuning job's children: their names, their CreateTrainingJob requests, their results.

Children are named as SageMaker names them, ``<tuning job>-<NNN>-<8 hex>`` (NNN counts from
001), carry the tuning job's tags, and get the definition's static hyperparameters, the
tuned ones and ``_tuning_objective_metric`` (the built-in algorithms read it).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sagebrush.jobs.training import status as training
from sagebrush.jobs.training.status import TrainingJobStatus
from sagebrush.jobs.tuning.space import Definition, Objective
from sagebrush.state.resources import Resource, ResourceStore

# Members of a training job definition that a child's CreateTrainingJob takes as they are.
_COPIED = (
    "RoleArn",
    "InputDataConfig",
    "OutputDataConfig",
    "StoppingCondition",
    "VpcConfig",
    "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption",
    "EnableManagedSpotTraining",
    "CheckpointConfig",
    "RetryStrategy",
    "Environment",
)
_RESOURCE_MEMBERS = ("InstanceType", "InstanceCount", "VolumeSizeInGB", "VolumeKmsKeyId")


@dataclass(frozen=True)
class Child:
    """A child as the tuning job records it (its facts' ``children``, in creation order)."""

    name: str
    definition: str | None
    tuned: Mapping[str, str]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "definition": self.definition, "tuned": dict(self.tuned)}

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> Child:
        return cls(entry["name"], entry.get("definition"), dict(entry.get("tuned") or {}))


def child_name(tuning_job: str, number: int) -> str:
    return f"{tuning_job}-{number:03d}-{secrets.token_hex(4)}"


def training_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account_id}:training-job/{name.lower()}"


def child_request(
    name: str,
    definition: Definition,
    tuned: Mapping[str, str],
    tags: list[dict[str, str]],
) -> dict[str, Any]:
    """The CreateTrainingJob request of one child."""
    spec = definition.spec
    algorithm = {
        k: v
        for k, v in spec["AlgorithmSpecification"].items()
        if k in ("TrainingImage", "AlgorithmName", "TrainingInputMode", "MetricDefinitions")
    }
    resources = spec.get("ResourceConfig") or spec.get("HyperParameterTuningResourceConfig") or {}
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "AlgorithmSpecification": algorithm,
        "ResourceConfig": {k: resources[k] for k in _RESOURCE_MEMBERS if k in resources},
        "HyperParameters": {
            **definition.static,
            **tuned,
            "_tuning_objective_metric": definition.objective.metric,
        },
    }
    request["ResourceConfig"].setdefault("InstanceCount", 1)
    request["ResourceConfig"].setdefault("VolumeSizeInGB", 30)
    for member in _COPIED:
        if spec.get(member) is not None:
            request[member] = spec[member]
    request.setdefault("StoppingCondition", {"MaxRuntimeInSeconds": 86_400})
    if tags:
        request["Tags"] = tags
    return request


def objective_value(child: Resource, objective: Objective) -> float | None:
    """The latest value of the objective the child's log reported, if any."""
    final = (child.facts.get("final_metrics") or {}).get(objective.metric)
    return float(final["Value"]) if final else None


def succeeded(child: Resource) -> bool:
    return child.status == TrainingJobStatus.COMPLETED


def children_of(store: ResourceStore, job: Resource) -> list[tuple[Child, Resource | None]]:
    """The tuning job's children in creation order, each with its training job (None for
    one recorded but not created yet)."""
    out = []
    for entry in job.facts.get("children") or []:
        child = Child.from_json(entry)
        out.append((child, store.find(training.KIND, job.account_id, job.region, child.name)))
    return out
