"""CreateEndpoint, DescribeEndpoint, ListEndpoints, UpdateEndpoint,
UpdateEndpointWeightsAndCapacities and DeleteEndpoint.

The provider records what is asked (with a snapshot of the endpoint configuration and its
models, which SageMaker lets users delete while the endpoint runs on them) and moves the
status; the endpoint controller does the work and reports in the record's facts.
"""

from __future__ import annotations

import json
from typing import Any

from sagebrush.jobs.endpoints.controller import EndpointController
from sagebrush.jobs.endpoints.plan import variant_plans
from sagebrush.jobs.endpoints.serving import StagingError
from sagebrush.jobs.endpoints.status import BUSY, KIND, LIFECYCLE
from sagebrush.jobs.endpoints.status import EndpointStatus as E
from sagebrush.jobs.lifecycle import IllegalTransition, transition
from sagebrush.services.base import RequestContext
from sagebrush.services.sagemaker._common import (
    Listing,
    SageMakerBase,
    arn,
    validation,
)
from sagebrush.state.resources import Resource

CONFIG_KIND, MODEL_KIND = "endpoint-config", "model"


class EndpointOperations(SageMakerBase):
    @property
    def endpoints(self) -> EndpointController:
        controller = self.runtime.endpoints
        assert controller is not None, "the app factory builds the endpoint controller"
        return controller

    def create_endpoint(
        self,
        ctx: RequestContext,
        endpoint_name: str,
        endpoint_config_name: str,
        tags: list[dict[str, str]] | None = None,
        deployment_config: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        snapshot = self._snapshot(ctx, endpoint_config_name)
        endpoint_arn = arn(ctx, "endpoint", endpoint_name)
        spec: dict[str, Any] = {
            "EndpointName": endpoint_name,
            "EndpointConfigName": endpoint_config_name,
            "Snapshot": snapshot,
        }
        if deployment_config:
            spec["DeploymentConfig"] = deployment_config
        self.record_new(
            ctx,
            kind=KIND,
            name=endpoint_name,
            arn=endpoint_arn,
            spec=spec,
            status=E.CREATING,
            secondary_status=E.CREATING,
            tags=tags,
            exists=lambda _: validation(
                f'Cannot create already existing endpoint "{endpoint_arn}".'
            ),
        )
        self.endpoints.wake()
        return {"EndpointArn": endpoint_arn}

    def describe_endpoint(self, ctx: RequestContext, endpoint_name: str) -> dict[str, Any]:
        return endpoint_view(self._endpoint(ctx, endpoint_name))

    def list_endpoints(self, ctx: RequestContext, **members: Any) -> dict[str, Any]:
        items, token = Listing.of(members).page(self.resources, ctx, KIND)
        result: dict[str, Any] = {
            "Endpoints": [
                {
                    "EndpointName": e.name,
                    "EndpointArn": e.arn,
                    "CreationTime": e.created,
                    "LastModifiedTime": e.modified,
                    "EndpointStatus": e.status,
                }
                for e in items
            ]
        }
        if token is not None:
            result["NextToken"] = token
        return result

    def update_endpoint(self, ctx: RequestContext, **members: Any) -> dict[str, Any]:
        request = self.request_of(ctx, members)
        endpoint = self._endpoint(ctx, request["EndpointName"])
        self._require_updatable(endpoint)
        snapshot = self._snapshot(ctx, request["EndpointConfigName"])
        deployment = request.get("DeploymentConfig")
        if request.get("RetainDeploymentConfig"):
            deployment = endpoint.facts.get("last_deployment") or deployment
        _check_deployment(deployment)
        update = {
            "Snapshot": snapshot,
            "DeploymentConfig": deployment,
            "RetainAllVariantProperties": bool(request.get("RetainAllVariantProperties")),
            "ExcludeRetainedVariantProperties": request.get("ExcludeRetainedVariantProperties")
            or [],
        }
        self._move(endpoint, E.UPDATING, update=json.loads(json.dumps(update, default=str)))
        return {"EndpointArn": endpoint.arn}

    def update_endpoint_weights_and_capacities(
        self,
        ctx: RequestContext,
        endpoint_name: str,
        desired_weights_and_capacities: list[dict[str, Any]],
    ) -> dict[str, Any]:
        endpoint = self._endpoint(ctx, endpoint_name)
        self._require_updatable(endpoint)
        names = {v["VariantName"] for v in endpoint.facts.get("variants", [])}
        seen: set[str] = set()
        for change in desired_weights_and_capacities:
            name = change["VariantName"]
            if name not in names:
                raise validation(
                    f'The variant name(s) "{name}" is/are not present in the endpoint '
                    f'"{endpoint.arn}".'
                )
            if name in seen:
                raise validation(f"The variant name {name} appears more than once.")
            seen.add(name)
            if change.get("DesiredWeight") is None and change.get("DesiredInstanceCount") is None:
                raise validation(
                    f"Either DesiredWeight or DesiredInstanceCount must be specified for "
                    f"variant {name}."
                )
            if change.get("DesiredInstanceCount") == 0:
                raise validation(
                    f"DesiredInstanceCount of variant {name} must be at least 1 for an "
                    "endpoint without managed instance scaling."
                )
        self._move(endpoint, E.UPDATING, weights=desired_weights_and_capacities)
        return {"EndpointArn": endpoint.arn}

    def delete_endpoint(self, ctx: RequestContext, endpoint_name: str) -> dict[str, Any]:
        for _ in range(10):
            endpoint = self._endpoint(ctx, endpoint_name)
            if endpoint.status == E.DELETING:
                return {}
            try:
                moved = transition(
                    self.resources,
                    LIFECYCLE,
                    endpoint,
                    E.DELETING,
                    "",
                    now=self.runtime.clock(),
                )
            except IllegalTransition:
                moved = None
            if moved is not None:
                self.endpoints.wake()
                return {}
        raise validation(f"Endpoint {endpoint_name} changed while being deleted; try again.")

    # --- helpers -------------------------------------------------------------------------------

    def _endpoint(self, ctx: RequestContext, name: str) -> Resource:
        endpoint = self.resources.find(KIND, ctx.account_id, ctx.region, name)
        if endpoint is None:
            raise validation(f'Could not find endpoint "{arn(ctx, "endpoint", name)}".')
        return endpoint

    def _snapshot(self, ctx: RequestContext, config_name: str) -> dict[str, Any]:
        config = self.resources.find(CONFIG_KIND, ctx.account_id, ctx.region, config_name)
        if config is None:
            config_arn = arn(ctx, "endpoint-config", config_name)
            raise validation(f'Could not find endpoint configuration "{config_arn}".')
        variants = [
            *config.spec.get("ProductionVariants", []),
            *(config.spec.get("ShadowProductionVariants") or []),
        ]
        models: dict[str, Any] = {}
        for variant in variants:
            name = variant["ModelName"]
            model = self.resources.find(MODEL_KIND, ctx.account_id, ctx.region, name)
            if model is None:
                raise validation(f'Could not find model "{arn(ctx, "model", name)}".')
            models[name] = dict(model.spec)
        snapshot = {"Config": dict(config.spec), "Models": models}
        try:
            variant_plans(snapshot["Config"], models, self.runtime.settings.images_dir)
        except StagingError as exc:
            raise validation(str(exc)) from None
        return snapshot

    def _require_updatable(self, endpoint: Resource) -> None:
        if endpoint.status in BUSY or endpoint.status == E.FAILED:
            raise validation(
                f'Cannot update in-progress endpoint "{endpoint.arn}".'
                if endpoint.status != E.FAILED
                else f'Cannot update failed endpoint "{endpoint.arn}".'
            )

    def _move(self, endpoint: Resource, to: E, **facts: Any) -> None:
        try:
            moved = transition(
                self.resources, LIFECYCLE, endpoint, to, "", now=self.runtime.clock(), facts=facts
            )
        except IllegalTransition:
            moved = None
        if moved is None:
            raise validation(f'Cannot update in-progress endpoint "{endpoint.arn}".')
        self.endpoints.wake()


def _check_deployment(deployment: dict[str, Any] | None) -> None:
    if not deployment:
        return
    blue_green = deployment.get("BlueGreenUpdatePolicy")
    rolling = deployment.get("RollingUpdatePolicy")
    if blue_green and rolling:
        raise validation(
            "Only one of BlueGreenUpdatePolicy and RollingUpdatePolicy may be specified."
        )
    if blue_green:
        routing = blue_green["TrafficRoutingConfiguration"]
        kind = routing["Type"]
        if kind == "CANARY" and not routing.get("CanarySize"):
            raise validation("CanarySize must be specified for the CANARY traffic routing type.")
        if kind == "LINEAR" and not routing.get("LinearStepSize"):
            raise validation(
                "LinearStepSize must be specified for the LINEAR traffic routing type."
            )


def endpoint_view(endpoint: Resource) -> dict[str, Any]:
    spec, facts = endpoint.spec, endpoint.facts
    snapshot = facts.get("snapshot") or spec["Snapshot"]
    config = snapshot["Config"]
    view: dict[str, Any] = {
        "EndpointName": endpoint.name,
        "EndpointArn": endpoint.arn,
        "EndpointConfigName": facts.get("config_name") or spec["EndpointConfigName"],
        "EndpointStatus": endpoint.status,
        "CreationTime": endpoint.created,
        "LastModifiedTime": endpoint.modified,
    }
    variants = facts.get("variants")
    if variants is None:
        variants = [_pending_variant(v) for v in config["ProductionVariants"]]
    view["ProductionVariants"] = _with_status(variants, endpoint.status)
    shadows = facts.get("shadow_variants")
    if shadows:
        view["ShadowProductionVariants"] = _with_status(shadows, endpoint.status)
    capture = config.get("DataCaptureConfig")
    if capture:
        enabled = bool(capture.get("EnableCapture", True))
        summary: dict[str, Any] = {
            "EnableCapture": enabled,
            "CaptureStatus": "Started" if enabled else "Stopped",
            "CurrentSamplingPercentage": int(capture["InitialSamplingPercentage"]),
            "DestinationS3Uri": capture["DestinationS3Uri"],
        }
        if capture.get("KmsKeyId"):
            summary["KmsKeyId"] = capture["KmsKeyId"]
        view["DataCaptureConfig"] = summary
    if facts.get("failure_reason"):
        view["FailureReason"] = facts["failure_reason"]
    if facts.get("last_deployment"):
        view["LastDeploymentConfig"] = facts["last_deployment"]
    update = facts.get("update")
    if update and endpoint.status == E.UPDATING:
        view["PendingDeploymentSummary"] = {
            "EndpointConfigName": update["Snapshot"]["Config"]["EndpointConfigName"],
            "ProductionVariants": [
                {**_pending_variant(v), "VariantStatus": [{"Status": "Creating"}]}
                for v in update["Snapshot"]["Config"]["ProductionVariants"]
            ],
        }
    return view


def _pending_variant(variant: dict[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {
        "VariantName": variant["VariantName"],
        "DesiredWeight": float(variant.get("InitialVariantWeight", 1.0)),
    }
    if variant.get("ServerlessConfig"):
        view["DesiredServerlessConfig"] = variant["ServerlessConfig"]
    else:
        view["DesiredInstanceCount"] = int(variant.get("InitialInstanceCount") or 1)
    return view


def _with_status(variants: list[dict[str, Any]], status: str) -> list[dict[str, Any]]:
    state = {
        E.CREATING: "Creating",
        E.UPDATING: "Updating",
        E.DELETING: "Deleting",
    }.get(E(status))
    if state is None:
        return variants
    return [{**v, "VariantStatus": [{"Status": state}]} for v in variants]
