from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from botocore.exceptions import ClientError
from tests.aws.wire_roundtrip import (
    operation,
    parse,
    protocol,
    read_response,
    respond,
    stubbed_client,
    to_request,
    without_metadata,
)

from sagebrush.aws.errors import AwsError
from sagebrush.aws.http import Body, Headers, HttpRequest, OperationResult
from sagebrush.aws.streams import PayloadStream

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
WHEN = datetime(2024, 6, 1, 8, 30, 0, 125000, tzinfo=UTC)


def _root(body: Any) -> ET.Element:
    assert isinstance(body, bytes)
    return ET.fromstring(body)


def test_put_object_headers_metadata_and_streaming_body() -> None:
    params = {
        "Bucket": "bucket",
        "Key": "dir/sub dir/ü+%?.txt",
        "Body": b"hello world, streamed",
        "ContentType": "text/plain",
        "Metadata": {"owner": "me", "run-id": "42"},
        "Expires": datetime(2030, 1, 1, tzinfo=UTC),
        "ObjectLockRetainUntilDate": datetime(2031, 1, 1, tzinfo=UTC),
        "BucketKeyEnabled": True,
        "Tagging": "a=b&c=d",
        "StorageClass": "STANDARD",
    }
    parsed = parse("s3", "PutObject", params, chunked=True)
    stream = parsed.pop("Body")
    assert isinstance(stream, PayloadStream)
    assert asyncio.run(stream.read()) == params["Body"]
    assert parsed.pop("ContentLength") == len(params["Body"])  # type: ignore[arg-type]
    assert parsed == {k: v for k, v in params.items() if k != "Body"}


def test_aws_chunked_framing_is_not_the_callers() -> None:
    request, labels = to_request("s3", "PutObject", {"Bucket": "b", "Key": "k"})
    request.headers = Headers(
        [
            ("Content-Length", "120"),
            ("Content-Encoding", "aws-chunked,gzip"),
            ("x-amz-decoded-content-length", "7"),
        ]
    )
    op = operation("s3", "PutObject")
    parsed = asyncio.run(protocol("s3").parse_request(op, request, labels))
    assert parsed["ContentLength"] == 7
    assert parsed["ContentEncoding"] == "gzip"


def test_metadata_keys_are_lowercased() -> None:
    parsed = parse("s3", "PutObject", {"Bucket": "b", "Key": "k", "Metadata": {"MiXed": "V"}})
    assert parsed["Metadata"] == {"mixed": "V"}


def test_complete_multipart_upload_xml_payload() -> None:
    params = {
        "Bucket": "bucket",
        "Key": "big.bin",
        "UploadId": "upload-1",
        "MultipartUpload": {
            "Parts": [
                {"ETag": '"etag-1"', "PartNumber": 1, "ChecksumCRC32": "AAAAAA=="},
                {"ETag": '"etag-2"', "PartNumber": 2},
            ]
        },
    }
    assert parse("s3", "CompleteMultipartUpload", params) == params


def test_delete_objects_xml_payload() -> None:
    params = {
        "Bucket": "bucket",
        "Delete": {
            "Objects": [{"Key": "a"}, {"Key": "b/c", "VersionId": "v1"}],
            "Quiet": True,
        },
    }
    assert parse("s3", "DeleteObjects", params) == params


def test_list_objects_v2_querystring() -> None:
    params = {
        "Bucket": "bucket",
        "Prefix": "logs/2024 ü/",
        "Delimiter": "/",
        "MaxKeys": 50,
        "ContinuationToken": "tok+en/=",
        "FetchOwner": True,
        "StartAfter": "logs/a",
        "EncodingType": "url",
        "OptionalObjectAttributes": ["RestoreStatus"],
    }
    assert parse("s3", "ListObjectsV2", params) == params


def test_get_object_query_timestamp_and_conditional_headers() -> None:
    params = {
        "Bucket": "bucket",
        "Key": "k",
        "IfModifiedSince": datetime(2024, 1, 1, tzinfo=UTC),
        "Range": "bytes=0-9",
        "ResponseExpires": datetime(2025, 1, 1, tzinfo=UTC),
        "ResponseContentType": "text/csv",
        "PartNumber": 2,
    }
    assert parse("s3", "GetObject", params) == params


def test_create_bucket_with_and_without_configuration() -> None:
    params = {
        "Bucket": "bucket",
        "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"},
        "ACL": "private",
    }
    assert parse("s3", "CreateBucket", params) == params
    assert parse("s3", "CreateBucket", {"Bucket": "bucket"}) == {"Bucket": "bucket"}


def test_put_object_acl_xml_attribute() -> None:
    params = {
        "Bucket": "bucket",
        "Key": "k",
        "AccessControlPolicy": {
            "Grants": [
                {
                    "Grantee": {"ID": "owner-id", "Type": "CanonicalUser"},
                    "Permission": "FULL_CONTROL",
                },
                {
                    "Grantee": {
                        "URI": "http://acs.amazonaws.com/groups/global/AllUsers",
                        "Type": "Group",
                    },
                    "Permission": "READ",
                },
            ],
            "Owner": {"ID": "owner-id"},
        },
    }
    assert parse("s3", "PutObjectAcl", params) == params


def test_put_bucket_tagging_payload() -> None:
    params = {
        "Bucket": "bucket",
        "Tagging": {"TagSet": [{"Key": "k1", "Value": "v1"}, {"Key": "k2", "Value": ""}]},
    }
    assert parse("s3", "PutBucketTagging", params) == params


@pytest.mark.parametrize("body", [b"<Delete><Object>", b"not xml", b"<!DOCTYPE x []><Delete/>"])
def test_malformed_xml(body: bytes) -> None:
    op = operation("s3", "DeleteObjects")
    request = HttpRequest("POST", "/bucket", [("delete", "")], Headers(), Body(body))
    with pytest.raises(AwsError) as caught:
        asyncio.run(protocol("s3").parse_request(op, request, {"Bucket": "bucket"}))
    assert caught.value.code == "MalformedXML"
    assert caught.value.status == 400
    assert caught.value.message.startswith("The XML you provided was not well-formed")


def test_bad_querystring_integer_is_invalid_argument() -> None:
    request, labels = to_request("s3", "ListObjectsV2", {"Bucket": "b"})
    request.query.append(("max-keys", "many"))
    with pytest.raises(AwsError) as caught:
        asyncio.run(protocol("s3").parse_request(operation("s3", "ListObjectsV2"), request, labels))
    assert caught.value.code == "InvalidArgument"


def test_list_objects_v2_response() -> None:
    result = {
        "IsTruncated": True,
        "Contents": [
            {
                "Key": "a.txt",
                "LastModified": WHEN,
                "ETag": '"abc"',
                "Size": 3,
                "StorageClass": "STANDARD",
                "Owner": {"ID": "o", "DisplayName": "me"},
            },
            {"Key": "b & <c>.txt", "LastModified": WHEN, "ETag": '"def"', "Size": 0},
        ],
        "Name": "bucket",
        "Prefix": "",
        "Delimiter": "/",
        "MaxKeys": 1000,
        "CommonPrefixes": [{"Prefix": "dir/"}],
        "KeyCount": 3,
        "NextContinuationToken": "next",
    }
    response, parsed = respond("s3", "ListObjectsV2", result)
    assert without_metadata(parsed) == result
    root = _root(response.body)
    assert root.tag == f"{{{S3_NS}}}ListBucketResult"
    headers = dict(response.headers)
    assert headers["Content-Type"] == "application/xml"
    assert headers["x-amz-request-id"] == "req-1234"
    assert parsed["ResponseMetadata"]["HostId"] == headers["x-amz-id-2"]
    assert b"<LastModified>2024-06-01T08:30:00.125Z</LastModified>" in response.body  # type: ignore[operator]


@pytest.mark.parametrize(
    ("op", "result", "root"),
    [
        (
            "ListBuckets",
            {"Buckets": [{"Name": "b", "CreationDate": WHEN}], "Owner": {"ID": "o"}},
            "ListAllMyBucketsResult",
        ),
        (
            "CreateMultipartUpload",
            {"Bucket": "b", "Key": "k", "UploadId": "u"},
            "InitiateMultipartUploadResult",
        ),
        (
            "CompleteMultipartUpload",
            {"Location": "http://x/b/k", "Bucket": "b", "Key": "k", "ETag": '"e-2"'},
            "CompleteMultipartUploadResult",
        ),
        (
            "ListParts",
            {
                "Bucket": "b",
                "Key": "k",
                "UploadId": "u",
                "Parts": [{"PartNumber": 1, "ETag": '"e"', "Size": 5, "LastModified": WHEN}],
                "IsTruncated": False,
            },
            "ListPartsResult",
        ),
        (
            "ListMultipartUploads",
            {"Bucket": "b", "Uploads": [{"UploadId": "u", "Key": "k", "Initiated": WHEN}]},
            "ListMultipartUploadsResult",
        ),
        (
            "DeleteObjects",
            {
                "Deleted": [{"Key": "a"}, {"Key": "b", "VersionId": "v"}],
                "Errors": [{"Key": "c", "Code": "AccessDenied", "Message": "no"}],
            },
            "DeleteResult",
        ),
        (
            "CopyObject",
            {"CopyObjectResult": {"ETag": '"e"', "LastModified": WHEN}, "VersionId": "v"},
            "CopyObjectResult",
        ),
        ("GetBucketTagging", {"TagSet": [{"Key": "k", "Value": "v"}]}, "Tagging"),
        ("GetBucketVersioning", {"Status": "Enabled"}, "VersioningConfiguration"),
        (
            "ListObjects",
            {"Name": "b", "Contents": [{"Key": "k", "Size": 1}], "Marker": ""},
            "ListBucketResult",
        ),
    ],
)
def test_response_root_elements(op: str, result: dict[str, Any], root: str) -> None:
    response, parsed = respond("s3", op, result)
    assert without_metadata(parsed) == result
    assert _root(response.body).tag == f"{{{S3_NS}}}{root}"


def test_get_object_acl_xml_attribute_response() -> None:
    result = {
        "Owner": {"ID": "o"},
        "Grants": [{"Grantee": {"ID": "o", "Type": "CanonicalUser"}, "Permission": "FULL_CONTROL"}],
    }
    response, parsed = respond("s3", "GetObjectAcl", result)
    assert without_metadata(parsed) == result
    assert b'xsi:type="CanonicalUser"' in response.body  # type: ignore[operator]


def test_get_object_streams_body_and_headers() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"part-1,"
        yield b"part-2"

    stream = chunks()
    result = OperationResult(
        {
            "Body": stream,
            "ContentLength": 13,
            "ContentType": "text/plain",
            "ETag": '"etag"',
            "LastModified": datetime(2026, 11, 25, 4, 0, tzinfo=UTC),
            "Metadata": {"owner": "me"},
            "ObjectLockRetainUntilDate": WHEN,
            "DeleteMarker": False,
            "ContentRange": "bytes 0-12/100",
        },
        status=206,
    )
    response, parsed = respond("s3", "GetObject", result)
    assert response.body is stream
    assert response.status == 206
    assert ("Last-Modified", "Wed, 25 Nov 2026 04:00:00 GMT") in response.headers
    assert ("x-amz-meta-owner", "me") in response.headers
    assert parsed.pop("Body").read() == b"part-1,part-2"
    expected = {k: v for k, v in result.members.items() if k != "Body"}
    assert without_metadata(parsed) == expected


def test_output_without_body_members_is_empty() -> None:
    response, parsed = respond("s3", "PutObject", {"ETag": '"e"', "VersionId": "v"})
    assert response.body == b""
    assert without_metadata(parsed) == {"ETag": '"e"', "VersionId": "v"}


def test_error_body_and_fields() -> None:
    error = AwsError("NoSuchKey", "The specified key does not exist.", 404, fields={"Key": "a/b"})
    response = protocol("s3").serialize_error(error, operation("s3", "GetObject"), "rid")
    root = _root(response.body)
    assert root.tag == "Error"
    assert root.findtext("Key") == "a/b"
    assert root.findtext("RequestId") == "rid"
    parsed = read_response("s3", "GetObject", response)
    assert parsed["Error"]["Code"] == "NoSuchKey"
    assert parsed["Error"]["Message"] == "The specified key does not exist."
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert parsed["ResponseMetadata"]["RequestId"] == "rid"


def test_head_error_has_no_body() -> None:
    error = AwsError("NoSuchKey", "gone", 404, headers={"x-amz-delete-marker": "true"})
    response = protocol("s3").serialize_error(error, operation("s3", "HeadObject"), "rid")
    assert response.body == b""
    assert ("x-amz-delete-marker", "true") in response.headers
    parsed = read_response("s3", "HeadObject", response)
    assert parsed["Error"]["Code"] == "404"


def _s3_provider(op: str, params: dict[str, Any]) -> dict[str, Any]:
    if op == "GetBucketLocation":
        return {"LocationConstraint": None if params["Bucket"] == "east" else "eu-west-1"}
    if op == "PutObject":
        body = asyncio.run(params["Body"].read())
        return {"ETag": f'"{len(body)}"'}
    if op == "GetObject":
        raise AwsError(
            "NoSuchKey", "The specified key does not exist.", 404, fields={"Key": params["Key"]}
        )
    if op == "HeadObject":
        raise AwsError("NoSuchKey", "", 404)
    raise AssertionError(op)


def _s3_client() -> Any:
    return stubbed_client(
        "s3",
        _s3_provider,
        s3={"addressing_style": "path"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )


def test_boto3_get_bucket_location() -> None:
    client = _s3_client()
    assert client.get_bucket_location(Bucket="west")["LocationConstraint"] == "eu-west-1"
    assert client.get_bucket_location(Bucket="east")["LocationConstraint"] is None


def test_boto3_put_object_and_errors() -> None:
    client = _s3_client()
    answer = client.put_object(Bucket="b", Key="x/y z", Body=b"12345", Metadata={"a": "1"})
    assert answer["ETag"] == '"5"'
    assert client.seen[0]["Key"] == "x/y z"
    assert client.seen[0]["Metadata"] == {"a": "1"}
    with pytest.raises(ClientError) as caught:
        client.get_object(Bucket="b", Key="missing")
    assert caught.value.response["Error"]["Code"] == "NoSuchKey"
    assert caught.value.response["Error"]["Key"] == "missing"
    with pytest.raises(ClientError) as caught:
        client.head_object(Bucket="b", Key="missing")
    assert caught.value.response["Error"]["Code"] == "404"
