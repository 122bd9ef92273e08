"""The rest-json protocol (sagemaker-runtime, sagemaker-metrics)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.model import OperationModel, Shape, StructureShape

from sagebrush.aws.errors import AwsError
from sagebrush.aws.http import HttpResponse
from sagebrush.aws.protocols import _json_codec as codec
from sagebrush.aws.protocols._rest import RestProtocol, header_text
from sagebrush.aws.protocols._result import error_shape
from sagebrush.aws.protocols._values import ValueProblem


class RestJsonProtocol(RestProtocol):
    name = "rest-json"
    body_content_type = "application/json"

    def decode_body(self, shape: StructureShape, body: bytes) -> dict[str, Any]:
        try:
            document = codec.load_body(body)
            if not isinstance(document, dict):
                raise ValueProblem("the request body must be a JSON object")
            return codec.decode_members(shape, document, "")
        except ValueProblem as exc:
            raise AwsError("SerializationException", str(exc), 400) from exc

    def decode_payload(self, member: Shape, name: str, body: bytes) -> Any:
        try:
            return codec.decode_value(member, codec.load_body(body), name)
        except ValueProblem as exc:
            raise AwsError("SerializationException", str(exc), 400) from exc

    def encode_body(
        self, operation: OperationModel, shape: StructureShape, members: Mapping[str, Any]
    ) -> bytes:
        return codec.dump_body(codec.encode_members(shape, members))

    def encode_payload(
        self, operation: OperationModel, member: Shape, name: str, value: Any
    ) -> bytes:
        return codec.dump_body(codec.encode_value(member, value))

    def serialize_error(
        self, error: AwsError, operation: OperationModel | None, request_id: str
    ) -> HttpResponse:
        document = codec.error_document(self.service, error)
        document["message"] = error.message
        response = HttpResponse(status=error.status, body=codec.dump_body(document))
        response.headers.append(("Content-Type", self.body_content_type))
        response.headers.append(("x-amzn-ErrorType", error.code))
        shape = error_shape(self.service, error.code)
        for name, member in shape.members.items() if shape is not None else ():
            value = error.fields.get(name)
            if value is not None and member.serialization.get("location") == "header":
                wire = str(member.serialization.get("name", name))
                response.headers.append((wire, header_text(member, value)))
        return self.finish_error(response, error, request_id)
