"""A queue filled on the request path and written out in batches by a thread of its own.

Data capture and invocation metrics both take an item per request on the event loop —
an append under a lock, never I/O — and write what has gathered every ``interval`` seconds,
on ``flush()`` and at ``close()``. The queue is bounded (items, and optionally their
bytes): past the bounds an item is dropped and counted, and the count is logged by the
writer thread, off the request path.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from typing import Generic, TypeVar

T = TypeVar("T")


class BatchWriter(ABC, Generic[T]):
    def __init__(
        self,
        *,
        name: str,
        unit: str,
        interval: float,
        max_pending: int,
        max_pending_bytes: int | None = None,
        log: logging.Logger,
    ) -> None:
        self._name = name  # the thread's, and what the log says
        self._unit = unit  # what is queued, for the log: "records"
        self._interval = interval
        self._max_pending = max_pending
        self._max_pending_bytes = max_pending_bytes
        self._log = log
        self._lock = threading.Lock()  # guards the queue and its counters
        self._pending: list[T] = []
        self._pending_bytes = 0
        self._dropped = 0
        self._reported = 0  # drops already logged
        self._closed = False
        # One flush at a time, so a flush() that returns has seen every earlier one finish.
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def dropped(self) -> int:
        """Items refused because the queue was full (or the writer closed)."""
        return self._dropped

    def _offer(self, item: T, size: int = 0) -> None:
        with self._lock:
            if (
                self._closed
                or len(self._pending) >= self._max_pending
                or (
                    self._max_pending_bytes is not None
                    and self._pending_bytes + size > self._max_pending_bytes
                )
            ):
                self._dropped += 1
                return
            self._pending.append(item)
            self._pending_bytes += size

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the thread and write what is still queued; later items are dropped."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            self._closed = True
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()

    def flush(self) -> None:
        """Write everything queued now; blocks until written (or dropped on error)."""
        with self._flush_lock:
            with self._lock:
                items, self._pending, self._pending_bytes = self._pending, [], 0
                dropped, self._reported = self._dropped - self._reported, self._dropped
            if dropped:
                label = self._name.replace("-", " ")
                self._log.warning("%s: queue full, dropped %d %s", label, dropped, self._unit)
            if items:
                self._write(items)

    @abstractmethod
    def _write(self, items: list[T]) -> None:
        """Write one batch; must not raise (log and drop instead)."""
