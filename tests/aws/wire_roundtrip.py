"""Round trips through botocore's own client-side code.

Requests are built by botocore's serializer exactly as a client would send them; responses
are read back by botocore's parser exactly as a client would read them. The URI-template
matching here stands in for the real router.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import boto3
from botocore.awsrequest import (
    AWSPreparedRequest,
    AWSResponse,
    create_request_object,
    prepare_request_dict,
)
from botocore.config import Config
from botocore.endpoint import convert_to_response_dict
from botocore.model import OperationModel
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from sagebrush.aws.errors import AwsError
from sagebrush.aws.http import Body, Headers, HttpRequest, HttpResponse, OperationResult
from sagebrush.aws.models import ServiceCatalog
from sagebrush.aws.protocols import Protocol, protocol_for

CATALOG = ServiceCatalog()
ENDPOINT = "https://sagebrush.test"


def operation(service: str, name: str) -> OperationModel:
    return CATALOG.operation(service, name)


def protocol(service: str, name: str | None = None) -> Protocol:
    return protocol_for(CATALOG.model(service), name)


def uri_params(op: OperationModel, raw_path: str) -> dict[str, str]:
    """Match the op's requestUri template the way the router does (labels decoded)."""
    template = str(op.http["requestUri"]).split("?", 1)[0]
    pattern = ""
    for literal, label in re.findall(r"([^{]*)(?:\{([^}]+)\})?", template):
        pattern += re.escape(literal)
        if label:
            greedy = label.endswith("+")
            pattern += f"(?P<{label.rstrip('+')}>{'.+' if greedy else '[^/]+'})"
    match = re.fullmatch(pattern, raw_path)
    assert match, f"{raw_path} does not match {template}"
    return {k: unquote(v) for k, v in match.groupdict().items()}


def _body(data: bytes, chunked: bool) -> Body:
    if not chunked:
        return Body(data)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 5):
            yield data[start : start + 5]

    return Body(chunks)


def from_prepared(prepared: AWSPreparedRequest, *, chunked: bool = False) -> HttpRequest:
    url = urlsplit(prepared.url)
    body = prepared.body
    if body is None:
        data = b""
    elif isinstance(body, str):
        data = body.encode()
    elif isinstance(body, bytes | bytearray):
        data = bytes(body)
    else:
        data = body.read()
    headers = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in prepared.headers.items()]
    return HttpRequest(
        method=prepared.method,
        raw_path=url.path,
        query=parse_qsl(url.query, keep_blank_values=True),
        headers=Headers(headers),
        body=_body(data, chunked),
    )


def to_request(
    service: str,
    op_name: str,
    params: Mapping[str, Any],
    protocol_name: str | None = None,
    *,
    chunked: bool = False,
) -> tuple[HttpRequest, dict[str, str]]:
    """What botocore's serializer puts on the wire for ``params``, as an HttpRequest."""
    op = operation(service, op_name)
    serializer = create_serializer(protocol_name or op.metadata["protocol"])
    request_dict = serializer.serialize_to_request(dict(params), op)
    prepare_request_dict(request_dict, endpoint_url=ENDPOINT)
    request = from_prepared(create_request_object(request_dict).prepare(), chunked=chunked)
    labels = (
        uri_params(op, request.raw_path)
        if "rest" in (protocol_name or op.metadata["protocol"])
        else {}
    )
    return request, labels


def parse(
    service: str,
    op_name: str,
    params: Mapping[str, Any],
    protocol_name: str | None = None,
    *,
    chunked: bool = False,
) -> dict[str, Any]:
    request, labels = to_request(service, op_name, params, protocol_name, chunked=chunked)
    proto = protocol(service, protocol_name)
    return asyncio.run(proto.parse_request(operation(service, op_name), request, labels))


class _Raw:
    """The slice of urllib3's response that botocore reads bodies through."""

    def __init__(self, data: bytes) -> None:
        self._io = io.BytesIO(data)

    def stream(self, amt: int = 1024, decode_content: bool = False) -> Any:
        while chunk := self._io.read(amt):
            yield chunk

    def read(self, amt: int | None = None) -> bytes:
        return self._io.read(amt)


def collect(body: bytes | AsyncIterable[bytes]) -> bytes:
    if isinstance(body, bytes):
        return body

    async def gather() -> bytes:
        return b"".join([chunk async for chunk in body])

    return asyncio.run(gather())


def to_aws_response(response: HttpResponse) -> AWSResponse:
    return AWSResponse(ENDPOINT, response.status, response.headers, _Raw(collect(response.body)))


def read_response(
    service: str, op_name: str, response: HttpResponse, protocol_name: str | None = None
) -> dict[str, Any]:
    """What a botocore client makes of ``response`` (before any client customization)."""
    op = operation(service, op_name)
    response_dict = convert_to_response_dict(to_aws_response(response), op)
    parser = create_parser(protocol_name or op.metadata["protocol"])
    return dict(parser.parse(response_dict, op.output_shape))


def respond(
    service: str,
    op_name: str,
    result: Mapping[str, Any] | OperationResult,
    protocol_name: str | None = None,
) -> tuple[HttpResponse, dict[str, Any]]:
    proto = protocol(service, protocol_name)
    response = proto.serialize_response(operation(service, op_name), result, "req-1234")
    return response, read_response(service, op_name, response, protocol_name)


def without_metadata(parsed: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in parsed.items() if k != "ResponseMetadata"}


Provider = Callable[[str, dict[str, Any]], Mapping[str, Any] | OperationResult]


def stubbed_client(
    service: str, provider: Provider, protocol_name: str | None = None, **config: Any
) -> Any:
    """A real boto3 client whose HTTP layer is our protocol code plus ``provider``.

    ``provider(operation_name, params)`` returns the result or raises AwsError; every call's
    parsed params are appended to ``client.seen``.
    """
    client = boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=ENDPOINT,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}, **config),
    )
    proto = protocol(service, protocol_name)
    seen: list[dict[str, Any]] = []

    def send(request: AWSPreparedRequest, **kwargs: Any) -> AWSResponse:
        # The unmodified model, as the router has it: botocore's S3 client rewrites
        # requestUri templates (the bucket moves to its endpoint rules).
        op = operation(service, kwargs["event_name"].rsplit(".", 1)[-1])
        http_request = from_prepared(request)
        labels = uri_params(op, http_request.raw_path) if proto.name.startswith("rest") else {}
        try:
            params = asyncio.run(proto.parse_request(op, http_request, labels))
            seen.append(params)
            response = proto.serialize_response(op, provider(op.name, params), "req-1234")
        except AwsError as error:
            response = proto.serialize_error(error, op, "req-1234")
        return to_aws_response(response)

    client.meta.events.register("before-send", send)
    client.seen = seen
    return client
