"""Multipart uploads: ETags, validation, zero-copy completion, ranges across parts."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import zlib
from pathlib import Path

import pytest
from tests.storage.conftest import SMALL_PART, chunks, read_all

from sagebrush.storage import CompletedPart, FilesystemObjectStore, Integrity, PartInfo
from sagebrush.storage import errors as e


def upload(store: FilesystemObjectStore, upload_id: str, n: int, data: bytes) -> PartInfo:
    return asyncio.run(store.upload_part("bkt", "obj", upload_id, n, chunks(data)))


def crc(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def test_complete_assembles_without_copy(store: FilesystemObjectStore) -> None:
    parts = [os.urandom(SMALL_PART + n) for n in range(3)] + [b"tail"]
    up = store.create_multipart_upload("bkt", "obj")
    infos = [upload(store, up.upload_id, n + 1, data) for n, data in enumerate(parts)]
    blobs_before = {p.name for p in (store.root / "blobs").rglob("*") if p.is_file()}
    info = store.complete_multipart_upload(
        "bkt", "obj", up.upload_id, [CompletedPart(i.part_number, f'"{i.etag}"') for i in infos]
    )
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    assert info.etag == f"{hashlib.md5(digests).hexdigest()}-4"
    assert info.parts_count == 4 and info.size == sum(map(len, parts))
    blobs_after = {p.name for p in (store.root / "blobs").rglob("*") if p.is_file()}
    assert blobs_after == blobs_before  # the object points at the part blobs themselves
    whole = b"".join(parts)

    async def read(start: int, stop: int) -> bytes:
        return await read_all(store.open_object("bkt", "obj").stream(start, stop))

    assert asyncio.run(read(0, len(whole))) == whole
    for start, stop in [
        (SMALL_PART - 5, SMALL_PART + 5),
        (10, 3 * SMALL_PART + 4),
        (len(whole) - 2, len(whole)),
    ]:
        assert asyncio.run(read(start, stop)) == whole[start:stop]
    with pytest.raises(e.NoSuchUpload):
        store.list_parts("bkt", "obj", up.upload_id)


def test_part_validation(store: FilesystemObjectStore) -> None:
    up = store.create_multipart_upload("bkt", "obj")
    small = upload(store, up.upload_id, 1, b"tiny")
    big = upload(store, up.upload_id, 2, os.urandom(SMALL_PART))
    done = [CompletedPart(1, small.etag), CompletedPart(2, big.etag)]
    with pytest.raises(e.EntityTooSmall):
        store.complete_multipart_upload("bkt", "obj", up.upload_id, done)
    with pytest.raises(e.InvalidPartOrder):
        store.complete_multipart_upload("bkt", "obj", up.upload_id, done[::-1])
    with pytest.raises(e.InvalidPart):
        store.complete_multipart_upload("bkt", "obj", up.upload_id, [CompletedPart(3, "x")])
    with pytest.raises(e.InvalidPart):
        store.complete_multipart_upload("bkt", "obj", up.upload_id, [CompletedPart(1, "bad")])
    with pytest.raises(e.NoSuchUpload):
        store.complete_multipart_upload("bkt", "other", up.upload_id, done)
    # Re-uploading a part replaces it; unused parts are dropped at completion.
    again = upload(store, up.upload_id, 1, os.urandom(SMALL_PART))
    info = store.complete_multipart_upload(
        "bkt", "obj", up.upload_id, [CompletedPart(1, again.etag)]
    )
    assert info.size == SMALL_PART and info.etag.endswith("-1")
    assert len([p for p in (store.root / "blobs").rglob("*") if p.is_file()]) == 1


def test_abort_and_listings(store: FilesystemObjectStore, tmp_path: Path) -> None:
    ups = [store.create_multipart_upload("bkt", key) for key in ["b/1", "a", "a", "b/2", "c"]]
    for n in range(1, 6):
        upload_part = store.upload_part("bkt", "a", ups[1].upload_id, n, chunks(b"p" * n))
        asyncio.run(upload_part)
    listing = store.list_parts("bkt", "a", ups[1].upload_id, after=1, max_parts=2)
    assert [p.part_number for p in listing.parts] == [2, 3]
    assert listing.is_truncated and listing.next_marker == 3
    uploads = store.list_multipart_uploads("bkt")
    assert [u.key for u in uploads.uploads] == ["a", "a", "b/1", "b/2", "c"]
    rolled = store.list_multipart_uploads("bkt", delimiter="/")
    assert [u.key for u in rolled.uploads] == ["a", "a", "c"] and rolled.common_prefixes == ("b/",)
    page = store.list_multipart_uploads("bkt", max_uploads=1)
    assert page.is_truncated and page.next_key_marker == "a"
    rest = store.list_multipart_uploads(
        "bkt", key_marker=page.next_key_marker, upload_id_marker=page.next_upload_id_marker
    )
    assert [u.key for u in rest.uploads] == ["a", "b/1", "b/2", "c"]
    store.abort_multipart_upload("bkt", "a", ups[1].upload_id)
    with pytest.raises(e.NoSuchUpload):
        store.abort_multipart_upload("bkt", "a", ups[1].upload_id)
    with pytest.raises(e.NoSuchUpload):
        asyncio.run(store.upload_part("bkt", "a", ups[1].upload_id, 1, chunks(b"x")))
    assert [p for p in (store.root / "blobs").rglob("*") if p.is_file()] == []


def test_composite_and_full_object_checksums(store: FilesystemObjectStore) -> None:
    parts = [os.urandom(SMALL_PART), os.urandom(100)]
    for checksum_type in ("COMPOSITE", "FULL_OBJECT"):
        up = store.create_multipart_upload(
            "bkt", "obj", checksum_algorithm="CRC32", checksum_type=checksum_type
        )
        infos = [upload(store, up.upload_id, n + 1, data) for n, data in enumerate(parts)]
        assert [i.checksums["CRC32"] for i in infos] == [crc(p) for p in parts]
        done = [
            CompletedPart(i.part_number, i.etag, {"CRC32": crc(p)})
            for i, p in zip(infos, parts, strict=True)
        ]
        info = store.complete_multipart_upload("bkt", "obj", up.upload_id, done)
        if checksum_type == "COMPOSITE":
            raw = b"".join(base64.b64decode(crc(p)) for p in parts)
            assert info.checksums == {"CRC32": f"{crc(raw)}-2"}
        else:
            assert info.checksums == {"CRC32": crc(b"".join(parts))}
        assert info.checksum_type == checksum_type
    up = store.create_multipart_upload("bkt", "obj", checksum_algorithm="CRC32")
    part = upload(store, up.upload_id, 1, b"abc")
    with pytest.raises(e.InvalidPart):
        store.complete_multipart_upload(
            "bkt", "obj", up.upload_id, [CompletedPart(1, part.etag, {"CRC32": crc(b"xyz")})]
        )
    with pytest.raises(e.BadDigest):
        asyncio.run(
            store.upload_part(
                "bkt",
                "obj",
                up.upload_id,
                2,
                chunks(b"abc"),
                integrity=Integrity(expected={"CRC32": crc(b"xyz")}),
            )
        )
