"""The rest-xml protocol, as S3 speaks it."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from functools import cached_property
from typing import Any
from xml.etree import ElementTree as ET

from botocore.model import (
    ListShape,
    MapShape,
    OperationModel,
    ServiceModel,
    Shape,
    StructureShape,
)

from sagebrush.aws.errors import AwsError
from sagebrush.aws.http import HttpResponse
from sagebrush.aws.protocols import _xml as xml
from sagebrush.aws.protocols._rest import RestProtocol
from sagebrush.aws.protocols._result import field_text
from sagebrush.aws.protocols._values import ValueProblem

MALFORMED_XML = (
    "The XML you provided was not well-formed or did not validate against our published schema"
)

# Root elements S3 sends that its model does not name. Operations not listed here use the
# payload of their ``Put`` twin (GetBucketTagging answers <Tagging>, like PutBucketTagging
# takes) or, failing that, ``{Operation}Result``.
_ROOT_NAMES = {
    "ListObjects": "ListBucketResult",
    "ListObjectsV2": "ListBucketResult",
    "ListObjectVersions": "ListVersionsResult",
    "ListBuckets": "ListAllMyBucketsResult",
    "ListDirectoryBuckets": "ListAllMyDirectoryBucketsResult",
    "CreateMultipartUpload": "InitiateMultipartUploadResult",
    "CompleteMultipartUpload": "CompleteMultipartUploadResult",
    "ListParts": "ListPartsResult",
    "ListMultipartUploads": "ListMultipartUploadsResult",
    "DeleteObjects": "DeleteResult",
    "GetBucketLocation": "LocationConstraint",
    "GetObjectAttributes": "GetObjectAttributesResponse",
    "GetBucketPolicyStatus": "PolicyStatus",
}


class RestXmlProtocol(RestProtocol):
    name = "rest-xml"
    body_content_type = "application/xml"
    request_id_header = "x-amz-request-id"

    @cached_property
    def namespace(self) -> str | None:
        """The service's XML namespace: S3 only declares it on its input payload shapes."""
        found = self.service.metadata.get("xmlNamespace")
        if found:
            return str(found)
        for name in self.service.operation_names:
            shape = self.service.operation_model(name).input_shape
            for member in shape.members.values() if shape is not None else ():
                namespace = member.serialization.get("xmlNamespace")
                if isinstance(namespace, dict) and namespace.get("uri"):
                    return str(namespace["uri"])
        return None

    # -- requests ------------------------------------------------------------------------

    def decode_body(self, shape: StructureShape, body: bytes) -> dict[str, Any]:
        if not body.strip():
            return {}
        try:
            return xml.decode_structure(shape, xml.parse_document(body))
        except ValueProblem as exc:
            raise AwsError("MalformedXML", MALFORMED_XML, 400) from exc

    def decode_payload(self, member: Shape, name: str, body: bytes) -> Any:
        try:
            return xml.decode_element(member, xml.parse_document(body))
        except ValueProblem as exc:
            raise AwsError("MalformedXML", MALFORMED_XML, 400) from exc

    def bad_binding(self, location: str, wire: str, problem: ValueProblem) -> AwsError:
        return AwsError(
            "InvalidArgument",
            f"Invalid value for {location} {wire!r}: {problem}",
            400,
            fields={"ArgumentName": wire},
        )

    # -- responses -----------------------------------------------------------------------

    def encode_body(
        self, operation: OperationModel, shape: StructureShape, members: Mapping[str, Any]
    ) -> bytes:
        root_name = self.root_name(operation, shape)
        body_members = [(n, m) for n, m in shape.members.items() if not _bound(m)]
        if len(body_members) == 1 and _is_scalar(body_members[0][1]):
            name, member = body_members[0]
            if str(member.serialization.get("name", name)) == root_name:
                # GetBucketLocation: the root element itself carries the value.
                value = members.get(name)
                root = (
                    xml.encode_element(member, value, root_name)
                    if value is not None
                    else ET.Element(root_name)
                )
                return self._finish(root)
        root = ET.Element(root_name)
        xml.encode_members(shape, members, root)
        return self._finish(root)

    def encode_payload(
        self, operation: OperationModel, member: Shape, name: str, value: Any
    ) -> bytes:
        root_name = str(member.serialization.get("name", name))
        return self._finish(xml.encode_element(member, value, root_name))

    def _finish(self, root: ET.Element) -> bytes:
        if self.namespace and "xmlns" not in root.attrib:
            root.set("xmlns", self.namespace)
        return xml.to_bytes(root)

    def root_name(self, operation: OperationModel, shape: StructureShape) -> str:
        named = shape.serialization.get("name")
        if named:
            return str(named)
        known = _ROOT_NAMES.get(operation.name)
        if known:
            return known
        twin = _put_twin_payload(self.service, operation)
        return twin or f"{operation.name}Result"

    def add_request_id(self, response: HttpResponse, request_id: str) -> None:
        response.set_header("x-amz-request-id", request_id)
        response.set_header("x-amz-id-2", host_id(request_id))

    def serialize_error(
        self, error: AwsError, operation: OperationModel | None, request_id: str
    ) -> HttpResponse:
        response = HttpResponse(status=error.status)
        is_head = operation is not None and operation.http.get("method") == "HEAD"
        if not is_head:
            root = ET.Element("Error")
            ET.SubElement(root, "Code").text = error.code
            ET.SubElement(root, "Message").text = error.message
            for name, value in error.fields.items():
                if value is not None:
                    ET.SubElement(root, name).text = field_text(value)
            ET.SubElement(root, "RequestId").text = request_id
            ET.SubElement(root, "HostId").text = host_id(request_id)
            response.body = xml.to_bytes(root)
            response.headers.append(("Content-Type", self.body_content_type))
        return self.finish_error(response, error, request_id)


def host_id(request_id: str) -> str:
    """S3's ``x-amz-id-2``: opaque to clients, stable per request for log correlation."""
    return base64.b64encode(hashlib.sha256(request_id.encode()).digest()).decode()


def _bound(member: Shape) -> bool:
    return member.serialization.get("location") is not None


def _is_scalar(member: Shape) -> bool:
    return not isinstance(member, StructureShape | ListShape | MapShape)


def _put_twin_payload(service: ServiceModel, operation: OperationModel) -> str | None:
    if not operation.name.startswith("Get"):
        return None
    twin = "Put" + operation.name[3:]
    if twin not in service.operation_names:
        return None
    shape = service.operation_model(twin).input_shape
    payload = shape.serialization.get("payload") if shape is not None else None
    if payload is None or not isinstance(shape.members[payload], StructureShape):
        return None
    return str(shape.members[payload].serialization.get("name", payload))
