"""Odd and malformed requests get AWS errors, never a 500 or a traceback."""

from __future__ import annotations

import http.client

import pytest

from sagebrush.testing import Server

JSON = {"X-Amz-Target": "SageMaker.ListModels", "Content-Type": "application/x-amz-json-1.1"}
SIGNED_IAM = {
    "Content-Type": "application/x-www-form-urlencoded",
    "Authorization": "AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/iam/aws4_request, "
    "SignedHeaders=host, Signature=00",
}
CHUNKED = {
    "Content-Encoding": "aws-chunked",
    "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    "x-amz-decoded-content-length": "3",
}

CASES = [
    ("GET", "/odd-requests?list-type=2&max-keys=abc", b"", {}, "InvalidArgument"),
    ("GET", "/odd-requests?list-type=2&max-keys=-1", b"", {}, "InvalidArgument"),
    ("GET", "/odd-requests?list-type=2&continuation-token=zzz", b"", {}, "InvalidArgument"),
    ("PUT", "/odd-requests/" + "k" * 1100, b"x", {}, "KeyTooLongError"),
    ("POST", "/odd-requests?delete", b"<Delete><Object><Key>a</Key>", {}, "MalformedXML"),
    ("PUT", "/odd-requests/k?partNumber=0&uploadId=u", b"x", {}, "InvalidArgument"),
    ("PUT", "/odd-requests/k?partNumber=abc&uploadId=u", b"x", {}, "InvalidArgument"),
    ("PUT", "/Bad_Bucket", b"", {}, "InvalidBucketName"),
    ("PATCH", "/odd-requests/k", b"", {}, "MethodNotAllowed"),
    ("PUT", "/odd-requests/c", b"zz\r\nbad", CHUNKED, "InvalidRequest"),
    ("PUT", "/odd-requests/copy", b"", {"x-amz-copy-source": "garbage"}, "InvalidArgument"),
    ("PUT", "/odd-requests/md5", b"abc", {"Content-MD5": "not base64!"}, "InvalidDigest"),
    ("GET", "/x", b"", {"Authorization": "AWS4-HMAC-SHA256 garbage"}, "IncompleteSignature"),
    ("POST", "/", b"[]", JSON, "SerializationException"),
    ("POST", "/", b'{"MaxResults": 1e400}', JSON, "SerializationException"),
    ("POST", "/", b"\xff\xfe", JSON, "SerializationException"),
    ("POST", "/", b"Action=GetRole&Version=2010-05-08", SIGNED_IAM, "ValidationError"),
]


@pytest.fixture(scope="module")
def bucket(server: Server) -> str:
    server.client("s3").create_bucket(Bucket="odd-requests")
    return "odd-requests"


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]} {c[1][:40]} {c[4]}" for c in CASES])
def test_bad_request_gets_an_aws_error(
    server: Server, bucket: str, case: tuple[str, str, bytes, dict[str, str], str]
) -> None:
    method, path, body, headers, code = case
    conn = http.client.HTTPConnection(server.url.split("//")[1])
    conn.request(method, path, body=body, headers=headers)
    reply = conn.getresponse()
    text = reply.read().decode("utf-8", "replace")
    assert 400 <= reply.status < 500, text
    assert code in text
    assert "Traceback" not in text
