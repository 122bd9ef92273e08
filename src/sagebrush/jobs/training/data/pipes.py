"""Pipe mode: a channel streamed through one FIFO per epoch.

The job reads ``<data_dir>/<channel>_0`` to EOF, then opens ``<channel>_1``, and so on for
as many epochs as it wants. The feeder creates a FIFO, waits for a reader and, as soon
as one comes, creates the next epoch's FIFO, then streams the channel and closes its write
end (which the reader sees as EOF). So a reader that opens the next FIFO the moment it hits
EOF, or after giving up on an epoch early, always finds it. A finished epoch's FIFO is
removed, so reopening it fails instead of blocking forever; when the feeder stops (or
fails) the FIFOs left are removed too, after a reader blocked in open(2) on one of them
is sent EOF.

Waiting never hangs: the write end is opened with O_NONBLOCK (ENXIO until a reader opens
it) and written with poll(2), both re-checking the stop events. A reader that closes early
(EPIPE) ends that epoch; the next one starts from the beginning.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import select
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sagebrush.jobs.training.data._items import ChannelItem
from sagebrush.jobs.training.data._streams import item_chunks
from sagebrush.jobs.training.data._sync import CHUNK
from sagebrush.jobs.training.data.inputs import select_for_host, shuffled
from sagebrush.storage import ObjectStore

log = logging.getLogger(__name__)

_PIPE_SIZE = 1 << 20  # the unprivileged maximum: fewer wake-ups per MiB written


class PipeFeeder:
    """Serves one Pipe mode channel from a thread until stopped.

    Two ways to say what to stream:

    - ``objects`` from ``resolve_channel_objects`` (this host's share, in epoch 0 order),
      no ``host_index``: epoch 0 streams them as given; with a ShuffleConfig later epochs
      reshuffle the same objects (``Random(Seed + epoch)``).
    - ``objects`` from ``list_channel_items`` (the whole channel) with ``host_index`` and
      ``host_count``: every epoch is ``select_for_host(..., epoch)``, so with a ShuffleConfig
      and ShardedByS3Key objects move between hosts across epochs, as on SageMaker. Epoch 0
      is the same as in the first way.

    ``stop_event`` is the job's: setting it stops every feeder of the job; ``stop()``
    stops just this one. Errors reading the store end the current epoch early (the
    reader sees a short stream), end the feeder and are kept in ``error``.
    """

    def __init__(
        self,
        store: ObjectStore,
        channel: Mapping[str, Any],
        objects: Sequence[ChannelItem],
        data_dir: Path,
        stop_event: threading.Event,
        *,
        host_index: int | None = None,
        host_count: int = 1,
        poll_interval: float = 0.05,
    ) -> None:
        self.name: str = channel["ChannelName"]
        self.data_dir = data_dir
        self.epochs_served = 0  # epochs whose FIFO was opened, then closed
        self.error: BaseException | None = None
        self._store = store
        self._channel = channel
        self._objects = list(objects)
        self._hosts = None if host_index is None else (host_index, host_count)
        self._gzip = channel.get("CompressionType") == "Gzip"
        self._wrap = channel.get("RecordWrapperType") == "RecordIO"
        self._job_stop = stop_event
        self._halt = threading.Event()
        self._poll_interval = poll_interval
        self._thread = threading.Thread(target=self._run, name=f"pipe-{self.name}", daemon=True)

    def fifo_path(self, epoch: int) -> Path:
        return self.data_dir / f"{self.name}_{epoch}"

    def start(self) -> None:
        """Create ``<channel>_0`` now (before the job starts) and serve from a thread."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _make_fifo(self.fifo_path(0))
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and wait for the thread (which releases and removes its FIFOs)."""
        self._halt.set()
        if self._thread.is_alive():
            self._thread.join()

    def _stopping(self) -> bool:
        return self._halt.is_set() or self._job_stop.is_set()

    def _run(self) -> None:
        epoch = 0
        try:
            while (fd := self._open_writer(self.fifo_path(epoch))) is not None:
                try:
                    # The next FIFO exists for as long as this one is being read, so the
                    # reader can move on at any moment: at EOF or after closing early.
                    _make_fifo(self.fifo_path(epoch + 1))
                    served = self._serve_epoch(fd, epoch)
                finally:
                    os.close(fd)
                self.fifo_path(epoch).unlink(missing_ok=True)
                self.epochs_served = epoch = epoch + 1
                if not served:
                    return
        except Exception as exc:
            log.exception("pipe %s: epoch %d failed", self.name, epoch)
            self.error = exc
        finally:
            _release(self.fifo_path(epoch))
            _release(self.fifo_path(epoch + 1))

    def _open_writer(self, path: Path) -> int | None:
        while not self._stopping():
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno != errno.ENXIO:  # ENXIO: nobody has opened it for reading yet
                    raise
                self._halt.wait(self._poll_interval)
                continue
            with contextlib.suppress(OSError, AttributeError):
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
            return fd
        return None

    def _epoch_items(self, epoch: int) -> list[ChannelItem]:
        if self._hosts is not None:
            return select_for_host(self._objects, self._channel, *self._hosts, epoch=epoch)
        return shuffled(self._objects, self._channel, epoch) if epoch else self._objects

    def _serve_epoch(self, fd: int, epoch: int) -> bool:
        """Stream one epoch; False when stopped (a reader leaving early still counts)."""
        writer = _FifoWriter(fd, self._stopping, self._poll_interval)
        items = self._epoch_items(epoch)
        try:
            for item in items:
                with contextlib.closing(
                    item_chunks(self._store, item, gzip=self._gzip, wrap=self._wrap)
                ) as chunks:
                    for chunk in chunks:
                        if not writer.write(chunk):
                            return not self._stopping()
        except Exception:
            writer.flush()  # what came before the failure is good data: deliver it
            raise
        return writer.flush() or not self._stopping()


class _FifoWriter:
    """Non-blocking writes to a FIFO, small pieces gathered into ~1 MiB writes."""

    def __init__(self, fd: int, stopping: Callable[[], bool], poll_interval: float) -> None:
        self._fd = fd
        self._stopping = stopping
        self._timeout_ms = max(1, int(poll_interval * 1000))
        self._poll = select.poll()
        self._poll.register(fd, select.POLLOUT)
        self._pending: list[bytes | memoryview] = []
        self._pending_size = 0

    def write(self, chunk: bytes | memoryview) -> bool:
        """False once the reader is gone or a stop was asked for."""
        if len(chunk) >= CHUNK:
            return self.flush() and self._write_all(chunk)
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        return self._pending_size < CHUNK or self.flush()

    def flush(self) -> bool:
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        return self._write_all(data)

    def _write_all(self, data: bytes | memoryview) -> bool:
        view = memoryview(data)
        while view:
            if self._stopping():
                return False
            try:
                view = view[os.write(self._fd, view) :]
            except BlockingIOError:
                self._poll.poll(self._timeout_ms)
            except BrokenPipeError:  # the reader closed its end
                return False
        return True


def _release(path: Path) -> None:
    """Remove a FIFO no epoch will be written to, sending EOF to a reader blocked on it."""
    with contextlib.suppress(OSError):  # ENXIO: no reader; ENOENT: already gone
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    path.unlink(missing_ok=True)


def _make_fifo(path: Path) -> None:
    path.unlink(missing_ok=True)  # a leftover from an earlier attempt of the job
    os.mkfifo(path, 0o644)
