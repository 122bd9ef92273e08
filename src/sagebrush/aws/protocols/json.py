"""The json protocol, versions 1.0 and 1.1 (sagemaker, logs, cloudwatch's JSON mode).

Every operation is a POST of a JSON document named by ``X-Amz-Target``; the document is the
input shape itself, and the response document is the output shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.model import OperationModel

from sagebrush.aws.errors import AwsError
from sagebrush.aws.http import HttpRequest, HttpResponse, OperationResult
from sagebrush.aws.protocols import Protocol
from sagebrush.aws.protocols import _json_codec as codec
from sagebrush.aws.protocols._result import apply_extras, split_result
from sagebrush.aws.protocols._values import ValueProblem


class JsonProtocol(Protocol):
    name = "json"

    @property
    def content_type(self) -> str:
        return f"application/x-amz-json-{self.service.metadata.get('jsonVersion', '1.0')}"

    async def parse_request(
        self, operation: OperationModel, request: HttpRequest, uri_params: Mapping[str, str]
    ) -> dict[str, Any]:
        body = await request.body.read()
        shape = operation.input_shape
        try:
            document = codec.load_body(body)
            if not isinstance(document, dict):
                raise ValueProblem("the request body must be a JSON object")
            if shape is None:
                return {}
            return codec.decode_members(shape, document, "")
        except ValueProblem as exc:
            raise AwsError("SerializationException", str(exc), 400) from exc

    def serialize_response(
        self,
        operation: OperationModel,
        result: Mapping[str, Any] | OperationResult,
        request_id: str,
    ) -> HttpResponse:
        outcome = split_result(result)
        shape = operation.output_shape
        document = codec.encode_members(shape, outcome.members) if shape is not None else {}
        response = HttpResponse(body=codec.dump_body(document))
        response.headers.append(("Content-Type", self.content_type))
        response.status = apply_extras(outcome, response.status, response.headers)
        self.add_request_id(response, request_id)
        return response

    def serialize_error(
        self, error: AwsError, operation: OperationModel | None, request_id: str
    ) -> HttpResponse:
        document = codec.error_document(self.service, error)
        document["__type"] = error.code
        document["message"] = error.message
        response = HttpResponse(status=error.status, body=codec.dump_body(document))
        response.headers.append(("Content-Type", self.content_type))
        response.headers.append(("x-amzn-ErrorType", error.code))
        self.add_query_error(response, error)
        return self.finish_error(response, error, request_id)
