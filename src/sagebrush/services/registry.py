"""Dispatch an operation to its provider method (or the handler the provider derives from the
model, ``Provider.derived``), else answer the uniform not-implemented error."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from botocore import xform_name

from sagebrush.aws.errors import AwsError, not_implemented
from sagebrush.aws.http import OperationResult
from sagebrush.services.base import Provider, RequestContext, Runtime

# botocore service name -> module exposing PROVIDER. Services in the catalog but not here
# answer every operation with the not-implemented error.
PROVIDERS: dict[str, str] = {
    "s3": "sagebrush.services.s3",
    "sts": "sagebrush.services.sts",
    "iam": "sagebrush.services.iam",
    "logs": "sagebrush.services.logs",
    "cloudwatch": "sagebrush.services.cloudwatch",
    "sagemaker": "sagebrush.services.sagemaker",
    "sagemaker-runtime": "sagebrush.services.sagemaker_runtime",
}

Result = dict[str, Any] | OperationResult


@dataclass(frozen=True)
class _Handler:
    call: Callable[..., Result | Awaitable[Result]]
    accepts: frozenset[str] | None  # None: takes **kwargs, so every member is passed
    is_async: bool


class ProviderRegistry:
    def __init__(self, runtime: Runtime, providers: dict[str, str] | None = None) -> None:
        self.runtime = runtime
        self._modules = dict(PROVIDERS if providers is None else providers)
        self._providers: dict[str, Provider | None] = {}
        self._handlers: dict[tuple[str, str], _Handler | None] = {}

    def provider(self, service: str) -> Provider | None:
        if service not in self._providers:
            module = self._modules.get(service)
            cls = importlib.import_module(module).PROVIDER if module else None
            self._providers[service] = cls(self.runtime) if cls else None
        return self._providers[service]

    def implements(self, service: str, operation: str) -> bool:
        return self._handler(service, operation) is not None

    async def dispatch(self, ctx: RequestContext, params: dict[str, Any]) -> Result:
        handler = self._handler(ctx.service, ctx.operation)
        if handler is None:
            raise not_implemented(ctx.service, ctx.operation)
        kwargs = {xform_name(k): v for k, v in params.items()}
        if handler.accepts is not None:
            kwargs = {k: v for k, v in kwargs.items() if k in handler.accepts}
        if handler.is_async:
            result = await handler.call(ctx, **kwargs)  # type: ignore[misc]
        else:
            result = handler.call(ctx, **kwargs)
        if not isinstance(result, dict | OperationResult):
            raise AwsError("InternalFailure", "provider returned no result", 500)
        return result

    def _handler(self, service: str, operation: str) -> _Handler | None:
        key = (service, operation)
        if key not in self._handlers:
            provider = self.provider(service)
            method = getattr(provider, xform_name(operation), None) if provider else None
            if not callable(method) and provider is not None:
                method = provider.derived(operation)
            self._handlers[key] = _describe(method) if callable(method) else None
        return self._handlers[key]


def _describe(method: Callable[..., Any]) -> _Handler:
    params = list(inspect.signature(method).parameters.values())[1:]  # after ctx
    takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
    accepts = None if takes_all else frozenset(p.name for p in params)
    return _Handler(method, accepts, inspect.iscoroutinefunction(method))
