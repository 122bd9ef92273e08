"""aws-chunked decoding of bodies framed by botocore's own encoder, and signed chunks."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import itertools
import random
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum, Sha256Checksum

from sagebrush.aws.chunked import (
    ChunkVerifier,
    chunk_verifier,
    is_aws_chunked,
    payload_stream,
    stored_content_encoding,
)
from sagebrush.aws.errors import AwsError
from sagebrush.aws.http import Body, Headers, HttpRequest
from sagebrush.aws.sigv4 import (
    EMPTY_SHA256,
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    parse_credentials,
    signing_key,
    verify,
)
from sagebrush.aws.streams import PayloadStream

KEY, SECRET = "AKIDEXAMPLE", "secret/key+example"


def secret_for(key: str) -> str | None:
    return {KEY: SECRET}.get(key)


def request_with(
    wire: bytes, headers: list[tuple[str, str]], splits: list[int] | None = None
) -> HttpRequest:
    """A request whose body arrives in pieces cut at ``splits``."""
    cuts = [0, *sorted(splits or []), len(wire)]
    pieces = [wire[a:b] for a, b in itertools.pairwise(cuts)]

    async def receive() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    return HttpRequest("PUT", "/b/k", [], Headers(headers), Body(receive))


def read(stream: PayloadStream) -> bytes:
    return asyncio.run(stream.read())


def botocore_framed(payload: bytes, chunk_size: int, checksum: Any = Crc32Checksum) -> bytes:
    wrapper = AwsChunkedWrapper(
        io.BytesIO(payload),
        checksum_cls=checksum,
        checksum_name="x-amz-checksum-crc32",
        chunk_size=chunk_size,
    )
    framed: bytes = wrapper.read()
    return framed


CHUNKED = [
    ("Content-Encoding", "aws-chunked"),
    ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
]


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@pytest.mark.parametrize("seed", range(12))
def test_botocore_framing_decodes_at_random_split_points(seed: int) -> None:
    rng = random.Random(seed)
    payload = rng.randbytes(rng.choice([0, 1, 17, 4096, 70_000, 300_001]))
    wire = botocore_framed(payload, chunk_size=rng.choice([1, 7, 1024, 65536]))
    splits = [rng.randrange(len(wire) + 1) for _ in range(rng.randrange(40))]
    headers = [*CHUNKED, ("x-amz-decoded-content-length", str(len(payload)))]
    stream = payload_stream(request_with(wire, headers, splits))
    assert stream.length == len(payload)
    assert read(stream) == payload
    assert stream.trailers == {"x-amz-checksum-crc32": crc32_b64(payload)}


def test_every_split_point_of_a_small_body() -> None:
    payload = b"hello aws-chunked world" * 3
    wire = botocore_framed(payload, chunk_size=10, checksum=Sha256Checksum)
    expected = base64.b64encode(hashlib.sha256(payload).digest()).decode()
    for a in range(len(wire) + 1):
        for b in (a, min(a + 3, len(wire)), len(wire)):
            stream = payload_stream(request_with(wire, CHUNKED, [a, b]))
            assert read(stream) == payload
            assert stream.trailers == {"x-amz-checksum-crc32": expected}


def test_without_trailer() -> None:
    wire = botocore_framed(b"abc" * 1000, chunk_size=1000, checksum=None)
    stream = payload_stream(request_with(wire, [("Content-Encoding", "gzip,aws-chunked")]))
    assert read(stream) == b"abc" * 1000 and stream.trailers == {}


def test_large_chunk_data_passes_through_uncopied() -> None:
    payload = random.Random(1).randbytes(1 << 20)
    wire = b"%x\r\n" % len(payload) + payload + b"\r\n0\r\n\r\n"
    header = wire.index(b"\r\n") + 2
    # The transport delivers the data as one piece: it must come out as that same object.
    pieces = [wire[:header], wire[header : header + len(payload)], wire[header + len(payload) :]]

    async def receive() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    request = HttpRequest("PUT", "/b/k", [], Headers(CHUNKED), Body(receive))

    async def collect() -> list[bytes]:
        return [part async for part in payload_stream(request)]

    out = asyncio.run(collect())
    assert out[0] is pieces[1] and b"".join(out) == payload


def test_real_client_put_over_https_is_aws_chunked() -> None:
    class Captured(Exception):
        pass

    sent: list[Any] = []

    def stop(request: Any, **_: Any) -> None:
        sent.append(request)
        raise Captured

    client = boto3.client(
        "s3",
        endpoint_url="https://localhost:4510",
        region_name="us-east-1",
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        config=Config(retries={"max_attempts": 0}),
    )
    client.meta.events.register("before-send", stop)
    payload = random.Random(2).randbytes(3_000_000)
    with pytest.raises(Captured):
        client.put_object(Bucket="b", Key="k", Body=payload)
    prepared = sent[0]
    headers = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in prepared.headers.items()]
    request = request_with(prepared.body.read(), headers, [5, 1 << 20, (1 << 20) + 3])
    assert is_aws_chunked(request.headers)
    stream = payload_stream(request)
    assert stream.length == len(payload)
    assert read(stream) == payload
    assert stream.trailers == {"x-amz-checksum-crc32": crc32_b64(payload)}


def test_plain_body_passes_through() -> None:
    request = request_with(b"plain body", [("Content-Length", "10")], [3])
    stream = payload_stream(request)
    assert stream.length == 10 and read(stream) == b"plain body" and stream.trailers == {}
    assert stored_content_encoding(Headers([("Content-Encoding", "gzip, aws-chunked")])) == "gzip"
    assert stored_content_encoding(Headers([("Content-Encoding", "aws-chunked")])) is None


@pytest.mark.parametrize(
    ("wire", "code"),
    [
        (b"5\r\nhello\r\n", "IncompleteBody"),  # no final chunk
        (b"5\r\nhel", "IncompleteBody"),
        (b"5\r\nhelloXX0\r\n\r\n", "InvalidRequest"),  # no CRLF after data
        (b"zz\r\nhello\r\n0\r\n\r\n", "InvalidRequest"),
        (b"-5\r\nhello\r\n0\r\n\r\n", "InvalidRequest"),
        (b"5\r\nhello\r\n0\r\n\r\nextra", "InvalidRequest"),
        (b"5\r\nhello\r\n0\r\nnot a trailer\r\n\r\n", "InvalidRequest"),
        (b"4\r\nhell\r\n0\r\n\r\n", "IncompleteBody"),  # decoded length says 5
        (b"6\r\nhello!\r\n0\r\n\r\n", "IncompleteBody"),
        (b"f" * 5000, "InvalidRequest"),  # size line never ends
    ],
)
def test_malformed_framing(wire: bytes, code: str) -> None:
    headers = [*CHUNKED, ("x-amz-decoded-content-length", "5")]
    with pytest.raises(AwsError) as caught:
        read(payload_stream(request_with(wire, headers, [2])))
    assert (caught.value.code, caught.value.status) == (code, 400)


# -- signed chunks -------------------------------------------------------------------------


def signed_request(mode: str) -> tuple[AWSRequest, str]:
    request = AWSRequest(
        method="PUT",
        url="http://localhost:4510/b/k",
        headers={"X-Amz-Content-SHA256": mode, "Content-Encoding": "aws-chunked"},
    )
    SigV4Auth(Credentials(KEY, SECRET), "s3", "us-east-1").add_auth(request)
    signature = request.headers["Authorization"].rsplit("Signature=", 1)[1]
    return request, signature


def sign_chunks(payload: bytes, chunk_size: int, seed: str, amz_date: str, trailer: bool) -> bytes:
    """Frame ``payload`` as the AWS CLI and SDKs do for signed streaming uploads."""
    key = signing_key(SECRET, amz_date[:8], "us-east-1", "s3")
    scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
    previous, wire = seed, bytearray()
    chunks = [payload[i : i + chunk_size] for i in range(0, len(payload), chunk_size)]
    for chunk in [*chunks, b""]:
        to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                amz_date,
                scope,
                previous,
                EMPTY_SHA256,
                hashlib.sha256(chunk).hexdigest(),
            ]
        )
        previous = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        wire += b"%x;chunk-signature=%s\r\n" % (len(chunk), previous.encode())
        if chunk:
            wire += chunk + b"\r\n"
    if trailer:
        canonical = f"x-amz-checksum-crc32:{crc32_b64(payload)}\n"
        to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256-TRAILER",
                amz_date,
                scope,
                previous,
                hashlib.sha256(canonical.encode()).hexdigest(),
            ]
        )
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        wire += canonical.replace("\n", "\r\n").encode()
        wire += f"x-amz-trailer-signature:{signature}\r\n".encode()
    return bytes(wire + b"\r\n")


def signed_upload(mode: str, payload: bytes) -> tuple[HttpRequest, bytes, ChunkVerifier]:
    request, seed = signed_request(mode)
    prepared = request.prepare()
    headers = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in prepared.headers.items()]
    headers += [("host", urlsplit(prepared.url).netloc)]
    headers += [("x-amz-decoded-content-length", str(len(payload)))]
    amz_date = prepared.headers["X-Amz-Date"]
    amz_date = amz_date.decode() if isinstance(amz_date, bytes) else amz_date
    wire = sign_chunks(payload, 1000, seed, amz_date, trailer=mode == STREAMING_SIGNED_TRAILER)
    http = request_with(wire, headers)
    info = parse_credentials(http)
    assert info is not None
    verify(http, info, secret_for, datetime.now(UTC))
    verifier = chunk_verifier(info, secret_for)
    assert verifier is not None
    return http, wire, verifier


@pytest.mark.parametrize("mode", [STREAMING_SIGNED, STREAMING_SIGNED_TRAILER])
def test_signed_chunks_verify(mode: str) -> None:
    payload = random.Random(3).randbytes(4500)
    http, wire, verifier = signed_upload(mode, payload)
    rng = random.Random(4)
    splits = [rng.randrange(len(wire)) for _ in range(20)]
    stream = payload_stream(request_with(wire, list(http.headers.raw_items()), splits), verifier)
    assert read(stream) == payload
    if mode == STREAMING_SIGNED_TRAILER:
        assert stream.trailers == {"x-amz-checksum-crc32": crc32_b64(payload)}


@pytest.mark.parametrize(
    ("mode", "tamper"),
    [
        *((STREAMING_SIGNED, t) for t in ("data", "signature", "drop-chunk")),
        *((STREAMING_SIGNED_TRAILER, t) for t in ("data", "signature", "drop-chunk", "trailer")),
    ],
)
def test_tampered_signed_chunks_are_rejected(mode: str, tamper: str) -> None:
    payload = b"0123456789" * 450
    http, wire, verifier = signed_upload(mode, payload)
    if tamper == "data":
        at = wire.index(b"\r\n") + 10
        bad = wire[:at] + b"X" + wire[at + 1 :]
    elif tamper == "signature":
        at = wire.index(b"chunk-signature=") + 20
        bad = wire[:at] + (b"0" if wire[at : at + 1] != b"0" else b"1") + wire[at + 1 :]
    elif tamper == "drop-chunk":
        first_end = wire.index(b"\r\n", wire.index(b"\r\n") + 2) + 2
        bad = wire[first_end:]
    else:
        bad = wire.replace(crc32_b64(payload).encode(), b"AAAAAA==")
    headers = [(k, v) for k, v in http.headers.raw_items() if k != "x-amz-decoded-content-length"]
    with pytest.raises(AwsError) as caught:
        read(payload_stream(request_with(bad, headers), verifier))
    assert (caught.value.code, caught.value.status) == ("SignatureDoesNotMatch", 403)


def test_no_chunk_verifier_for_unsigned_payloads() -> None:
    request, _ = signed_request("STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    prepared = request.prepare()
    headers = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in prepared.headers.items()]
    info = parse_credentials(request_with(b"", headers))
    assert chunk_verifier(info, secret_for) is None
    assert chunk_verifier(None, secret_for) is None
