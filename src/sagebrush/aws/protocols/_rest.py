"""What rest-json and rest-xml share: members bound to the URI, query string, headers and
status line, and the payload rules. Subclasses only say how a body is encoded.
"""

from __future__ import annotations

import base64
import json
from abc import abstractmethod
from collections.abc import AsyncIterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from sagebrush.aws.chunked import payload_stream
from sagebrush.aws.errors import AwsError
from sagebrush.aws.http import HttpRequest, HttpResponse, OperationResult
from sagebrush.aws.protocols import Protocol
from sagebrush.aws.protocols._result import Outcome, apply_extras, split_result
from sagebrush.aws.protocols._values import (
    ValueProblem,
    encode_blob,
    scalar_from_text,
    scalar_to_text,
)


class RestProtocol(Protocol):
    """A REST protocol; the body codec and the error format are the subclass's."""

    body_content_type: str = "application/json"

    # -- requests ------------------------------------------------------------------------

    async def parse_request(
        self, operation: OperationModel, request: HttpRequest, uri_params: Mapping[str, str]
    ) -> dict[str, Any]:
        shape = operation.input_shape
        if shape is None:
            return {}
        params: dict[str, Any] = {}
        claimed = _query_member_names(shape) | _literal_query_keys(operation)
        for name, member in shape.members.items():
            location = member.serialization.get("location")
            wire = str(member.serialization.get("name", name))
            try:
                value = _bound_value(
                    member,
                    location,
                    wire,
                    request,
                    uri_params,
                    claimed_query=claimed,
                )
            except ValueProblem as exc:
                raise self.bad_binding(location or "body", wire, exc) from exc
            if value is not None:
                params[name] = value
        params.update(await self._parse_body(shape, request))
        if "x-amz-decoded-content-length" in request.headers:
            _undo_aws_chunked(shape, params, request)
        return params

    async def _parse_body(self, shape: StructureShape, request: HttpRequest) -> dict[str, Any]:
        payload = shape.serialization.get("payload")
        if payload is None:
            if not any(_is_body_member(m) for m in shape.members.values()):
                return {}
            return self.decode_body(shape, await request.body.read())
        member = shape.members[payload]
        if member.type_name == "blob" and member.serialization.get("streaming"):
            return {payload: payload_stream(request)}
        body = await request.body.read()
        if member.type_name == "blob":
            required = payload in shape.required_members
            return {payload: body} if body or required else {}
        if member.type_name == "string":
            try:
                return {payload: body.decode()} if body else {}
            except UnicodeDecodeError as exc:
                raise self.bad_binding("body", payload, ValueProblem("not UTF-8")) from exc
        if not body.strip():
            return {}
        return {payload: self.decode_payload(member, payload, body)}

    def bad_binding(self, location: str, wire: str, problem: ValueProblem) -> AwsError:
        """The error for a header/query/URI value that does not fit its shape."""
        return AwsError(
            "SerializationException", f"Invalid value for {location} '{wire}': {problem}", 400
        )

    @abstractmethod
    def decode_body(self, shape: StructureShape, body: bytes) -> dict[str, Any]:
        """The body members of ``shape`` from a body that is not a single payload member."""

    @abstractmethod
    def decode_payload(self, member: Shape, name: str, body: bytes) -> Any:
        """A structure payload member from the whole body."""

    # -- responses -----------------------------------------------------------------------

    def serialize_response(
        self,
        operation: OperationModel,
        result: Mapping[str, Any] | OperationResult,
        request_id: str,
    ) -> HttpResponse:
        outcome = split_result(result)
        response = HttpResponse(status=int(operation.http.get("responseCode", 200)))
        shape = operation.output_shape
        if shape is not None:
            self._render_bound(shape, outcome, response)
            self._render_body(operation, shape, outcome, response)
        response.status = apply_extras(outcome, response.status, response.headers)
        self.add_request_id(response, request_id)
        return response

    def _render_bound(self, shape: StructureShape, outcome: Outcome, out: HttpResponse) -> None:
        for name, member in shape.members.items():
            value = outcome.members.get(name)
            location = member.serialization.get("location")
            if value is None or location is None:
                continue
            wire = str(member.serialization.get("name", name))
            if location == "header":
                out.headers.append((wire, header_text(member, value)))
            elif location == "headers":
                out.headers.extend((f"{wire}{key}", str(item)) for key, item in value.items())
            elif location == "statusCode":
                out.status = int(value)

    def _render_body(
        self,
        operation: OperationModel,
        shape: StructureShape,
        outcome: Outcome,
        out: HttpResponse,
    ) -> None:
        payload = shape.serialization.get("payload")
        if payload is not None:
            member = shape.members[payload]
            value = outcome.members.get(payload)
            if member.type_name in ("blob", "string"):
                out.body = _raw_body(value)
                return
            if value is None:
                return
            out.body = self.encode_payload(operation, member, payload, value)
        elif any(_is_body_member(m) for m in shape.members.values()):
            out.body = self.encode_body(operation, shape, outcome.members)
        else:
            return
        if not any(k.lower() == "content-type" for k, _ in out.headers):
            out.headers.append(("Content-Type", self.body_content_type))

    @abstractmethod
    def encode_body(
        self, operation: OperationModel, shape: StructureShape, members: Mapping[str, Any]
    ) -> bytes:
        """The body for an output without a payload member."""

    @abstractmethod
    def encode_payload(
        self, operation: OperationModel, member: Shape, name: str, value: Any
    ) -> bytes:
        """The body for a structure payload member."""


# -- bound members ---------------------------------------------------------------------


def _is_body_member(member: Shape) -> bool:
    return member.serialization.get("location") is None


def _undo_aws_chunked(shape: StructureShape, params: dict[str, Any], request: HttpRequest) -> None:
    """The caller's view of an ``aws-chunked`` upload: the decoded length, and the
    content encoding without the framing botocore added (S3 never stores it)."""
    for name, member in shape.members.items():
        if member.serialization.get("location") != "header":
            continue
        wire = str(member.serialization.get("name", name)).lower()
        if wire == "content-length":
            try:
                params[name] = int(request.headers["x-amz-decoded-content-length"])
            except ValueError:
                raise AwsError(
                    "InvalidArgument", "x-amz-decoded-content-length must be an integer"
                ) from None
        elif wire == "content-encoding" and name in params:
            codings = [c.strip() for c in str(params[name]).split(",")]
            kept = ",".join(c for c in codings if c and c.lower() != "aws-chunked")
            if kept:
                params[name] = kept
            else:
                del params[name]


def _query_member_names(shape: StructureShape) -> set[str]:
    return {
        str(m.serialization.get("name", n))
        for n, m in shape.members.items()
        if m.serialization.get("location") == "querystring" and m.type_name != "map"
    }


def _literal_query_keys(operation: OperationModel) -> set[str]:
    """Keys fixed by the ``requestUri`` itself (S3's ``?list-type=2``, ``?uploads``)."""
    _, _, query = str(operation.http.get("requestUri", "")).partition("?")
    return {key for key, _ in parse_qsl(query, keep_blank_values=True)}


def _bound_value(
    member: Shape,
    location: str | None,
    wire: str,
    request: HttpRequest,
    uri_params: Mapping[str, str],
    *,
    claimed_query: set[str],
) -> Any:
    if location == "uri":
        raw = uri_params.get(wire, uri_params.get(f"{wire}+"))
        return None if raw is None else scalar_from_text(member, raw)
    if location == "querystring":
        return _query_value(member, wire, request, claimed_query)
    if location == "header":
        raw = request.headers.get(wire)
        return None if raw is None else header_value(member, raw)
    if location == "headers":
        prefix = wire.lower()
        found = {
            name[len(prefix) :].lower(): value
            for name, value in request.headers.raw_items()
            if name.lower().startswith(prefix)
        }
        return found or None
    return None


def _query_value(member: Shape, wire: str, request: HttpRequest, claimed: set[str]) -> Any:
    if isinstance(member, MapShape):
        found: dict[str, Any] = {}
        for key, value in request.query:
            if key in claimed:
                continue
            if isinstance(member.value, ListShape):
                found.setdefault(key, []).append(scalar_from_text(member.value.member, value))
            else:
                found.setdefault(key, scalar_from_text(member.value, value))
        return found or None
    if isinstance(member, ListShape):
        items = [scalar_from_text(member.member, v) for k, v in request.query if k == wire]
        return items or None
    for key, value in request.query:
        if key == wire:
            return scalar_from_text(member, value)
    return None


def header_value(shape: Shape, raw: str) -> Any:
    """A header's value read as ``shape`` (lists are comma-separated, RFC 7230)."""
    if isinstance(shape, ListShape):
        return [scalar_from_text(shape.member, item) for item in _split_header_list(raw)]
    if shape.type_name == "string" and shape.serialization.get("jsonvalue"):
        try:
            return json.loads(base64.b64decode(raw))
        except ValueError as exc:
            raise ValueProblem("expected base64-encoded JSON") from exc
    return scalar_from_text(shape, raw)


def _split_header_list(raw: str) -> list[str]:
    items: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in raw:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    items.append("".join(current).strip())
    return [item for item in items if item]


def header_text(shape: Shape, value: Any) -> str:
    if isinstance(shape, ListShape):
        return ",".join(_quote_header_item(header_text(shape.member, v)) for v in value)
    if shape.type_name == "string" and shape.serialization.get("jsonvalue"):
        return encode_blob(json.dumps(value, separators=(",", ":")))
    return scalar_to_text(shape, value, "rfc822")


def _quote_header_item(text: str) -> str:
    if '"' in text or "," in text:
        return '"' + text.replace('"', '\\"') + '"'
    return text


def _raw_body(value: Any) -> bytes | AsyncIterable[bytes]:
    """A blob/string payload goes out as is: streams are passed through, never buffered."""
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, bytes | AsyncIterable):
        return value
    raise TypeError(f"payload must be bytes or an async iterable, got {type(value).__name__}")
