"""Object operations: put, get, head, delete (one or many), copy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sagebrush.aws.errors import AwsError
from sagebrush.aws.http import OperationResult
from sagebrush.aws.streams import PayloadStream
from sagebrush.services.base import RequestContext
from sagebrush.services.s3._base import (
    S3Base,
    apply_overrides,
    empty_payload,
    encryption_members,
    object_members,
    object_meta,
)
from sagebrush.services.s3._wire import (
    ByteRange,
    check_copy_source,
    check_version,
    checksum_members,
    checksum_trailers,
    declared_trailer_algorithms,
    decode_content_md5,
    etag_matches,
    evaluate_conditions,
    given_checksums,
    parse_copy_source,
    parse_range,
    part_range,
    precondition_failed,
    quote_etag,
    write_precondition,
)
from sagebrush.storage import Integrity, ObjectInfo

MAX_DELETE_KEYS = 1000
# CopyObject members that, when given, make copying an object onto itself legal.
_SELF_COPY_CHANGES = (
    "server_side_encryption",
    "ssekms_key_id",
    "storage_class",
    "website_redirect_location",
)


def write_integrity(
    ctx: RequestContext,
    body: PayloadStream,
    *,
    checksum_algorithm: str | None,
    content_md5: str | None,
    checksums: dict[str, str],
) -> Integrity:
    """What to hash and verify for an upload: headers now, aws-chunked trailers at the end."""
    algorithms = declared_trailer_algorithms(ctx.request.headers)
    if checksum_algorithm:
        algorithms.add(checksum_algorithm.upper())
    return Integrity(
        algorithms=frozenset(algorithms),
        expected=checksums,
        trailer=lambda: checksum_trailers(body.trailers),
        md5=decode_content_md5(content_md5),
    )


class ObjectOperations(S3Base):
    async def put_object(
        self,
        ctx: RequestContext,
        *,
        bucket: str,
        key: str,
        body: PayloadStream | None = None,
        content_md5: str | None = None,
        checksum_algorithm: str | None = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
        expected_bucket_owner: str | None = None,
        **members: Any,
    ) -> dict[str, Any]:
        """``members``: the rest of the input; the object metadata (``OBJECT_META_MEMBERS``)
        and the checksums (``CHECKSUM_INPUTS``) are read from it."""
        self.check_owner(bucket, expected_bucket_owner)
        payload = body if body is not None else empty_payload()
        integrity = write_integrity(
            ctx,
            payload,
            checksum_algorithm=checksum_algorithm,
            content_md5=content_md5,
            checksums=given_checksums(members),
        )
        meta = object_meta(ctx, members)
        info = await self.store.put_object(
            bucket,
            key,
            payload,
            meta=meta,
            integrity=integrity,
            size=payload.length,
            precondition=write_precondition(if_match, if_none_match),
        )
        return {
            "ETag": quote_etag(info.etag),
            **checksum_members(info.checksums),
            "ChecksumType": info.checksum_type,
            **encryption_members(info.meta),
        }

    def get_object(
        self,
        ctx: RequestContext,
        *,
        bucket: str,
        key: str,
        range: str | None = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
        if_modified_since: datetime | None = None,
        if_unmodified_since: datetime | None = None,
        part_number: int | None = None,
        checksum_mode: str | None = None,
        version_id: str | None = None,
        response_cache_control: str | None = None,
        response_content_disposition: str | None = None,
        response_content_encoding: str | None = None,
        response_content_language: str | None = None,
        response_content_type: str | None = None,
        response_expires: datetime | None = None,
        expected_bucket_owner: str | None = None,
    ) -> OperationResult:
        check_version(version_id)
        self.check_owner(bucket, expected_bucket_owner)
        reader = self.store.open_object(bucket, key)
        try:
            info = reader.info
            if not evaluate_conditions(
                info,
                if_match=if_match,
                if_none_match=if_none_match,
                if_modified_since=if_modified_since,
                if_unmodified_since=if_unmodified_since,
            ):
                reader.close()
                return _not_modified(info)
            chosen = _chosen_range(info, range, part_number)
            result = _read_result(info, chosen, part_number, checksum_mode)
            start, stop = (chosen.start, chosen.stop) if chosen else (0, info.size)
            result.members["Body"] = reader.stream(start, stop)
        except BaseException:
            reader.close()
            raise
        apply_overrides(
            result.members,
            {
                "CacheControl": response_cache_control,
                "ContentDisposition": response_content_disposition,
                "ContentEncoding": response_content_encoding,
                "ContentLanguage": response_content_language,
                "ContentType": response_content_type,
                "Expires": response_expires,
            },
        )
        return result

    def head_object(
        self,
        ctx: RequestContext,
        *,
        bucket: str,
        key: str,
        range: str | None = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
        if_modified_since: datetime | None = None,
        if_unmodified_since: datetime | None = None,
        part_number: int | None = None,
        checksum_mode: str | None = None,
        version_id: str | None = None,
        expected_bucket_owner: str | None = None,
    ) -> OperationResult:
        check_version(version_id)
        self.check_owner(bucket, expected_bucket_owner)
        info = self.store.head_object(bucket, key)
        if not evaluate_conditions(
            info,
            if_match=if_match,
            if_none_match=if_none_match,
            if_modified_since=if_modified_since,
            if_unmodified_since=if_unmodified_since,
        ):
            return _not_modified(info)
        chosen = _chosen_range(info, range, part_number)
        return _read_result(info, chosen, part_number, checksum_mode)

    def delete_object(
        self,
        ctx: RequestContext,
        *,
        bucket: str,
        key: str,
        version_id: str | None = None,
        if_match: str | None = None,
        expected_bucket_owner: str | None = None,
    ) -> dict[str, Any]:
        check_version(version_id)
        self.check_owner(bucket, expected_bucket_owner)
        if if_match is not None:
            info = self.store.head_object(bucket, key)
            if not etag_matches(if_match, info.etag):
                raise precondition_failed("If-Match")
        self.store.delete_object(bucket, key)
        return {}

    def delete_objects(
        self,
        ctx: RequestContext,
        *,
        bucket: str,
        delete: dict[str, Any],
        expected_bucket_owner: str | None = None,
    ) -> dict[str, Any]:
        self.check_owner(bucket, expected_bucket_owner)
        objects = delete.get("Objects") or []
        if len(objects) > MAX_DELETE_KEYS:
            raise AwsError(
                "MalformedXML",
                "The XML you provided was not well-formed or did not validate against our "
                "published schema",
                400,
            )
        deleted: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        keys: list[str] = []
        for item in objects:
            key, version = item["Key"], item.get("VersionId")
            if version is not None and version != "null":
                errors.append(
                    _delete_error(
                        key, "NoSuchVersion", "The specified version does not exist.", version
                    )
                )
            elif len(key.encode("utf-8")) > 1024:
                errors.append(_delete_error(key, "KeyTooLongError", "Your key is too long"))
            else:
                keys.append(key)
                deleted.append({"Key": key, **({"VersionId": version} if version else {})})
        self.store.delete_objects(bucket, keys)
        out: dict[str, Any] = {"Errors": errors or None}
        if not delete.get("Quiet"):
            out["Deleted"] = deleted or None
        return out

    def copy_object(
        self,
        ctx: RequestContext,
        *,
        bucket: str,
        key: str,
        copy_source: str,
        metadata_directive: str | None = None,
        copy_source_if_match: str | None = None,
        copy_source_if_none_match: str | None = None,
        copy_source_if_modified_since: datetime | None = None,
        copy_source_if_unmodified_since: datetime | None = None,
        expected_bucket_owner: str | None = None,
        expected_source_bucket_owner: str | None = None,
        **members: Any,
    ) -> dict[str, Any]:
        """``members``: the rest of the input; with ``MetadataDirective=REPLACE`` the new
        object metadata (``OBJECT_META_MEMBERS``) is read from it."""
        source_bucket, source_key = parse_copy_source(copy_source)
        self.check_owner(bucket, expected_bucket_owner)
        self.check_owner(source_bucket, expected_source_bucket_owner)
        replace = (metadata_directive or "COPY").upper() == "REPLACE"
        if (
            (source_bucket, source_key) == (bucket, key)
            and not replace
            and all(members.get(name) is None for name in _SELF_COPY_CHANGES)
        ):
            raise AwsError(
                "InvalidRequest",
                "This copy request is illegal because it is trying to copy an object to itself "
                "without changing the object's metadata, storage class, website redirect "
                "location or encryption attributes.",
                400,
            )
        meta = None
        if replace:
            # A copy's Tagging applies only under a TaggingDirective, which is not supported:
            # the new metadata carries no tags.
            meta = object_meta(ctx, {**members, "tagging": None})

        def check(source: ObjectInfo) -> None:
            check_copy_source(
                source,
                if_match=copy_source_if_match,
                if_none_match=copy_source_if_none_match,
                if_modified_since=copy_source_if_modified_since,
                if_unmodified_since=copy_source_if_unmodified_since,
            )

        info = self.store.copy_object(
            source_bucket, source_key, bucket, key, meta=meta, check_source=check
        )
        result: dict[str, Any] = {"ETag": quote_etag(info.etag), "LastModified": info.last_modified}
        if info.checksums:
            result.update(checksum_members(info.checksums), ChecksumType=info.checksum_type)
        return {"CopyObjectResult": result, **encryption_members(info.meta)}


def _chosen_range(
    info: ObjectInfo, range_header: str | None, part_number: int | None
) -> ByteRange | None:
    if part_number is not None:
        if range_header is not None:
            raise AwsError(
                "InvalidRequest",
                "Cannot specify both Range header and partNumber query parameter",
                400,
            )
        return part_range(info, part_number)
    return parse_range(range_header, info.size)


def _read_result(
    info: ObjectInfo, chosen: ByteRange | None, part_number: int | None, checksum_mode: str | None
) -> OperationResult:
    members = object_members(info)
    if chosen is None:
        members["ContentLength"] = info.size
        if checksum_mode == "ENABLED" and info.checksums:
            # A checksum describes the whole object: ranged reads never carry one.
            members.update(checksum_members(info.checksums))
            members["ChecksumType"] = info.checksum_type
        return OperationResult(members)
    members["ContentLength"] = chosen.stop - chosen.start
    members["ContentRange"] = chosen.content_range(info.size)
    if part_number is not None:
        members["PartsCount"] = info.parts_count or 1
    return OperationResult(members, status=206)


def _not_modified(info: ObjectInfo) -> OperationResult:
    members = {"ETag": quote_etag(info.etag), "LastModified": info.last_modified}
    return OperationResult(members, status=304)


def _delete_error(key: str, code: str, message: str, version: str | None = None) -> dict[str, Any]:
    error = {"Key": key, "Code": code, "Message": message}
    if version is not None:
        error["VersionId"] = version
    return error
