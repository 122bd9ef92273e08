"""InvokeEndpoint: the request's headers to the router, its answer or error to the wire."""

from __future__ import annotations

import re
from typing import Any

from sagebrush.aws.errors import AwsError
from sagebrush.jobs.endpoints.errors import InvocationError, ModelError
from sagebrush.jobs.endpoints.router import Request, Router
from sagebrush.services.base import Provider, RequestContext


class SageMakerRuntimeProvider(Provider):
    service = "sagemaker-runtime"

    @property
    def router(self) -> Router:
        endpoints = self.runtime.endpoints
        assert endpoints is not None, "the app factory builds the endpoint controller"
        return endpoints.router

    async def invoke_endpoint(
        self,
        ctx: RequestContext,
        endpoint_name: str,
        body: bytes,
        *,
        content_type: str | None = None,
        accept: str | None = None,
        custom_attributes: str | None = None,
        target_model: str | None = None,
        target_variant: str | None = None,
        target_container_hostname: str | None = None,
        inference_id: str | None = None,
        inference_component_name: str | None = None,
    ) -> dict[str, Any]:
        check_request(
            endpoint_name,
            {"inference_component": inference_component_name} if inference_component_name else {},
        )
        request = Request(
            body,
            content_type,
            accept,
            custom_attributes,
            target_variant,
            target_model,
            target_container_hostname,
            inference_id,
        )
        try:
            answer = await self.router.invoke(ctx.account_id, ctx.region, endpoint_name, request)
        except InvocationError as exc:
            raise wire_error(exc) from None
        result: dict[str, Any] = {"Body": answer.body, "InvokedProductionVariant": answer.variant}
        if answer.content_type:
            result["ContentType"] = answer.content_type
        if answer.custom_attributes:
            result["CustomAttributes"] = answer.custom_attributes
        return result


def check_request(endpoint_name: str, headers: dict[str, str]) -> None:
    """What the fast path must check itself (the generic chain validates against the
    model): the endpoint name and header lengths, and what Sagebrush does not serve."""
    if not _NAME.fullmatch(endpoint_name):
        raise AwsError(
            "ValidationError",
            f"1 validation error detected: Value '{endpoint_name}' at 'endpointName' failed to "
            "satisfy constraint: Member must satisfy regular expression pattern: "
            "^[a-zA-Z0-9](-*[a-zA-Z0-9])*",
        )
    for field, (low, high) in _LIMITS.items():
        value = headers.get(field)
        if value is not None and not low <= len(value) <= high:
            raise AwsError(
                "ValidationError",
                f"1 validation error detected: Value at '{_WIRE[field]}' failed to satisfy "
                f"constraint: Member must have length between {low} and {high}",
            )
    if headers.get("inference_component"):
        raise AwsError(
            "ValidationError",
            "Inference components are not supported by Sagebrush; invoke the endpoint's "
            "production variants instead.",
        )


_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_LIMITS = {
    "content_type": (0, 1024),
    "accept": (0, 1024),
    "custom_attributes": (0, 1024),
    "target_model": (1, 1024),
    "target_variant": (0, 63),
    "target_container": (0, 63),
    "inference_id": (1, 64),
}
_WIRE = {
    "content_type": "contentType",
    "accept": "accept",
    "custom_attributes": "customAttributes",
    "target_model": "targetModel",
    "target_variant": "targetVariant",
    "target_container": "targetContainerHostname",
    "inference_id": "inferenceId",
}


def wire_error(exc: InvocationError) -> AwsError:
    fields: dict[str, Any] = {}
    if isinstance(exc, ModelError):
        fields["OriginalMessage"] = exc.original_message
        fields["LogStreamArn"] = exc.log_stream_arn
        if exc.original_status is not None:
            fields["OriginalStatusCode"] = exc.original_status
    return AwsError(
        exc.code,
        exc.message,
        exc.status,
        sender_fault=exc.status < 500,
        fields=fields,
    )
