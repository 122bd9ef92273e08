"""Run a real ``sagebrush serve`` on a free loopback port: for tests, benchmarks, notebooks.

server = start_server(Path("/tmp/sb-home"))
s3 = server.client("s3")
...
server.stop()
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Server:
    home: Path
    process: subprocess.Popen[str]
    url: str
    extra_args: list[str] = field(default_factory=list)
    pump: threading.Thread | None = None
    # The server's output lines, kept when started with ``keep_output=True`` (else None).
    output: ServerOutput | None = None

    @property
    def env(self) -> dict[str, str]:
        """A client environment as ``eval "$(sagebrush env)"`` would make it."""
        out = subprocess.run(
            [sys.executable, "-m", "sagebrush", "env", "--home", str(self.home)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAGEMAKER_"))}
        for line in out.splitlines():
            if line.startswith("export "):
                name, _, value = shlex.split(line[len("export ") :])[0].partition("=")
                # The one expansion the lines use: ${NAME:+:$NAME}, the shell's old value.
                keep = f"${{{name}:+:${name}}}"
                old = env.get(name)
                env[name] = value.replace(keep, f":{old}" if old else "")
        return env

    def client(self, service: str, **kwargs: Any) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="sagebrush",
            aws_secret_access_key="sagebrush-secret",
            **kwargs,
        )

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.pump is not None:
            self.pump.join(timeout=10)
        return self.process.returncode


class ServerOutput:
    """The lines a server printed, appended by the pump thread (thread-safe)."""

    def __init__(self, lines: list[str] | None = None) -> None:
        self._lines = list(lines or [])
        self._lock = threading.Lock()

    def append(self, line: str) -> None:
        with self._lock:
            self._lines.append(line)

    def lines(self) -> list[str]:
        """A copy of every line so far, without line endings."""
        with self._lock:
            return [line.rstrip("\n") for line in self._lines]

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 10.0) -> list[str]:
        """The lines that satisfy ``predicate``, once there is one (or [] after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.lines() if predicate(line)]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


def start_server(home: Path, *args: str, keep_output: bool = False) -> Server:
    """The server's output goes to ``<home>.server.log`` beside the home (its ERROR lines to
    stderr as well); ``keep_output``: also keep the lines in ``Server.output``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAGEBRUSH_"))}
    env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "sagebrush", "serve", "--port", "0", "--home", str(home), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    url = ""
    deadline = time.monotonic() + 60
    banner: list[str] = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        banner.append(line)
        if line.startswith("Sagebrush listening on "):
            url = line.split()[-1]
            break
    if not url:
        process.kill()
        raise RuntimeError("server did not start:\n" + "".join(banner))
    output = ServerOutput(banner) if keep_output else None
    pump = _drain(process, home.with_name(f"{home.name}.server.log"), output)
    _wait_healthy(url)
    return Server(
        home=home, process=process, url=url, extra_args=list(args), pump=pump, output=output
    )


def _drain(
    process: subprocess.Popen[str], log: Path, output: ServerOutput | None = None
) -> threading.Thread:
    """Keep reading the server's output so it never blocks on a full pipe: into ``log``
    (the server logs every failed request, too many lines for a test run's stderr)."""

    def pump() -> None:
        assert process.stdout is not None
        with process.stdout, log.open("a", encoding="utf-8") as sink:
            for line in process.stdout:
                sink.write(line)
                sink.flush()
                if " ERROR " in line:
                    sys.stderr.write(f"[server] {line}")
                if output is not None:
                    output.append(line)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


def _wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_sagebrush/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
