"""Model and output uploads: streamed tarballs, uncompressed uploads, artifact URIs."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
from tests.jobs.training._data_support import get, keys, object_store

from sagebrush.jobs.training.data import (
    model_artifact_uri,
    output_artifact_uri,
    upload_directory,
    upload_directory_tarball,
)
from sagebrush.jobs.training.data._sync import iter_object, put_stream
from sagebrush.storage import FilesystemObjectStore
from sagebrush.storage import errors as e


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FilesystemObjectStore]:
    with object_store(tmp_path) as objects:
        yield objects


def members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name: m for m in tar.getmembers()}


def test_artifact_uris() -> None:
    assert model_artifact_uri("s3://b/out/", "job-1") == "s3://b/out/job-1/output/model.tar.gz"
    assert model_artifact_uri("s3://b/out", "job-1") == "s3://b/out/job-1/output/model.tar.gz"
    assert output_artifact_uri("s3://b", "j") == "s3://b/j/output/output.tar.gz"
    assert model_artifact_uri("s3://b/o", "j", compressed=False) == "s3://b/o/j/output/model/"
    assert output_artifact_uri("s3://b/o/", "j", compressed=False) == "s3://b/o/j/output/data/"


def test_tarball_members_are_relative(store: FilesystemObjectStore, tmp_path: Path) -> None:
    model = tmp_path / "model"
    (model / "1" / "variables").mkdir(parents=True)
    (model / "empty").mkdir()
    (model / "xgboost-model").write_bytes(b"booster")
    (model / "1" / "saved_model.pb").write_bytes(b"pb")
    (model / "1" / "variables" / "v.data").write_bytes(os.urandom(5000))
    (model / "link").symlink_to("xgboost-model")
    uri = model_artifact_uri("s3://bkt/out", "job")
    [(bucket, key, size)] = upload_directory(store, model, uri)
    assert (bucket, key) == ("bkt", "out/job/output/model.tar.gz")
    data = get(store, key)
    assert size == len(data)
    found = members(data)
    assert sorted(found) == [
        "1",
        "1/saved_model.pb",
        "1/variables",
        "1/variables/v.data",
        "empty",
        "link",
        "xgboost-model",
    ]
    assert found["1"].isdir() and found["link"].issym()
    assert found["link"].linkname == "xgboost-model"
    assert found["xgboost-model"].uid == 0 and found["xgboost-model"].uname == "root"
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        extracted = tar.extractfile("1/variables/v.data")
        assert extracted is not None
        assert extracted.read() == (model / "1" / "variables" / "v.data").read_bytes()


def test_empty_or_missing_directory(store: FilesystemObjectStore, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for name in ["empty", "missing"]:
        _, key, _ = upload_directory_tarball(store, tmp_path / name, f"s3://bkt/{name}.tar.gz")
        assert members(get(store, key)) == {}


def test_large_directory_streams_in_bounded_memory(
    store: FilesystemObjectStore, tmp_path: Path
) -> None:
    model = tmp_path / "big"
    model.mkdir()
    digests = {}
    for n in range(5):  # 50 MB, mostly zeros with random islands
        path = model / f"shard-{n}"
        with path.open("wb") as f:
            for _ in range(10):
                f.write(os.urandom(64 * 1024))
                f.write(bytes(1024 * 1024 - 64 * 1024))
        digests[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    tracemalloc.start()
    try:
        _, key, size = upload_directory_tarball(store, model, "s3://bkt/big.tar.gz")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024, peak  # ~6 MiB measured
    assert 3_000_000 < size < 10_000_000
    # Read it back as a stream too: tarfile over the store's chunks.
    found = {}
    with tarfile.open(fileobj=_ChunkFile(iter_object(store, "bkt", key)), mode="r|gz") as tar:
        for member in tar:
            extracted = tar.extractfile(member)
            assert extracted is not None
            found[member.name] = hashlib.sha256(extracted.read()).hexdigest()
    assert found == digests


def test_uncompressed_upload(store: FilesystemObjectStore, tmp_path: Path) -> None:
    model = tmp_path / "model"
    (model / "sub").mkdir(parents=True)
    (model / "a.bin").write_bytes(b"a")
    (model / "sub" / "b.bin").write_bytes(b"bb")
    (model / "outside").symlink_to("/etc/hostname")
    uri = model_artifact_uri("s3://bkt/o/", "j", compressed=False)
    uploaded = upload_directory(store, model, uri, compressed=False)
    assert uploaded == [
        ("bkt", "o/j/output/model/a.bin", 1),
        ("bkt", "o/j/output/model/sub/b.bin", 2),
    ]
    assert keys(store) == ["o/j/output/model/a.bin", "o/j/output/model/sub/b.bin"]
    assert get(store, "o/j/output/model/sub/b.bin") == b"bb"


def test_a_failing_writer_aborts_the_upload(store: FilesystemObjectStore) -> None:
    def produce(out: BinaryIO) -> None:
        out.write(os.urandom(3 << 20))
        raise ValueError("disk on fire")

    with pytest.raises(ValueError, match="disk on fire"):
        put_stream(store, "bkt", "partial", produce)
    assert keys(store) == []


def test_a_failing_upload_stops_the_writer(store: FilesystemObjectStore) -> None:
    wrote = threading.Event()

    def produce(out: BinaryIO) -> None:
        for _ in range(100):  # far more than the queue holds
            out.write(bytes(1 << 20))
        wrote.set()

    with pytest.raises(e.NoSuchBucket):
        put_stream(store, "nope", "k", produce)
    assert not wrote.is_set()
    assert not [t for t in threading.enumerate() if t.name == "upload-k"]


class _ChunkFile(io.RawIOBase):
    """A read-only file over an iterator of chunks (tarfile's stream mode reads it)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._buffer:
            self._buffer = next(self._chunks, b"")
            if not self._buffer:
                return 0
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n
