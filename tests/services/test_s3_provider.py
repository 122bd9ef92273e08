"""The S3 provider, called directly with a fake request context (no HTTP)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import zlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.model import ListShape, StructureShape

from sagebrush.aws.errors import AwsError
from sagebrush.aws.http import Body, Headers, HttpRequest, OperationResult
from sagebrush.aws.models import ServiceCatalog
from sagebrush.aws.streams import PayloadStream
from sagebrush.config import Settings
from sagebrush.services.base import RequestContext, Runtime
from sagebrush.services.registry import ProviderRegistry
from sagebrush.services.s3 import S3Provider
from sagebrush.state.db import Database
from sagebrush.storage import FilesystemObjectStore

ACCOUNT = "123456789012"
CATALOG = ServiceCatalog()
PART = 1024


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    db = Database(f"sqlite:///{tmp_path / 'state.db'}")
    db.migrate()
    objects = FilesystemObjectStore(tmp_path / "objects", db, min_part_size=PART)
    settings = Settings(home=tmp_path, account_id=ACCOUNT)
    yield Runtime(settings=settings, catalog=CATALOG, db=db, objects=objects)
    db.dispose()


@pytest.fixture
def s3(runtime: Runtime) -> S3Provider:
    provider = S3Provider(runtime)
    provider.create_bucket(ctx("CreateBucket"), bucket="bkt")
    return provider


def ctx(
    operation: str, headers: dict[str, str] | None = None, region: str = "us-east-1"
) -> RequestContext:
    request = HttpRequest("GET", "/", [], Headers((headers or {}).items()), Body(b""))
    return RequestContext("req-1", ACCOUNT, region, "s3", operation, None, request)


def payload(data: bytes, trailers: dict[str, str] | None = None) -> PayloadStream:
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 4096):
            yield data[start : start + 4096]

    stream = PayloadStream(chunks(), len(data))
    if trailers:

        async def then_trailers() -> AsyncIterator[bytes]:
            async for chunk in chunks():
                yield chunk
            stream.trailers.update(trailers)

        stream = PayloadStream(then_trailers(), len(data))
    return stream


def put(s3: S3Provider, key: str, data: bytes, **kwargs: Any) -> dict[str, Any]:
    c = kwargs.pop("ctx", None) or ctx("PutObject")
    out = asyncio.run(s3.put_object(c, bucket="bkt", key=key, body=payload(data), **kwargs))
    assert_matches_model("PutObject", out)
    return out


def get(s3: S3Provider, key: str, **kwargs: Any) -> tuple[OperationResult, bytes]:
    result = s3.get_object(ctx("GetObject"), bucket="bkt", key=key, **kwargs)
    body: Any = result.members.pop("Body", None)

    async def drain() -> bytes:
        return b"".join([c async for c in body]) if body is not None else b""

    data = asyncio.run(drain())
    assert_matches_model("GetObject", result.members)
    return result, data


def last_modified(s3: S3Provider, key: str) -> datetime:
    value = s3.head_object(ctx("HeadObject"), bucket="bkt", key=key).members["LastModified"]
    assert isinstance(value, datetime)
    return value


def error(call: Any, *args: Any, **kwargs: Any) -> AwsError:
    with pytest.raises(AwsError) as caught:
        result = call(*args, **kwargs)
        if asyncio.iscoroutine(result):
            asyncio.run(result)
    return caught.value


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def crc32(data: bytes) -> str:
    return b64(zlib.crc32(data).to_bytes(4, "big"))


def assert_matches_model(operation: str, output: dict[str, Any]) -> None:
    shape = CATALOG.operation("s3", operation).output_shape
    assert shape is not None
    _check(shape, output)


def _check(shape: Any, value: Any) -> None:
    if isinstance(shape, StructureShape):
        assert isinstance(value, dict)
        for name, item in value.items():
            assert name in shape.members, f"{name} is not a member of {shape.name}"
            if item is not None:
                _check(shape.members[name], item)
    elif isinstance(shape, ListShape):
        assert isinstance(value, list)
        for item in value:
            _check(shape.member, item)


# -- buckets --------------------------------------------------------------------------------


def test_bucket_lifecycle(s3: S3Provider) -> None:
    c = ctx("CreateBucket")
    for bad in ["ab", "Upper", "a..b", "192.168.1.1", "-abc", "xn--abc", "a_b"]:
        assert error(s3.create_bucket, c, bucket=bad).code == "InvalidBucketName"
    assert error(s3.create_bucket, c, bucket="bkt").code == "BucketAlreadyOwnedByYou"
    s3.create_bucket(
        c, bucket="eu-bkt", create_bucket_configuration={"LocationConstraint": "eu-west-1"}
    )
    again = error(
        s3.create_bucket,
        c,
        bucket="eu-bkt",
        create_bucket_configuration={"LocationConstraint": "eu-west-1"},
    )
    assert (again.code, again.status) == ("BucketAlreadyOwnedByYou", 409)
    head = s3.head_bucket(ctx("HeadBucket"), bucket="eu-bkt")
    assert head.headers["x-amz-bucket-region"] == "eu-west-1"
    assert error(s3.head_bucket, ctx("HeadBucket"), bucket="nope").status == 404
    denied = error(s3.head_bucket, ctx("HeadBucket"), bucket="bkt", expected_bucket_owner="1" * 12)
    assert denied.status == 403
    loc = s3.get_bucket_location(ctx("GetBucketLocation"), bucket="bkt")
    assert loc == {"LocationConstraint": None}
    assert s3.get_bucket_location(ctx("GetBucketLocation"), bucket="eu-bkt") == {
        "LocationConstraint": "eu-west-1"
    }
    listed = s3.list_buckets(ctx("ListBuckets"))
    assert_matches_model("ListBuckets", listed)
    assert [b["Name"] for b in listed["Buckets"]] == ["bkt", "eu-bkt"]
    assert listed["Owner"]["ID"] == ACCOUNT
    page = s3.list_buckets(ctx("ListBuckets"), max_buckets=1)
    rest = s3.list_buckets(ctx("ListBuckets"), continuation_token=page["ContinuationToken"])
    assert [b["Name"] for b in rest["Buckets"]] == ["eu-bkt"]
    put(s3, "k", b"x")
    busy = error(s3.delete_bucket, ctx("DeleteBucket"), bucket="bkt")
    assert (busy.code, busy.status, busy.fields) == ("BucketNotEmpty", 409, {"BucketName": "bkt"})
    s3.delete_object(ctx("DeleteObject"), bucket="bkt", key="k")
    s3.delete_bucket(ctx("DeleteBucket"), bucket="bkt")
    gone = error(s3.delete_bucket, ctx("DeleteBucket"), bucket="bkt")
    assert (gone.code, gone.status, gone.fields) == ("NoSuchBucket", 404, {"BucketName": "bkt"})


# -- objects --------------------------------------------------------------------------------


def test_put_get_with_metadata_and_checksums(s3: S3Provider) -> None:
    data = os.urandom(50_000)
    out = put(
        s3,
        "dir/obj",
        data,
        content_type="text/csv",
        metadata={"color": "blue"},
        content_md5=b64(hashlib.md5(data).digest()),
        checksum_crc32=crc32(data),
        server_side_encryption="aws:kms",
    )
    assert out["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert out["ChecksumCRC32"] == crc32(data) and out["ServerSideEncryption"] == "aws:kms"
    result, body = get(s3, "dir/obj", checksum_mode="ENABLED")
    assert body == data and result.status is None
    m = result.members
    assert m["ContentLength"] == len(data) and m["ContentType"] == "text/csv"
    assert m["Metadata"] == {"color": "blue"} and m["ChecksumCRC32"] == crc32(data)
    assert isinstance(m["LastModified"], datetime) and m["LastModified"].tzinfo is not None
    assert m["AcceptRanges"] == "bytes"
    head = s3.head_object(ctx("HeadObject"), bucket="bkt", key="dir/obj")
    assert head.members["ETag"] == out["ETag"] and "ChecksumCRC32" not in head.members
    assert_matches_model("HeadObject", head.members)


def test_digest_errors(s3: S3Provider) -> None:
    data = b"payload"
    bad_md5 = error(put, s3, "k", data, content_md5=b64(hashlib.md5(b"other").digest()))
    assert (bad_md5.code, bad_md5.status) == ("BadDigest", 400)
    assert error(put, s3, "k", data, content_md5="nope").code == "InvalidDigest"
    bad_crc = error(put, s3, "k", data, checksum_crc32=crc32(b"other"))
    assert (bad_crc.code, bad_crc.status) == ("BadDigest", 400)
    assert error(put, s3, "k", data, checksum_crc32="???").code == "InvalidRequest"
    assert error(s3.head_object, ctx("HeadObject"), bucket="bkt", key="k").status == 404


def test_trailing_checksum_verified_and_echoed(s3: S3Provider) -> None:
    data = os.urandom(10_000)
    headers = {"x-amz-trailer": "x-amz-checksum-crc32", "content-encoding": "aws-chunked"}
    body = payload(data, trailers={"x-amz-checksum-crc32": crc32(data)})
    out = asyncio.run(
        s3.put_object(
            ctx("PutObject", headers),
            bucket="bkt",
            key="t",
            body=body,
            content_encoding="aws-chunked",
        )
    )
    assert out["ChecksumCRC32"] == crc32(data)
    assert "ContentEncoding" not in get(s3, "t")[0].members  # aws-chunked is not stored
    bad = payload(data, trailers={"x-amz-checksum-crc32": crc32(b"x")})
    with pytest.raises(AwsError) as caught:
        asyncio.run(s3.put_object(ctx("PutObject", headers), bucket="bkt", key="t2", body=bad))
    assert caught.value.code == "BadDigest"


def test_ranges(s3: S3Provider) -> None:
    data = bytes(range(100))
    put(s3, "r", data)
    for header, expected, content_range in [
        ("bytes=0-9", data[:10], "bytes 0-9/100"),
        ("bytes=90-", data[90:], "bytes 90-99/100"),
        ("bytes=-5", data[95:], "bytes 95-99/100"),
        ("bytes=-500", data, "bytes 0-99/100"),
        ("bytes=95-1000", data[95:], "bytes 95-99/100"),
    ]:
        result, body = get(s3, "r", range=header)
        assert (result.status, body) == (206, expected)
        assert result.members["ContentRange"] == content_range
        assert result.members["ContentLength"] == len(expected)
    result, body = get(s3, "r", range="bytes=5-2")  # invalid syntax: ignored, like S3
    assert result.status is None and body == data
    unsatisfiable = error(get, s3, "r", range="bytes=100-")
    assert (unsatisfiable.code, unsatisfiable.status) == ("InvalidRange", 416)
    result, _ = get(s3, "r", range="bytes=0-9", checksum_mode="ENABLED")
    assert not any(k.startswith("Checksum") for k in result.members)
    head = s3.head_object(ctx("HeadObject"), bucket="bkt", key="r", range="bytes=0-0")
    assert head.status == 206 and head.members["ContentLength"] == 1


def test_conditional_reads(s3: S3Provider) -> None:
    etag = put(s3, "c", b"data")["ETag"]
    modified = last_modified(s3, "c")
    later, earlier = modified + timedelta(hours=1), modified - timedelta(hours=1)
    assert get(s3, "c", if_match=etag)[1] == b"data"
    assert error(get, s3, "c", if_match='"other"').status == 412
    assert get(s3, "c", if_none_match=etag)[0].status == 304
    assert get(s3, "c", if_none_match='"other"')[0].status is None
    assert get(s3, "c", if_modified_since=later)[0].status == 304
    assert get(s3, "c", if_modified_since=earlier)[0].status is None
    assert error(get, s3, "c", if_unmodified_since=earlier).status == 412
    # If-Match that holds wins over a failing If-Unmodified-Since (RFC 7232, as S3 does).
    assert get(s3, "c", if_match=etag, if_unmodified_since=earlier)[0].status is None
    put(s3, "c", b"new", if_match=etag)
    assert error(put, s3, "c", b"x", if_none_match="*").status == 412


def test_missing_objects_and_versions(s3: S3Provider) -> None:
    missing = error(s3.get_object, ctx("GetObject"), bucket="bkt", key="nope")
    assert (missing.code, missing.status, missing.fields) == ("NoSuchKey", 404, {"Key": "nope"})
    nobucket = error(s3.get_object, ctx("GetObject"), bucket="zzz", key="nope")
    assert nobucket.code == "NoSuchBucket"
    put(s3, "v", b"x")
    assert get(s3, "v", version_id="null")[1] == b"x"
    assert error(get, s3, "v", version_id="abc").code == "InvalidArgument"
    assert error(put, s3, "é" * 600, b"x").code == "KeyTooLongError"


def test_delete_and_delete_objects(s3: S3Provider) -> None:
    for key in ["a", "b", "c"]:
        put(s3, key, b"x")
    assert s3.delete_object(ctx("DeleteObject"), bucket="bkt", key="a") == {}
    assert s3.delete_object(ctx("DeleteObject"), bucket="bkt", key="a") == {}  # idempotent
    out = s3.delete_objects(
        ctx("DeleteObjects"),
        bucket="bkt",
        delete={"Objects": [{"Key": "b"}, {"Key": "zz"}, {"Key": "c", "VersionId": "v1"}]},
    )
    assert_matches_model("DeleteObjects", out)
    assert out["Deleted"] == [{"Key": "b"}, {"Key": "zz"}]
    assert out["Errors"][0]["Code"] == "NoSuchVersion"
    quiet = s3.delete_objects(
        ctx("DeleteObjects"), bucket="bkt", delete={"Objects": [{"Key": "c"}], "Quiet": True}
    )
    assert "Deleted" not in quiet


def test_copy_object(s3: S3Provider) -> None:
    etag = put(s3, "src key", b"data", metadata={"a": "1"}, content_type="text/plain")["ETag"]
    c = ctx("CopyObject")
    out = s3.copy_object(c, bucket="bkt", key="dst", copy_source="bkt/src%20key")
    assert_matches_model("CopyObject", out)
    assert out["CopyObjectResult"]["ETag"] == etag
    assert get(s3, "dst")[0].members["Metadata"] == {"a": "1"}
    s3.copy_object(
        c,
        bucket="bkt",
        key="dst",
        copy_source="/bkt/src%20key?versionId=null",
        metadata_directive="REPLACE",
        metadata={"b": "2"},
    )
    result, body = get(s3, "dst")
    assert body == b"data" and result.members["Metadata"] == {"b": "2"}
    assert result.members["ContentType"] == "binary/octet-stream"
    itself = error(s3.copy_object, c, bucket="bkt", key="dst", copy_source="bkt/dst")
    assert itself.code == "InvalidRequest"
    failed = error(
        s3.copy_object, c, bucket="bkt", key="x", copy_source="bkt/dst", copy_source_if_match='"no"'
    )
    assert failed.status == 412
    assert error(s3.copy_object, c, bucket="bkt", key="x", copy_source="bkt").status == 400
    assert error(s3.copy_object, c, bucket="bkt", key="x", copy_source="bkt/none").status == 404


# -- listings -------------------------------------------------------------------------------


def test_list_objects_v2(s3: S3Provider) -> None:
    keys = ["a b/1", "a b/2", "a+b", "c/d/e", "top", "ü"]
    for key in keys:
        put(s3, key, b"x")
    c = ctx("ListObjectsV2")
    out = s3.list_objects_v2(c, bucket="bkt", delimiter="/", encoding_type="url")
    assert_matches_model("ListObjectsV2", out)
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["a%20b/", "c/"]
    assert [o["Key"] for o in out["Contents"]] == ["a%2Bb", "top", "%C3%BC"]
    assert out["KeyCount"] == 5 and out["IsTruncated"] is False and out["MaxKeys"] == 1000
    seen: list[str] = []
    token = None
    while True:
        page = s3.list_objects_v2(
            c, bucket="bkt", max_keys=2, continuation_token=token, fetch_owner=True
        )
        seen += [o["Key"] for o in page["Contents"]]
        assert all(o["Owner"]["ID"] == ACCOUNT for o in page["Contents"])
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == keys
    after = s3.list_objects_v2(c, bucket="bkt", start_after="c/d/e")
    assert [o["Key"] for o in after["Contents"]] == ["top", "ü"]
    assert s3.list_objects_v2(c, bucket="bkt", prefix="zz").get("Contents") is None
    assert error(s3.list_objects_v2, c, bucket="bkt", continuation_token="%%%").status == 400
    assert error(s3.list_objects_v2, c, bucket="bkt", encoding_type="xml").status == 400


def test_list_objects_v1(s3: S3Provider) -> None:
    for key in ["a/1", "a/2", "b", "c"]:
        put(s3, key, b"x")
    c = ctx("ListObjects")
    out = s3.list_objects(c, bucket="bkt", max_keys=1)
    assert_matches_model("ListObjects", out)
    assert out["IsTruncated"] and "NextMarker" not in out
    out = s3.list_objects(c, bucket="bkt", marker="a/1", max_keys=2, delimiter="/")
    assert [p["Prefix"] for p in out.get("CommonPrefixes") or []] == []
    assert [o["Key"] for o in out["Contents"]] == ["b", "c"] and not out["IsTruncated"]
    out = s3.list_objects(c, bucket="bkt", delimiter="/", max_keys=1)
    assert out["NextMarker"] == "a/" and out["CommonPrefixes"] == [{"Prefix": "a/"}]


# -- multipart ------------------------------------------------------------------------------


def test_multipart_round_trip(s3: S3Provider) -> None:
    c = ctx("CreateMultipartUpload")
    created = s3.create_multipart_upload(
        c, bucket="bkt", key="big", checksum_algorithm="CRC32", content_type="app/x"
    )
    assert_matches_model("CreateMultipartUpload", created)
    upload_id = created["UploadId"]
    assert created["ChecksumType"] == "COMPOSITE"
    parts = [os.urandom(PART + 10), os.urandom(PART), b"end"]
    done = []
    for n, data in enumerate(parts, 1):
        out = asyncio.run(
            s3.upload_part(
                ctx("UploadPart"),
                bucket="bkt",
                key="big",
                upload_id=upload_id,
                part_number=n,
                body=payload(data),
                checksum_crc32=crc32(data),
            )
        )
        assert_matches_model("UploadPart", out)
        assert out["ChecksumCRC32"] == crc32(data)
        done.append({"PartNumber": n, "ETag": out["ETag"], "ChecksumCRC32": crc32(data)})
    listed = s3.list_parts(
        ctx("ListParts"), bucket="bkt", key="big", upload_id=upload_id, max_parts=2
    )
    assert_matches_model("ListParts", listed)
    assert [p["PartNumber"] for p in listed["Parts"]] == [1, 2] and listed["IsTruncated"]
    uploads = s3.list_multipart_uploads(ctx("ListMultipartUploads"), bucket="bkt")
    assert_matches_model("ListMultipartUploads", uploads)
    assert [u["UploadId"] for u in uploads["Uploads"]] == [upload_id]
    bad_order = error(
        s3.complete_multipart_upload,
        ctx("CompleteMultipartUpload"),
        bucket="bkt",
        key="big",
        upload_id=upload_id,
        multipart_upload={"Parts": done[::-1]},
    )
    assert (bad_order.code, bad_order.status) == ("InvalidPartOrder", 400)
    out = s3.complete_multipart_upload(
        ctx("CompleteMultipartUpload", {"host": "localhost:4510"}),
        bucket="bkt",
        key="big",
        upload_id=upload_id,
        multipart_upload={"Parts": done},
    )
    assert_matches_model("CompleteMultipartUpload", out)
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    assert out["ETag"] == f'"{hashlib.md5(digests).hexdigest()}-3"'
    assert out["ChecksumCRC32"].endswith("-3") and out["ChecksumType"] == "COMPOSITE"
    assert out["Location"] == "http://localhost:4510/bkt/big"
    result, body = get(s3, "big", if_match=out["ETag"])
    assert body == b"".join(parts) and result.members["ContentType"] == "app/x"
    result, body = get(s3, "big", part_number=2)
    assert result.status == 206 and body == parts[1] and result.members["PartsCount"] == 3
    gone = error(
        s3.abort_multipart_upload,
        ctx("AbortMultipartUpload"),
        bucket="bkt",
        key="big",
        upload_id=upload_id,
    )
    assert (gone.code, gone.status) == ("NoSuchUpload", 404)


def test_multipart_errors(s3: S3Provider) -> None:
    upload_id = s3.create_multipart_upload(ctx("CreateMultipartUpload"), bucket="bkt", key="m")[
        "UploadId"
    ]

    def upload(n: int, data: bytes) -> dict[str, Any]:
        return asyncio.run(
            s3.upload_part(
                ctx("UploadPart"),
                bucket="bkt",
                key="m",
                upload_id=upload_id,
                part_number=n,
                body=payload(data),
            )
        )

    assert error(upload, 0, b"x").code == "InvalidArgument"
    assert error(upload, 10_001, b"x").code == "InvalidArgument"
    small = upload(1, b"small")
    last = upload(2, b"last")
    complete = s3.complete_multipart_upload
    c = ctx("CompleteMultipartUpload")
    parts = [{"PartNumber": 1, "ETag": small["ETag"]}, {"PartNumber": 2, "ETag": last["ETag"]}]
    too_small = error(
        complete, c, bucket="bkt", key="m", upload_id=upload_id, multipart_upload={"Parts": parts}
    )
    assert (too_small.code, too_small.status) == ("EntityTooSmall", 400)
    wrong = error(
        complete,
        c,
        bucket="bkt",
        key="m",
        upload_id=upload_id,
        multipart_upload={"Parts": [{"PartNumber": 1, "ETag": '"beef"'}]},
    )
    assert (wrong.code, wrong.status) == ("InvalidPart", 400)
    assert error(complete, c, bucket="bkt", key="m", upload_id=upload_id).code == "MalformedXML"
    s3.abort_multipart_upload(
        ctx("AbortMultipartUpload"), bucket="bkt", key="m", upload_id=upload_id
    )
    assert error(upload, 3, b"x").code == "NoSuchUpload"


def test_dispatch_through_registry(runtime: Runtime) -> None:
    registry = ProviderRegistry(runtime)
    params = {
        "Bucket": "via-registry",
        "CreateBucketConfiguration": {"LocationConstraint": "us-west-2"},
    }
    asyncio.run(registry.dispatch(ctx("CreateBucket"), params))
    out = asyncio.run(
        registry.dispatch(
            ctx("PutObject"),
            {"Bucket": "via-registry", "Key": "k", "Body": payload(b"abc"), "Metadata": {"m": "v"}},
        )
    )
    assert isinstance(out, dict) and out["ETag"] == f'"{hashlib.md5(b"abc").hexdigest()}"'
    listed = asyncio.run(
        registry.dispatch(ctx("ListObjectsV2"), {"Bucket": "via-registry", "EncodingType": "url"})
    )
    assert isinstance(listed, dict) and listed["Contents"][0]["Key"] == "k"
    missing = ctx("HeadObject")
    with pytest.raises(AwsError) as caught:
        asyncio.run(registry.dispatch(missing, {"Bucket": "via-registry", "Key": "nope"}))
    assert caught.value.status == 404


def test_timestamps_are_utc(s3: S3Provider) -> None:
    put(s3, "t", b"x")
    modified = last_modified(s3, "t")
    assert modified.tzinfo is not None
    assert abs(modified - datetime.now(UTC)) < timedelta(minutes=1)
