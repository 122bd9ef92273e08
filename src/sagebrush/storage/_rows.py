"""Conversions between metadata rows and the store's records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sagebrush.state.schema import S3Bucket, S3Object, S3Part, S3Upload
from sagebrush.storage.base import (
    MAX_KEY_BYTES,
    BucketInfo,
    ObjectInfo,
    ObjectMeta,
    PartInfo,
    UploadInfo,
)
from sagebrush.storage.errors import KeyTooLongError

Segments = list[tuple[str, int]]


def encode_key(key: str) -> bytes:
    raw = key.encode("utf-8")
    if len(raw) > MAX_KEY_BYTES:
        raise KeyTooLongError(len(raw))
    return raw


def utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def bucket_info(row: S3Bucket) -> BucketInfo:
    return BucketInfo(row.name, row.account_id, row.region, utc(row.created_at))


def meta_of(row: S3Object | S3Upload) -> ObjectMeta:
    return ObjectMeta(
        content_type=row.content_type,
        content_encoding=row.content_encoding,
        content_disposition=row.content_disposition,
        content_language=row.content_language,
        cache_control=row.cache_control,
        expires=row.expires,
        user=json.loads(row.user_metadata),
        extra=json.loads(row.extra),
    )


def set_meta(row: S3Object | S3Upload, meta: ObjectMeta) -> None:
    row.content_type = meta.content_type
    row.content_encoding = meta.content_encoding
    row.content_disposition = meta.content_disposition
    row.content_language = meta.content_language
    row.cache_control = meta.cache_control
    row.expires = meta.expires
    row.user_metadata = json.dumps(dict(meta.user))
    row.extra = json.dumps(dict(meta.extra))


def segments_of(row: S3Object) -> Segments:
    return [(blob, size) for blob, size in json.loads(row.segments)]


def dump_segments(segments: Segments) -> str:
    return json.dumps([[blob, size] for blob, size in segments])


def object_info(row: S3Object) -> ObjectInfo:
    segments = segments_of(row)
    multipart = "-" in row.etag
    return ObjectInfo(
        bucket=row.bucket,
        key=row.key.decode("utf-8"),
        size=row.size,
        etag=row.etag,
        last_modified=utc(row.last_modified),
        meta=meta_of(row),
        checksums=json.loads(row.checksums),
        checksum_type=row.checksum_type,
        part_sizes=tuple(size for _, size in segments) if multipart else (),
    )


def upload_info(row: S3Upload) -> UploadInfo:
    return UploadInfo(
        upload_id=row.upload_id,
        bucket=row.bucket,
        key=row.key.decode("utf-8"),
        initiated=utc(row.initiated),
        meta=meta_of(row),
        checksum_algorithm=row.checksum_algorithm,
        checksum_type=row.checksum_type,
    )


def part_info(row: S3Part) -> PartInfo:
    return PartInfo(
        part_number=row.part_number,
        size=row.size,
        etag=row.etag,
        last_modified=utc(row.last_modified),
        checksums=json.loads(row.checksums),
    )


def loads(text: str) -> Any:
    return json.loads(text)
