"""Models and scripts for the inference toolkit's tests, and a served process to call."""

from __future__ import annotations

import asyncio
import http.client
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import joblib
import numpy as np
from sklearn.linear_model import LinearRegression

ROOT = Path(__file__).resolve().parents[2]

# An inference.py that only loads the model: everything else is the framework's default.
MODEL_FN_ONLY = """
import os
import joblib

def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))
"""


def linear_model() -> LinearRegression:
    rows = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 5.0]])
    return LinearRegression().fit(rows, rows @ np.array([0.5, -2.0]) + 0.25)


def sklearn_model_dir(root: Path, script: str | None = MODEL_FN_ONLY) -> Path:
    """A model directory as a repacked SKLearn model has it: model.joblib and code/."""
    root.mkdir(parents=True, exist_ok=True)
    joblib.dump(linear_model(), root / "model.joblib")
    if script is not None:
        write_script(root / "code", script)
    return root


def write_script(code_dir: Path, text: str, name: str = "inference.py") -> Path:
    code_dir.mkdir(parents=True, exist_ok=True)
    path = code_dir / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str


def call_asgi(
    app: Any, method: str, path: str, body: bytes = b"", headers: Mapping[str, str] | None = None
) -> Reply:
    """One request through an ASGI app, in process."""
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start, payload = sent[0], sent[1]
    content_type = dict(start["headers"])[b"content-type"].decode()
    return Reply(start["status"], payload["body"], content_type)


@dataclass(frozen=True)
class Served:
    port: int
    process: subprocess.Popen[bytes]

    def request(
        self, method: str, path: str, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=dict(headers or {}))
            response = conn.getresponse()
            return Reply(response.status, response.read(), response.getheader("Content-Type", ""))
        finally:
            conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serving(args: list[str], env: Mapping[str, str] | None = None) -> Iterator[Served]:
    """``python -m sagebrush.inference ARGS --port P`` until /ping answers 200."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "sagebrush.inference", *args, "--port", str(port)],
            cwd=ROOT,
            env=dict(env) if env is not None else None,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            served = Served(port, process)
            _wait_for_ping(served, log)
            yield served
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_ping(served: Served, log: IO[bytes]) -> None:
    deadline = time.monotonic() + 60
    while served.process.poll() is None:
        try:
            if served.request("GET", "/ping").status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("the server did not answer /ping within 60 s")
        time.sleep(0.1)
    log.seek(0)
    raise AssertionError(f"the server exited: {log.read().decode()}")
