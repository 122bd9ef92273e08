"""5,000 small calls (HeadObject, ListBuckets) from one boto3 client.

Reports the server-side handling time (the ``Server-Timing`` header Sagebrush adds) and the
client round trip, beside a baseline: the same client against a bare uvicorn app that
answers every request with a fixed response (the floor of the HTTP stack itself).
Target: p50 server-side handling <= 2 ms.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import uvicorn

from sagebrush.testing import start_server

LIST_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    b"<Owner><ID>0</ID></Owner><Buckets></Buckets></ListAllMyBucketsResult>"
)


async def floor_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A fixed answer to every request: what the HTTP stack alone costs."""
    if scope["type"] != "http":
        return
    head = scope["method"] == "HEAD"
    headers = [(b"content-type", b"application/xml"), (b"etag", b'"0"')]
    body = b"" if head else LIST_BODY
    headers.append((b"content-length", b"3" if head else str(len(body)).encode()))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def start_floor() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    config = uvicorn.Config(floor_app, log_level="error", http="httptools", loop="uvloop")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    time.sleep(0.5)
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


def run(url: str, calls: int, prepare: bool) -> tuple[list[float], list[float]]:
    s3 = boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="sagebrush",
        aws_secret_access_key="sagebrush-secret",
    )
    if prepare:
        s3.create_bucket(Bucket="bench")
        s3.put_object(Bucket="bench", Key="small", Body=b"abc")
    server_ms: list[float] = []
    client_ms: list[float] = []
    for i in range(calls):
        start = time.perf_counter()
        reply = s3.list_buckets() if i % 2 else s3.head_object(Bucket="bench", Key="small")
        client_ms.append((time.perf_counter() - start) * 1000)
        timing = reply["ResponseMetadata"]["HTTPHeaders"].get("server-timing")
        if timing:
            server_ms.append(float(timing.split("dur=")[1]))
    return server_ms, client_ms


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp) / "home")
        try:
            run(server.url, 200, prepare=True)  # warm-up
            server_ms, client_ms = run(server.url, args.calls, prepare=False)
        finally:
            server.stop()
    floor_url = start_floor()
    run(floor_url, 200, prepare=False)
    _, floor_ms = run(floor_url, args.calls, prepare=False)
    print(f"calls                        {args.calls} (HeadObject and ListBuckets alternating)")
    print(
        f"sagebrush server-side        p50 {pct(server_ms, 50):.3f} ms   "
        f"p99 {pct(server_ms, 99):.3f} ms"
    )
    print(
        f"sagebrush client round trip  p50 {pct(client_ms, 50):.3f} ms   "
        f"p99 {pct(client_ms, 99):.3f} ms"
    )
    print(
        f"bare uvicorn round trip      p50 {pct(floor_ms, 50):.3f} ms   "
        f"p99 {pct(floor_ms, 99):.3f} ms"
    )
    print(f"round-trip ratio (sagebrush / bare)  {pct(client_ms, 50) / pct(floor_ms, 50):.2f}x")


if __name__ == "__main__":
    main()
