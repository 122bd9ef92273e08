"""Stored models and endpoint configurations: how the fleet reads them, how Describe* and
List* show them.

``containers_of``, ``execution_mode`` and ``production_variants`` apply SageMaker's
defaults to a stored create request, so the endpoint fleet and the Describe views read a
model or configuration the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sagebrush.state.resources import Resource

# SageMaker names a single-container model's container "primary" in ModelError messages
# ("Received server error (500) from primary with message ...").
PRIMARY_HOSTNAME = "primary"
DEFAULT_VARIANT_WEIGHT = 1.0


def containers_of(model_spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The model's containers in calling order, each with ``ContainerHostname`` (``primary``
    for a PrimaryContainer, else as given or ``container-<position>``), ``Mode`` and
    ``Environment`` set."""
    primary = model_spec.get("PrimaryContainer")
    if primary:
        # SageMaker ignores ContainerHostname on a PrimaryContainer.
        return [_with_defaults(primary, PRIMARY_HOSTNAME)]
    return [
        _with_defaults(container, container.get("ContainerHostname") or f"container-{position}")
        for position, container in enumerate(model_spec.get("Containers") or [], 1)
    ]


def execution_mode(model_spec: Mapping[str, Any]) -> str:
    """``Serial`` (a pipeline, also a single container) or ``Direct``."""
    config = model_spec.get("InferenceExecutionConfig") or {}
    return str(config.get("Mode") or "Serial")


def production_variants(variants: list[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """Variants as given, with ``InitialVariantWeight`` defaulted to 1.0."""
    return [{"InitialVariantWeight": DEFAULT_VARIANT_WEIGHT, **v} for v in variants or []]


def _with_defaults(container: Mapping[str, Any], hostname: str) -> dict[str, Any]:
    return {"Mode": "SingleModel", "Environment": {}, **container, "ContainerHostname": hostname}


# --- Describe* ------------------------------------------------------------------------------


def describe_model(model: Resource) -> dict[str, Any]:
    spec = model.spec
    view: dict[str, Any] = {"ModelName": model.name}
    if spec.get("PrimaryContainer"):
        view["PrimaryContainer"] = _container_view(spec["PrimaryContainer"])
    else:
        view["Containers"] = [_container_view(c) for c in spec.get("Containers") or []]
        view["InferenceExecutionConfig"] = {"Mode": execution_mode(spec)}
    for member in ("ExecutionRoleArn", "VpcConfig"):
        if spec.get(member):
            view[member] = spec[member]
    view["CreationTime"] = model.created
    view["ModelArn"] = model.arn
    view["EnableNetworkIsolation"] = bool(spec.get("EnableNetworkIsolation", False))
    return view


def _container_view(container: Mapping[str, Any]) -> dict[str, Any]:
    # Only Mode and Environment gain defaults (SageMaker shows both); anything else unset
    # stays absent, because clients copy a described container into new requests.
    return {"Mode": "SingleModel", "Environment": {}, **container}


def describe_endpoint_config(config: Resource) -> dict[str, Any]:
    spec = config.spec
    view: dict[str, Any] = {
        "EndpointConfigName": config.name,
        "EndpointConfigArn": config.arn,
        "ProductionVariants": production_variants(spec["ProductionVariants"]),
    }
    if spec.get("ShadowProductionVariants"):
        view["ShadowProductionVariants"] = production_variants(spec["ShadowProductionVariants"])
    # Every optional member only when it was set: the SDK's update_endpoint copies
    # DataCaptureConfig and KmsKeyId verbatim into its next CreateEndpointConfig.
    for member in (
        "DataCaptureConfig",
        "KmsKeyId",
        "ExecutionRoleArn",
        "VpcConfig",
        "EnableNetworkIsolation",
        "MetricsConfig",
        "CrossRegionTrafficConfig",
    ):
        if spec.get(member) is not None:
            view[member] = spec[member]
    view["CreationTime"] = config.created
    return view


def model_summary(model: Resource) -> dict[str, Any]:
    return {"ModelName": model.name, "ModelArn": model.arn, "CreationTime": model.created}


def endpoint_config_summary(config: Resource) -> dict[str, Any]:
    return {
        "EndpointConfigName": config.name,
        "EndpointConfigArn": config.arn,
        "CreationTime": config.created,
    }
