"""Pipe mode: FIFOs per epoch, RecordIO wrapping, gzip, shuffling, early readers, stopping."""

from __future__ import annotations

import gzip
import io
import json
import os
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from tests.jobs.training._data_support import channel, get, object_store, put

from sagebrush.container.recordio import MAGIC, read_records
from sagebrush.jobs.training.data import (
    ChannelObject,
    PipeFeeder,
    list_channel_items,
    resolve_channel_objects,
)
from sagebrush.jobs.training.data._streams import gunzip
from sagebrush.storage import FilesystemObjectStore

T = TypeVar("T")
MAGIC_WORD = struct.pack("<I", MAGIC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FilesystemObjectStore]:
    with object_store(tmp_path) as objects:
        yield objects


def in_thread(fn: Callable[[], T], timeout: float = 30) -> T:
    """Run ``fn`` on another thread (readers block in open); fail instead of hanging."""
    result: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(fn())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "reader hung"
    if errors:
        raise errors[0]
    return result[0]


def read_epochs(data_dir: Path, name: str, epochs: int) -> list[bytes]:
    def read() -> list[bytes]:
        out = []
        for epoch in range(epochs):
            with (data_dir / f"{name}_{epoch}").open("rb") as fifo:
                out.append(fifo.read())
            # At EOF the next epoch's FIFO is already there.
            assert (data_dir / f"{name}_{epoch + 1}").exists()
        return out

    return in_thread(read)


def records(stream: bytes) -> list[bytes]:
    return list(read_records(io.BytesIO(stream)))


def feeder(
    store: FilesystemObjectStore,
    spec: dict[str, object],
    data_dir: Path,
    host_index: int = 0,
    host_count: int = 1,
) -> PipeFeeder:
    """A started feeder given the whole channel and this host's place."""
    items = list_channel_items(store, spec)
    pipe = PipeFeeder(
        store,
        spec,
        items,
        data_dir,
        threading.Event(),
        host_index=host_index,
        host_count=host_count,
    )
    pipe.start()
    return pipe


def test_two_epochs_of_the_whole_channel(store: FilesystemObjectStore, tmp_path: Path) -> None:
    blobs = {f"p/{n}.bin": os.urandom(size) for n, size in enumerate([0, 10, 3 << 20, 777])}
    for key, data in blobs.items():
        put(store, key, data)
    pipe = feeder(store, channel("s3://bkt/p/"), tmp_path / "data")
    try:
        assert (tmp_path / "data" / "train_0").exists()  # there before the job starts
        epochs = read_epochs(tmp_path / "data", "train", 2)
    finally:
        pipe.stop()
    whole = b"".join(blobs[k] for k in sorted(blobs))
    assert epochs == [whole, whole]
    assert pipe.error is None and pipe.epochs_served >= 2
    assert not list((tmp_path / "data").iterdir())  # finished and pending FIFOs removed


def test_recordio_wraps_each_object(store: FilesystemObjectStore, tmp_path: Path) -> None:
    objects = [b"1,2,3\n4,5,6\n", b"", os.urandom(2 << 20), b"abcd" + MAGIC_WORD + b"xy"]
    for n, data in enumerate(objects):
        put(store, f"r/{n}", data)
    spec = channel("s3://bkt/r/", RecordWrapperType="RecordIO")
    pipe = feeder(store, spec, tmp_path / "data")
    try:
        epoch = read_epochs(tmp_path / "data", "train", 1)[0]
    finally:
        pipe.stop()
    assert list(read_records(io.BytesIO(epoch))) == objects
    assert epoch[:4] == MAGIC_WORD


def test_gzip_objects_are_decompressed(store: FilesystemObjectStore, tmp_path: Path) -> None:
    plain = [b"a,b\n" * 1000, os.urandom(3 << 20), b"tail\n"]
    put(store, "g/0.gz", gzip.compress(plain[0]))
    # Two gzip members in one object, as `cat a.gz b.gz` makes.
    put(store, "g/1.gz", gzip.compress(plain[1][:1000]) + gzip.compress(plain[1][1000:]))
    put(store, "g/2.gz", gzip.compress(plain[2]))
    spec = channel("s3://bkt/g/", CompressionType="Gzip")
    pipe = feeder(store, spec, tmp_path / "data")
    try:
        assert read_epochs(tmp_path / "data", "train", 1) == [b"".join(plain)]
    finally:
        pipe.stop()
    wrapped = channel("s3://bkt/g/", name="w", CompressionType="Gzip", RecordWrapperType="RecordIO")
    pipe = feeder(store, wrapped, tmp_path / "data")
    try:
        epoch = read_epochs(tmp_path / "data", "w", 1)[0]
    finally:
        pipe.stop()
    assert list(read_records(io.BytesIO(epoch))) == plain


def test_gunzip_edge_cases() -> None:
    data = b"0123456789" * 500_000  # compresses ~1000:1: output outruns input
    packed = gzip.compress(data)
    assert b"".join(gunzip([packed])) == data
    assert b"".join(gunzip(packed[i : i + 7] for i in range(0, len(packed), 7))) == data
    assert all(len(c) <= 1 << 20 for c in gunzip([packed]))
    assert b"".join(gunzip([])) == b""
    with pytest.raises(Exception, match="truncated"):
        b"".join(gunzip([packed[:-10]]))


def test_reader_closing_early_ends_the_epoch(store: FilesystemObjectStore, tmp_path: Path) -> None:
    data = os.urandom(8 << 20)  # more than a pipe holds: the feeder is mid-write
    put(store, "e/big", data)
    pipe = feeder(store, channel("s3://bkt/e/"), tmp_path / "data")

    def read() -> tuple[bytes, bytes]:
        with (tmp_path / "data" / "train_0").open("rb") as fifo:
            head = fifo.read(10)
        with (tmp_path / "data" / "train_1").open("rb") as fifo:
            return head, fifo.read()

    try:
        head, second = in_thread(read)
    finally:
        pipe.stop()
    assert head == data[:10]
    assert second == data
    assert pipe.error is None


def test_stop_while_no_reader(store: FilesystemObjectStore, tmp_path: Path) -> None:
    put(store, "n/a", b"x")
    pipe = feeder(store, channel("s3://bkt/n/"), tmp_path / "data")
    time.sleep(0.2)
    started = time.monotonic()
    pipe.stop()
    assert time.monotonic() - started < 2
    assert not (tmp_path / "data" / "train_0").exists()
    assert pipe.epochs_served == 0


def test_job_stop_event_stops_the_feeder(store: FilesystemObjectStore, tmp_path: Path) -> None:
    put(store, "n/a", b"x")
    stop = threading.Event()
    spec = channel("s3://bkt/n/")
    pipe = PipeFeeder(store, spec, list_channel_items(store, spec), tmp_path / "d", stop)
    pipe.start()
    stop.set()
    pipe._thread.join(5)
    assert not pipe._thread.is_alive()
    pipe.stop()


def test_epochs_reshuffle(store: FilesystemObjectStore, tmp_path: Path) -> None:
    for n in range(20):
        put(store, f"s/{n:02d}", f"record {n}".encode())
    spec = channel("s3://bkt/s/", RecordWrapperType="RecordIO", ShuffleConfig={"Seed": 3})
    pipe = feeder(store, spec, tmp_path / "data")
    try:
        epochs = [records(e) for e in read_epochs(tmp_path / "data", "train", 3)]
    finally:
        pipe.stop()
    resolved = resolve_channel_objects(store, spec, 0, 1)
    assert epochs[0] == [get(store, o.key) for o in resolved if isinstance(o, ChannelObject)]
    assert epochs[1] != epochs[0] and sorted(epochs[1]) == sorted(epochs[0])
    assert epochs[2] != epochs[1]
    # Given this host's resolved objects (no host_index), epoch 0 keeps their order and
    # later epochs reshuffle that same set.
    pipe = PipeFeeder(store, spec, resolved, tmp_path / "d2", threading.Event())
    pipe.start()
    try:
        given = [records(e) for e in read_epochs(tmp_path / "d2", "train", 2)]
    finally:
        pipe.stop()
    assert given[0] == epochs[0]
    assert given[1] != given[0] and sorted(given[1]) == sorted(given[0])


def test_shuffled_shards_move_between_hosts(store: FilesystemObjectStore, tmp_path: Path) -> None:
    for n in range(12):
        put(store, f"m/{n:02d}", f"{n:02d}".encode())
    spec = channel(
        "s3://bkt/m/",
        distribution="ShardedByS3Key",
        RecordWrapperType="RecordIO",
        ShuffleConfig={"Seed": 11},
    )
    per_host = []
    for host in range(3):
        pipe = feeder(store, spec, tmp_path / f"h{host}", host, 3)
        try:
            per_host.append([records(e) for e in read_epochs(tmp_path / f"h{host}", "train", 2)])
        finally:
            pipe.stop()
    for epoch in range(2):
        union = sorted(r for host in per_host for r in host[epoch])
        assert union == [f"{n:02d}".encode() for n in range(12)]
    assert any(set(host[0]) != set(host[1]) for host in per_host)


def test_sharded_pipe_serves_only_this_hosts_objects(
    store: FilesystemObjectStore, tmp_path: Path
) -> None:
    for n in range(6):
        put(store, f"h/{n}", str(n).encode())
    spec = channel("s3://bkt/h/", distribution="ShardedByS3Key")
    pipe = feeder(store, spec, tmp_path / "data", 1, 3)
    try:
        assert read_epochs(tmp_path / "data", "train", 1) == [b"14"]
    finally:
        pipe.stop()


def test_augmented_manifest_in_pipe_mode(store: FilesystemObjectStore, tmp_path: Path) -> None:
    put(store, "img/1.jpg", b"\xff\xd8 first image")
    put(store, "img/2.jpg", b"\xff\xd8 second")
    lines = [
        {"image-ref": "s3://bkt/img/1.jpg", "is-a-cat": 1, "x": 0},
        {"image-ref": "s3://bkt/img/2.jpg", "is-a-cat": 0},
    ]
    put(store, "aug.manifest", "\n".join(json.dumps(x) for x in lines).encode())
    names = ["image-ref", "is-a-cat"]
    spec = channel(
        "s3://bkt/aug.manifest",
        data_type="AugmentedManifestFile",
        AttributeNames=names,
        RecordWrapperType="RecordIO",
    )
    pipe = feeder(store, spec, tmp_path / "data")
    try:
        epoch = read_epochs(tmp_path / "data", "train", 1)[0]
    finally:
        pipe.stop()
    assert list(read_records(io.BytesIO(epoch))) == [
        b"\xff\xd8 first image",
        b"1",
        b"\xff\xd8 second",
        b"0",
    ]
    raw = channel(
        "s3://bkt/aug.manifest", name="raw", data_type="AugmentedManifestFile", AttributeNames=names
    )
    pipe = feeder(store, raw, tmp_path / "data")
    try:
        assert read_epochs(tmp_path / "data", "raw", 1) == [
            b"\xff\xd8 first image1\xff\xd8 second0"
        ]
    finally:
        pipe.stop()


def test_store_errors_end_the_stream(store: FilesystemObjectStore, tmp_path: Path) -> None:
    put(store, "x/a", b"first")
    put(store, "x/b", b"second")
    spec = channel("s3://bkt/x/")
    items = list_channel_items(store, spec)
    store.delete_object("bkt", "x/b")  # gone after the job's channel was resolved
    pipe = PipeFeeder(store, spec, items, tmp_path / "data", threading.Event())
    pipe.start()

    def read() -> bytes:
        with (tmp_path / "data" / "train_0").open("rb") as fifo:
            return fifo.read()

    try:
        assert in_thread(read) == b"first"  # a short stream, then EOF: never a hang
        pipe._thread.join(5)
        assert not (tmp_path / "data" / "train_1").exists()
    finally:
        pipe.stop()
    assert pipe.error is not None and "NoSuchKey" in type(pipe.error).__name__
