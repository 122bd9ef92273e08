"""The default object store: metadata rows in the database, bytes in blob files on disk."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterable, Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sagebrush.state.db import Database
from sagebrush.state.schema import S3Bucket, S3Object, S3Part, S3Upload
from sagebrush.storage import _rows
from sagebrush.storage._blobs import BlobFiles
from sagebrush.storage._checksums import SUPPORTED_ALGORITHMS, Hasher, decode_checksum
from sagebrush.storage._listing import list_page
from sagebrush.storage._materialize import materialize_blobs
from sagebrush.storage._multipart import Multipart
from sagebrush.storage._reader import FilesystemReader
from sagebrush.storage._rows import Segments, encode_key
from sagebrush.storage.base import (
    MIN_PART_SIZE,
    BucketInfo,
    CompletedPart,
    Integrity,
    ObjectInfo,
    ObjectListing,
    ObjectMeta,
    ObjectReader,
    ObjectStore,
    ObjectSummary,
    PartInfo,
    PartListing,
    Precondition,
    UploadInfo,
    UploadListing,
    Usage,
)
from sagebrush.storage.errors import (
    BadDigest,
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    IncompleteBody,
    InvalidChecksum,
    NoSuchBucket,
    NoSuchKey,
    PreconditionFailed,
)

_OPEN_RETRIES = 8


class FilesystemObjectStore(ObjectStore):
    def __init__(
        self,
        root: Path,
        db: Database,
        *,
        min_part_size: int = MIN_PART_SIZE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = root
        self._db = db
        self._clock = clock
        self._blobs = BlobFiles(root)
        self._multipart = Multipart(self, min_part_size)

    # -- buckets ---------------------------------------------------------------------------

    def create_bucket(self, name: str, account_id: str, region: str) -> BucketInfo:
        with self._db.session() as s:
            existing = s.get(S3Bucket, name)
            if existing is not None:
                if existing.account_id == account_id:
                    raise BucketAlreadyOwnedByYou(name, existing.region)
                raise BucketAlreadyExists(name)
            row = S3Bucket(name=name, account_id=account_id, region=region, created_at=self._now())
            s.add(row)
            return _rows.bucket_info(row)

    def head_bucket(self, name: str) -> BucketInfo:
        with self._db.session() as s:
            return _rows.bucket_info(self._bucket(s, name))

    def list_buckets(self, account_id: str) -> list[BucketInfo]:
        with self._db.session() as s:
            rows = s.scalars(
                select(S3Bucket).where(S3Bucket.account_id == account_id).order_by(S3Bucket.name)
            )
            return [_rows.bucket_info(row) for row in rows]

    def delete_bucket(self, name: str) -> None:
        with self._db.session() as s:
            row = self._bucket(s, name)
            if s.scalar(select(S3Object.key).where(S3Object.bucket == name).limit(1)) is not None:
                raise BucketNotEmpty(name)
            uploads = select(S3Upload.upload_id).where(S3Upload.bucket == name)
            blobs = list(s.scalars(select(S3Part.blob).where(S3Part.upload_id.in_(uploads))))
            s.execute(delete(S3Part).where(S3Part.upload_id.in_(uploads)))
            s.execute(delete(S3Upload).where(S3Upload.bucket == name))
            s.delete(row)
        self._blobs.delete(blobs)

    # -- objects ---------------------------------------------------------------------------

    async def put_object(
        self,
        bucket: str,
        key: str,
        body: AsyncIterable[bytes],
        *,
        meta: ObjectMeta | None = None,
        integrity: Integrity | None = None,
        size: int | None = None,
        precondition: Precondition | None = None,
    ) -> ObjectInfo:
        raw_key = encode_key(key)
        self.head_bucket(bucket)
        blob, hasher = await self.write_blob(body, integrity or Integrity(), size)
        try:
            with self._db.session() as s:
                info, replaced = self._commit(
                    s,
                    bucket,
                    raw_key,
                    [(blob, hasher.size)],
                    etag=hasher.md5.hex(),
                    checksums=hasher.checksums(),
                    checksum_type="FULL_OBJECT" if hasher.checksums() else None,
                    meta=meta or ObjectMeta(),
                    precondition=precondition,
                )
        except BaseException:
            self._blobs.delete([blob])
            raise
        self._blobs.delete(replaced)
        return info

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        with self._db.session() as s:
            return _rows.object_info(self._object(s, bucket, encode_key(key)))

    def open_object(self, bucket: str, key: str) -> ObjectReader:
        raw_key = encode_key(key)
        for _ in range(_OPEN_RETRIES):
            with self._db.session() as s:
                row = self._object(s, bucket, raw_key)
                info, segments = _rows.object_info(row), _rows.segments_of(row)
                version = row.segments
            blob_ids = [blob for blob, _ in segments]
            self._blobs.pin(blob_ids)
            # A writer unlinks replaced blobs only after committing, and defers that while
            # they are pinned: if the row is unchanged now, our blobs are safe until unpinned.
            with self._db.session() as s:
                current = s.get(S3Object, (bucket, raw_key))
                if current is not None and current.segments == version:
                    return FilesystemReader(self._blobs, info, segments)
            self._blobs.unpin(blob_ids)
        raise RuntimeError(f"object {bucket}/{key} kept changing while being opened")

    def materialize(self, bucket: str, key: str, dest: Path, *, link: bool = False) -> int:
        reader = self.open_object(bucket, key)  # pins the blobs until closed
        try:
            assert isinstance(reader, FilesystemReader)
            blobs = [(self._blobs.path(blob), size) for blob, size in reader.segments]
            materialize_blobs(blobs, dest, link=link)
        finally:
            reader.close()
        return reader.info.size

    def delete_object(self, bucket: str, key: str) -> bool:
        raw_key = encode_key(key)
        with self._db.session() as s:
            self._bucket(s, bucket)
            row = s.get(S3Object, (bucket, raw_key))
            if row is None:
                return False
            blobs = [blob for blob, _ in _rows.segments_of(row)]
            s.delete(row)
        self._blobs.delete(blobs)
        return True

    def delete_objects(self, bucket: str, keys: Sequence[str]) -> None:
        raw_keys = [encode_key(key) for key in keys]
        blobs: list[str] = []
        with self._db.session() as s:
            self._bucket(s, bucket)
            for raw_key in raw_keys:
                row = s.get(S3Object, (bucket, raw_key))
                if row is not None:
                    blobs.extend(blob for blob, _ in _rows.segments_of(row))
                    s.delete(row)
        self._blobs.delete(blobs)

    def copy_object(
        self,
        source_bucket: str,
        source_key: str,
        bucket: str,
        key: str,
        *,
        meta: ObjectMeta | None = None,
        check_source: Callable[[ObjectInfo], None] | None = None,
    ) -> ObjectInfo:
        raw_key = encode_key(key)
        self.head_bucket(bucket)
        reader = self.open_object(source_bucket, source_key)
        try:
            source = reader.info
            if check_source is not None:
                check_source(source)
            assert isinstance(reader, FilesystemReader)
            # Blobs are immutable, so a hard link is a copy that moves no bytes.
            linked = [(self._blobs.link(blob), size) for blob, size in reader.segments]
        finally:
            reader.close()
        try:
            with self._db.session() as s:
                info, replaced = self._commit(
                    s,
                    bucket,
                    raw_key,
                    linked,
                    etag=source.etag,
                    checksums=dict(source.checksums),
                    checksum_type=source.checksum_type,
                    meta=source.meta if meta is None else meta,
                )
        except BaseException:
            self._blobs.delete(blob for blob, _ in linked)
            raise
        self._blobs.delete(replaced)
        return info

    def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        after: str | None = None,
        max_keys: int = 1000,
    ) -> ObjectListing:
        columns = (
            S3Object.key,
            S3Object.size,
            S3Object.etag,
            S3Object.last_modified,
            S3Object.checksums,
            S3Object.checksum_type,
        )
        with self._db.session() as s:
            self._bucket(s, bucket)

            def fetch(lower: bytes, inclusive: bool, upper: bytes | None, limit: int) -> Any:
                query = select(*columns).where(S3Object.bucket == bucket)
                query = query.where(S3Object.key >= lower if inclusive else S3Object.key > lower)
                if upper is not None:
                    query = query.where(S3Object.key < upper)
                return s.execute(query.order_by(S3Object.key).limit(limit)).all()

            page = list_page(
                fetch,
                prefix=prefix.encode("utf-8"),
                delimiter=delimiter.encode("utf-8") if delimiter else None,
                after=after.encode("utf-8") if after is not None else None,
                max_keys=max_keys,
            )
        objects = tuple(
            ObjectSummary(
                key=row.key.decode("utf-8"),
                size=row.size,
                etag=row.etag,
                last_modified=_rows.utc(row.last_modified),
                checksum_algorithms=tuple(json.loads(row.checksums)),
                checksum_type=row.checksum_type,
            )
            for row in page.rows
        )
        return ObjectListing(
            objects=objects,
            common_prefixes=tuple(p.decode("utf-8") for p in page.common_prefixes),
            is_truncated=page.is_truncated,
            next_marker=page.next_marker.decode("utf-8")
            if page.is_truncated and page.next_marker is not None
            else None,
        )

    # -- multipart uploads -----------------------------------------------------------------

    def create_multipart_upload(
        self,
        bucket: str,
        key: str,
        *,
        meta: ObjectMeta | None = None,
        checksum_algorithm: str | None = None,
        checksum_type: str | None = None,
    ) -> UploadInfo:
        return self._multipart.create(
            bucket,
            key,
            meta=meta or ObjectMeta(),
            checksum_algorithm=checksum_algorithm,
            checksum_type=checksum_type,
        )

    async def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        body: AsyncIterable[bytes],
        *,
        integrity: Integrity | None = None,
        size: int | None = None,
    ) -> PartInfo:
        return await self._multipart.upload_part(
            bucket,
            key,
            upload_id,
            part_number=part_number,
            body=body,
            integrity=integrity or Integrity(),
            size=size,
        )

    def complete_multipart_upload(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[CompletedPart],
        *,
        expected_checksum: str | None = None,
        precondition: Precondition | None = None,
    ) -> ObjectInfo:
        return self._multipart.complete(
            bucket,
            key,
            upload_id,
            parts=parts,
            expected_checksum=expected_checksum,
            precondition=precondition,
        )

    def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        self._multipart.abort(bucket, key, upload_id)

    def list_parts(
        self, bucket: str, key: str, upload_id: str, *, after: int = 0, max_parts: int = 1000
    ) -> PartListing:
        return self._multipart.list_parts(bucket, key, upload_id, after=after, max_parts=max_parts)

    def list_multipart_uploads(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        key_marker: str | None = None,
        upload_id_marker: str | None = None,
        max_uploads: int = 1000,
    ) -> UploadListing:
        return self._multipart.list_uploads(
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            key_marker=key_marker,
            upload_id_marker=upload_id_marker,
            max_uploads=max_uploads,
        )

    # -- housekeeping ----------------------------------------------------------------------

    def usage(self) -> Usage:
        with self._db.session() as s:
            buckets = s.scalar(select(func.count()).select_from(S3Bucket)) or 0
            objects, size = s.execute(select(func.count(), func.sum(S3Object.size))).one()
        return Usage(buckets=buckets, objects=objects or 0, bytes=int(size or 0))

    def recover(self) -> None:
        referenced: set[str] = set()
        with self._db.session() as s:
            for segments in s.scalars(select(S3Object.segments)):
                referenced.update(blob for blob, _ in json.loads(segments))
            referenced.update(s.scalars(select(S3Part.blob)))
        self._blobs.sweep(referenced)

    # -- shared with the multipart half ----------------------------------------------------

    def _now(self) -> float:
        return round(self._clock(), 3)

    @property
    def blobs(self) -> BlobFiles:
        return self._blobs

    @property
    def db(self) -> Database:
        return self._db

    def _bucket(self, s: Session, name: str) -> S3Bucket:
        row = s.get(S3Bucket, name)
        if row is None:
            raise NoSuchBucket(name)
        return row

    def _object(self, s: Session, bucket: str, raw_key: bytes) -> S3Object:
        row = s.get(S3Object, (bucket, raw_key))
        if row is None:
            self._bucket(s, bucket)
            raise NoSuchKey(bucket, raw_key.decode("utf-8"))
        return row

    async def write_blob(
        self, body: AsyncIterable[bytes], integrity: Integrity, size: int | None
    ) -> tuple[str, Hasher]:
        """Stream a body into a new blob and verify it; the caller owns the blob after."""
        for algorithm, value in integrity.expected.items():
            if algorithm in SUPPORTED_ALGORITHMS and decode_checksum(algorithm, value) is None:
                raise InvalidChecksum(algorithm)
        wanted = (set(integrity.algorithms) | set(integrity.expected)) & SUPPORTED_ALGORITHMS
        hasher = Hasher(sorted(wanted))
        blob = await self._blobs.write(body, hasher)
        try:
            _verify(hasher, integrity, size)
        except BaseException:
            self._blobs.delete([blob])
            raise
        return blob, hasher

    def _commit(
        self,
        s: Session,
        bucket: str,
        raw_key: bytes,
        segments: Segments,
        *,
        etag: str,
        checksums: dict[str, str],
        checksum_type: str | None,
        meta: ObjectMeta,
        precondition: Precondition | None = None,
    ) -> tuple[ObjectInfo, list[str]]:
        """Point the key at ``segments``; returns the new info and the blobs it replaced."""
        self._bucket(s, bucket)
        row = s.get(S3Object, (bucket, raw_key))
        if precondition is not None:
            _check_precondition(row, precondition, bucket, raw_key)
        replaced: list[str] = []
        if row is None:
            row = S3Object(bucket=bucket, key=raw_key)
            s.add(row)
        else:
            replaced = [blob for blob, _ in _rows.segments_of(row)]
        row.size = sum(size for _, size in segments)
        row.etag = etag
        row.last_modified = self._now()
        row.segments = _rows.dump_segments(segments)
        row.checksums = json.dumps(checksums)
        row.checksum_type = checksum_type
        _rows.set_meta(row, meta)
        try:
            s.flush()
        except IntegrityError as exc:  # the bucket went away meanwhile
            raise NoSuchBucket(bucket) from exc
        return _rows.object_info(row), replaced


def _verify(hasher: Hasher, integrity: Integrity, size: int | None) -> None:
    if size is not None and hasher.size != size:
        raise IncompleteBody(size, hasher.size)
    if integrity.md5 is not None and integrity.md5 != hasher.md5:
        raise BadDigest("MD5", integrity.md5.hex(), hasher.md5.hex())
    expected = dict(integrity.expected)
    if integrity.trailer is not None:
        expected.update(integrity.trailer())
    actual = hasher.checksums()
    for algorithm, value in expected.items():
        if algorithm in actual and actual[algorithm] != value:
            raise BadDigest(algorithm, value, actual[algorithm])


def _check_precondition(
    row: S3Object | None, precondition: Precondition, bucket: str, raw_key: bytes
) -> None:
    if precondition.if_none_match and row is not None:
        raise PreconditionFailed("If-None-Match")
    if precondition.if_match is not None:
        if row is None:
            raise NoSuchKey(bucket, raw_key.decode("utf-8"))
        if precondition.if_match.strip('"') not in {row.etag, "*"}:
            raise PreconditionFailed("If-Match")
