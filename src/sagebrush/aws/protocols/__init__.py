"""The AWS wire protocols, driven by botocore's service models.

A :class:`Protocol` turns an :class:`HttpRequest` into the operation's input parameters (a
dict shaped like the model's input shape, exactly what a boto3 caller passed) and a result
dict (shaped like the output shape) or an :class:`AwsError` into an :class:`HttpResponse`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from botocore.model import OperationModel, ServiceModel

from sagebrush.aws.errors import AwsError
from sagebrush.aws.http import HttpRequest, HttpResponse, OperationResult

# The protocols Sagebrush serves operations in; it answers only errors in the others
# (``foreign``), for services it does not serve.
WIRE = ("json", "query", "rest-json", "rest-xml")


class Protocol(ABC):
    name: str
    request_id_header: str = "x-amzn-RequestId"

    def __init__(self, service: ServiceModel) -> None:
        self.service = service

    def add_request_id(self, response: HttpResponse, request_id: str) -> None:
        response.set_header(self.request_id_header, request_id)

    def finish_error(
        self, response: HttpResponse, error: AwsError, request_id: str
    ) -> HttpResponse:
        """The end of every ``serialize_error``: the error's own headers, the request id."""
        for name, value in error.headers.items():
            response.set_header(name, value)
        self.add_request_id(response, request_id)
        return response

    def add_query_error(self, response: HttpResponse, error: AwsError) -> None:
        """Services that moved from the query protocol (CloudWatch) still promise clients the
        query-era code and fault type, in ``x-amzn-query-error``."""
        if self.service.metadata.get("awsQueryCompatible") is not None:
            fault = "Sender" if error.sender_fault else "Receiver"
            response.headers.append(("x-amzn-query-error", f"{error.code};{fault}"))

    @abstractmethod
    async def parse_request(
        self, operation: OperationModel, request: HttpRequest, uri_params: Mapping[str, str]
    ) -> dict[str, Any]:
        """The operation's input parameters; raises AwsError for malformed input.

        ``uri_params`` are the labels the router matched in the ``requestUri`` template
        (REST protocols only), already percent-decoded. A streaming blob payload becomes a
        :class:`~sagebrush.aws.streams.PayloadStream` and is not read here.
        """

    @abstractmethod
    def serialize_response(
        self,
        operation: OperationModel,
        result: Mapping[str, Any] | OperationResult,
        request_id: str,
    ) -> HttpResponse:
        """Render a provider's result (keys are output-shape member names)."""

    @abstractmethod
    def serialize_error(
        self, error: AwsError, operation: OperationModel | None, request_id: str
    ) -> HttpResponse:
        """Render an error the way botocore's parser for this protocol reads it."""


def protocol_for(service: ServiceModel, name: str | None = None) -> Protocol:
    """The protocol implementation for a service (``name`` overrides the model's default)."""
    from sagebrush.aws.protocols.foreign import Ec2Protocol, RpcV2CborProtocol
    from sagebrush.aws.protocols.json import JsonProtocol
    from sagebrush.aws.protocols.query import QueryProtocol
    from sagebrush.aws.protocols.rest_json import RestJsonProtocol
    from sagebrush.aws.protocols.rest_xml import RestXmlProtocol

    classes: dict[str, type[Protocol]] = {
        "json": JsonProtocol,
        "query": QueryProtocol,
        "rest-json": RestJsonProtocol,
        "rest-xml": RestXmlProtocol,
        # Only errors are answered in these (services Sagebrush does not serve).
        "ec2": Ec2Protocol,
        "smithy-rpc-v2-cbor": RpcV2CborProtocol,
    }
    return classes[name or service.protocol](service)
