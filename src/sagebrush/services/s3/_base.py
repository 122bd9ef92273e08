"""What the S3 operation groups share: the store, owners, and object metadata members."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

from sagebrush.aws.chunked import stored_content_encoding
from sagebrush.aws.errors import AwsError
from sagebrush.aws.streams import PayloadStream
from sagebrush.services.base import Provider, RequestContext
from sagebrush.services.s3._wire import DEFAULT_CONTENT_TYPE, quote_etag
from sagebrush.storage import ObjectInfo, ObjectMeta, ObjectStore

# ObjectMeta.extra keys -> output members, echoed on writes and reads.
_EXTRA_MEMBERS = {
    "sse": "ServerSideEncryption",
    "sse_kms_key_id": "SSEKMSKeyId",
    "website_redirect_location": "WebsiteRedirectLocation",
    "storage_class": "StorageClass",
}
DEFAULT_SSE = "AES256"  # S3 encrypts every object at rest and says so

# The input members (snake_case, as the dispatcher passes them) that ``object_meta`` turns
# into an object's stored metadata. PutObject, CopyObject and CreateMultipartUpload all carry
# them; their methods take them through ``**members`` rather than one parameter each.
OBJECT_META_MEMBERS = (
    "content_type",
    "content_encoding",
    "content_disposition",
    "content_language",
    "cache_control",
    "expires",
    "metadata",
    "server_side_encryption",
    "ssekms_key_id",
    "bucket_key_enabled",
    "storage_class",
    "website_redirect_location",
    "tagging",
)


class S3Base(Provider):
    service = "s3"

    @property
    def store(self) -> ObjectStore:
        return self.runtime.objects

    def owner(self, ctx: RequestContext) -> dict[str, str]:
        return {"ID": ctx.account_id, "DisplayName": ctx.account_id}

    def check_owner(self, bucket: str, expected_bucket_owner: str | None) -> None:
        """``x-amz-expected-bucket-owner``: a mismatch is 403 (and a missing bucket 404)."""
        if expected_bucket_owner is None:
            return
        if self.store.head_bucket(bucket).account_id != expected_bucket_owner:
            raise AwsError("AccessDenied", "Access Denied", 403)


def object_meta(ctx: RequestContext, members: Mapping[str, Any]) -> ObjectMeta:
    """What a write request says about its object (PutObject, CreateMultipartUpload...).

    ``members`` is the operation's input as the dispatcher passes it (snake_case keywords);
    only the names in ``OBJECT_META_MEMBERS`` are read, so each operation hands over its
    ``**members`` whole instead of re-declaring and forwarding every one of them.
    """
    content_encoding = members.get("content_encoding")
    if content_encoding is not None:
        # aws-chunked frames this request only; it is not part of the object.
        content_encoding = stored_content_encoding(ctx.request.headers)
    expires = members.get("expires")
    bucket_key_enabled = members.get("bucket_key_enabled")
    extra = {
        "sse": members.get("server_side_encryption") or DEFAULT_SSE,
        "sse_kms_key_id": members.get("ssekms_key_id"),
        "bucket_key_enabled": None if bucket_key_enabled is None else str(bucket_key_enabled),
        "storage_class": members.get("storage_class"),
        "website_redirect_location": members.get("website_redirect_location"),
        "tagging": members.get("tagging"),
    }
    return ObjectMeta(
        content_type=members.get("content_type"),
        content_encoding=content_encoding,
        content_disposition=members.get("content_disposition"),
        content_language=members.get("content_language"),
        cache_control=members.get("cache_control"),
        expires=expires.isoformat() if expires is not None else None,
        user=dict(members.get("metadata") or {}),
        extra={k: v for k, v in extra.items() if v is not None},
    )


def encryption_members(meta: ObjectMeta) -> dict[str, Any]:
    out: dict[str, Any] = {"ServerSideEncryption": meta.extra.get("sse", DEFAULT_SSE)}
    if "sse_kms_key_id" in meta.extra:
        out["SSEKMSKeyId"] = meta.extra["sse_kms_key_id"]
    if "bucket_key_enabled" in meta.extra:
        out["BucketKeyEnabled"] = meta.extra["bucket_key_enabled"] == "True"
    return out


def object_members(info: ObjectInfo) -> dict[str, Any]:
    """The members GetObject and HeadObject share."""
    meta = info.meta
    out: dict[str, Any] = {
        "AcceptRanges": "bytes",
        "LastModified": info.last_modified,
        "ETag": quote_etag(info.etag),
        "ContentType": meta.content_type or DEFAULT_CONTENT_TYPE,
        "ContentEncoding": meta.content_encoding,
        "ContentDisposition": meta.content_disposition,
        "ContentLanguage": meta.content_language,
        "CacheControl": meta.cache_control,
        "Expires": _expires(meta.expires),
        "Metadata": dict(meta.user) or None,
        "WebsiteRedirectLocation": meta.extra.get("website_redirect_location"),
        **encryption_members(meta),
    }
    storage_class = meta.extra.get("storage_class")
    if storage_class and storage_class != "STANDARD":  # S3 omits the header for STANDARD
        out["StorageClass"] = storage_class
    tagging = meta.extra.get("tagging")
    if tagging:
        out["TagCount"] = len([pair for pair in tagging.split("&") if pair])
    return {k: v for k, v in out.items() if v is not None}


def apply_overrides(members: dict[str, Any], overrides: dict[str, Any]) -> None:
    """GetObject's ``response-*`` query parameters replace the stored headers."""
    for name, value in overrides.items():
        if value is not None:
            members[name] = value


def _expires(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def empty_payload() -> PayloadStream:
    """The body of a write request that sent none."""
    return PayloadStream(_nothing(), 0)


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""
