"""Managed checkpoints: ``CheckpointConfig.LocalPath`` kept in step with ``S3Uri``.

At job start whatever is under the S3 prefix is copied in (``restore``). While the job
runs, a thread rescans the directory every ``interval`` seconds: files new or changed
(by size and mtime_ns) are uploaded, files deleted locally are deleted from S3. A file is
uploaded only once two scans in a row saw it unchanged, so a checkpoint still being
written is not published half done; the final sync (``stop``) uploads everything as is.
Files added to S3 after the job started are not copied in (SageMaker's rule).
"""

from __future__ import annotations

import logging
import os
import stat as st
import threading
from pathlib import Path

from sagebrush.jobs.training.data._items import ChannelError, safe_relative_path
from sagebrush.jobs.training.data._s3uri import as_prefix, parse_s3_uri
from sagebrush.jobs.training.data._sync import put_file
from sagebrush.storage import ObjectStore
from sagebrush.storage.errors import NoSuchBucket, NoSuchKey

log = logging.getLogger(__name__)

FileState = tuple[int, int]  # (size, mtime_ns)


class CheckpointSync:
    def __init__(
        self, store: ObjectStore, local_dir: Path, s3_uri: str, *, interval: float = 1.0
    ) -> None:
        self.local_dir = local_dir
        self.error: Exception | None = None  # the latest failed background sync
        self._store = store
        self._bucket, key = parse_s3_uri(s3_uri)
        self._prefix = as_prefix(key)
        self._interval = interval
        self._synced: dict[str, FileState] = {}  # what S3 holds, as of the local file
        self._previous: dict[str, FileState] = {}  # the last scan
        self._lock = threading.Lock()  # one sync at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def restore(self) -> int:
        """Copy everything under the prefix into ``local_dir``; returns the file count.

        Raises ``ChannelError`` (a FailureReason) when the bucket does not exist.
        """
        self.local_dir.mkdir(parents=True, exist_ok=True)
        restored = 0
        after: str | None = None
        while True:
            try:
                page = self._store.list_objects(self._bucket, prefix=self._prefix, after=after)
            except NoSuchBucket:
                raise ChannelError(
                    f'ClientError: Could not restore checkpoints from "s3://{self._bucket}/'
                    f'{self._prefix}": the bucket does not exist.'
                ) from None
            for summary in page.objects:
                if summary.key.endswith("/"):
                    continue
                relative = safe_relative_path(
                    summary.key[len(self._prefix) :], f'Checkpoint "{summary.key}"'
                )
                dest = self.local_dir.joinpath(*relative.split("/"))
                dest.parent.mkdir(parents=True, exist_ok=True)
                try:
                    self._store.materialize(self._bucket, summary.key, dest)
                except NoSuchKey:  # deleted since listed
                    continue
                self._synced[relative] = self._previous[relative] = _state(dest.stat())
                restored += 1
            if not page.is_truncated:
                return restored
            after = page.next_marker

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._loop, name=f"checkpoints-{self._prefix}", daemon=True
        )
        self._thread.start()

    def stop(self, final: bool = True) -> None:
        """Stop the thread; with ``final`` upload everything once more, finished or not."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if final:
            self.sync(final=True)

    def sync(self, *, final: bool = False) -> None:
        with self._lock:
            current = self._scan()
            for relative, state in current.items():
                if self._synced.get(relative) == state:
                    continue
                if not final and self._previous.get(relative) != state:
                    continue  # new or still changing: wait for it to settle
                self._upload(relative, state)
            for relative in [r for r in self._synced if r not in current]:
                self._store.delete_object(self._bucket, self._prefix + relative)
                del self._synced[relative]
            self._previous = current

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.sync()
            except Exception as exc:  # keep syncing: the next scan may well succeed
                log.exception("checkpoint sync to s3://%s/%s failed", self._bucket, self._prefix)
                self.error = exc

    def _upload(self, relative: str, state: FileState) -> None:
        try:
            put_file(self._store, self._bucket, self._prefix + relative, self._path(relative))
        except FileNotFoundError:  # deleted since the scan: the next one sees it gone
            return
        # Recorded as scanned: if the file changed during the upload, the next scans see a
        # different state and upload it again.
        self._synced[relative] = state

    def _scan(self) -> dict[str, FileState]:
        found: dict[str, FileState] = {}
        for root, _dirs, files in os.walk(self.local_dir):
            for name in files:
                path = Path(root, name)
                try:
                    info = path.lstat()
                except FileNotFoundError:
                    continue
                if st.S_ISREG(info.st_mode):  # links could point outside the directory
                    found[path.relative_to(self.local_dir).as_posix()] = _state(info)
        return found

    def _path(self, relative: str) -> Path:
        return self.local_dir.joinpath(*relative.split("/"))


def _state(stat: os.stat_result) -> FileState:
    return stat.st_size, stat.st_mtime_ns
