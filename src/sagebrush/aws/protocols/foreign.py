"""Protocols Sagebrush only answers errors in: ``ec2`` and ``smithy-rpc-v2-cbor``.

No served service speaks them, but a request for a service that does (EC2; the few whose
only protocol is CBOR, or CloudWatch asked in CBOR by a client that prefers it) must be
refused in a form its client parses, so the caller reads ``NotImplemented`` and the message
rather than an undecodable body.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree as ET

from botocore.model import OperationModel

from sagebrush.aws.errors import AwsError
from sagebrush.aws.http import HttpRequest, HttpResponse, OperationResult
from sagebrush.aws.protocols import Protocol
from sagebrush.aws.protocols import _xml as xml
from sagebrush.aws.protocols.query import CONTENT_TYPE, QueryProtocol


class Ec2Protocol(QueryProtocol):
    """EC2's query dialect: requests as the query protocol's, errors in ``<Response>``."""

    name = "ec2"

    def serialize_error(
        self, error: AwsError, operation: OperationModel | None, request_id: str
    ) -> HttpResponse:
        root = ET.Element("Response")
        detail = ET.SubElement(ET.SubElement(root, "Errors"), "Error")
        ET.SubElement(detail, "Code").text = error.code
        ET.SubElement(detail, "Message").text = error.message
        ET.SubElement(root, "RequestID").text = request_id
        response = HttpResponse(status=error.status, body=xml.to_bytes(root))
        response.headers.append(("Content-Type", CONTENT_TYPE))
        return self.finish_error(response, error, request_id)


class RpcV2CborProtocol(Protocol):
    """Smithy RPC v2 over CBOR: ``POST /service/{target prefix}/operation/{name}``."""

    name = "smithy-rpc-v2-cbor"

    async def parse_request(
        self, operation: OperationModel, request: HttpRequest, uri_params: Mapping[str, str]
    ) -> dict[str, Any]:
        raise _unsupported(operation)

    def serialize_response(
        self,
        operation: OperationModel,
        result: Mapping[str, Any] | OperationResult,
        request_id: str,
    ) -> HttpResponse:
        raise _unsupported(operation)

    def serialize_error(
        self, error: AwsError, operation: OperationModel | None, request_id: str
    ) -> HttpResponse:
        document = {"__type": error.code, "message": error.message}
        response = HttpResponse(status=error.status, body=cbor_text_map(document))
        response.headers.append(("Content-Type", "application/cbor"))
        response.headers.append(("smithy-protocol", "rpc-v2-cbor"))
        self.add_query_error(response, error)
        return self.finish_error(response, error, request_id)


def _unsupported(operation: OperationModel) -> AwsError:
    return AwsError(
        "NotImplemented",
        f"Sagebrush does not speak the smithy-rpc-v2-cbor protocol (operation {operation.name}).",
        501,
        sender_fault=False,
    )


def cbor_text_map(document: Mapping[str, str]) -> bytes:
    """A CBOR map of text strings (RFC 8949), all an error body needs."""
    out = bytearray(_head(5, len(document)))
    for key, value in document.items():
        for text in (key, value):
            encoded = text.encode("utf-8")
            out += _head(3, len(encoded)) + encoded
    return bytes(out)


def _head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    for extra, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        try:
            return bytes([major << 5 | extra]) + struct.pack(fmt, length)
        except struct.error:
            continue
    raise ValueError(f"CBOR length {length} is too large")
