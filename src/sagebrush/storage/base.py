"""The object store interface and the records it speaks in.

Nothing here knows about HTTP or AWS wire formats: keys are ``str``, times are tz-aware UTC
datetimes, ETags are bare hex (no quotes), checksums are ``{"CRC32": "<base64>"}``.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sagebrush.storage._materialize import temp_beside

MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PART_NUMBER = 10_000
MAX_KEY_BYTES = 1024


@dataclass(frozen=True)
class Usage:
    buckets: int
    objects: int
    bytes: int


@dataclass(frozen=True)
class BucketInfo:
    name: str
    account_id: str
    region: str
    created: datetime


@dataclass(frozen=True)
class ObjectMeta:
    """What the writer says about an object, stored and returned unchanged.

    ``extra`` holds opaque attributes a caller wants kept with the object (encryption
    settings, storage class...): the store does not interpret them.
    """

    content_type: str | None = None
    content_encoding: str | None = None
    content_disposition: str | None = None
    content_language: str | None = None
    cache_control: str | None = None
    expires: str | None = None
    user: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Integrity:
    """Digests to compute and verify while an upload streams in.

    ``algorithms`` are computed (and returned); ``expected`` values are verified, and so
    are those ``trailer`` returns once the body is read (aws-chunked trailing checksums).
    ``md5`` is the raw Content-MD5 digest. Unsupported algorithms are ignored.
    """

    algorithms: frozenset[str] = frozenset()
    expected: Mapping[str, str] = field(default_factory=dict)
    trailer: Callable[[], Mapping[str, str]] | None = None
    md5: bytes | None = None


@dataclass(frozen=True)
class Precondition:
    """A conditional write: ``if_match`` an ETag, or ``if_none_match`` (no object yet)."""

    if_match: str | None = None
    if_none_match: bool = False


@dataclass(frozen=True)
class ObjectInfo:
    bucket: str
    key: str
    size: int
    etag: str
    last_modified: datetime
    meta: ObjectMeta = field(default_factory=ObjectMeta)
    checksums: Mapping[str, str] = field(default_factory=dict)
    checksum_type: str | None = None
    # Part sizes of a completed multipart upload (empty for a single PUT).
    part_sizes: tuple[int, ...] = ()

    @property
    def parts_count(self) -> int | None:
        return len(self.part_sizes) or None


@dataclass(frozen=True)
class ObjectSummary:
    key: str
    size: int
    etag: str
    last_modified: datetime
    checksum_algorithms: tuple[str, ...] = ()
    checksum_type: str | None = None


@dataclass(frozen=True)
class ObjectListing:
    objects: tuple[ObjectSummary, ...]
    common_prefixes: tuple[str, ...]
    is_truncated: bool
    # The last key or common prefix returned when truncated: list again "after" it.
    next_marker: str | None


@dataclass(frozen=True)
class UploadInfo:
    upload_id: str
    bucket: str
    key: str
    initiated: datetime
    meta: ObjectMeta = field(default_factory=ObjectMeta)
    checksum_algorithm: str | None = None
    checksum_type: str | None = None


@dataclass(frozen=True)
class PartInfo:
    part_number: int
    size: int
    etag: str
    last_modified: datetime
    checksums: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PartListing:
    upload: UploadInfo
    parts: tuple[PartInfo, ...]
    is_truncated: bool
    next_marker: int | None


@dataclass(frozen=True)
class UploadListing:
    uploads: tuple[UploadInfo, ...]
    common_prefixes: tuple[str, ...]
    is_truncated: bool
    next_key_marker: str | None
    next_upload_id_marker: str | None


@dataclass(frozen=True)
class CompletedPart:
    part_number: int
    etag: str
    checksums: Mapping[str, str] = field(default_factory=dict)


class ObjectReader(ABC):
    """One version of an object, held steady while it is read (a replace does not affect it).

    ``stream`` yields bytes ``[start, stop)`` and closes the reader when it ends; call
    ``close`` if the bytes are never streamed.
    """

    info: ObjectInfo

    @abstractmethod
    def stream(self, start: int = 0, stop: int | None = None) -> AsyncIterator[bytes]: ...

    @abstractmethod
    def close(self) -> None: ...


class ObjectStore(ABC):
    """Buckets of objects. Bucket names are global; each bucket has an owner and a region."""

    # -- buckets ---------------------------------------------------------------------------

    @abstractmethod
    def create_bucket(self, name: str, account_id: str, region: str) -> BucketInfo: ...

    @abstractmethod
    def head_bucket(self, name: str) -> BucketInfo: ...

    @abstractmethod
    def list_buckets(self, account_id: str) -> list[BucketInfo]: ...

    @abstractmethod
    def delete_bucket(self, name: str) -> None:
        """Delete an empty bucket (in-progress multipart uploads are aborted)."""

    # -- objects ---------------------------------------------------------------------------

    @abstractmethod
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
        """Store ``body`` atomically: readers see the old object or the whole new one."""

    @abstractmethod
    def head_object(self, bucket: str, key: str) -> ObjectInfo: ...

    @abstractmethod
    def open_object(self, bucket: str, key: str) -> ObjectReader: ...

    def materialize(self, bucket: str, key: str, dest: Path, *, link: bool = False) -> int:
        """Make ``dest`` a file holding exactly the object's current bytes; returns the size.

        ``dest`` is replaced atomically. With ``link=True`` the file may share storage with
        the store (a hard link to immutable bytes): only for read-only use, the caller
        guarantees nothing writes through it. Call it from a thread with no running event
        loop. This generic version streams through ``open_object``; stores override it to
        copy without user-space buffers.
        """
        reader = self.open_object(bucket, key)
        tmp = temp_beside(dest)
        try:
            with tmp.open("xb") as out:
                asyncio.run(_drain(reader.stream(), out))
            tmp.replace(dest)
        except BaseException:
            reader.close()
            tmp.unlink(missing_ok=True)
            raise
        return reader.info.size

    @abstractmethod
    def delete_object(self, bucket: str, key: str) -> bool:
        """Delete if present (idempotent); True when something was deleted."""

    @abstractmethod
    def delete_objects(self, bucket: str, keys: Sequence[str]) -> None: ...

    @abstractmethod
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
        """Copy an object; ``meta=None`` keeps the source's. ``check_source`` may raise to
        refuse, and sees exactly the version that gets copied."""

    @abstractmethod
    def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        after: str | None = None,
        max_keys: int = 1000,
    ) -> ObjectListing:
        """Keys in UTF-8 byte order, strictly after ``after``, rolled up at ``delimiter``."""

    # -- multipart uploads -----------------------------------------------------------------

    @abstractmethod
    def create_multipart_upload(
        self,
        bucket: str,
        key: str,
        *,
        meta: ObjectMeta | None = None,
        checksum_algorithm: str | None = None,
        checksum_type: str | None = None,
    ) -> UploadInfo: ...

    @abstractmethod
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
    ) -> PartInfo: ...

    @abstractmethod
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
        """Assemble the object from the listed parts without copying their bytes."""

    @abstractmethod
    def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None: ...

    @abstractmethod
    def list_parts(
        self, bucket: str, key: str, upload_id: str, *, after: int = 0, max_parts: int = 1000
    ) -> PartListing: ...

    @abstractmethod
    def list_multipart_uploads(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        key_marker: str | None = None,
        upload_id_marker: str | None = None,
        max_uploads: int = 1000,
    ) -> UploadListing: ...

    # -- housekeeping ----------------------------------------------------------------------

    @abstractmethod
    def usage(self) -> Usage:
        """How much the store holds, for ``sagebrush status``."""

    @abstractmethod
    def recover(self) -> None:
        """Remove what an interrupted process left behind (temp files, orphan blobs)."""


async def _drain(stream: AsyncIterator[bytes], out: BinaryIO) -> None:
    async for chunk in stream:
        out.write(chunk)
