"""A protocol-neutral view of an HTTP exchange, independent of the ASGI framework."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from sagebrush.aws.errors import AwsError


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only header mapping (the first value wins for duplicates)."""

    __slots__ = ("_items", "_map")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items = list(items)
        self._map: dict[str, str] = {}
        for name, value in self._items:
            self._map.setdefault(name.lower(), value)

    def __getitem__(self, name: str) -> str:
        return self._map[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._map

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def get_all(self, name: str) -> list[str]:
        lname = name.lower()
        return [v for k, v in self._items if k.lower() == lname]

    def raw_items(self) -> list[tuple[str, str]]:
        return list(self._items)


class Body:
    """The request body: read once, either whole (``read``) or as a stream (``stream``).

    ``gzipped`` bodies (botocore compresses CloudWatch ``PutMetricData`` past 10 KiB, the
    model's ``requestcompression`` trait) read as their decoded content; ``read_raw`` gives
    the bytes as sent, which is what SigV4 signed.
    """

    def __init__(
        self, receive: Callable[[], AsyncIterator[bytes]] | bytes, *, gzipped: bool = False
    ) -> None:
        self._source = receive
        self._raw: bytes | None = receive if isinstance(receive, bytes) else None
        self._consumed = False
        self._gzipped = gzipped
        self._decoded: bytes | None = None

    async def read(self) -> bytes:
        raw = await self.read_raw()
        if not self._gzipped:
            return raw
        if self._decoded is None:
            self._decoded = gunzip(raw)
        return self._decoded

    async def read_raw(self) -> bytes:
        if self._raw is None:
            self._raw = b"".join([chunk async for chunk in self._chunks()])
        return self._raw

    async def stream(self) -> AsyncIterator[bytes]:
        if self._gzipped:
            yield await self.read()
            return
        async for chunk in self._chunks():
            yield chunk

    async def _chunks(self) -> AsyncIterator[bytes]:
        if self._raw is not None:
            if self._raw:
                yield self._raw
            return
        if self._consumed:
            raise RuntimeError("request body already consumed")
        self._consumed = True
        assert not isinstance(self._source, bytes)
        async for chunk in self._source():
            if chunk:
                yield chunk


# Decoded request bodies are capped: AWS's own limits are far below this (1 MB for
# PutMetricData), and a tiny gzip stream can otherwise expand without bound.
MAX_DECODED_BODY = 64 * 1024 * 1024


def gunzip(raw: bytes) -> bytes:
    decoder = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        content = decoder.decompress(raw, MAX_DECODED_BODY)
    except zlib.error as exc:
        raise AwsError("SerializationException", f"the gzip body is invalid: {exc}") from exc
    if decoder.unconsumed_tail:
        raise AwsError("RequestEntityTooLarge", "The decoded request body is too large.", 413)
    return content


@dataclass(frozen=True)
class PayloadChecks:
    """What an authenticated request's streamed payload must still prove as it arrives:
    aws-chunked chunk signatures (a ``chunked.ChunkVerifier``) and the signed SHA-256."""

    chunk_verifier: Any
    expected_sha256: str | None


@dataclass
class HttpRequest:
    method: str
    raw_path: str  # as sent, still percent-encoded, without the query string
    query: list[tuple[str, str]]  # decoded, in order, blank values kept
    headers: Headers
    body: Body
    client_host: str = ""
    payload_checks: PayloadChecks | None = None

    @property
    def path(self) -> str:
        return unquote(self.raw_path)

    @property
    def host(self) -> str:
        return self.headers.get("host", "")

    def query_dict(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for k, v in self.query:
            out.setdefault(k, v)
        return out


@dataclass
class HttpResponse:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    # bytes, or an async iterable of chunks for streamed payloads (S3 GetObject).
    body: bytes | AsyncIterable[bytes] = b""

    def set_header(self, name: str, value: str) -> None:
        lname = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != lname]
        self.headers.append((name, value))


@dataclass
class OperationResult:
    """A provider result that also sets the HTTP status or headers the model cannot express
    (S3's 206 for ranged reads, 304/412 for conditional requests)."""

    members: dict[str, object] = field(default_factory=dict)
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
