"""Streamed request payloads (S3 object bodies), never held whole in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator


class PayloadStream:
    """An async iterable of body chunks with an optional known length.

    For ``aws-chunked`` uploads the decoded stream also exposes the trailing headers
    (``x-amz-checksum-*``) once it has been read to the end.
    """

    def __init__(self, chunks: AsyncIterator[bytes], length: int | None) -> None:
        self._chunks = chunks
        self.length = length
        self.trailers: dict[str, str] = {}

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks

    async def read(self) -> bytes:
        return b"".join([c async for c in self._chunks])
