"""SigV4 verification (`--auth on`): the right key works, anything else gets AWS's codes."""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from sagebrush.testing import Server, start_server

GOOD = Credentials("sagebrush", "sagebrush-secret")


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("auth-home"), "--auth", "on")
    yield srv
    srv.stop()


def _client(server: Server, service: str, key: str, secret: str, **kw: Any) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        **kw,
    )


def _code(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    r = excinfo.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def _send(server: Server, request: AWSRequest, body: bytes | None = None) -> tuple[int, bytes]:
    prepared = request.prepare()
    host = server.url.split("//")[1]
    conn = http.client.HTTPConnection(host)
    path = prepared.url.split(host, 1)[1]
    conn.request(
        prepared.method,
        path,
        body=prepared.body if body is None else body,
        headers=dict(prepared.headers),
    )
    reply = conn.getresponse()
    return reply.status, reply.read()


def test_the_configured_key_works(secured: Server) -> None:
    s3 = _client(secured, "s3", "sagebrush", "sagebrush-secret")
    s3.create_bucket(Bucket="secure")
    s3.put_object(Bucket="secure", Key="k", Body=b"signed body")
    assert s3.get_object(Bucket="secure", Key="k")["Body"].read() == b"signed body"
    sts = _client(secured, "sts", "sagebrush", "sagebrush-secret")
    assert sts.get_caller_identity()["Account"] == "000000000000"


def test_wrong_secret_is_signature_does_not_match(secured: Server) -> None:
    s3 = _client(secured, "s3", "sagebrush", "wrong-secret")
    with pytest.raises(ClientError) as err:
        s3.list_buckets()
    assert _code(err) == ("SignatureDoesNotMatch", 403)
    sm = _client(secured, "sagemaker", "sagebrush", "wrong-secret")
    with pytest.raises(ClientError) as err:
        sm.list_training_jobs()
    assert _code(err) == ("SignatureDoesNotMatch", 403)


def test_unknown_key_is_rejected(secured: Server) -> None:
    with pytest.raises(ClientError) as err:
        _client(secured, "s3", "AKIDUNKNOWN", "x").list_buckets()
    assert _code(err) == ("InvalidAccessKeyId", 403)
    with pytest.raises(ClientError) as err:
        _client(secured, "sts", "AKIDUNKNOWN", "x").get_caller_identity()
    assert _code(err) == ("InvalidClientTokenId", 403)


def test_unsigned_requests_are_denied(secured: Server) -> None:
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{secured.url}/secure/k")
    assert err.value.code == 403
    assert b"<Code>AccessDenied</Code>" in err.value.read()


def test_tampered_s3_body_is_rejected(secured: Server) -> None:
    request = AWSRequest("PUT", f"{secured.url}/secure/tampered", data=b"original body")
    request.context["payload_signing_enabled"] = True
    S3SigV4Auth(GOOD, "s3", "us-east-1").add_auth(request)
    status, body = _send(secured, request, body=b"modified body")
    assert status in (400, 403)
    assert b"XAmzContentSHA256Mismatch" in body or b"SignatureDoesNotMatch" in body
    s3 = _client(secured, "s3", "sagebrush", "sagebrush-secret")
    with pytest.raises(ClientError):
        s3.head_object(Bucket="secure", Key="tampered")


def test_tampered_json_body_and_header_are_rejected(secured: Server) -> None:
    def signed() -> AWSRequest:
        request = AWSRequest(
            "POST",
            f"{secured.url}/",
            data=b'{"MaxResults": 5}',
            headers={
                "X-Amz-Target": "SageMaker.ListTrainingJobs",
                "Content-Type": "application/x-amz-json-1.1",
            },
        )
        SigV4Auth(GOOD, "sagemaker", "us-east-1").add_auth(request)
        return request

    status, body = _send(secured, signed(), body=b'{"MaxResults": 6}')
    assert (status, b"SignatureDoesNotMatch" in body) == (403, True)
    request = signed()
    request.headers.replace_header("X-Amz-Target", "SageMaker.ListModels")
    status, body = _send(secured, request)
    assert (status, b"SignatureDoesNotMatch" in body) == (403, True)


def test_presigned_urls_expire(secured: Server) -> None:
    s3 = _client(
        secured, "s3", "sagebrush", "sagebrush-secret", config=Config(signature_version="s3v4")
    )
    s3.put_object(Bucket="secure", Key="p", Body=b"presigned")
    fresh = s3.generate_presigned_url("get_object", Params={"Bucket": "secure", "Key": "p"})
    with urllib.request.urlopen(fresh) as reply:
        assert reply.read() == b"presigned"
    short = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "secure", "Key": "p"}, ExpiresIn=1
    )
    time.sleep(2.1)
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(short)
    assert err.value.code == 403
    assert b"<Code>AccessDenied</Code>" in err.value.read()
    tampered = fresh.replace("Key=p", "Key=q").replace("/p?", "/q?")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(tampered)
    assert err.value.code == 403


def test_sdk_default_presigned_urls_work_with_auth(secured: Server, tmp_path: Path) -> None:
    s3 = _client(secured, "s3", "sagebrush", "sagebrush-secret")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "secure", "Key": "k"})
    with urllib.request.urlopen(url) as reply:
        assert reply.read() == b"signed body"


def test_gzip_compressed_put_metric_data_verifies(secured: Server) -> None:
    # botocore gzips PutMetricData past 10 KiB and signs the compressed bytes.
    cw = _client(secured, "cloudwatch", "sagebrush", "sagebrush-secret")
    data = [{"MetricName": "m", "Value": float(i)} for i in range(1000)]
    cw.put_metric_data(Namespace="Test/auth-gzip", MetricData=data)
    assert cw.list_metrics(Namespace="Test/auth-gzip")["Metrics"][0]["MetricName"] == "m"
