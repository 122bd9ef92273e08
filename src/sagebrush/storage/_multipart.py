"""Multipart uploads: parts are blobs; completing one points the object at them in order."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterable, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sagebrush.state.schema import S3Part, S3Upload
from sagebrush.storage import _rows
from sagebrush.storage._checksums import (
    CRC_ALGORITHMS,
    SUPPORTED_ALGORITHMS,
    combine_crc,
    composite_checksum,
)
from sagebrush.storage._listing import successor
from sagebrush.storage._rows import encode_key
from sagebrush.storage.base import (
    MAX_PART_NUMBER,
    CompletedPart,
    Integrity,
    ObjectInfo,
    ObjectMeta,
    PartInfo,
    PartListing,
    Precondition,
    UploadInfo,
    UploadListing,
)
from sagebrush.storage.errors import (
    BadDigest,
    EntityTooSmall,
    InvalidPart,
    InvalidPartOrder,
    NoSuchUpload,
)

if TYPE_CHECKING:
    from sagebrush.storage.filesystem import FilesystemObjectStore


class Multipart:
    def __init__(self, store: FilesystemObjectStore, min_part_size: int) -> None:
        self._store = store
        self._min_part_size = min_part_size

    def create(
        self,
        bucket: str,
        key: str,
        *,
        meta: ObjectMeta,
        checksum_algorithm: str | None,
        checksum_type: str | None,
    ) -> UploadInfo:
        raw_key = encode_key(key)
        if checksum_algorithm is not None and checksum_type is None:
            checksum_type = "FULL_OBJECT" if checksum_algorithm == "CRC64NVME" else "COMPOSITE"
        with self._store.db.session() as s:
            self._store._bucket(s, bucket)
            row = S3Upload(
                upload_id=uuid.uuid4().hex + uuid.uuid4().hex,
                bucket=bucket,
                key=raw_key,
                initiated=self._store._now(),
                checksum_algorithm=checksum_algorithm,
                checksum_type=checksum_type,
            )
            _rows.set_meta(row, meta)
            s.add(row)
            return _rows.upload_info(row)

    async def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        *,
        part_number: int,
        body: AsyncIterable[bytes],
        integrity: Integrity,
        size: int | None,
    ) -> PartInfo:
        if not 1 <= part_number <= MAX_PART_NUMBER:
            raise ValueError(f"part number {part_number} is out of range")
        raw_key = encode_key(key)
        with self._store.db.session() as s:
            upload = _rows.upload_info(self._upload(s, bucket, raw_key, upload_id))
        if upload.checksum_algorithm in SUPPORTED_ALGORITHMS:
            algorithms = integrity.algorithms | {upload.checksum_algorithm}
            integrity = Integrity(algorithms, integrity.expected, integrity.trailer, integrity.md5)
        blob, hasher = await self._store.write_blob(body, integrity, size)
        replaced: list[str] = []
        try:
            with self._store.db.session() as s:
                self._upload(s, bucket, raw_key, upload_id)
                row = s.get(S3Part, (upload_id, part_number))
                if row is None:
                    row = S3Part(upload_id=upload_id, part_number=part_number)
                    s.add(row)
                else:
                    replaced.append(row.blob)
                row.blob = blob
                row.size = hasher.size
                row.etag = hasher.md5.hex()
                row.last_modified = self._store._now()
                row.checksums = json.dumps(hasher.checksums())
                info = _rows.part_info(row)
        except BaseException:
            self._store.blobs.delete([blob])
            raise
        self._store.blobs.delete(replaced)
        return info

    def complete(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        *,
        parts: Sequence[CompletedPart],
        expected_checksum: str | None,
        precondition: Precondition | None,
    ) -> ObjectInfo:
        raw_key = encode_key(key)
        with self._store.db.session() as s:
            upload = self._upload(s, bucket, raw_key, upload_id)
            stored = {
                row.part_number: row
                for row in s.scalars(select(S3Part).where(S3Part.upload_id == upload_id))
            }
            chosen = _validate(parts, stored, upload.checksum_algorithm, self._min_part_size)
            digests = b"".join(bytes.fromhex(row.etag) for row in chosen)
            etag = f"{hashlib.md5(digests).hexdigest()}-{len(chosen)}"
            checksums = _object_checksums(upload, chosen, expected_checksum)
            info, replaced = self._store._commit(
                s,
                bucket,
                raw_key,
                [(row.blob, row.size) for row in chosen],
                etag=etag,
                checksums=checksums,
                checksum_type=upload.checksum_type if checksums else None,
                meta=_rows.meta_of(upload),
                precondition=precondition,
            )
            used = {row.blob for row in chosen}
            unused = [row.blob for row in stored.values() if row.blob not in used]
            s.execute(delete(S3Part).where(S3Part.upload_id == upload_id))
            s.delete(upload)
        self._store.blobs.delete(unused + replaced)
        return info

    def abort(self, bucket: str, key: str, upload_id: str) -> None:
        with self._store.db.session() as s:
            upload = self._upload(s, bucket, encode_key(key), upload_id)
            blobs = list(s.scalars(select(S3Part.blob).where(S3Part.upload_id == upload_id)))
            s.execute(delete(S3Part).where(S3Part.upload_id == upload_id))
            s.delete(upload)
        self._store.blobs.delete(blobs)

    def list_parts(
        self, bucket: str, key: str, upload_id: str, *, after: int, max_parts: int
    ) -> PartListing:
        with self._store.db.session() as s:
            upload = _rows.upload_info(self._upload(s, bucket, encode_key(key), upload_id))
            rows = list(
                s.scalars(
                    select(S3Part)
                    .where(S3Part.upload_id == upload_id, S3Part.part_number > after)
                    .order_by(S3Part.part_number)
                    .limit(max_parts + 1)
                )
            )
        truncated = len(rows) > max_parts
        parts = tuple(_rows.part_info(row) for row in rows[:max_parts])
        next_marker = parts[-1].part_number if truncated and parts else None
        return PartListing(upload, parts, truncated, next_marker)

    def list_uploads(
        self,
        bucket: str,
        *,
        prefix: str,
        delimiter: str | None,
        key_marker: str | None,
        upload_id_marker: str | None,
        max_uploads: int,
    ) -> UploadListing:
        raw_prefix = prefix.encode("utf-8")
        with self._store.db.session() as s:
            self._store._bucket(s, bucket)
            query = select(S3Upload).where(S3Upload.bucket == bucket, S3Upload.key >= raw_prefix)
            upper = successor(raw_prefix) if raw_prefix else None
            if upper is not None:
                query = query.where(S3Upload.key < upper)
            rows = list(
                s.scalars(query.order_by(S3Upload.key, S3Upload.initiated, S3Upload.upload_id))
            )
            uploads_all = [_rows.upload_info(row) for row in rows]
        marker = key_marker.encode("utf-8") if key_marker is not None else None
        uploads: list[UploadInfo] = []
        prefixes: list[str] = []
        passed_upload_marker = upload_id_marker is None
        last: tuple[str, str | None] | None = None
        for upload in uploads_all:
            raw = upload.key.encode("utf-8")
            if marker is not None:
                if raw < marker:
                    continue
                if raw == marker:
                    if upload_id_marker is None:
                        continue
                    if not passed_upload_marker:
                        passed_upload_marker = upload.upload_id == upload_id_marker
                        continue
            common = _common_prefix(upload.key, prefix, delimiter)
            if common is not None:
                if common in prefixes or (key_marker is not None and common <= key_marker):
                    continue
                if len(uploads) + len(prefixes) == max_uploads:
                    return _upload_page(uploads, prefixes, last)
                prefixes.append(common)
                last = (common, None)
                continue
            if len(uploads) + len(prefixes) == max_uploads:
                return _upload_page(uploads, prefixes, last)
            uploads.append(upload)
            last = (upload.key, upload.upload_id)
        return UploadListing(tuple(uploads), tuple(prefixes), False, None, None)

    def _upload(self, s: Session, bucket: str, raw_key: bytes, upload_id: str) -> S3Upload:
        row = s.get(S3Upload, upload_id)
        if row is None or row.bucket != bucket or row.key != raw_key:
            self._store._bucket(s, bucket)
            raise NoSuchUpload(upload_id)
        return row


def _validate(
    parts: Sequence[CompletedPart],
    stored: dict[int, S3Part],
    algorithm: str | None,
    min_part_size: int,
) -> list[S3Part]:
    chosen: list[S3Part] = []
    previous = 0
    for part in parts:
        if part.part_number <= previous:
            raise InvalidPartOrder()
        previous = part.part_number
        row = stored.get(part.part_number)
        if row is None or part.etag.strip('"') != row.etag:
            raise InvalidPart(part.part_number, part.etag)
        given = part.checksums.get(algorithm) if algorithm is not None else None
        if given is not None and json.loads(row.checksums).get(algorithm) != given:
            raise InvalidPart(part.part_number, part.etag)
        chosen.append(row)
    for row in chosen[:-1]:
        if row.size < min_part_size:
            raise EntityTooSmall(row.part_number, row.size, min_part_size)
    return chosen


def _object_checksums(
    upload: S3Upload, chosen: list[S3Part], expected: str | None
) -> dict[str, str]:
    algorithm = upload.checksum_algorithm
    if algorithm is None or algorithm not in SUPPORTED_ALGORITHMS:
        return {}
    values = [json.loads(row.checksums).get(algorithm) for row in chosen]
    if any(value is None for value in values):
        return {}
    present = [value for value in values if value is not None]
    if upload.checksum_type == "FULL_OBJECT" and algorithm in CRC_ALGORITHMS:
        sized = [(v, row.size) for v, row in zip(present, chosen, strict=True)]
        value = combine_crc(algorithm, sized)
    else:
        value = composite_checksum(algorithm, present)
    if expected is not None and expected.split("-")[0] != value.split("-")[0]:
        raise BadDigest(algorithm, expected, value)
    return {algorithm: value}


def _common_prefix(key: str, prefix: str, delimiter: str | None) -> str | None:
    if not delimiter:
        return None
    cut = key.find(delimiter, len(prefix))
    return key[: cut + len(delimiter)] if cut >= 0 else None


def _upload_page(
    uploads: list[UploadInfo], prefixes: list[str], last: tuple[str, str | None] | None
) -> UploadListing:
    key, upload_id = last if last is not None else (None, None)
    return UploadListing(tuple(uploads), tuple(prefixes), True, key, upload_id)
