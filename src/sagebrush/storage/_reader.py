"""Reading one pinned version of an object, however its row changes meanwhile."""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator

from sagebrush.storage._blobs import BlobFiles
from sagebrush.storage._rows import Segments
from sagebrush.storage.base import ObjectInfo, ObjectReader
from sagebrush.storage.errors import InvalidRange


class FilesystemReader(ObjectReader):
    def __init__(self, blobs: BlobFiles, info: ObjectInfo, segments: Segments) -> None:
        self.info = info
        self.segments = segments
        self._blobs = blobs
        # Unpin even if a never-started stream is just dropped.
        self._release = weakref.finalize(self, blobs.unpin, [blob for blob, _ in segments])

    def stream(self, start: int = 0, stop: int | None = None) -> AsyncIterator[bytes]:
        stop = self.info.size if stop is None else stop
        if not 0 <= start <= stop <= self.info.size:
            self.close()
            raise InvalidRange(self.info.size)
        return self._stream(start, stop)

    async def _stream(self, start: int, stop: int) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._blobs.read(self.segments, start, stop):
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        self._release()
