"""Shared pieces of the endpoint tests: models, registered images, deployments, clients.

- ``register_echo_image(home)`` installs a registered local image whose ``serve`` is a
  stdlib HTTP server. It answers with the text of ``/opt/ml/model/answer.txt`` (so two
  models are told apart by their artifacts), labelled with the request's Accept (else
  ``text/plain``); a body ``status:NNN`` gets that status instead. Every answer carries
  ``X-Amzn-SageMaker-Custom-Attributes: instance=<instance id>``, so the caller sees which
  instance served it. ``ECHO_MODE`` in the container's environment changes that: ``chain``
  (a pipeline hop: appends ``|<ECHO_NAME><-<Content-Type it got>`` to the body and
  answers with Content-Type ``application/x-<ECHO_NAME>``), ``fail`` (500
  ``boom from <ECHO_NAME>``), ``crash`` (exits with status 3 at start).
  ``ECHO_START_DELAY`` seconds pass before it listens; then it prints
  ``echo <answer> ready``.
- ``xgboost_model(value)`` is a ``model.tar.gz`` of a booster that predicts ``value`` for
  any row; ``tarball`` packs any files.
- ``create_model`` / ``variant`` / ``deploy`` / ``wait_status`` drive SageMaker's API.
- ``stop_server(server)`` deletes every endpoint, stops the server, then kills any
  process still running in its home (model servers outlive a server that crashed, for the
  next one to adopt): a failed test leaves nothing running behind it.
- ``processes_under(home)`` lists those processes.
- ``RawInvoker`` posts to ``{url}/endpoints/{name}/invocations`` over one keep-alive
  connection (unsigned, which a loopback server accepts): ~10x what boto3 manages.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import io
import os
import signal
import sys
import tarfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sagebrush.testing import Server

ROLE = "arn:aws:iam::000000000000:role/SagebrushExecutionRole"
ACCOUNT = "000000000000"
REGION = "us-east-1"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
INSTANCE_TYPE = "ml.m5.large"

ECHO_SERVE = """\
#!{python}
import os, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = os.environ.get("ECHO_MODE", "answer")
NAME = os.environ.get("ECHO_NAME", "echo")
try:
    ANSWER = open("/opt/ml/model/answer.txt").read().strip()
except OSError:
    ANSWER = "no-model"
INSTANCE = os.environ.get("SAGEBRUSH_INSTANCE_ID", "")
if MODE == "crash":
    print("echo crashing on purpose", flush=True)
    sys.exit(3)
time.sleep(float(os.environ.get("ECHO_START_DELAY", "0")))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Head and body in one segment: two small writes meet Nagle and delayed ACKs (40 ms).
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Amzn-SageMaker-Custom-Attributes", "instance=" + INSTANCE)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.reply(200 if self.path == "/ping" else 404, b"")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if MODE == "fail":
            self.reply(500, ("boom from " + NAME).encode())
        elif MODE == "chain":
            got = self.headers.get("Content-Type", "")
            self.reply(200, body + ("|%s<-%s" % (NAME, got)).encode(), "application/x-" + NAME)
        elif body.startswith(b"status:"):
            self.reply(int(body[7:10]), b"asked for " + body[7:10])
        else:
            accept = self.headers.get("Accept") or "text/plain"
            self.reply(200, ANSWER.encode(), accept)


server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["SAGEMAKER_BIND_TO_PORT"])), Handler)
print("echo %s ready" % ANSWER, flush=True)
server.serve_forever()
"""


def register_echo_image(home: Path, repo: str = "echo") -> str:
    """Install the echo server as local image ``repo``; returns the image URI to use."""
    image = home / "images" / repo
    image.mkdir(parents=True, exist_ok=True)
    serve = image / "serve"
    serve.write_text(ECHO_SERVE.replace("{python}", sys.executable))
    serve.chmod(0o755)
    return f"{repo}:latest"


def tarball(files: Mapping[str, bytes]) -> bytes:
    """A ``model.tar.gz`` holding ``files`` (name -> bytes)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def xgboost_model(value: float) -> bytes:
    """A ``model.tar.gz`` whose ``xgboost-model`` predicts ``value`` for any 3-feature row."""
    booster = _zero_booster()
    # One tree of zero leaves: the prediction is base_score, whatever it is set to.
    booster.set_param("base_score", str(value))
    return tarball({"xgboost-model": bytes(booster.save_raw(raw_format="ubj"))})


@functools.cache
def _zero_booster() -> Any:
    import numpy as np
    import xgboost as xgb

    rows = np.zeros((2, 3))
    params = {"objective": "reg:squarederror", "base_score": 0.0}
    return xgb.train(params, xgb.DMatrix(rows, label=np.zeros(2)), num_boost_round=1)


def upload(s3: Any, url: str, body: bytes) -> str:
    """Put ``body`` at ``s3://bucket/key`` (creating the bucket); returns ``url``."""
    bucket, _, key = url.removeprefix("s3://").partition("/")
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return url


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_model(
    sm: Any,
    image: str,
    model_data_url: str | None = None,
    environment: Mapping[str, str] | None = None,
    *,
    name: str | None = None,
    **container: Any,
) -> str:
    """A single-container model; returns its name."""
    name = name or unique("m")
    primary: dict[str, Any] = {"Image": image, **container}
    if model_data_url:
        primary["ModelDataUrl"] = model_data_url
    if environment:
        primary["Environment"] = dict(environment)
    sm.create_model(ModelName=name, PrimaryContainer=primary, ExecutionRoleArn=ROLE)
    return name


def variant(
    model: str, name: str = "AllTraffic", count: int = 1, weight: float = 1.0
) -> dict[str, Any]:
    return {
        "VariantName": name,
        "ModelName": model,
        "InitialInstanceCount": count,
        "InstanceType": INSTANCE_TYPE,
        "InitialVariantWeight": weight,
    }


def create_config(sm: Any, variants: list[dict[str, Any]], **extra: Any) -> str:
    name = unique("c")
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=variants, **extra)
    return name


def wait_status(sm: Any, name: str, timeout: float = 60.0) -> dict[str, Any]:
    """DescribeEndpoint once the endpoint is out of Creating/Updating (polled every 50 ms)."""
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sm.describe_endpoint(EndpointName=name)
        if described["EndpointStatus"] not in ("Creating", "Updating", "SystemUpdating"):
            return described
        if time.monotonic() > deadline:
            raise TimeoutError(f"endpoint {name} still {described['EndpointStatus']}")
        time.sleep(0.05)


def deploy(
    sm: Any, variants: list[dict[str, Any]], *, name: str | None = None, **config: Any
) -> str:
    """Create a config and an endpoint on it, wait until InService; returns the name."""
    name = name or unique("e")
    sm.create_endpoint(EndpointName=name, EndpointConfigName=create_config(sm, variants, **config))
    described = wait_status(sm, name)
    status, reason = described["EndpointStatus"], described.get("FailureReason")
    assert status == "InService", f"{name}: {status} {reason}"
    return name


@dataclass(frozen=True)
class Answer:
    status: int
    variant: str | None  # x-Amzn-Invoked-Production-Variant
    content_type: str | None
    body: bytes
    custom_attributes: str | None  # the echo image's "instance=<id>"


class RawInvoker:
    """InvokeEndpoint as raw HTTP/1.1 on one keep-alive connection (not thread-safe: one
    per thread). A reused connection the server closed while idle is reopened once and
    counted in ``reconnects``; a failure on a fresh connection raises."""

    def __init__(self, url: str, timeout: float = 70.0) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self.reconnects = 0

    def invoke(
        self,
        endpoint: str,
        body: bytes,
        content_type: str = "text/csv",
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        sent = {"Content-Type": content_type, **(headers or {})}
        while True:
            reused = self._conn is not None
            if self._conn is None:
                self._conn = http.client.HTTPConnection(
                    self._host, self._port, timeout=self._timeout
                )
            try:
                self._conn.request("POST", f"/endpoints/{endpoint}/invocations", body, sent)
                reply = self._conn.getresponse()
                data = reply.read()
            except (OSError, http.client.HTTPException):
                self.close()
                if not reused:
                    raise
                self.reconnects += 1
                continue
            return Answer(
                reply.status,
                reply.getheader("x-Amzn-Invoked-Production-Variant"),
                reply.getheader("Content-Type"),
                data,
                reply.getheader("X-Amzn-SageMaker-Custom-Attributes"),
            )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def stop_server(server: Server, timeout: float = 20.0) -> None:
    """Delete every endpoint, stop ``server``, kill processes still running in its home."""
    sm = server.client("sagemaker")
    try:
        if server.process.poll() is not None:
            return
        names = [e["EndpointName"] for e in sm.list_endpoints(MaxResults=100)["Endpoints"]]
        for name in names:
            with contextlib.suppress(sm.exceptions.ClientError):
                sm.delete_endpoint(EndpointName=name)
        deadline = time.monotonic() + timeout
        while sm.list_endpoints(MaxResults=100)["Endpoints"] and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.stop()
        for pid in processes_under(server.home):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def processes_under(home: Path) -> list[int]:
    """Processes whose command line or working directory lies in ``home``."""
    found = []
    marker = str(home)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
            cwd = str((entry / "cwd").readlink())
        except OSError:
            continue
        if marker in cmdline or cwd.startswith(marker):
            found.append(int(entry.name))
    return found
