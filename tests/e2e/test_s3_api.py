"""S3 through boto3 against a real server: listings, errors, ranges, checksums, addressing."""

from __future__ import annotations

import base64
import hashlib
import http.client
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sagebrush.testing import Server


def _bucket(server: Server, s3: Any) -> str:
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="module")
def s3(server: Server) -> Any:
    return server.client("s3")


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


# -- listings -----------------------------------------------------------------------------

KEYS = sorted(
    [f"logs/2026/{m:02d}/{i:03d}.txt" for m in range(1, 13) for i in range(100)]
    + [f"data/part-{i:04d}.csv" for i in range(1000)]
    + [f"top-{i:03d}" for i in range(300)]
)


@pytest.fixture(scope="module")
def listing_bucket(server: Server, s3: Any) -> str:
    from concurrent.futures import ThreadPoolExecutor

    name = _bucket(server, s3)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=name, Key=k, Body=b"x"), KEYS))
    return name


def _expected(prefix: str, delimiter: str | None, start_after: str = "") -> list[str]:
    """S3's answer computed directly: keys and common prefixes in order."""
    out: list[str] = []
    for key in KEYS:
        if not key.startswith(prefix) or key <= start_after:
            continue
        if delimiter:
            cut = key.find(delimiter, len(prefix))
            if cut >= 0:
                common = key[: cut + len(delimiter)]
                if not out or out[-1] != common:
                    out.append(common)
                continue
        out.append(key)
    return out


def test_list_v2_pages_through_2500_keys(s3: Any, listing_bucket: str) -> None:
    assert len(KEYS) == 2500
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        kwargs = {"Bucket": listing_bucket, "MaxKeys": 1000}
        if token:
            kwargs["ContinuationToken"] = token
        page = s3.list_objects_v2(**kwargs)
        pages += 1
        assert page["KeyCount"] == len(page.get("Contents", []))
        seen += [o["Key"] for o in page["Contents"]]
        if not page["IsTruncated"]:
            assert "NextContinuationToken" not in page
            break
        token = page["NextContinuationToken"]
    assert pages == 3
    assert seen == KEYS


def test_list_v2_delimiter_gives_common_prefixes(s3: Any, listing_bucket: str) -> None:
    page = s3.list_objects_v2(Bucket=listing_bucket, Delimiter="/")
    prefixes = [p["Prefix"] for p in page["CommonPrefixes"]]
    assert prefixes == ["data/", "logs/"]
    assert [o["Key"] for o in page["Contents"]] == [k for k in KEYS if k.startswith("top-")]
    assert page["KeyCount"] == 302

    months = s3.list_objects_v2(Bucket=listing_bucket, Prefix="logs/2026/", Delimiter="/")
    assert [p["Prefix"] for p in months["CommonPrefixes"]] == [
        f"logs/2026/{m:02d}/" for m in range(1, 13)
    ]
    assert "Contents" not in months


def test_list_v2_max_keys_counts_prefixes_and_keys(s3: Any, listing_bucket: str) -> None:
    expected = _expected("", "/")
    got: list[str] = []
    token = None
    while True:
        kwargs = {"Bucket": listing_bucket, "Delimiter": "/", "MaxKeys": 7}
        if token:
            kwargs["ContinuationToken"] = token
        page = s3.list_objects_v2(**kwargs)
        entries = [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        entries += [o["Key"] for o in page.get("Contents", [])]
        assert page["KeyCount"] == len(entries) <= 7
        got += sorted(entries)
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert got == expected


def test_list_v2_start_after_and_prefix(s3: Any, listing_bucket: str) -> None:
    page = s3.list_objects_v2(
        Bucket=listing_bucket, Prefix="data/", StartAfter="data/part-0990.csv", MaxKeys=5
    )
    assert [o["Key"] for o in page["Contents"]] == [
        f"data/part-{i:04d}.csv" for i in range(991, 996)
    ]
    assert page["IsTruncated"] is True
    assert page["StartAfter"] == "data/part-0990.csv"
    assert page["Prefix"] == "data/"


def test_list_v1_markers(s3: Any, listing_bucket: str) -> None:
    page = s3.list_objects(Bucket=listing_bucket, Prefix="top-", MaxKeys=100)
    assert len(page["Contents"]) == 100 and page["IsTruncated"] is True
    page2 = s3.list_objects(
        Bucket=listing_bucket, Prefix="top-", Marker=page["Contents"][-1]["Key"]
    )
    assert [o["Key"] for o in page2["Contents"]] == [k for k in KEYS if k.startswith("top-")][100:]
    assert page2["IsTruncated"] is False
    paginated = s3.get_paginator("list_objects").paginate(Bucket=listing_bucket, Delimiter="/")
    keys = [o["Key"] for p in paginated for o in p.get("Contents", [])]
    assert keys == [k for k in KEYS if "/" not in k]


def test_odd_keys_round_trip(s3: Any, server: Server) -> None:
    bucket = _bucket(server, s3)
    keys = [
        "../../etc/passwd",
        "/absolute/key",
        "a//b",
        "spaces and + plus",
        "ünïcødé/ключ/鍵",
        "k" * 1024,
        "percent%2Fencoded",
        "question?mark#hash",
        "trailing/",
    ]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    for key in keys:
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == sorted(keys, key=lambda k: k.encode())
    assert not (server.home / "etc").exists()


# -- errors -------------------------------------------------------------------------------


def test_missing_bucket_and_key(s3: Any, server: Server) -> None:
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket="no-such-bucket-here", Key="k")
    assert _error(err) == ("NoSuchBucket", 404)
    bucket = _bucket(server, s3)
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="missing")
    assert _error(err) == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as err:
        s3.head_object(Bucket=bucket, Key="missing")
    assert _error(err) == ("404", 404)
    with pytest.raises(ClientError) as err:
        s3.head_bucket(Bucket="no-such-bucket-here")
    assert _error(err) == ("404", 404)


@pytest.mark.parametrize(
    "name", ["ab", "UPPER", "bad_underscore", "-leading", "a" * 64, "192.168.1.1", "double..dot"]
)
def test_bad_bucket_names(s3: Any, name: str) -> None:
    client = s3
    with pytest.raises(ClientError) as err:
        client.create_bucket(Bucket=name)
    assert _error(err) == ("InvalidBucketName", 400)


def test_bucket_conflicts(s3: Any, server: Server) -> None:
    bucket = _bucket(server, s3)
    with pytest.raises(ClientError) as err:
        s3.create_bucket(Bucket=bucket)
    assert _error(err) == ("BucketAlreadyOwnedByYou", 409)
    s3.put_object(Bucket=bucket, Key="k", Body=b"1")
    with pytest.raises(ClientError) as err:
        s3.delete_bucket(Bucket=bucket)
    assert _error(err) == ("BucketNotEmpty", 409)
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_ranges(s3: Any, server: Server) -> None:
    bucket = _bucket(server, s3)
    body = bytes(range(256)) * 40
    s3.put_object(Bucket=bucket, Key="r", Body=body)
    part = s3.get_object(Bucket=bucket, Key="r", Range="bytes=10-19")
    assert part["Body"].read() == body[10:20]
    assert part["ContentRange"] == f"bytes 10-19/{len(body)}"
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=-5")["Body"].read() == body[-5:]
    assert (
        s3.get_object(Bucket=bucket, Key="r", Range="bytes=10000-")["Body"].read() == body[10000:]
    )
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="r", Range=f"bytes={len(body)}-")
    assert _error(err) == ("InvalidRange", 416)


def test_conditional_reads(s3: Any, server: Server) -> None:
    bucket = _bucket(server, s3)
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"v1")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"v1"
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"0000"')
    assert _error(err) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert _error(err)[1] == 304


def test_multipart_rules(s3: Any, server: Server) -> None:
    bucket = _bucket(server, s3)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    five_mib = b"a" * (5 * 1024 * 1024)
    e1 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=five_mib)
    e2 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=2, Body=b"tail")
    parts = s3.list_parts(Bucket=bucket, Key="mp", UploadId=upload)["Parts"]
    assert [p["PartNumber"] for p in parts] == [1, 2]
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [u["UploadId"] for u in uploads] == [upload]
    with pytest.raises(ClientError) as err:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="mp",
            UploadId=upload,
            MultipartUpload={
                "Parts": [
                    {"PartNumber": 2, "ETag": e2["ETag"]},
                    {"PartNumber": 1, "ETag": e1["ETag"]},
                ]
            },
        )
    assert _error(err) == ("InvalidPartOrder", 400)
    with pytest.raises(ClientError) as err:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="mp",
            UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"ffff"'}]},
        )
    assert _error(err) == ("InvalidPart", 400)
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload,
        MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": e1["ETag"]}, {"PartNumber": 2, "ETag": e2["ETag"]}]
        },
    )
    md5s = hashlib.md5(five_mib).digest() + hashlib.md5(b"tail").digest()
    assert done["ETag"] == f'"{hashlib.md5(md5s).hexdigest()}-2"'
    got = s3.get_object(Bucket=bucket, Key="mp", Range=f"bytes={len(five_mib) - 2}-")
    assert got["Body"].read() == b"aatail"
    with pytest.raises(ClientError) as err:
        s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload)
    assert _error(err) == ("NoSuchUpload", 404)


def test_small_parts_are_entity_too_small(s3: Any, server: Server) -> None:
    bucket = _bucket(server, s3)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="small")["UploadId"]
    parts = [
        {
            "PartNumber": n,
            "ETag": s3.upload_part(
                Bucket=bucket, Key="small", UploadId=upload, PartNumber=n, Body=b"tiny"
            )["ETag"],
        }
        for n in (1, 2)
    ]
    with pytest.raises(ClientError) as err:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="small", UploadId=upload, MultipartUpload={"Parts": parts}
        )
    assert _error(err) == ("EntityTooSmall", 400)


# -- integrity ----------------------------------------------------------------------------


def test_content_md5_is_verified(s3: Any, server: Server) -> None:
    bucket = _bucket(server, s3)
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="m", Body=b"body", ContentMD5=wrong)
    assert _error(err) == ("BadDigest", 400)
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="m")


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_checksums_are_stored_and_returned(s3: Any, server: Server, algorithm: str) -> None:
    bucket = _bucket(server, s3)
    put = s3.put_object(Bucket=bucket, Key="c", Body=b"checksummed", ChecksumAlgorithm=algorithm)
    stored = put[f"Checksum{algorithm}"]
    got = s3.get_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert got[f"Checksum{algorithm}"] == stored
    assert got["Body"].read() == b"checksummed"


def test_wrong_checksum_header_is_rejected(server: Server, s3: Any) -> None:
    bucket = _bucket(server, s3)
    conn = http.client.HTTPConnection(server.url.split("//")[1])
    conn.request(
        "PUT",
        f"/{bucket}/k",
        body=b"data",
        headers={"x-amz-checksum-crc32": base64.b64encode(b"\0\0\0\0").decode()},
    )
    reply = conn.getresponse()
    body = reply.read()
    assert reply.status == 400
    assert b"<Code>BadDigest</Code>" in body or b"<Code>XAmzContentChecksumMismatch</Code>" in body
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="k")


def test_metadata_and_copy(s3: Any, server: Server) -> None:
    bucket = _bucket(server, s3)
    s3.put_object(
        Bucket=bucket,
        Key="src",
        Body=b"payload",
        ContentType="text/plain",
        Metadata={"owner": "ann", "Mixed-Case": "v"},
    )
    head = s3.head_object(Bucket=bucket, Key="src")
    assert head["Metadata"] == {"owner": "ann", "mixed-case": "v"}
    assert head["ContentType"] == "text/plain"
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    copy = s3.get_object(Bucket=bucket, Key="dst")
    assert copy["Body"].read() == b"payload" and copy["Metadata"]["owner"] == "ann"
    s3.copy_object(
        Bucket=bucket,
        Key="dst2",
        CopySource=f"{bucket}/src",
        MetadataDirective="REPLACE",
        Metadata={"new": "1"},
    )
    assert s3.head_object(Bucket=bucket, Key="dst2")["Metadata"] == {"new": "1"}


def test_delete_objects_batch(s3: Any, server: Server) -> None:
    bucket = _bucket(server, s3)
    for i in range(5):
        s3.put_object(Bucket=bucket, Key=f"d{i}", Body=b"x")
    reply = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": f"d{i}"} for i in range(3)] + [{"Key": "nope"}]}
    )
    assert sorted(d["Key"] for d in reply["Deleted"]) == ["d0", "d1", "d2", "nope"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["d3", "d4"]


def test_bucket_location(server: Server, s3: Any) -> None:
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] == "eu-west-1"
    default = _bucket(server, s3)
    assert s3.get_bucket_location(Bucket=default)["LocationConstraint"] is None


# -- addressing and presigned URLs --------------------------------------------------------


def test_virtual_host_addressing(server: Server, s3: Any) -> None:
    bucket = _bucket(server, s3)
    s3.put_object(Bucket=bucket, Key="vh/key.txt", Body=b"virtual")
    host = server.url.split("//")[1]
    port = host.rsplit(":", 1)[1]
    conn = http.client.HTTPConnection(host)
    conn.request("GET", "/vh/key.txt", headers={"Host": f"{bucket}.localhost:{port}"})
    reply = conn.getresponse()
    assert reply.status == 200 and reply.read() == b"virtual"
    conn.request("GET", "/vh/key.txt", headers={"Host": f"{bucket}.s3.us-east-1.amazonaws.com"})
    reply = conn.getresponse()
    assert reply.status == 200 and reply.read() == b"virtual"


def test_virtual_host_client(server: Server) -> None:
    # botocore builds http://<bucket>.localhost:<port>; resolve it to loopback for the client.
    import socket

    original = socket.getaddrinfo

    def loopback(host: str, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return original(host, *args, **kwargs)

    socket.getaddrinfo = loopback  # type: ignore[assignment]
    try:
        import boto3

        port = server.url.rsplit(":", 1)[1]
        vs3 = boto3.client(
            "s3",
            endpoint_url=f"http://localhost:{port}",
            region_name="us-east-1",
            aws_access_key_id="a",
            aws_secret_access_key="b",
            config=Config(s3={"addressing_style": "virtual"}),
        )
        bucket = f"vh-{uuid.uuid4().hex[:10]}"
        vs3.create_bucket(Bucket=bucket)
        vs3.put_object(Bucket=bucket, Key="k", Body=b"v")
        assert vs3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
        assert [o["Key"] for o in vs3.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]
    finally:
        socket.getaddrinfo = original  # type: ignore[assignment]


def test_presigned_get_and_put(server: Server, s3: Any) -> None:
    bucket = _bucket(server, s3)
    put_url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "p.txt"}, ExpiresIn=60
    )
    request = urllib.request.Request(put_url, data=b"presigned body", method="PUT")
    with urllib.request.urlopen(request) as reply:
        assert reply.status == 200
    get_url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "p.txt"}, ExpiresIn=60
    )
    with urllib.request.urlopen(get_url) as reply:
        assert reply.read() == b"presigned body"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(get_url.replace("p.txt", "missing.txt"))
    assert err.value.code == 404


# -- aws-chunked uploads ------------------------------------------------------------------


def test_aws_chunked_uploads_with_trailing_checksums(
    server: Server, s3: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """What botocore sends by default over HTTPS: aws-chunked bodies with a trailing
    x-amz-checksum-crc32. Over plain HTTP it would use headers, so make it believe the
    endpoint is HTTPS for the choice of checksum location only."""
    import zlib
    from urllib.parse import urlparse

    import botocore.httpchecksum

    sent: list[dict[str, str]] = []

    def as_https(url: str) -> Any:
        return urlparse(url.replace("http://", "https://", 1))

    monkeypatch.setattr(botocore.httpchecksum, "urlparse", as_https)
    client = server.client("s3")
    client.meta.events.register(
        "before-send.s3.*",
        lambda request, **_: sent.append(
            {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        ),
    )
    bucket = _bucket(server, s3)
    body = b"chunked payload " * 5000
    put = client.put_object(Bucket=bucket, Key="chunked", Body=body)
    assert sent[-1].get("Content-Encoding") == "aws-chunked"
    assert sent[-1].get("X-Amz-Trailer") == "x-amz-checksum-crc32"
    expected = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    assert put["ChecksumCRC32"] == expected
    got = s3.get_object(Bucket=bucket, Key="chunked", ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert got.get("ContentEncoding") in (None, "")
    assert got["ChecksumCRC32"] == expected

    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * (48 * 1024))  # 12 MiB: two parts
    client.upload_file(str(big), bucket, "chunked-multipart")
    assert s3.get_object(Bucket=bucket, Key="chunked-multipart")["Body"].read() == (
        big.read_bytes()
    )


def test_aws_chunked_body_with_a_wrong_trailer_is_rejected(server: Server, s3: Any) -> None:
    bucket = _bucket(server, s3)
    payload = b"hello aws-chunked"
    wrong = base64.b64encode(b"\x00\x00\x00\x01").decode()
    framed = (
        f"{len(payload):x}\r\n".encode()
        + payload
        + b"\r\n0\r\n"
        + f"x-amz-checksum-crc32:{wrong}\r\n\r\n".encode()
    )
    conn = http.client.HTTPConnection(server.url.split("//")[1])
    conn.request(
        "PUT",
        f"/{bucket}/bad-trailer",
        body=framed,
        headers={
            "Content-Encoding": "aws-chunked",
            "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "x-amz-decoded-content-length": str(len(payload)),
            "x-amz-trailer": "x-amz-checksum-crc32",
        },
    )
    reply = conn.getresponse()
    assert reply.status == 400
    assert b"<Code>BadDigest</Code>" in reply.read()
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="bad-trailer")


def test_unknown_location_constraint(s3: Any) -> None:
    with pytest.raises(ClientError) as err:
        s3.create_bucket(
            Bucket=f"b-{uuid.uuid4().hex[:12]}",
            CreateBucketConfiguration={"LocationConstraint": "mars-north-1"},
        )
    assert _error(err) == ("InvalidLocationConstraint", 400)
