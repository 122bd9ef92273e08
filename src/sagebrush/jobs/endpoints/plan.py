"""An endpoint configuration, resolved: what each variant runs, on how many instances.

The API stores, with each endpoint (and each pending update), a snapshot of the endpoint
configuration and of the models it names, taken when CreateEndpoint / UpdateEndpoint
was called: SageMaker lets both be deleted while the endpoint runs on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagebrush.jobs.endpoints.router import DIRECT, MULTI_MODEL, SERIAL, SINGLE
from sagebrush.jobs.endpoints.serving import ContainerPlan
from sagebrush.jobs.training.instances import shape

DEFAULT_STARTUP_TIMEOUT = 600.0
SERVERLESS_INSTANCE = "ml.serverless"


@dataclass(frozen=True)
class VariantPlan:
    name: str
    model_name: str
    instance_type: str
    count: int
    weight: float
    mode: str
    containers: tuple[ContainerPlan, ...]
    shadow: bool
    serverless: Mapping[str, Any] | None
    startup_timeout: float
    cache_budget_bytes: int
    caching: bool

    @property
    def multi_model_prefix(self) -> str:
        url = self.containers[0].model_data_url or ""
        return url if url.endswith("/") else url + "/"


def containers_of(model: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """``(hostname, container)`` in call order: ``primary`` for a single container, else
    each ``ContainerHostname`` or ``container-N`` by position."""
    if model.get("PrimaryContainer"):
        return [("primary", model["PrimaryContainer"])]
    return [
        (str(c.get("ContainerHostname") or f"container-{i}"), c)
        for i, c in enumerate(model.get("Containers") or [], start=1)
    ]


def mode_of(model: Mapping[str, Any]) -> str:
    containers = containers_of(model)
    if len(containers) == 1:
        return MULTI_MODEL if containers[0][1].get("Mode") == "MultiModel" else SINGLE
    execution = (model.get("InferenceExecutionConfig") or {}).get("Mode", "Serial")
    return DIRECT if execution == "Direct" else SERIAL


def variant_plans(
    config: Mapping[str, Any], models: Mapping[str, Mapping[str, Any]], images_dir: Path
) -> list[VariantPlan]:
    plans = [_plan(v, models, images_dir, shadow=False) for v in config["ProductionVariants"]]
    plans += [
        _plan(v, models, images_dir, shadow=True)
        for v in config.get("ShadowProductionVariants") or []
    ]
    return plans


def _plan(
    variant: Mapping[str, Any],
    models: Mapping[str, Mapping[str, Any]],
    images_dir: Path,
    *,
    shadow: bool,
) -> VariantPlan:
    model = models[variant["ModelName"]]
    containers = tuple(
        ContainerPlan.of(container, hostname, images_dir)
        for hostname, container in containers_of(model)
    )
    serverless = variant.get("ServerlessConfig")
    instance_type = str(variant.get("InstanceType") or SERVERLESS_INSTANCE)
    if serverless:
        memory = int(serverless.get("MemorySizeInMB", 2048)) * 1024 * 1024
    else:
        memory = shape(instance_type).memory_mib * 1024 * 1024
    environment = containers[0].environment
    budget = int(float(environment.get("SAGEBRUSH_MODEL_CACHE_MB", 0)) * 1024 * 1024)
    multi = (models[variant["ModelName"]].get("PrimaryContainer") or {}).get(
        "MultiModelConfig"
    ) or {}
    return VariantPlan(
        name=str(variant["VariantName"]),
        model_name=str(variant["ModelName"]),
        instance_type=instance_type,
        count=1 if serverless else int(variant.get("InitialInstanceCount") or 1),
        weight=float(variant.get("InitialVariantWeight", 1.0)),
        mode=mode_of(model),
        containers=containers,
        shadow=shadow,
        serverless=serverless,
        startup_timeout=float(
            variant.get("ContainerStartupHealthCheckTimeoutInSeconds") or DEFAULT_STARTUP_TIMEOUT
        ),
        cache_budget_bytes=budget or memory // 2,
        caching=multi.get("ModelCacheSetting", "Enabled") != "Disabled",
    )


def shift_steps(deployment: Mapping[str, Any] | None, new_count: int) -> list[tuple[float, float]]:
    """The traffic shift of a blue/green update: ``(share of traffic on the new fleet,
    seconds to bake after it)`` per step, from ``DeploymentConfig``. Without one,
    SageMaker shifts all at once with no bake."""
    policy = (deployment or {}).get("BlueGreenUpdatePolicy")
    rolling = (deployment or {}).get("RollingUpdatePolicy")
    if rolling:
        step = _size(rolling["MaximumBatchSize"], new_count)
        wait = float(rolling.get("WaitIntervalInSeconds", 0))
        return _linear(step, wait)
    if not policy:
        return [(1.0, 0.0)]
    routing = policy["TrafficRoutingConfiguration"]
    wait = float(routing.get("WaitIntervalInSeconds", 0))
    final_wait = float(policy.get("TerminationWaitInSeconds", 0))
    kind = routing["Type"]
    if kind == "CANARY":
        canary = _size(routing["CanarySize"], new_count)
        return [(canary, wait), (1.0, final_wait)]
    if kind == "LINEAR":
        steps = _linear(_size(routing["LinearStepSize"], new_count), wait)
        return [*steps[:-1], (1.0, final_wait + steps[-1][1])]
    return [(1.0, wait + final_wait)]


def _size(size: Mapping[str, Any], count: int) -> float:
    value = float(size["Value"])
    if size["Type"] == "INSTANCE_COUNT":
        return min(1.0, value / max(1, count))
    return min(1.0, value / 100.0)


def _linear(step: float, wait: float) -> list[tuple[float, float]]:
    step = max(step, 0.01)
    share = 0.0
    out: list[tuple[float, float]] = []
    while share < 1.0 - 1e-9:
        share = min(1.0, share + step)
        out.append((share, wait))
    return out
