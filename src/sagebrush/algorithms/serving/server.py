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

from sagebrush.algorithms.errors import InferenceError
from sagebrush.algorithms.serving.asgi import Receive, Scope, Send, lifespan, read_body, respond
from sagebrush.algorithms.serving.runtime import ModelRuntime, Prediction

log = logging.getLogger("sagebrush.algorithms.serving")


class ModelServer:
    def __init__(self, runtime: ModelRuntime) -> None:
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if path == "/invocations" and method == "POST":
            body = await read_body(receive)
            headers = _headers(scope)
            prediction = self.invoke(body, headers.get("content-type"), headers.get("accept"))
            await respond(send, prediction.status, prediction.body, prediction.content_type)
        elif path == "/ping" and method == "GET":
            await respond(send, 200, b"", "text/plain")
        elif path == "/execution-parameters" and method == "GET":
            body = json.dumps(self.runtime.execution_parameters()).encode()
            await respond(send, 200, body, "application/json")
        else:
            await respond(send, 404, b"Not Found", "text/plain")

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> Prediction:
        try:
            return self.runtime.invoke(body, content_type, accept)
        except InferenceError as exc:
            return Prediction(exc.message.encode(), "text/plain", exc.status)
        except Exception as exc:
            log.exception("inference failed")
            return Prediction(f"{type(exc).__name__}: {exc}".encode(), "text/plain", 500)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
