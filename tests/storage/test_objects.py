"""Buckets and single objects: atomic writes, reads, ranges, checksums, weird keys."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.storage.conftest import chunks, read_all

from sagebrush.state import Database
from sagebrush.storage import FilesystemObjectStore, Integrity, ObjectMeta, Precondition
from sagebrush.storage import errors as e


def put(store: FilesystemObjectStore, key: str, data: bytes, **kwargs: object) -> object:
    return asyncio.run(store.put_object("bkt", key, chunks(data), **kwargs))  # type: ignore[arg-type]


def get(store: FilesystemObjectStore, key: str, start: int = 0, stop: int | None = None) -> bytes:
    async def go() -> bytes:
        return await read_all(store.open_object("bkt", key).stream(start, stop))

    return asyncio.run(go())


def blob_files(root: Path) -> list[Path]:
    return [p for p in (root / "blobs").rglob("*") if p.is_file()]


def test_buckets(store: FilesystemObjectStore) -> None:
    with pytest.raises(e.BucketAlreadyOwnedByYou):
        store.create_bucket("bkt", "111111111111", "us-east-1")
    with pytest.raises(e.BucketAlreadyExists):
        store.create_bucket("bkt", "222222222222", "us-east-1")
    store.create_bucket("other", "111111111111", "eu-west-1")
    store.create_bucket("theirs", "222222222222", "us-east-1")
    assert [b.name for b in store.list_buckets("111111111111")] == ["bkt", "other"]
    assert store.head_bucket("other").region == "eu-west-1"
    assert store.head_bucket("other").created.tzinfo is not None
    put(store, "k", b"x")
    with pytest.raises(e.BucketNotEmpty):
        store.delete_bucket("bkt")
    store.delete_object("bkt", "k")
    upload = store.create_multipart_upload("bkt", "pending")
    store.delete_bucket("bkt")  # in-progress uploads do not keep a bucket alive
    with pytest.raises(e.NoSuchBucket):
        store.head_bucket("bkt")
    with pytest.raises(e.NoSuchBucket):
        store.list_parts("bkt", "pending", upload.upload_id)


def test_put_get_head_delete(store: FilesystemObjectStore) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    meta = ObjectMeta(content_type="text/plain", cache_control="no-cache", user={"a": "1"})
    info = put(store, "dir/file.bin", data, meta=meta)
    assert info.etag == hashlib.md5(data).hexdigest()  # type: ignore[attr-defined]
    head = store.head_object("bkt", "dir/file.bin")
    assert head.size == len(data)
    assert head.meta == meta
    assert head.last_modified.tzinfo is not None
    assert get(store, "dir/file.bin") == data
    assert get(store, "dir/file.bin", 10, 2_000_000) == data[10:2_000_000]
    with pytest.raises(e.InvalidRange):
        store.open_object("bkt", "dir/file.bin").stream(len(data) + 1)
    assert store.delete_object("bkt", "dir/file.bin") is True
    assert store.delete_object("bkt", "dir/file.bin") is False
    with pytest.raises(e.NoSuchKey):
        store.head_object("bkt", "dir/file.bin")
    with pytest.raises(e.NoSuchBucket):
        store.head_object("nope", "x")
    assert blob_files(store.root) == []


def test_empty_object(store: FilesystemObjectStore) -> None:
    put(store, "empty", b"")
    assert store.head_object("bkt", "empty").etag == hashlib.md5(b"").hexdigest()
    assert get(store, "empty") == b""


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        "/absolute/path",
        "a" * 1024,
        "ünïcödé/日本語/🎉",
        "with\nnewline and\ttab",
        "./.",
    ],
)
def test_weird_keys_never_become_paths(store: FilesystemObjectStore, key: str) -> None:
    put(store, key, b"payload")
    assert get(store, key) == b"payload"
    assert [o.key for o in store.list_objects("bkt").objects] == [key]
    files = blob_files(store.root)
    assert len(files) == 1 and files[0].name not in key


def test_key_too_long(store: FilesystemObjectStore) -> None:
    with pytest.raises(e.KeyTooLongError):
        put(store, "é" * 513, b"x")


def test_replace_keeps_open_reader_consistent(store: FilesystemObjectStore) -> None:
    old, new = os.urandom(4 * 1024 * 1024), os.urandom(1024)

    async def go() -> None:
        await store.put_object("bkt", "k", chunks(old))
        stream = store.open_object("bkt", "k").stream()
        first = await anext(stream)
        await store.put_object("bkt", "k", chunks(new))
        rest = b"".join([c async for c in stream])
        assert first + rest == old
        assert await read_all(store.open_object("bkt", "k").stream()) == new

    asyncio.run(go())
    assert len(blob_files(store.root)) == 1  # the old blob went once its reader finished


def test_unstarted_reader_released_on_close(store: FilesystemObjectStore) -> None:
    put(store, "k", b"one")
    reader = store.open_object("bkt", "k")
    put(store, "k", b"two")
    assert len(blob_files(store.root)) == 2
    reader.close()
    assert len(blob_files(store.root)) == 1


def test_concurrent_writers_and_readers(store: FilesystemObjectStore) -> None:
    versions = [bytes([n]) * (256 * 1024 + n) for n in range(8)]

    async def writer(data: bytes) -> None:
        await store.put_object("bkt", "hot", chunks(data, 4096))

    async def reader() -> None:
        for _ in range(20):
            data = await read_all(store.open_object("bkt", "hot").stream())
            assert data in versions
            await asyncio.sleep(0)

    async def go() -> None:
        await writer(versions[0])
        await asyncio.gather(*(writer(v) for v in versions), *(reader() for _ in range(4)))

    asyncio.run(go())
    assert len(blob_files(store.root)) == 1


def test_failed_upload_leaves_nothing(store: FilesystemObjectStore) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"x" * (2 * 1024 * 1024)
        raise ConnectionError("client went away")

    put(store, "k", b"original")
    with pytest.raises(ConnectionError):
        asyncio.run(store.put_object("bkt", "k", broken()))
    assert get(store, "k") == b"original"
    assert len(blob_files(store.root)) == 1
    assert list((store.root / "tmp").iterdir()) == []


def test_checksums_and_digests(store: FilesystemObjectStore) -> None:
    data = os.urandom(100_000)
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
    info = put(
        store,
        "k",
        data,
        integrity=Integrity(
            algorithms=frozenset({"SHA256"}),
            expected={"CRC32": crc},
            md5=hashlib.md5(data).digest(),
        ),
    )
    assert info.checksums == {"CRC32": crc, "SHA256": sha}  # type: ignore[attr-defined]
    assert store.head_object("bkt", "k").checksum_type == "FULL_OBJECT"
    with pytest.raises(e.BadDigest) as bad:
        put(store, "k2", data, integrity=Integrity(expected={"CRC32": "AAAAAA=="}))
    assert bad.value.algorithm == "CRC32"
    with pytest.raises(e.BadDigest):
        put(store, "k2", data, integrity=Integrity(md5=b"0" * 16))
    with pytest.raises(e.BadDigest):  # a trailing checksum, known only after the body
        put(
            store,
            "k2",
            data,
            integrity=Integrity(frozenset({"CRC32"}), trailer=lambda: {"CRC32": "AAAAAA=="}),
        )
    with pytest.raises(e.InvalidChecksum):
        put(store, "k2", data, integrity=Integrity(expected={"CRC32": "not base64!"}))
    with pytest.raises(e.IncompleteBody):
        put(store, "k2", data, size=len(data) + 1)
    with pytest.raises(e.NoSuchKey):
        store.head_object("bkt", "k2")
    assert len(blob_files(store.root)) == 1


def test_conditional_put(store: FilesystemObjectStore) -> None:
    put(store, "k", b"a", precondition=Precondition(if_none_match=True))
    with pytest.raises(e.PreconditionFailed):
        put(store, "k", b"b", precondition=Precondition(if_none_match=True))
    etag = store.head_object("bkt", "k").etag
    with pytest.raises(e.PreconditionFailed):
        put(store, "k", b"b", precondition=Precondition(if_match='"nope"'))
    put(store, "k", b"b", precondition=Precondition(if_match=f'"{etag}"'))
    with pytest.raises(e.NoSuchKey):
        put(store, "missing", b"b", precondition=Precondition(if_match=etag))
    assert get(store, "k") == b"b"


def test_copy(store: FilesystemObjectStore) -> None:
    data = os.urandom(10_000)
    put(store, "src", data, meta=ObjectMeta(content_type="a/b", user={"x": "y"}))
    store.create_bucket("dst", "111111111111", "us-east-1")
    info = store.copy_object("bkt", "src", "dst", "copy")
    assert info.meta.user == {"x": "y"} and info.etag == hashlib.md5(data).hexdigest()
    replaced = store.copy_object("bkt", "src", "bkt", "src", meta=ObjectMeta(user={"n": "1"}))
    assert replaced.meta.user == {"n": "1"}
    store.delete_object("bkt", "src")
    assert asyncio.run(read_all(store.open_object("dst", "copy").stream())) == data

    def refuse(_info: object) -> None:
        raise e.PreconditionFailed("x-amz-copy-source-if-match")

    with pytest.raises(e.PreconditionFailed):
        store.copy_object("dst", "copy", "dst", "other", check_source=refuse)
    with pytest.raises(e.NoSuchKey):
        store.copy_object("bkt", "src", "dst", "other")
    assert len(blob_files(store.root)) == 1


def test_delete_objects(store: FilesystemObjectStore) -> None:
    for n in range(5):
        put(store, f"k{n}", b"x")
    store.delete_objects("bkt", ["k0", "k1", "missing"])
    assert [o.key for o in store.list_objects("bkt").objects] == ["k2", "k3", "k4"]


def test_recover_removes_partial_and_orphan_blobs(tmp_path: Path, db: Database) -> None:
    root = tmp_path / "objects"
    store = FilesystemObjectStore(root, db)
    store.create_bucket("bkt", "111111111111", "us-east-1")
    put(store, "kept", b"kept")
    # A kill -9 mid-upload leaves a temp file; one between rename and commit an orphan blob.
    (root / "tmp" / "deadbeef").write_bytes(b"partial")
    (root / "blobs" / "ab" / "ab00orphan").write_bytes(b"orphan")
    restarted = FilesystemObjectStore(root, db)
    restarted.recover()
    assert list((root / "tmp").iterdir()) == []
    assert len(blob_files(root)) == 1
    assert get(restarted, "kept") == b"kept"
    assert [o.key for o in restarted.list_objects("bkt").objects] == ["kept"]


def test_kill_during_upload_leaves_nothing_visible(tmp_path: Path, db: Database) -> None:
    root = tmp_path / "objects"
    store = FilesystemObjectStore(root, db)
    store.create_bucket("bkt", "111111111111", "us-east-1")

    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"z" * 65536
            await asyncio.sleep(0)

    async def interrupted() -> None:
        task = asyncio.ensure_future(store.put_object("bkt", "big", endless()))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(interrupted())
    with pytest.raises(e.NoSuchKey):
        store.head_object("bkt", "big")
    FilesystemObjectStore(root, db).recover()
    assert blob_files(root) == [] and list((root / "tmp").iterdir()) == []
