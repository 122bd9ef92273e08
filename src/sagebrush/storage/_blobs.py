"""Blob files: immutable byte files under the store root, named by random ids.

Object keys never become paths. A write streams into ``tmp/`` (same filesystem), hashing on
the way, and is renamed into ``blobs/xx/<id>`` only when complete; the caller then commits the
metadata row that points at it. Blobs are never modified, only unlinked once no row points at
them; an in-process pin defers the unlink while a reader streams one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from pathlib import Path

from sagebrush.storage._checksums import Hasher

WRITE_BATCH = 4 << 20  # hash and write at least 4 MiB per worker-thread hop
_IOV_MAX = 1024
READ_CHUNK = 1 << 20


class BlobFiles:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs"
        self.tmp = root / "tmp"
        self._lock = threading.Lock()
        self._pins: Counter[str] = Counter()
        self._doomed: set[str] = set()
        self.tmp.mkdir(parents=True, exist_ok=True)
        for n in range(256):
            (self.blobs / f"{n:02x}").mkdir(parents=True, exist_ok=True)

    def path(self, blob_id: str) -> Path:
        return self.blobs / blob_id[:2] / blob_id

    async def write(self, body: AsyncIterable[bytes], hasher: Hasher) -> str:
        """Stream ``body`` into a new blob, feeding ``hasher``; returns the blob id.

        Received chunks are gathered (by reference, never copied) into batches of at least
        WRITE_BATCH bytes; one worker thread hashes a batch and writes it with ``writev``
        while the next batch is received. On any error (or cancellation) the temp file is
        removed and nothing is visible.
        """
        blob_id = uuid.uuid4().hex
        tmp = self.tmp / blob_id
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        pending: asyncio.Future[None] | None = None
        done = False
        batch: list[bytes] = []
        size = 0
        try:
            async for chunk in body:
                batch.append(chunk)
                size += len(chunk)
                if size >= WRITE_BATCH:
                    if pending is not None:
                        await pending
                    pending = asyncio.ensure_future(asyncio.to_thread(_consume, fd, batch, hasher))
                    batch, size = [], 0
            if pending is not None:
                await pending
                pending = None
            if batch:
                await asyncio.to_thread(_consume, fd, batch, hasher)
            # The metadata row will say this object exists: its bytes must survive a power
            # loss first (the rename and the row are made durable after this).
            await asyncio.to_thread(os.fsync, fd)
            done = True
        finally:
            if pending is not None and not pending.done():
                # The thread still uses fd; let it finish before closing.
                await asyncio.wait([pending])
            if pending is not None and pending.done() and not pending.cancelled():
                pending.exception()  # mark retrieved; the original error propagates
            os.close(fd)
            if not done:
                tmp.unlink(missing_ok=True)
        tmp.replace(self.path(blob_id))
        return blob_id

    def link(self, blob_id: str) -> str:
        """A new blob with the same bytes (a hard link; a copy where links are refused)."""
        new_id = uuid.uuid4().hex
        tmp = self.tmp / new_id
        try:
            os.link(self.path(blob_id), tmp)
        except OSError:
            shutil.copyfile(self.path(blob_id), tmp)
        tmp.replace(self.path(new_id))
        return new_id

    def exists(self, blob_id: str) -> bool:
        return self.path(blob_id).exists()

    # -- lifetime --------------------------------------------------------------------------

    def pin(self, blob_ids: Iterable[str]) -> None:
        with self._lock:
            self._pins.update(blob_ids)

    def unpin(self, blob_ids: Iterable[str]) -> None:
        release = []
        with self._lock:
            for blob_id in blob_ids:
                self._pins[blob_id] -= 1
                if self._pins[blob_id] <= 0:
                    del self._pins[blob_id]
                    if blob_id in self._doomed:
                        self._doomed.discard(blob_id)
                        release.append(blob_id)
        for blob_id in release:
            self.path(blob_id).unlink(missing_ok=True)

    def delete(self, blob_ids: Iterable[str]) -> None:
        """Unlink blobs no row points at any more (later, if a reader has them pinned)."""
        release = []
        with self._lock:
            for blob_id in blob_ids:
                if self._pins.get(blob_id):
                    self._doomed.add(blob_id)
                else:
                    release.append(blob_id)
        for blob_id in release:
            self.path(blob_id).unlink(missing_ok=True)

    def sweep(self, referenced: set[str]) -> int:
        """Remove temp files and blobs no row references (startup recovery)."""
        removed = 0
        for path in list(self.tmp.iterdir()):
            _remove(path)
            removed += 1
        for shard in self.blobs.iterdir():
            if not shard.is_dir():
                continue
            for path in shard.iterdir():
                if path.name not in referenced:
                    _remove(path)
                    removed += 1
        return removed

    async def read(
        self, segments: list[tuple[str, int]], start: int, stop: int
    ) -> AsyncIterator[bytes]:
        """Bytes ``[start, stop)`` of the concatenation of ``segments``, ~1 MiB at a time."""
        offset = 0
        for blob_id, size in segments:
            seg_start, seg_stop = max(start - offset, 0), min(stop - offset, size)
            offset += size
            if seg_start >= seg_stop:
                if offset >= stop:
                    break
                continue
            fd = os.open(self.path(blob_id), os.O_RDONLY)
            try:
                position = seg_start
                while position < seg_stop:
                    n = min(READ_CHUNK, seg_stop - position)
                    data = await asyncio.to_thread(os.pread, fd, n, position)
                    if not data:
                        raise OSError(f"blob {blob_id} is shorter than recorded")
                    position += len(data)
                    yield data
            finally:
                os.close(fd)


def _consume(fd: int, chunks: list[bytes], hasher: Hasher) -> None:
    """Hash and write one batch (hashlib and writev release the GIL)."""
    for chunk in chunks:
        hasher.update(chunk)
    views = [memoryview(c) for c in chunks]
    while views:
        written = os.writev(fd, views[:_IOV_MAX])
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if views and written:
            views[0] = views[0][written:]


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
