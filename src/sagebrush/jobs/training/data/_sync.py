"""Driving the object store's async reads and writes from a job's worker thread.

Data movement runs in plain threads of the server process, never on its event loop. Each
call here runs the store's coroutines on a private loop owned by the calling thread. The
filesystem store has no loop affinity (its blob I/O uses ``asyncio.to_thread`` on whatever
loop runs it, its metadata uses ordinary SQLAlchemy sessions and its pins a thread lock),
so private loops in many threads at once are safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

from sagebrush.storage import ObjectInfo, ObjectReader, ObjectStore

CHUNK = 1 << 20
_QUEUE_DEPTH = 4  # chunks in flight between a producer thread and the upload


def iter_reader(reader: ObjectReader) -> Iterator[bytes]:
    """The reader's bytes, ~1 MiB at a time; the reader is closed however iteration ends."""
    runner = asyncio.Runner()
    stream = reader.stream()
    try:
        while (chunk := runner.run(_next(stream))) is not None:
            yield chunk
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            runner.run(aclose())
        reader.close()
        runner.close()


def iter_object(store: ObjectStore, bucket: str, key: str) -> Iterator[bytes]:
    return iter_reader(store.open_object(bucket, key))


def read_object(store: ObjectStore, bucket: str, key: str) -> bytes:
    """A whole (small) object: manifests and the like."""
    return b"".join(iter_object(store, bucket, key))


def put_file(store: ObjectStore, bucket: str, key: str, path: Path) -> ObjectInfo:
    async def body() -> AsyncIterator[bytes]:
        # Blocking reads are fine here: the loop is this thread's own.
        with path.open("rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk

    return asyncio.run(store.put_object(bucket, key, body()))


def put_bytes(store: ObjectStore, bucket: str, key: str, data: bytes) -> ObjectInfo:
    async def body() -> AsyncIterator[bytes]:
        yield data

    return asyncio.run(store.put_object(bucket, key, body(), size=len(data)))


def put_stream(
    store: ObjectStore, bucket: str, key: str, produce: Callable[[BinaryIO], None]
) -> ObjectInfo:
    """Upload what ``produce`` writes to the file it is given, without holding it all.

    ``produce`` runs in a helper thread and hands ~1 MiB chunks to the upload through a
    short queue, so memory stays bounded and the writer (compression, say) overlaps the
    store's hashing and disk writes. Its exceptions abort the upload and are re-raised.
    """
    abandoned = threading.Event()
    sink = _QueueSink(abandoned)

    def run_producer() -> None:
        try:
            produce(cast(BinaryIO, sink))
            sink.finish()
        except _Abandoned:
            pass
        except BaseException as exc:
            sink.fail(exc)

    async def body() -> AsyncIterator[bytes]:
        while True:
            item = await asyncio.to_thread(sink.queue.get)
            if isinstance(item, BaseException):
                raise item
            if item is None:
                return
            yield item

    producer = threading.Thread(target=run_producer, name=f"upload-{key}", daemon=True)
    producer.start()
    try:
        return asyncio.run(store.put_object(bucket, key, body()))
    finally:
        abandoned.set()
        producer.join()


async def _next(stream: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await anext(stream)
    except StopAsyncIteration:
        return None


class _Abandoned(Exception):
    """The upload ended (failed) before the producer finished writing."""


class _QueueSink:
    """A write-only file whose bytes go, in ~1 MiB chunks, into a bounded queue."""

    def __init__(self, abandoned: threading.Event) -> None:
        self.queue: queue.Queue[bytes | BaseException | None] = queue.Queue(_QUEUE_DEPTH)
        self._abandoned = abandoned
        self._buffer = bytearray()

    def write(self, data: Any) -> int:
        self._buffer += data
        if len(self._buffer) >= CHUNK:
            self._put(bytes(self._buffer))
            self._buffer.clear()
        return len(memoryview(data))

    def flush(self) -> None:
        """Chunks are sent when full; flushing early would only make small writes."""

    def writable(self) -> bool:
        return True

    def finish(self) -> None:
        if self._buffer:
            self._put(bytes(self._buffer))
            self._buffer.clear()
        self._put(None)

    def fail(self, exc: BaseException) -> None:
        with contextlib.suppress(_Abandoned):
            self._put(exc)

    def _put(self, item: bytes | BaseException | None) -> None:
        while True:
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                if self._abandoned.is_set():
                    raise _Abandoned from None
