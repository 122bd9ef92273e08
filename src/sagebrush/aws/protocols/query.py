"""The query protocol (STS, IAM, CloudWatch's classic wire).

Requests are flat form fields whose dotted names spell the nesting (``Tags.member.1.Key``);
responses are XML wrapped in ``<{Op}Response><{Op}Result>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl
from xml.etree import ElementTree as ET

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from sagebrush.aws.errors import AwsError
from sagebrush.aws.http import HttpRequest, HttpResponse, OperationResult
from sagebrush.aws.protocols import Protocol
from sagebrush.aws.protocols import _xml as xml
from sagebrush.aws.protocols._result import apply_extras, field_text, split_result
from sagebrush.aws.protocols._values import ValueProblem, scalar_from_text

CONTENT_TYPE = "text/xml"


class QueryProtocol(Protocol):
    name = "query"

    @property
    def namespace(self) -> str | None:
        found = self.service.metadata.get("xmlNamespace")
        return str(found) if found else None

    async def parse_request(
        self, operation: OperationModel, request: HttpRequest, uri_params: Mapping[str, str]
    ) -> dict[str, Any]:
        fields: dict[str, str] = {}
        for key, value in await form_fields(request):
            fields.setdefault(key, value)
        fields.pop("Action", None)
        fields.pop("Version", None)
        shape = operation.input_shape
        if shape is None:
            return {}
        try:
            return _FormReader(fields).structure(shape, "")
        except ValueProblem as exc:
            raise AwsError("ValidationError", str(exc), 400) from exc

    def serialize_response(
        self,
        operation: OperationModel,
        result: Mapping[str, Any] | OperationResult,
        request_id: str,
    ) -> HttpResponse:
        outcome = split_result(result)
        root = self._element(f"{operation.name}Response")
        shape = operation.output_shape
        if shape is not None:
            wrapper = shape.serialization.get("resultWrapper")
            target = ET.SubElement(root, wrapper) if wrapper else root
            xml.encode_members(shape, outcome.members, target)
        metadata = ET.SubElement(root, "ResponseMetadata")
        ET.SubElement(metadata, "RequestId").text = request_id
        response = HttpResponse(body=xml.to_bytes(root))
        response.headers.append(("Content-Type", CONTENT_TYPE))
        response.status = apply_extras(outcome, response.status, response.headers)
        self.add_request_id(response, request_id)
        return response

    def serialize_error(
        self, error: AwsError, operation: OperationModel | None, request_id: str
    ) -> HttpResponse:
        root = self._element("ErrorResponse")
        detail = ET.SubElement(root, "Error")
        ET.SubElement(detail, "Type").text = "Sender" if error.sender_fault else "Receiver"
        ET.SubElement(detail, "Code").text = error.code
        ET.SubElement(detail, "Message").text = error.message
        for name, value in error.fields.items():
            if value is not None:
                ET.SubElement(detail, name).text = field_text(value)
        ET.SubElement(root, "RequestId").text = request_id
        response = HttpResponse(status=error.status, body=xml.to_bytes(root))
        response.headers.append(("Content-Type", CONTENT_TYPE))
        return self.finish_error(response, error, request_id)

    def _element(self, name: str) -> ET.Element:
        root = ET.Element(name)
        if self.namespace:
            root.set("xmlns", self.namespace)
        return root


async def form_fields(request: HttpRequest) -> list[tuple[str, str]]:
    """Query-string fields, then form-body fields: AWS accepts parameters in either."""
    fields = list(request.query)
    if request.method != "GET":
        body = await request.body.read()
        if body:
            try:
                text = body.decode()
            except UnicodeDecodeError as exc:
                raise AwsError("MalformedQueryString", "The request body is not UTF-8.") from exc
            fields.extend(parse_qsl(text, keep_blank_values=True))
    return fields


class _FormReader:
    """Rebuilds nested values from dotted form-field names, the inverse of botocore's
    ``QuerySerializer``."""

    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields
        self.prefixes: set[str] = set()
        for key in fields:
            parts = key.split(".")
            self.prefixes.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))

    def structure(self, shape: StructureShape, prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            wire = str(member.serialization.get("name", name))
            key = f"{prefix}.{wire}" if prefix else wire
            if isinstance(member, ListShape):
                found = self.list(member, key)
            elif self._present(key):
                found = self.value(member, key)
            else:
                continue
            if found is not None:
                out[name] = found
        return out

    def value(self, shape: Shape, key: str) -> Any:
        if isinstance(shape, StructureShape):
            return self.structure(shape, key)
        if isinstance(shape, ListShape):
            return self.list(shape, key)
        if isinstance(shape, MapShape):
            return self.map(shape, key)
        text = self.fields.get(key)
        if text is None:
            return None
        try:
            return scalar_from_text(shape, text)
        except ValueProblem as exc:
            raise ValueProblem(f"Invalid value for parameter {key}: {exc}") from exc

    def list(self, shape: ListShape, key: str) -> list[Any] | None:
        item_name = shape.member.serialization.get("name")
        if shape.serialization.get("flattened"):
            # botocore names flattened items after the member's locationName, in place of
            # the structure member's own name.
            items_prefix = ".".join([*key.split(".")[:-1], item_name]) if item_name else key
        else:
            items_prefix = f"{key}.{item_name or 'member'}"
        items = []
        index = 1
        while self._present(f"{items_prefix}.{index}"):
            items.append(self.value(shape.member, f"{items_prefix}.{index}"))
            index += 1
        if items:
            return items
        # An empty list travels as the bare name with an empty value.
        return [] if self.fields.get(key) == "" else None

    def map(self, shape: MapShape, key: str) -> dict[Any, Any]:
        entries = key if shape.serialization.get("flattened") else f"{key}.entry"
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        out: dict[Any, Any] = {}
        index = 1
        while self._present(f"{entries}.{index}"):
            entry = f"{entries}.{index}"
            out[self.value(shape.key, f"{entry}.{key_name}")] = self.value(
                shape.value, f"{entry}.{value_name}"
            )
            index += 1
        return out

    def _present(self, key: str) -> bool:
        return key in self.prefixes
