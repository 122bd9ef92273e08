"""A protocol-neutral view of an HTTP exchange, independent of the ASGI framework."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote


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
    """The request body: read once, either whole (``read``) or as a stream (``stream``)."""

    def __init__(self, receive: Callable[[], AsyncIterator[bytes]] | bytes) -> None:
        self._source = receive
        self._cached: bytes | None = receive if isinstance(receive, bytes) else None
        self._consumed = False

    async def read(self) -> bytes:
        if self._cached is None:
            self._cached = b"".join([chunk async for chunk in self.stream()])
        return self._cached

    async def stream(self) -> AsyncIterator[bytes]:
        if self._cached is not None:
            if self._cached:
                yield self._cached
            return
        if self._consumed:
            raise RuntimeError("request body already consumed")
        self._consumed = True
        assert not isinstance(self._source, bytes)
        async for chunk in self._source():
            if chunk:
                yield chunk


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
