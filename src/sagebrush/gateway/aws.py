"""The AWS request chain: route → authenticate → parse → validate → dispatch → serialize.

Errors are rendered here and only here: an :class:`AwsError` in the protocol of the
request, anything else logged with its traceback and answered as ``InternalFailure`` —
never a traceback on the wire.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from botocore.model import OperationModel
from starlette.types import Receive, Scope, Send

from sagebrush.aws.chunked import chunk_verifier
from sagebrush.aws.errors import AwsError, internal_error, not_served, not_served_over
from sagebrush.aws.http import Body, Headers, HttpRequest, HttpResponse, PayloadChecks
from sagebrush.aws.protocols import WIRE, Protocol, protocol_for
from sagebrush.aws.routing import Route, Router
from sagebrush.aws.sigv4 import (
    SigV4Info,
    check_payload_sha256,
    expected_payload_sha256,
    parse_credentials,
    verify,
)
from sagebrush.aws.validate import validate_input
from sagebrush.gateway.invocations import InvocationHandler, is_invocation
from sagebrush.gateway.requestlog import RequestRecorder
from sagebrush.services.base import RequestContext, Runtime
from sagebrush.services.registry import ProviderRegistry
from sagebrush.services.sts.provider import session_secret

log = logging.getLogger(__name__)


# The error code for input that fails the model's constraints, per protocol.
_VALIDATION_CODE = {
    "json": "ValidationException",
    "rest-json": "ValidationException",
    "query": "ValidationError",
}

# Services whose model names another code for it.
_SERVICE_VALIDATION_CODE = {"sagemaker-runtime": "ValidationError"}
# SageMaker Runtime's request size limit, answered as SageMaker does (413).
_MAX_INVOCATION = 6 * 1024 * 1024


def _check_invocation_size(request: HttpRequest) -> None:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > _MAX_INVOCATION:
        raise AwsError(
            "ValidationError", f"HTTP content length exceeded {_MAX_INVOCATION} bytes.", 413
        )


class AwsGateway:
    """A plain ASGI app: the hot path stays free of framework layers."""

    def __init__(self, runtime: Runtime, registry: ProviderRegistry) -> None:
        self.runtime = runtime
        self.registry = registry
        self.router = Router(runtime.catalog)
        self._protocols: dict[tuple[str, str], Protocol] = {}
        # Every finished request is counted (GET /metrics) and, when it failed, logged.
        self.recorder = RequestRecorder(access_log=runtime.settings.access_log)
        self.invocations = InvocationHandler(
            runtime,
            self._protocol("sagemaker-runtime", "rest-json"),
            runtime.catalog.operation("sagemaker-runtime", "InvokeEndpoint"),
            self.recorder,
        )

    def takes_invocation(self, scope: Scope) -> bool:
        """InvokeEndpoint on its fast path (signature checks need the generic chain)."""
        return is_invocation(scope) and not self.runtime.settings.verify_signatures

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.takes_invocation(scope):
            await self.invocations(scope, receive, send)
            return
        started = time.perf_counter()
        request = _http_request(scope, receive)
        request_id = str(uuid.uuid4())
        route: Route | None = None
        scope_service: str | None = None
        failure: AwsError | None = None
        try:
            info = parse_credentials(request)
            scope_service = info.service if info else None
            # A service Sagebrush does not serve routes to its own model: refused in its
            # protocol, naming the operation.
            route = await self.router.resolve(request, scope_service)
            if not route.served:
                raise self._refusal(route)
            if self.runtime.settings.verify_signatures:
                await self._authenticate(request, route, info)
            response = await self._handle(request, route, info, request_id)
        except AwsError as error:
            failure = error
            response = self._error(request, route, scope_service, error, request_id)
        except Exception:
            log.exception("request %s failed: %s %s", request_id, request.method, request.raw_path)
            failure = internal_error(request_id)
            response = self._error(request, route, scope_service, failure, request_id)
        # Server-Timing tells clients and benchmarks how long the server itself took.
        elapsed_ms = (time.perf_counter() - started) * 1000
        response.set_header("Server-Timing", f"app;dur={elapsed_ms:.3f}")
        sent = 0
        try:
            sent = await _send(response, send, head=request.method == "HEAD")
        finally:
            self.recorder.finished(
                method=request.method,
                path=request.raw_path,
                service=route.service if route else None,
                operation=route.operation.name if route else None,
                status=response.status,
                error=failure,
                request_id=request_id,
                seconds=time.perf_counter() - started,
                sent=sent,
                client=request.client_host,
            )

    async def _handle(
        self, request: HttpRequest, route: Route, info: SigV4Info | None, request_id: str
    ) -> HttpResponse:
        protocol = self._protocol(route.service, route.protocol)
        operation = route.operation
        if route.service == "sagemaker-runtime":
            _check_invocation_size(request)
        params = await protocol.parse_request(operation, request, route.uri_params)
        code = _SERVICE_VALIDATION_CODE.get(route.service) or _VALIDATION_CODE.get(route.protocol)
        if code is not None:
            validate_input(operation, params, error_code=code)
        settings = self.runtime.settings
        ctx = RequestContext(
            request_id=request_id,
            account_id=settings.account_id,
            region=info.region if info and info.region else settings.region,
            service=route.service,
            operation=operation.name,
            access_key=info.access_key if info else None,
            request=request,
        )
        result = await self.registry.dispatch(ctx, params)
        return protocol.serialize_response(operation, result, request_id)

    async def _authenticate(
        self, request: HttpRequest, route: Route, info: SigV4Info | None
    ) -> None:
        s3 = route.service == "s3"
        if info is None:
            if s3:
                raise AwsError("AccessDenied", "Access Denied", 403)
            raise AwsError(
                "MissingAuthenticationTokenException", "Missing Authentication Token", 403
            )
        body_sha256 = None
        if not s3:
            body_sha256 = hashlib.sha256(await request.body.read_raw()).hexdigest()
        verify(request, info, self._secret_for, datetime.now(UTC), body_sha256, s3=s3)
        if not s3:
            return
        # The signature covers the payload hash the client claimed; the bytes must match it.
        expected = expected_payload_sha256(info)
        if route.operation.has_streaming_input:
            verifier = chunk_verifier(info, self._secret_for)
            request.payload_checks = PayloadChecks(verifier, expected)
        elif expected is not None:
            check_payload_sha256(expected, hashlib.sha256(await request.body.read()).hexdigest())

    def _secret_for(self, access_key: str) -> str | None:
        settings = self.runtime.settings
        return settings.credentials.get(access_key) or session_secret(settings, access_key)

    def _protocol(self, service: str, name: str) -> Protocol:
        key = (service, name)
        found = self._protocols.get(key)
        if found is None:
            found = protocol_for(self.runtime.catalog.model(service), name)
            self._protocols[key] = found
        return found

    def _refusal(self, route: Route) -> AwsError:
        """NotImplemented for an unserved route: its service, or its protocol (CBOR)."""
        if not self.runtime.catalog.serves(route.service):
            return not_served(route.service, route.operation.name)
        spoken = [p for p in self.runtime.catalog.info(route.service).protocols if p in WIRE]
        return not_served_over(route.service, route.protocol, route.operation.name, spoken)

    def _error(
        self,
        request: HttpRequest,
        route: Route | None,
        scope_service: str | None,
        error: AwsError,
        request_id: str,
    ) -> HttpResponse:
        """``error`` in the protocol of the request: its route's, else the one the request
        speaks for a service signed with its scope (never S3's XML to a JSON client)."""
        if route is not None:
            service, name = route.service, route.protocol
        else:
            service, name = self.router.error_wire(request, scope_service)
        operation: OperationModel | None = route.operation if route else None
        return self._protocol(service, name).serialize_error(error, operation, request_id)


def _http_request(scope: Scope, receive: Receive) -> HttpRequest:
    async def chunks() -> AsyncIterator[bytes]:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise AwsError("IncompleteBody", "The client disconnected mid-request.", 400)
            yield message.get("body", b"")
            if not message.get("more_body", False):
                return

    raw_path = scope.get("raw_path") or scope["path"].encode()
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    headers = Headers((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"])
    client = scope.get("client") or ("", 0)
    # Only the RPC protocols (json, query) compress request bodies; for S3, Content-Encoding
    # is object metadata and the bytes are stored as sent.
    rpc = "x-amz-target" in headers or _is_form_post(scope["method"], headers)
    gzipped = rpc and "gzip" in headers.get("content-encoding", "").lower()
    return HttpRequest(
        method=scope["method"],
        raw_path=raw_path.decode("latin-1").split("?", 1)[0],
        query=query,
        headers=headers,
        body=Body(chunks, gzipped=gzipped),
        client_host=client[0],
    )


def _is_form_post(method: str, headers: Headers) -> bool:
    content_type = headers.get("content-type", "")
    return method == "POST" and content_type.startswith("application/x-www-form-urlencoded")


async def _send(response: HttpResponse, send: Send, *, head: bool) -> int:
    """Send the response; the number of body bytes sent."""
    body = response.body
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    has_length = any(k == b"content-length" for k, _ in headers)
    if isinstance(body, bytes) and not has_length:
        headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if head or isinstance(body, bytes):
        await send({"type": "http.response.body", "body": b"" if head else body})
        return 0 if head or not isinstance(body, bytes) else len(body)
    sent = 0
    try:
        async for chunk in body:
            if chunk:
                sent += len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return sent
    finally:
        # A client that hangs up mid-download must not keep the stream (and the blob it
        # pins) alive until garbage collection.
        aclose = getattr(body, "aclose", None)
        if aclose is not None:
            await aclose()
