"""The loop every controller runs: ``reconcile_once`` every ``interval`` seconds, and at
once when an API call wakes it, on a daemon thread of its own, until closed."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod

log = logging.getLogger(__name__)


class ReconcileLoop(ABC):
    def __init__(self, name: str, interval: float) -> None:
        self.interval = interval
        self._name = name
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    @abstractmethod
    def reconcile_once(self) -> None: ...

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def _stop_loop(self, timeout: float) -> None:
        self._closing.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._closing.is_set():
            try:
                self.reconcile_once()
            except Exception:
                log.exception("%s: reconcile failed", self._name)
            self._wake.wait(self.interval)
            self._wake.clear()
