"""Stored models and endpoint configurations: how the fleet reads them, how Describe* and
List* show them.

``containers_of``, ``execution_mode`` and ``production_variants`` apply SageMaker's
defaults to a stored create request, so the endpoint fleet and the Describe views read a
model or configuration the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sagebrush.services.base import RequestContext
from sagebrush.services.sagemaker._common import decode_token, encode_token, epoch
from sagebrush.state.resources import Query, Resource, ResourceStore

# SageMaker names a single-container model's container "primary" in ModelError messages
# ("Received server error (500) from primary with message ...").
PRIMARY_HOSTNAME = "primary"
DEFAULT_VARIANT_WEIGHT = 1.0

_SORT = {"Name": "name", "CreationTime": "created"}


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


# --- List* ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """ListModels' and ListEndpointConfigs' shared request members."""

    next_token: str | None = None
    max_results: int | None = None
    name_contains: str | None = None
    creation_time_after: datetime | None = None
    creation_time_before: datetime | None = None
    sort_by: str | None = None
    sort_order: str | None = None


def list_page(
    resources: ResourceStore, ctx: RequestContext, kind: str, listing: Listing
) -> tuple[list[Resource], str | None]:
    """One page of ``kind`` and the NextToken for the rest (None on the last page)."""
    after, before = epoch(listing.creation_time_after), epoch(listing.creation_time_before)
    filters: dict[str, Any] = {
        "after": after,
        "before": before,
        "name": listing.name_contains,
        "sort": listing.sort_by,
        "order": listing.sort_order,
    }
    offset = decode_token(listing.next_token, filters)
    page = resources.page(
        Query(
            kind=kind,
            account_id=ctx.account_id,
            region=ctx.region,
            name_contains=listing.name_contains,
            created_after=after,
            created_before=before,
            sort_by=_SORT[listing.sort_by or "CreationTime"],
            descending=(listing.sort_order or "Descending") == "Descending",
            offset=offset,
            limit=listing.max_results or 10,
        )
    )
    token = encode_token(page.next_offset, filters) if page.next_offset is not None else None
    return page.items, token
