"""A closed-loop HTTP/1.1 load generator for the endpoint benchmarks.

``run(target, bodies, ...)`` starts this file as a process of its own (never in the
caller's: the GIL would be shared with whatever the caller is measuring), which opens one
keep-alive connection per client on uvloop and sends pre-built request bytes back to back,
each client waiting for its answer before the next request. It is cheap by construction —
no HTTP library, the response head is read in one ``readuntil`` and only ``Content-Length``
is parsed — so the machine's cores go to the server under test. The same generator serves
every target, so what it costs is the same for each.

A request counts when it was sent inside the measured window (after the warm-up); its
latency is from the first byte written to the last byte read.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    path: str
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Result:
    requests: int
    errors: int  # answers other than 200, or connections lost
    seconds: float
    cpu_seconds: float  # the generator's own user + system time in the measured window
    first_error: str
    latencies_ms: tuple[float, ...]  # sorted

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_ms, 99)

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_seconds / max(self.requests, 1) * 1e6

    def __add__(self, other: Result) -> Result:
        return Result(
            requests=self.requests + other.requests,
            errors=self.errors + other.errors,
            seconds=self.seconds + other.seconds,
            cpu_seconds=self.cpu_seconds + other.cpu_seconds,
            first_error=self.first_error or other.first_error,
            latencies_ms=tuple(sorted(self.latencies_ms + other.latencies_ms)),
        )


def percentile(ordered: Sequence[float], q: int) -> float:
    if len(ordered) < 2:
        return ordered[0] if ordered else float("nan")
    return statistics.quantiles(ordered, n=100)[q - 1]


def run(
    target: Target,
    bodies: Sequence[bytes],
    *,
    clients: int = 8,
    warmup: float = 2.0,
    duration: float = 10.0,
) -> Result:
    spec = {
        "host": target.host,
        "port": target.port,
        "path": target.path,
        "headers": [list(h) for h in target.headers],
        "bodies": [b.decode("latin-1") for b in bodies],
        "clients": clients,
        "warmup": warmup,
        "duration": duration,
    }
    done = subprocess.run(
        [sys.executable, __file__],
        input=json.dumps(spec),
        check=False,
        capture_output=True,
        text=True,
        timeout=warmup + duration + 60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed:\n{done.stderr}")
    fields = json.loads(done.stdout)
    return Result(**fields | {"latencies_ms": tuple(sorted(fields["latencies_ms"]))})


def requests_bytes(spec: dict[str, object]) -> list[bytes]:
    host, port, path = spec["host"], spec["port"], spec["path"]
    head = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
    for name, value in spec["headers"]:  # type: ignore[attr-defined]
        head += f"{name}: {value}\r\n"
    out = []
    for text in spec["bodies"]:  # type: ignore[attr-defined]
        body = text.encode("latin-1")
        out.append(f"{head}Content-Length: {len(body)}\r\n\r\n".encode("latin-1") + body)
    return out


class _Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.first_error = ""

    def error(self, message: str) -> None:
        self.errors += 1
        if not self.first_error:
            self.first_error = message[:500]


async def _client(
    *,
    host: str,
    port: int,
    requests: list[bytes],
    offset: int,
    measure_from: float,
    stop_at: float,
    tally: _Tally,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = offset
    clock = time.perf_counter
    try:
        while (begin := clock()) < stop_at:
            writer.write(requests[i % len(requests)])
            i += 1
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                tally.error("the server closed the connection")
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            at = head.lower().find(b"\r\ncontent-length:")
            if at < 0:
                raise RuntimeError(f"no Content-Length in {head!r}")
            length = int(head[at + 17 : head.index(b"\r\n", at + 2)])
            body = await reader.readexactly(length)
            end = clock()
            if begin < measure_from:
                continue
            tally.latencies.append(end - begin)
            if head[9:12] != b"200":
                tally.error(f"{head[:12].decode('latin-1')}: {body[:300].decode('latin-1')}")
    finally:
        writer.close()


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


async def _cpu_at(moment: float) -> float:
    await asyncio.sleep(max(moment - time.perf_counter(), 0))
    return _cpu()


async def _main(spec: dict[str, object]) -> dict[str, object]:
    requests = requests_bytes(spec)
    clients = int(spec["clients"])  # type: ignore[call-overload]
    warmup, duration = float(spec["warmup"]), float(spec["duration"])  # type: ignore[arg-type]
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + duration
    tally = _Tally()
    host, port = str(spec["host"]), int(spec["port"])  # type: ignore[call-overload]
    # Each client starts at its own place in the bodies, so they don't send in lockstep.
    step = max(len(requests) // clients, 1)
    cpu_at_start = asyncio.ensure_future(_cpu_at(measure_from))
    await asyncio.gather(
        *(
            _client(
                host=host,
                port=port,
                requests=requests,
                offset=n * step,
                measure_from=measure_from,
                stop_at=stop_at,
                tally=tally,
            )
            for n in range(clients)
        )
    )
    cpu = _cpu() - await cpu_at_start
    return {
        "requests": len(tally.latencies),
        "errors": tally.errors,
        "seconds": duration,
        "cpu_seconds": cpu,
        "first_error": tally.first_error,
        "latencies_ms": [round(x * 1000, 4) for x in tally.latencies],
    }


if __name__ == "__main__":
    import uvloop

    print(json.dumps(uvloop.run(_main(json.loads(sys.stdin.read())))))
