"""The model-server HTTP client: keep-alive reuse, framing, stale connections, limits."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from sagebrush.jobs.endpoints.upstream import ResponseTooLarge, Upstream, UpstreamError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _serve(handler: Handler) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head, await reader.readexactly(length)


def test_keep_alive_reuses_one_connection_and_sends_headers() -> None:
    connections = 0
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while True:
            try:
                head, body = await _read_request(reader)
            except asyncio.IncompleteReadError:
                return
            seen.append(head)
            answer = body.upper()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/x\r\nContent-Length: %d\r\n\r\n"
                % len(answer)
                + answer
            )
            await writer.drain()

    async def main() -> None:
        server, port = await _serve(handler)
        upstream = Upstream("127.0.0.1", port)
        for i in range(3):
            response = await upstream.request(
                "POST", "/invocations", b"abc%d" % i, [("Accept", "x/y")]
            )
            assert (response.status, response.body) == (200, b"ABC%d" % i)
            assert response.headers["content-type"] == "text/x"
        upstream.close()
        server.close()

    asyncio.run(main())
    assert connections == 1
    assert b"POST /invocations HTTP/1.1\r\n" in seen[0]
    assert b"Accept: x/y\r\n" in seen[0]
    assert b"Content-Length: 4\r\n" in seen[0]


def test_chunked_and_close_delimited_bodies() -> None:
    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n"
        )
        await writer.drain()

    async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.0 500 Oops\r\n\r\nbroken model")
        await writer.drain()
        writer.close()

    async def main() -> None:
        server, port = await _serve(chunked)
        upstream = Upstream("127.0.0.1", port)
        assert (await upstream.request("POST", "/x")).body == b"abcde"
        upstream.close()
        server.close()
        server, port = await _serve(until_close)
        response = await Upstream("127.0.0.1", port).request("POST", "/x")
        assert (response.status, response.body) == (500, b"broken model")
        server.close()

    asyncio.run(main())


def test_a_connection_closed_while_idle_is_replaced_once() -> None:
    async def one_shot(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()  # without saying Connection: close

    async def main() -> None:
        server, port = await _serve(one_shot)
        upstream = Upstream("127.0.0.1", port)
        assert (await upstream.request("POST", "/x")).body == b"ok"
        await asyncio.sleep(0.05)
        assert (await upstream.request("POST", "/x")).body == b"ok"
        upstream.close()
        server.close()

    asyncio.run(main())


def test_timeouts_refusals_and_oversized_answers_are_upstream_errors() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    async def huge(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 100)
        await writer.drain()

    async def main() -> None:
        server, port = await _serve(silent)
        with pytest.raises(UpstreamError, match=r"no response within 0\.2 seconds"):
            await Upstream("127.0.0.1", port).request("POST", "/x", timeout=0.2)
        server.close()
        server, port = await _serve(huge)
        with pytest.raises(ResponseTooLarge):
            await Upstream("127.0.0.1", port).request("POST", "/x", max_body=99)
        server.close()
        with pytest.raises(UpstreamError):
            await Upstream("127.0.0.1", port).request("POST", "/x")

    asyncio.run(main())
