"""Checkpoints: restore at start, upload settled files, propagate deletions, final sync."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.jobs.training._data_support import get, keys, object_store, put

from sagebrush.jobs.training.data import ChannelError, CheckpointSync
from sagebrush.storage import FilesystemObjectStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FilesystemObjectStore]:
    with object_store(tmp_path) as objects:
        yield objects


def eventually(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.02)


def test_restore_copies_the_prefix_in(store: FilesystemObjectStore, tmp_path: Path) -> None:
    put(store, "ckpt/epoch-1.pt", b"one")
    put(store, "ckpt/sub/state.json", b"{}")
    put(store, "ckpt/folder/", b"")
    put(store, "ckpt-other/not-mine", b"x")
    local = tmp_path / "checkpoints"
    sync = CheckpointSync(store, local, "s3://bkt/ckpt")
    assert sync.restore() == 2
    assert (local / "epoch-1.pt").read_bytes() == b"one"
    assert (local / "sub" / "state.json").read_bytes() == b"{}"
    assert not (local / "not-mine").exists()
    before = store.head_object("bkt", "ckpt/epoch-1.pt").last_modified
    sync.sync()
    sync.sync(final=True)  # restored files are in sync already: not uploaded again
    assert store.head_object("bkt", "ckpt/epoch-1.pt").last_modified == before


def test_files_are_uploaded_once_settled(store: FilesystemObjectStore, tmp_path: Path) -> None:
    local = tmp_path / "checkpoints"
    sync = CheckpointSync(store, local, "s3://bkt/run/ckpt/")
    assert sync.restore() == 0
    (local / "model.pt").write_bytes(b"partial")
    sync.sync()
    assert keys(store) == []  # seen once: maybe still being written
    sync.sync()
    assert keys(store) == ["run/ckpt/model.pt"]
    with (local / "model.pt").open("ab") as f:
        f.write(b" and the rest")
    sync.sync()
    assert get(store, "run/ckpt/model.pt") == b"partial"
    sync.sync()
    assert get(store, "run/ckpt/model.pt") == b"partial and the rest"


def test_deletions_propagate(store: FilesystemObjectStore, tmp_path: Path) -> None:
    put(store, "c/old.pt", b"old")
    local = tmp_path / "checkpoints"
    sync = CheckpointSync(store, local, "s3://bkt/c")
    sync.restore()
    (local / "sub").mkdir()
    (local / "sub" / "new.pt").write_bytes(b"new")
    sync.sync()
    sync.sync()
    assert keys(store) == ["c/old.pt", "c/sub/new.pt"]
    (local / "old.pt").unlink()
    (local / "sub" / "new.pt").unlink()
    sync.sync()
    assert keys(store) == []


def test_final_sync_uploads_everything(store: FilesystemObjectStore, tmp_path: Path) -> None:
    local = tmp_path / "checkpoints"
    sync = CheckpointSync(store, local, "s3://bkt/c/", interval=3600)
    sync.restore()
    sync.start()
    (local / "last.pt").write_bytes(b"written just before the end")
    (local / "link").symlink_to("/etc/hostname")  # links are never followed
    sync.stop(final=True)
    assert keys(store) == ["c/last.pt"]
    assert get(store, "c/last.pt") == b"written just before the end"


def test_background_thread(store: FilesystemObjectStore, tmp_path: Path) -> None:
    local = tmp_path / "checkpoints"
    sync = CheckpointSync(store, local, "s3://bkt/bg", interval=0.05)
    sync.restore()
    sync.start()
    try:
        (local / "a.pt").write_bytes(b"a")
        eventually(lambda: keys(store) == ["bg/a.pt"])
        (local / "a.pt").unlink()
        eventually(lambda: keys(store) == [])
    finally:
        sync.stop(final=False)
    assert sync.error is None


def test_background_errors_are_kept(store: FilesystemObjectStore, tmp_path: Path) -> None:
    local = tmp_path / "checkpoints"
    sync = CheckpointSync(store, local, "s3://missing-bucket/c", interval=0.02)
    local.mkdir()
    (local / "a.pt").write_bytes(b"a")
    sync.start()
    try:
        eventually(lambda: sync.error is not None)
    finally:
        sync.stop(final=False)


def test_restore_from_a_missing_bucket(store: FilesystemObjectStore, tmp_path: Path) -> None:
    sync = CheckpointSync(store, tmp_path / "c", "s3://missing-bucket/c")
    with pytest.raises(ChannelError, match="the bucket does not exist"):
        sync.restore()
