"""The model server process: SageMaker's serving contract over a ``ModelRuntime``.

``GET /ping`` answers 200 once the model is loaded; ``POST /invocations`` passes the body
with its ``Content-Type`` and ``Accept`` to the runtime; ``GET /execution-parameters``
gives batch transform its defaults. Errors are plain-text bodies with the runtime's
status, which the platform relays to the caller. A bare ASGI app under uvicorn: no
framework routing on the hot path.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from sagebrush.algorithms.errors import InferenceError
from sagebrush.algorithms.serving.runtime import ModelRuntime, Prediction

log = logging.getLogger("sagebrush.algorithms.serving")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class ModelServer:
    def __init__(self, runtime: ModelRuntime) -> None:
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if path == "/invocations" and method == "POST":
            body = await _body(receive)
            headers = _headers(scope)
            prediction = self.invoke(body, headers.get("content-type"), headers.get("accept"))
            await _respond(send, prediction.status, prediction.body, prediction.content_type)
        elif path == "/ping" and method == "GET":
            await _respond(send, 200, b"", "text/plain")
        elif path == "/execution-parameters" and method == "GET":
            body = json.dumps(self.runtime.execution_parameters()).encode()
            await _respond(send, 200, body, "application/json")
        else:
            await _respond(send, 404, b"Not Found", "text/plain")

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> Prediction:
        try:
            return self.runtime.invoke(body, content_type, accept)
        except InferenceError as exc:
            return Prediction(exc.message.encode(), "text/plain", exc.status)
        except Exception as exc:
            log.exception("inference failed")
            return Prediction(f"{type(exc).__name__}: {exc}".encode(), "text/plain", 500)


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


async def _respond(send: Send, status: int, body: bytes, content_type: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode("latin-1")),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
