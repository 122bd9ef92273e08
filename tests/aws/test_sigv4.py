"""SigV4 verification against requests signed by botocore's own signers."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import boto3
import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from sagebrush.aws.chunked import payload_stream
from sagebrush.aws.errors import AwsError
from sagebrush.aws.http import Body, Headers, HttpRequest
from sagebrush.aws.sigv4 import (
    SigV4Info,
    check_payload_sha256,
    expected_payload_sha256,
    parse_credentials,
    verify,
)

KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
ENDPOINT = "http://localhost:4510"


def secret_for(key: str) -> str | None:
    return {KEY: SECRET}.get(key)


class _Captured(Exception):
    def __init__(self, request: Any) -> None:
        self.request = request


def to_http(method: str, url: str, headers: Any, body: Any) -> HttpRequest:
    parts = urlsplit(url)
    items = [
        (k, v.decode("latin-1") if isinstance(v, bytes) else str(v)) for k, v in headers.items()
    ]
    if not any(k.lower() == "host" for k, _ in items):
        items.append(("host", parts.netloc))
    if body is None:
        data = b""
    elif isinstance(body, bytes | bytearray):
        data = bytes(body)
    elif isinstance(body, str):
        data = body.encode()
    else:
        data = body.read()
    return HttpRequest(
        method=method,
        raw_path=parts.path or "/",
        query=parse_qsl(parts.query, keep_blank_values=True),
        headers=Headers(items),
        body=Body(data),
    )


def signed_aws_request(request: AWSRequest) -> HttpRequest:
    prepared = request.prepare()
    return to_http(prepared.method, prepared.url, prepared.headers, prepared.body)


def capture(
    service: str, call: Callable[[Any], Any], endpoint: str = ENDPOINT, **kw: Any
) -> HttpRequest:
    """The request a real boto3 client sends for ``call(client)``, converted; never sent."""
    client = boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=kw.pop("region", "us-east-1"),
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        aws_session_token=kw.pop("token", None),
        config=Config(retries={"max_attempts": 0}, **kw),
    )

    def stop(request: Any, **_: Any) -> None:
        raise _Captured(request)

    client.meta.events.register("before-send", stop)
    with pytest.raises(_Captured) as caught:
        call(client)
    sent = caught.value.request
    return to_http(sent.method, sent.url, sent.headers, sent.body)


def now() -> datetime:
    return datetime.now(UTC)


def check(request: HttpRequest, **kw: Any) -> SigV4Info:
    info = parse_credentials(request)
    assert info is not None
    body = asyncio.run(request.body.read())
    kw.setdefault("body_sha256", None if info.is_s3 else hashlib.sha256(body).hexdigest())
    verify(request, info, kw.pop("secret_for", secret_for), kw.pop("now", now()), **kw)
    return info


def fails(request: HttpRequest, code: str, status: int = 403, **kw: Any) -> None:
    with pytest.raises(AwsError) as caught:
        check(request, **kw)
    assert (caught.value.code, caught.value.status) == (code, status)


def sts_request() -> HttpRequest:
    return capture("sts", lambda c: c.get_caller_identity())


def s3_put(endpoint: str = ENDPOINT, key: str = "dir/a b+c~!*'()ü=&.txt") -> HttpRequest:
    return capture(
        "s3",
        lambda c: c.put_object(Bucket="bucket", Key=key, Body=b"hello" * 100, Metadata={"m": "v"}),
        endpoint=endpoint,
    )


# -- valid requests ------------------------------------------------------------------------


def test_query_protocol_request_verifies() -> None:
    info = check(sts_request())
    assert (info.access_key, info.service, info.region) == (KEY, "sts", "us-east-1")
    assert not info.presigned and "host" in info.signed_headers


def test_json_protocol_request_verifies() -> None:
    info = check(capture("sagemaker", lambda c: c.list_training_jobs(MaxResults=5)))
    assert info.service == "sagemaker"


def test_rest_json_path_is_double_encoded_for_non_s3() -> None:
    request = capture(
        "sagemaker-runtime",
        lambda c: c.invoke_endpoint(EndpointName="my-endpoint", Body=b"1,2,3"),
    )
    assert check(request).service == "sagemaker"
    manual = AWSRequest(method="POST", url=f"{ENDPOINT}/odd%20path/x%2Fy/../z", data=b"{}")
    SigV4Auth(Credentials(KEY, SECRET), "sagemaker", "us-east-1").add_auth(manual)
    check(signed_aws_request(manual))


def test_s3_path_is_not_double_encoded() -> None:
    request = s3_put()
    assert "%20" in request.raw_path
    info = check(request)
    assert info.is_s3
    check(request, s3=True)
    fails(request, "SignatureDoesNotMatch", s3=False)  # the path would be encoded twice
    assert expected_payload_sha256(info) == hashlib.sha256(b"hello" * 100).hexdigest()


def test_s3_query_parameters_verify() -> None:
    request = capture(
        "s3",
        lambda c: c.list_objects_v2(
            Bucket="bucket", Prefix="a b/ü+&=", Delimiter="/", StartAfter="~x", MaxKeys=7
        ),
    )
    assert dict(request.query)["prefix"] == "a b/ü+&="
    check(request)
    check(capture("s3", lambda c: c.create_multipart_upload(Bucket="b", Key="k")))


def test_direct_s3_signer() -> None:
    request = AWSRequest(method="GET", url=f"{ENDPOINT}/bucket/some%20key?versionId=x%2By")
    S3SigV4Auth(Credentials(KEY, SECRET), "s3", "us-east-1").add_auth(request)
    check(signed_aws_request(request))


def test_any_scope_region_is_accepted() -> None:
    request = capture("sts", lambda c: c.get_caller_identity(), region="ap-southeast-2")
    assert check(request).region == "ap-southeast-2"


def test_session_token_is_read() -> None:
    info = check(capture("sts", lambda c: c.get_caller_identity(), token="TOKEN123"))
    assert info.security_token == "TOKEN123"


def test_streaming_trailer_put_verifies() -> None:
    request = s3_put(endpoint="https://localhost:4510")
    info = check(request)
    assert info.payload_hash == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert expected_payload_sha256(info) is None


def presign(**config: Any) -> HttpRequest:
    client = boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        config=Config(**config),
    )
    url = client.generate_presigned_url(
        "get_object",
        Params={"Bucket": "b", "Key": "a b/c+d", "ResponseContentType": "text/plain"},
        ExpiresIn=600,
    )
    return to_http("GET", url, {}, b"")


def test_presigned_sigv4_url_verifies_and_expires() -> None:
    request = presign(signature_version="s3v4")
    info = check(request)
    assert info.presigned and info.expires == 600 and info.is_s3 and info.version == 4
    check(request, now=now() + timedelta(seconds=590))
    fails(request, "AccessDenied", now=now() + timedelta(seconds=700))
    fails(request, "SignatureDoesNotMatch", secret_for=lambda _: "not-the-secret")


def test_presigned_sigv2_url_is_botocores_default_and_verifies() -> None:
    request = presign()
    info = check(request)
    assert info.version == 2 and info.presigned and info.service == "s3"
    fails(request, "AccessDenied", now=now() + timedelta(seconds=700))
    fails(request, "SignatureDoesNotMatch", secret_for=lambda _: "not-the-secret")
    request.query = [(k, "x" if k == "response-content-type" else v) for k, v in request.query]
    fails(request, "SignatureDoesNotMatch")


def test_sigv2_header_auth_verifies() -> None:
    request = capture(
        "s3",
        lambda c: c.put_object(Bucket="b", Key="k y", Body=b"x", Metadata={"a": "1"}),
        signature_version="s3",
    )
    info = check(request)
    assert info.version == 2
    fails(request, "RequestTimeTooSkewed", now=now() + timedelta(minutes=20))
    upload = capture(
        "s3",
        lambda c: c.upload_part(Bucket="b", Key="k", UploadId="u", PartNumber=2, Body=b"x"),
        signature_version="s3",
    )
    check(upload)
    upload.query = [(k, "3" if k == "partNumber" else v) for k, v in upload.query]
    fails(upload, "SignatureDoesNotMatch")


def test_direct_presigned_signer_and_tampered_query() -> None:
    request = AWSRequest(method="PUT", url=f"{ENDPOINT}/b/k?partNumber=1&uploadId=abc")
    S3SigV4QueryAuth(Credentials(KEY, SECRET), "s3", "eu-west-1", expires=60).add_auth(request)
    signed = signed_aws_request(request)
    check(signed)
    signed.query = [(k, "2" if k == "partNumber" else v) for k, v in signed.query]
    fails(signed, "SignatureDoesNotMatch")


# -- rejected requests ---------------------------------------------------------------------


def test_wrong_secret() -> None:
    fails(sts_request(), "SignatureDoesNotMatch", secret_for=lambda _: "not-the-secret")
    fails(s3_put(), "SignatureDoesNotMatch", secret_for=lambda _: "not-the-secret")


def test_unknown_access_key() -> None:
    fails(sts_request(), "InvalidClientTokenId", secret_for=lambda _: None)
    fails(s3_put(), "InvalidAccessKeyId", secret_for=lambda _: None)


def test_tampered_body_for_whole_body_services() -> None:
    request = sts_request()
    tampered = hashlib.sha256(b"Action=GetCallerIdentity&Version=2011-06-16").hexdigest()
    fails(request, "SignatureDoesNotMatch", body_sha256=tampered)


def test_tampered_header() -> None:
    request = s3_put()
    items = [(k, "other" if k == "x-amz-meta-m" else v) for k, v in request.headers.raw_items()]
    request.headers = Headers(items)
    fails(request, "SignatureDoesNotMatch")


def test_tampered_query() -> None:
    request = capture("s3", lambda c: c.list_objects_v2(Bucket="bucket", Prefix="a"))
    request.query = [(k, "b" if k == "prefix" else v) for k, v in request.query]
    fails(request, "SignatureDoesNotMatch")


def test_tampered_streamed_s3_body_is_caught_by_the_payload_stream() -> None:
    request = s3_put()
    info = check(request)
    expected = expected_payload_sha256(info)
    assert expected is not None
    request.body = Body(b"jello" * 100)
    stream = payload_stream(request, expected_sha256=expected)
    with pytest.raises(AwsError) as caught:
        asyncio.run(stream.read())
    assert caught.value.code == "XAmzContentSHA256Mismatch"
    with pytest.raises(AwsError):
        check_payload_sha256(expected, hashlib.sha256(b"x").hexdigest())
    check_payload_sha256(expected, hashlib.sha256(b"hello" * 100).hexdigest())


def test_declared_hash_mismatch_when_body_hash_is_known() -> None:
    request = s3_put()
    fails(request, "XAmzContentSHA256Mismatch", 400, body_sha256=hashlib.sha256(b"").hexdigest())


def test_clock_skew() -> None:
    request = sts_request()
    fails(request, "RequestTimeTooSkewed", now=now() + timedelta(minutes=16))
    fails(request, "RequestTimeTooSkewed", now=now() - timedelta(minutes=16))
    check(request, now=now() + timedelta(minutes=14))


# -- parsing -------------------------------------------------------------------------------


def _bare(headers: list[tuple[str, str]], query: list[tuple[str, str]] | None = None) -> Any:
    return HttpRequest("GET", "/", query or [], Headers(headers), Body(b""))


def test_unsigned_and_sigv2_requests() -> None:
    assert parse_credentials(_bare([("host", "x")])) is None
    info = parse_credentials(_bare([("Authorization", "AWS AKID:c2lnbmF0dXJl")]))
    assert info is not None and (info.access_key, info.version) == ("AKID", 2)
    info = parse_credentials(
        _bare([], [("AWSAccessKeyId", "AKID"), ("Signature", "x"), ("Expires", "100")])
    )
    assert info is not None and info.presigned and info.version == 2


def test_malformed_authorization_header() -> None:
    with pytest.raises(AwsError) as caught:
        parse_credentials(_bare([("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/2026")]))
    assert caught.value.status == 400
