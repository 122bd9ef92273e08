"""HTTP/1.1 to a model-server process on loopback, over pooled keep-alive connections.

The invocation path forwards every request here, so it is written for that one job:
a request is one ``write`` (head and body), the response head is read in one
``readuntil`` and parsed by hand, the body by ``Content-Length`` (or chunked, or until the
peer closes for servers that send neither). A connection the server closed while idle is
noticed when the first read returns nothing, and the request is sent once more on a new
connection — nothing of the response was seen, so nothing is duplicated for the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

_MAX_HEAD = 64 * 1024


class UpstreamError(Exception):
    """No usable answer: refused, reset, timed out, malformed or too large."""


class ResponseTooLarge(UpstreamError):
    pass


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


class Upstream:
    """One model-server process: ``host:port`` and its idle connections."""

    def __init__(self, host: str, port: int, *, max_idle: int = 64) -> None:
        self.host = host
        self.port = port
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._max_idle = max_idle
        self._host_header = f"Host: {host}:{port}\r\n".encode()

    async def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: Sequence[tuple[str, str]] = (),
        *,
        timeout: float = 60.0,
        max_body: int | None = None,
    ) -> Response:
        head = bytearray(f"{method} {path} HTTP/1.1\r\n".encode("latin-1"))
        head += self._host_header
        for name, value in headers:
            head += f"{name}: {value}\r\n".encode("latin-1")
        head += b"Content-Length: %d\r\n\r\n" % len(body)
        payload = bytes(head) + body if len(body) < 65536 else None
        try:
            async with asyncio.timeout(timeout):
                for attempt in (0, 1):
                    pooled, conn = await self._connection(fresh=attempt == 1)
                    reader, writer = conn
                    try:
                        if payload is not None:
                            writer.write(payload)
                        else:
                            writer.writelines((bytes(head), body))
                        response, keep = await _read_response(reader, method, max_body)
                    except _StaleConnection:
                        _close(writer)
                        if pooled:
                            continue
                        raise UpstreamError("the model server closed the connection") from None
                    except BaseException:
                        _close(writer)
                        raise
                    if keep and len(self._idle) < self._max_idle:
                        self._idle.append(conn)
                    else:
                        _close(writer)
                    return response
        except TimeoutError:
            raise UpstreamError(f"no response within {timeout:g} seconds") from None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            raise UpstreamError(f"{type(exc).__name__}: {exc}") from None
        raise UpstreamError("the model server closed the connection")

    async def _connection(
        self, *, fresh: bool
    ) -> tuple[bool, tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
        while self._idle and not fresh:
            reader, writer = self._idle.pop()
            if not writer.is_closing() and not reader.at_eof():
                return True, (reader, writer)
            _close(writer)
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=_MAX_HEAD)
        return False, (reader, writer)

    def close(self) -> None:
        while self._idle:
            _close(self._idle.pop()[1])


class _StaleConnection(Exception):
    pass


async def _read_response(
    reader: asyncio.StreamReader, method: str, max_body: int | None
) -> tuple[Response, bool]:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise _StaleConnection from None
        raise UpstreamError("the model server sent an incomplete response") from None
    lines = head[:-4].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise UpstreamError(f"malformed status line from the model server: {lines[0][:100]!r}")
    status = int(parts[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    keep = headers.get("connection", "").lower() != "close" and parts[0] != "HTTP/1.0"
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return Response(status, headers, b""), keep
    length = headers.get("content-length")
    if length is not None:
        size = int(length)
        if max_body is not None and size > max_body:
            raise ResponseTooLarge(f"{size} bytes")
        body = await reader.readexactly(size)
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader, max_body)
    else:
        body = await reader.read(-1 if max_body is None else max_body + 1)
        keep = False
        if max_body is not None and len(body) > max_body:
            raise ResponseTooLarge(f"more than {max_body} bytes")
    return Response(status, headers, body), keep


async def _read_chunked(reader: asyncio.StreamReader, max_body: int | None) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            # Trailers, if any, end with an empty line.
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return b"".join(chunks)
        total += size
        if max_body is not None and total > max_body:
            raise ResponseTooLarge(f"more than {max_body} bytes")
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)


def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()
