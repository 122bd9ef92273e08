"""Listing objects: ListObjectsV2 and ListObjects (V1)."""

from __future__ import annotations

from typing import Any

from sagebrush.services.base import RequestContext
from sagebrush.services.s3._base import S3Base
from sagebrush.services.s3._wire import (
    decode_token,
    encode_token,
    page_size,
    quote_etag,
    url_encoder,
)
from sagebrush.storage import ObjectListing


class ListingOperations(S3Base):
    def list_objects_v2(
        self,
        ctx: RequestContext,
        *,
        bucket: str,
        prefix: str | None = None,
        delimiter: str | None = None,
        max_keys: int | None = None,
        continuation_token: str | None = None,
        start_after: str | None = None,
        fetch_owner: bool | None = None,
        encoding_type: str | None = None,
        expected_bucket_owner: str | None = None,
    ) -> dict[str, Any]:
        encode = url_encoder(encoding_type)
        limit = page_size(max_keys)
        self.check_owner(bucket, expected_bucket_owner)
        after = decode_token(continuation_token) if continuation_token else start_after
        listing = self.store.list_objects(
            bucket, prefix=prefix or "", delimiter=delimiter or None, after=after, max_keys=limit
        )
        owner = self.owner(ctx) if fetch_owner else None
        out = _common(
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            limit=limit,
            encoding_type=encoding_type,
            listing=listing,
            encode=encode,
            owner=owner,
        )
        out["KeyCount"] = len(listing.objects) + len(listing.common_prefixes)
        out["ContinuationToken"] = continuation_token
        out["StartAfter"] = encode(start_after)
        if listing.is_truncated and listing.next_marker is not None:
            out["NextContinuationToken"] = encode_token(listing.next_marker)
        return out

    def list_objects(
        self,
        ctx: RequestContext,
        *,
        bucket: str,
        prefix: str | None = None,
        delimiter: str | None = None,
        marker: str | None = None,
        max_keys: int | None = None,
        encoding_type: str | None = None,
        expected_bucket_owner: str | None = None,
    ) -> dict[str, Any]:
        encode = url_encoder(encoding_type)
        limit = page_size(max_keys)
        self.check_owner(bucket, expected_bucket_owner)
        listing = self.store.list_objects(
            bucket, prefix=prefix or "", delimiter=delimiter or None, after=marker, max_keys=limit
        )
        out = _common(
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            limit=limit,
            encoding_type=encoding_type,
            listing=listing,
            encode=encode,
            owner=self.owner(ctx),
        )
        out["Marker"] = encode(marker or "")
        # V1 names the next marker only with a delimiter; without one it is the last key.
        if listing.is_truncated and delimiter:
            out["NextMarker"] = encode(listing.next_marker)
        return out


def _common(
    bucket: str,
    *,
    prefix: str | None,
    delimiter: str | None,
    limit: int,
    encoding_type: str | None,
    listing: ObjectListing,
    encode: Any,
    owner: dict[str, str] | None,
) -> dict[str, Any]:
    contents = []
    for obj in listing.objects:
        item: dict[str, Any] = {
            "Key": encode(obj.key),
            "LastModified": obj.last_modified,
            "ETag": quote_etag(obj.etag),
            "Size": obj.size,
            "StorageClass": "STANDARD",
        }
        if obj.checksum_algorithms:
            item["ChecksumAlgorithm"] = list(obj.checksum_algorithms)
            item["ChecksumType"] = obj.checksum_type
        if owner is not None:
            item["Owner"] = owner
        contents.append(item)
    return {
        "Name": bucket,
        "Prefix": encode(prefix or ""),
        "Delimiter": encode(delimiter),
        "MaxKeys": limit,
        "EncodingType": encoding_type,
        "IsTruncated": listing.is_truncated,
        "Contents": contents or None,
        "CommonPrefixes": [{"Prefix": encode(p)} for p in listing.common_prefixes] or None,
    }
