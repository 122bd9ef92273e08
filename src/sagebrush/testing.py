"""Run a real ``sagebrush serve`` on a free loopback port: for tests, benchmarks, notebooks.

server = start_server(Path("/tmp/sb-home"))
s3 = server.client("s3")
...
server.stop()
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
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
                name, _, value = line[len("export ") :].partition("=")
                env[name] = value.strip("'")
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


def start_server(home: Path, *args: str) -> Server:
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
    pump = _drain(process)
    _wait_healthy(url)
    return Server(home=home, process=process, url=url, extra_args=list(args), pump=pump)


def _drain(process: subprocess.Popen[str]) -> threading.Thread:
    """Keep reading the server's output so it never blocks on a full pipe."""

    def pump() -> None:
        assert process.stdout is not None
        with process.stdout:
            for line in process.stdout:
                sys.stderr.write(f"[server] {line}")

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
