"""Multipart uploads: create, upload part, complete, abort, list parts and uploads."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sagebrush.aws.errors import AwsError
from sagebrush.aws.streams import PayloadStream
from sagebrush.services.base import RequestContext
from sagebrush.services.s3._base import S3Base, empty_payload, encryption_members, object_meta
from sagebrush.services.s3._wire import (
    CHECKSUM_MEMBERS,
    checksum_members,
    given_checksums,
    page_size,
    quote_etag,
    url_encoder,
    write_precondition,
)
from sagebrush.services.s3.objects import write_integrity
from sagebrush.storage import MAX_PART_NUMBER, CompletedPart, UploadInfo

MALFORMED_XML = (
    "The XML you provided was not well-formed or did not validate against our published schema"
)


class MultipartOperations(S3Base):
    def create_multipart_upload(
        self,
        ctx: RequestContext,
        *,
        bucket: str,
        key: str,
        checksum_algorithm: str | None = None,
        checksum_type: str | None = None,
        expected_bucket_owner: str | None = None,
        **members: Any,
    ) -> dict[str, Any]:
        """``members``: the rest of the input; the object metadata (``OBJECT_META_MEMBERS``)
        is read from it."""
        self.check_owner(bucket, expected_bucket_owner)
        meta = object_meta(ctx, members)
        upload = self.store.create_multipart_upload(
            bucket,
            key,
            meta=meta,
            checksum_algorithm=checksum_algorithm.upper() if checksum_algorithm else None,
            checksum_type=checksum_type,
        )
        return {
            "Bucket": bucket,
            "Key": key,
            "UploadId": upload.upload_id,
            "ChecksumAlgorithm": upload.checksum_algorithm,
            "ChecksumType": upload.checksum_type,
            **encryption_members(upload.meta),
        }

    async def upload_part(
        self,
        ctx: RequestContext,
        *,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        body: PayloadStream | None = None,
        content_md5: str | None = None,
        checksum_algorithm: str | None = None,
        expected_bucket_owner: str | None = None,
        **members: Any,
    ) -> dict[str, Any]:
        """``members``: the rest of the input; the part's checksums (``CHECKSUM_INPUTS``) are
        read from it."""
        if not 1 <= part_number <= MAX_PART_NUMBER:
            raise AwsError(
                "InvalidArgument",
                "Part number must be an integer between 1 and 10000, inclusive",
                400,
                fields={"ArgumentName": "partNumber", "ArgumentValue": part_number},
            )
        self.check_owner(bucket, expected_bucket_owner)
        payload = body if body is not None else empty_payload()
        integrity = write_integrity(
            ctx,
            payload,
            checksum_algorithm=checksum_algorithm,
            content_md5=content_md5,
            checksums=given_checksums(members),
        )
        part = await self.store.upload_part(
            bucket,
            key,
            upload_id,
            part_number,
            payload,
            integrity=integrity,
            size=payload.length,
        )
        return {"ETag": quote_etag(part.etag), **checksum_members(part.checksums)}

    def complete_multipart_upload(
        self,
        ctx: RequestContext,
        *,
        bucket: str,
        key: str,
        upload_id: str,
        multipart_upload: dict[str, Any] | None = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
        expected_bucket_owner: str | None = None,
        **members: Any,
    ) -> dict[str, Any]:
        """``members``: the rest of the input; the whole object's checksum
        (``CHECKSUM_INPUTS``) is read from it."""
        self.check_owner(bucket, expected_bucket_owner)
        listed = (multipart_upload or {}).get("Parts") or []
        if not listed:
            raise AwsError("MalformedXML", MALFORMED_XML, 400)
        parts = [
            CompletedPart(
                part_number=int(item["PartNumber"]),
                etag=str(item.get("ETag", "")),
                checksums={
                    algorithm: item[member]
                    for algorithm, member in CHECKSUM_MEMBERS.items()
                    if item.get(member)
                },
            )
            for item in listed
        ]
        whole = given_checksums(members)
        info = self.store.complete_multipart_upload(
            bucket,
            key,
            upload_id,
            parts,
            expected_checksum=next(iter(whole.values()), None),
            precondition=write_precondition(if_match, if_none_match),
        )
        return {
            "Location": _location(ctx, bucket, key),
            "Bucket": bucket,
            "Key": key,
            "ETag": quote_etag(info.etag),
            **checksum_members(info.checksums),
            "ChecksumType": info.checksum_type if info.checksums else None,
            **encryption_members(info.meta),
        }

    def abort_multipart_upload(
        self,
        ctx: RequestContext,
        *,
        bucket: str,
        key: str,
        upload_id: str,
        expected_bucket_owner: str | None = None,
    ) -> dict[str, Any]:
        self.check_owner(bucket, expected_bucket_owner)
        self.store.abort_multipart_upload(bucket, key, upload_id)
        return {}

    def list_parts(
        self,
        ctx: RequestContext,
        *,
        bucket: str,
        key: str,
        upload_id: str,
        max_parts: int | None = None,
        part_number_marker: int | None = None,
        expected_bucket_owner: str | None = None,
    ) -> dict[str, Any]:
        self.check_owner(bucket, expected_bucket_owner)
        limit = page_size(max_parts, "max-parts")
        listing = self.store.list_parts(
            bucket, key, upload_id, after=part_number_marker or 0, max_parts=limit
        )
        upload = listing.upload
        return {
            "Bucket": bucket,
            "Key": key,
            "UploadId": upload_id,
            "PartNumberMarker": part_number_marker or 0,
            "NextPartNumberMarker": listing.next_marker,
            "MaxParts": limit,
            "IsTruncated": listing.is_truncated,
            "Parts": [
                {
                    "PartNumber": part.part_number,
                    "LastModified": part.last_modified,
                    "ETag": quote_etag(part.etag),
                    "Size": part.size,
                    **checksum_members(part.checksums),
                }
                for part in listing.parts
            ]
            or None,
            "Initiator": self.owner(ctx),
            "Owner": self.owner(ctx),
            "StorageClass": upload.meta.extra.get("storage_class", "STANDARD"),
            "ChecksumAlgorithm": upload.checksum_algorithm,
            "ChecksumType": upload.checksum_type,
        }

    def list_multipart_uploads(
        self,
        ctx: RequestContext,
        *,
        bucket: str,
        delimiter: str | None = None,
        encoding_type: str | None = None,
        key_marker: str | None = None,
        max_uploads: int | None = None,
        prefix: str | None = None,
        upload_id_marker: str | None = None,
        expected_bucket_owner: str | None = None,
    ) -> dict[str, Any]:
        encode = url_encoder(encoding_type)
        limit = page_size(max_uploads, "max-uploads")
        self.check_owner(bucket, expected_bucket_owner)
        listing = self.store.list_multipart_uploads(
            bucket,
            prefix=prefix or "",
            delimiter=delimiter or None,
            key_marker=key_marker or None,
            upload_id_marker=upload_id_marker or None,
            max_uploads=limit,
        )
        return {
            "Bucket": bucket,
            "KeyMarker": encode(key_marker or ""),
            "UploadIdMarker": upload_id_marker or "",
            "NextKeyMarker": encode(listing.next_key_marker),
            "NextUploadIdMarker": listing.next_upload_id_marker,
            "Prefix": encode(prefix or ""),
            "Delimiter": encode(delimiter),
            "MaxUploads": limit,
            "IsTruncated": listing.is_truncated,
            "EncodingType": encoding_type,
            "Uploads": [self._upload(ctx, upload, encode) for upload in listing.uploads] or None,
            "CommonPrefixes": [{"Prefix": encode(p)} for p in listing.common_prefixes] or None,
        }

    def _upload(self, ctx: RequestContext, upload: UploadInfo, encode: Any) -> dict[str, Any]:
        return {
            "UploadId": upload.upload_id,
            "Key": encode(upload.key),
            "Initiated": upload.initiated,
            "StorageClass": upload.meta.extra.get("storage_class", "STANDARD"),
            "Owner": self.owner(ctx),
            "Initiator": self.owner(ctx),
            "ChecksumAlgorithm": upload.checksum_algorithm,
            "ChecksumType": upload.checksum_type,
        }


def _location(ctx: RequestContext, bucket: str, key: str) -> str:
    host = ctx.request.host or "localhost"
    scheme = ctx.request.headers.get("x-forwarded-proto", "http")
    return f"{scheme}://{host}/{bucket}/{quote(key, safe='/')}"
