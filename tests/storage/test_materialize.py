"""materialize: an object's bytes at a path, by clone, kernel copy, hard link or stream."""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
from pathlib import Path

import pytest
from tests.storage.conftest import SMALL_PART, chunks

from sagebrush.storage import CompletedPart, FilesystemObjectStore, ObjectStore, _materialize
from sagebrush.storage import errors as e


def put(store: FilesystemObjectStore, key: str, data: bytes) -> None:
    asyncio.run(store.put_object("bkt", key, chunks(data)))


def get(store: FilesystemObjectStore, key: str) -> bytes:
    async def go() -> bytes:
        return b"".join([c async for c in store.open_object("bkt", key).stream()])

    return asyncio.run(go())


def put_multipart(store: FilesystemObjectStore, key: str, parts: list[bytes]) -> None:
    up = store.create_multipart_upload("bkt", key)
    done = []
    for n, data in enumerate(parts, 1):
        info = asyncio.run(store.upload_part("bkt", key, up.upload_id, n, chunks(data)))
        done.append(CompletedPart(n, info.etag))
    store.complete_multipart_upload("bkt", key, up.upload_id, done)


def no_temp_files(directory: Path) -> bool:
    return not [p for p in directory.iterdir() if p.name.startswith(".sagebrush-")]


def test_copy_is_independent_of_the_store(store: FilesystemObjectStore, tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 5)
    put(store, "a/b.bin", data)
    dest = tmp_path / "out.bin"
    assert store.materialize("bkt", "a/b.bin", dest) == len(data)
    assert dest.read_bytes() == data
    assert dest.stat().st_nlink == 1
    with dest.open("r+b") as f:  # writing the copy must not touch the stored object
        f.write(b"X" * 100)
    dest.write_bytes(b"overwritten")
    assert get(store, "a/b.bin") == data
    assert no_temp_files(tmp_path)
    assert not store.blobs._pins  # the reader was released


def test_replaces_an_existing_file(store: FilesystemObjectStore, tmp_path: Path) -> None:
    put(store, "k", b"new bytes")
    dest = tmp_path / "k"
    dest.write_bytes(b"old and longer contents")
    store.materialize("bkt", "k", dest)
    assert dest.read_bytes() == b"new bytes"


def test_empty_object(store: FilesystemObjectStore, tmp_path: Path) -> None:
    put(store, "empty", b"")
    assert store.materialize("bkt", "empty", tmp_path / "e") == 0
    assert (tmp_path / "e").read_bytes() == b""


def test_multipart_object_is_copied_segment_by_segment(
    store: FilesystemObjectStore, tmp_path: Path
) -> None:
    parts = [os.urandom(SMALL_PART + n) for n in range(3)] + [b"tail"]
    put_multipart(store, "mp", parts)
    dest = tmp_path / "mp"
    assert store.materialize("bkt", "mp", dest, link=True) == sum(map(len, parts))
    assert dest.read_bytes() == b"".join(parts)
    assert dest.stat().st_nlink == 1  # several blobs cannot be one link: copied


def test_link_shares_the_blob_read_only(store: FilesystemObjectStore, tmp_path: Path) -> None:
    data = os.urandom(100_000)
    put(store, "k", data)
    dest = tmp_path / "linked"
    assert store.materialize("bkt", "k", dest, link=True) == len(data)
    assert dest.read_bytes() == data
    assert dest.stat().st_nlink == 2
    assert dest.stat().st_mode & 0o222 == 0
    blob = next(p for p in (store.root / "blobs").rglob("*") if p.is_file())
    assert blob.stat().st_ino == dest.stat().st_ino
    store.delete_object("bkt", "k")  # the link outlives the object
    assert dest.read_bytes() == data


def test_link_falls_back_to_copy(
    store: FilesystemObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object) -> None:
        raise OSError(errno.EXDEV, "cross-device link")

    put(store, "k", b"payload")
    monkeypatch.setattr(os, "link", refuse)
    dest = tmp_path / "k"
    store.materialize("bkt", "k", dest, link=True)
    assert dest.read_bytes() == b"payload"
    assert dest.stat().st_nlink == 1


def test_clone_is_tried_then_kernel_copy(
    store: FilesystemObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real_ioctl = fcntl.ioctl
    real_copy = os.copy_file_range

    def ioctl(fd: int, request: int, arg: int) -> object:
        calls.append("clone")
        return real_ioctl(fd, request, arg)

    def copy_file_range(src: int, dst: int, count: int, offset_src: int | None = None) -> int:
        calls.append("copy_file_range")
        return real_copy(src, dst, count, offset_src)

    monkeypatch.setattr(fcntl, "ioctl", ioctl)
    monkeypatch.setattr(os, "copy_file_range", copy_file_range)
    data = os.urandom(2 * 1024 * 1024)
    put(store, "k", data)
    store.materialize("bkt", "k", tmp_path / "k")
    assert (tmp_path / "k").read_bytes() == data
    assert calls[0] == "clone"
    assert "copy_file_range" in calls or len(calls) == 1  # 1 call: the filesystem reflinked


@pytest.mark.parametrize("err", [errno.EXDEV, errno.ENOSYS, errno.EINVAL])
def test_user_space_fallback(
    store: FilesystemObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, err: int
) -> None:
    def refuse(*_args: object) -> int:
        raise OSError(err, os.strerror(err))

    monkeypatch.setattr(fcntl, "ioctl", refuse)
    monkeypatch.setattr(os, "copy_file_range", refuse)
    parts = [os.urandom(SMALL_PART * 3 + 1), os.urandom(2 * 1024 * 1024 + 3)]
    put_multipart(store, "mp", parts)
    store.materialize("bkt", "mp", tmp_path / "mp")
    assert (tmp_path / "mp").read_bytes() == b"".join(parts)


def test_kernel_copy_stopping_midway_continues_in_user_space(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    data = os.urandom(300_000)
    src.write_bytes(data)
    real_copy = os.copy_file_range
    state = {"calls": 0}

    def flaky(s: int, d: int, count: int, offset_src: int | None = None) -> int:
        state["calls"] += 1
        if state["calls"] > 1:
            raise OSError(errno.EXDEV, "now refused")
        return real_copy(s, d, min(count, 1000), offset_src)

    monkeypatch.setattr(os, "copy_file_range", flaky)
    s = os.open(src, os.O_RDONLY)
    d = os.open(dst, os.O_WRONLY | os.O_CREAT)
    try:
        _materialize.copy_range(s, d, len(data))
    finally:
        os.close(s)
        os.close(d)
    assert dst.read_bytes() == data


def test_a_short_blob_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "blob").write_bytes(b"abc")
    with pytest.raises(OSError, match="shorter"):
        _materialize.materialize_blobs([(tmp_path / "blob", 10)], tmp_path / "d", link=False)
    assert not (tmp_path / "d").exists()
    assert no_temp_files(tmp_path)


def test_object_replaced_while_copying(
    store: FilesystemObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(1_000_000)
    put(store, "k", data)
    real = _materialize.copy_range

    def replace_first(src: int, dst: int, size: int) -> None:
        put(store, "k", b"replacement")  # the old blob is pinned: unlinked only after
        store.delete_object("bkt", "k")
        real(src, dst, size)

    monkeypatch.setattr(_materialize, "_clone", lambda *_a: False)
    monkeypatch.setattr(_materialize, "copy_range", replace_first)
    store.materialize("bkt", "k", tmp_path / "k")
    assert (tmp_path / "k").read_bytes() == data
    assert not [p for p in (store.root / "blobs").rglob("*") if p.is_file()]


def test_missing_object(store: FilesystemObjectStore, tmp_path: Path) -> None:
    with pytest.raises(e.NoSuchKey):
        store.materialize("bkt", "absent", tmp_path / "x")
    with pytest.raises(e.NoSuchBucket):
        store.materialize("nope", "absent", tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_generic_implementation(store: FilesystemObjectStore, tmp_path: Path) -> None:
    parts = [os.urandom(SMALL_PART + 7), b"end"]
    put_multipart(store, "mp", parts)
    dest = tmp_path / "generic"
    dest.write_bytes(b"stale")
    assert ObjectStore.materialize(store, "bkt", "mp", dest, link=True) == sum(map(len, parts))
    assert dest.read_bytes() == b"".join(parts)
    assert no_temp_files(tmp_path)
    assert not store.blobs._pins
    with pytest.raises(e.NoSuchKey):
        ObjectStore.materialize(store, "bkt", "absent", tmp_path / "x")
