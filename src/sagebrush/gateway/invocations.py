"""InvokeEndpoint's fast path: from the socket to the router with nothing in between.

Every other request goes through the generic chain (route → parse → validate →
dispatch → serialize). InvokeEndpoint is the one operation whose throughput is the
product: its wire format is a raw body plus a handful of headers, so this handler reads
them directly and answers in SageMaker Runtime's REST-JSON shape. Requests that must
have their signature verified (``--auth on``, or a server bound beyond loopback) take the
generic chain, which verifies them; errors are rendered by the same protocol serializer.
Unsigned requests are accepted here as the generic chain accepts them on loopback.
"""

from __future__ import annotations

import logging
import random
import re
import time
import uuid
from urllib.parse import unquote

from botocore.model import OperationModel
from starlette.types import Receive, Scope, Send

from sagebrush.aws.errors import AwsError, internal_error
from sagebrush.aws.protocols import Protocol
from sagebrush.gateway.requestlog import RequestRecorder
from sagebrush.jobs.endpoints.errors import InvocationError
from sagebrush.jobs.endpoints.router import MAX_PAYLOAD, Request, Router
from sagebrush.services.base import Runtime
from sagebrush.services.sagemaker_runtime.provider import check_request, wire_error

log = logging.getLogger(__name__)

_PATH = re.compile(r"^/endpoints/([^/]+)/invocations$")
_SCOPE_REGION = re.compile(r"Credential=[^/]*/\d{8}/([^/]+)/")
_HEADERS = {
    b"content-type": "content_type",
    b"accept": "accept",
    b"x-amzn-sagemaker-custom-attributes": "custom_attributes",
    b"x-amzn-sagemaker-target-model": "target_model",
    b"x-amzn-sagemaker-target-variant": "target_variant",
    b"x-amzn-sagemaker-target-container-hostname": "target_container",
    b"x-amzn-sagemaker-inference-id": "inference_id",
    b"x-amzn-sagemaker-inference-component": "inference_component",
}


def is_invocation(scope: Scope) -> bool:
    """A POST to ``/endpoints/<name>/invocations``, unsigned or signed for SageMaker (an S3
    POST to such a key carries a query string or an ``s3`` signature)."""
    if scope["method"] != "POST" or scope.get("query_string") or not _PATH.match(scope["path"]):
        return False
    for key, value in scope["headers"]:
        if key == b"authorization":
            return b"/sagemaker/aws4_request" in value
    return True


class InvocationHandler:
    def __init__(
        self,
        runtime: Runtime,
        protocol: Protocol,
        operation: OperationModel,
        recorder: RequestRecorder | None = None,
    ) -> None:
        self.runtime = runtime
        self.protocol = protocol
        self.operation = operation
        self.recorder = recorder or RequestRecorder()
        self.account_id = runtime.settings.account_id
        self.region = runtime.settings.region

    @property
    def router(self) -> Router | None:
        endpoints = self.runtime.endpoints
        return endpoints.router if endpoints is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        # A version-4 UUID from the process's PRNG: os.urandom is a syscall per request.
        request_id = str(uuid.UUID(int=random.getrandbits(128), version=4))
        failure: AwsError | None = None
        try:
            status, headers, body = await self._invoke(scope, receive)
            headers.append((b"x-amzn-requestid", request_id.encode()))
        except AwsError as error:
            failure = error
            status, headers, body = self._error(error, request_id)
        except Exception:
            log.exception("request %s failed: InvokeEndpoint", request_id)
            failure = internal_error(request_id)
            status, headers, body = self._error(failure, request_id)
        elapsed_ms = (time.perf_counter() - started) * 1000
        headers.append((b"server-timing", f"app;dur={elapsed_ms:.3f}".encode()))
        headers.append((b"content-length", str(len(body)).encode()))
        try:
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        finally:
            self.recorder.finished(
                method="POST",
                path=scope["path"],
                service="sagemaker-runtime",
                operation="InvokeEndpoint",
                status=status,
                error=failure,
                request_id=request_id,
                seconds=time.perf_counter() - started,
                sent=len(body),
                client=_client(scope) if self.recorder.access_log else "",
            )

    async def _invoke(
        self, scope: Scope, receive: Receive
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        match = _PATH.match(scope["path"])
        assert match is not None
        name = unquote(match.group(1))
        fields: dict[str, str] = {}
        region = self.region
        length = None
        for key, value in scope["headers"]:
            field = _HEADERS.get(key)
            if field is not None:
                fields[field] = value.decode("latin-1")
            elif key == b"content-length":
                length = value
            elif key == b"authorization":
                found = _SCOPE_REGION.search(value.decode("latin-1"))
                if found:
                    region = found.group(1)
        if length is not None and length.isdigit() and int(length) > MAX_PAYLOAD:
            raise AwsError(
                "ValidationError", f"HTTP content length exceeded {MAX_PAYLOAD} bytes.", 413
            )
        body = await _read(receive)
        check_request(name, fields)
        router = self.router
        if router is None:
            raise AwsError("ServiceUnavailable", "Endpoints are not served here.", 503)
        request = Request(
            body,
            fields.get("content_type"),
            fields.get("accept"),
            fields.get("custom_attributes"),
            fields.get("target_variant"),
            fields.get("target_model"),
            fields.get("target_container"),
            fields.get("inference_id"),
        )
        try:
            answer = await router.invoke(self.account_id, region, name, request)
        except InvocationError as exc:
            raise wire_error(exc) from None
        headers = [(b"x-amzn-invoked-production-variant", answer.variant.encode("latin-1"))]
        if answer.content_type:
            headers.append((b"content-type", answer.content_type.encode("latin-1")))
        if answer.custom_attributes:
            value = answer.custom_attributes.encode("latin-1")
            headers.append((b"x-amzn-sagemaker-custom-attributes", value))
        return 200, headers, answer.body

    def _error(
        self, error: AwsError, request_id: str
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        response = self.protocol.serialize_error(error, self.operation, request_id)
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        body = response.body
        assert isinstance(body, bytes)
        return response.status, headers, body


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


async def _read(receive: Receive) -> bytes:
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise AwsError("IncompleteBody", "The client disconnected mid-request.", 400)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_PAYLOAD:
            raise AwsError(
                "ValidationError", f"HTTP content length exceeded {MAX_PAYLOAD} bytes.", 413
            )
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)
