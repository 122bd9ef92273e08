"""The multi-model server: SageMaker's container API for multi-model endpoints.

- ``GET /ping``: 200 once the server is up.
- ``POST /models`` ``{"model_name": name, "url": directory}``: load the model in that
  directory under ``name`` — 409 if a model of that name is loaded (or loading), 404 if
  the directory does not exist, 400 for a request without both fields, 507 when loading
  runs out of memory (the platform then unloads idle models and retries), 500 with the
  reason for a model that will not load.
- ``GET /models`` (``?limit=N&next_page_token=T``): ``{"models": [{"modelName",
  "modelUrl"}], "nextPageToken"?}`` in name order, as Multi Model Server lists them.
- ``GET /models/{name}``, ``DELETE /models/{name}``: describe, unload; 404 if not loaded.
- ``POST /models/{name}/invoke``: as ``/invocations`` of a single-model server; 404 if
  not loaded.

Names may contain ``/`` and ``.``: the platform percent-encodes them into the path, which
is read from the raw path, so ``a%2Fb.tar.gz`` is the model ``a/b.tar.gz``. Loading runs
on a worker thread, so ``/ping`` and other models' invocations go on meanwhile;
invocations run on the event loop, as the single-model server's do.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from sagebrush.algorithms.serving.asgi import (
    Receive,
    Scope,
    Send,
    lifespan,
    read_body,
    respond,
    respond_json,
)
from sagebrush.algorithms.serving.runtime import ModelRuntime
from sagebrush.algorithms.serving.server import ModelServer
from sagebrush.inference._context import REQUEST_HEADERS

log = logging.getLogger("sagebrush.inference")

# (model name, model directory) -> the loaded model's runtime; runs on a worker thread.
Loader = Callable[[str, Path], ModelRuntime]

PAGE_SIZE = 100
_INVOKE = "/invoke"


@dataclass(frozen=True)
class LoadedModel:
    name: str
    url: str
    server: ModelServer

    def describe(self) -> dict[str, str]:
        return {"modelName": self.name, "modelUrl": self.url}


class MultiModelServer:
    def __init__(self, loader: Loader) -> None:
        self.loader = loader
        self.models: dict[str, LoadedModel] = {}
        self._loading: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if path.startswith("/models/"):
            rest = _raw_path(scope)[len("/models/") :]
            if method == "POST" and rest.endswith(_INVOKE):
                await self._invoke(unquote(rest[: -len(_INVOKE)]), scope, receive, send)
            elif method == "GET":
                await self._describe(unquote(rest), send)
            elif method == "DELETE":
                await self._unload(unquote(rest), send)
            else:
                await _error(send, 405, "MethodNotAllowedException", "Method not allowed")
        elif path == "/models" and method == "POST":
            await self._load(await read_body(receive), send)
        elif path == "/models" and method == "GET":
            await self._list(scope, send)
        elif path == "/ping" and method == "GET":
            await respond_json(send, 200, {"status": "Healthy"})
        else:
            await _error(send, 404, "ResourceNotFoundException", "Requested resource is not found")

    async def _invoke(self, name: str, scope: Scope, receive: Receive, send: Send) -> None:
        model = self.models.get(name)
        body = await read_body(receive)
        if model is None:
            await _not_loaded(send, name)
            return
        content_type = accept = None
        for key, value in scope["headers"]:
            if key == b"content-type":
                content_type = value.decode("latin-1")
            elif key == b"accept":
                accept = value.decode("latin-1")
        token = REQUEST_HEADERS.set(scope["headers"])
        try:
            prediction = model.server.invoke(body, content_type, accept)
        finally:
            REQUEST_HEADERS.reset(token)
        await respond(send, prediction.status, prediction.body, prediction.content_type)

    async def _load(self, body: bytes, send: Send) -> None:
        try:
            request = json.loads(body)
            name, url = request["model_name"], request["url"]
            if not (isinstance(name, str) and name and isinstance(url, str) and url):
                raise ValueError
        except (ValueError, TypeError, KeyError):
            await _error(
                send, 400, "BadRequestException", 'Expected {"model_name": name, "url": directory}'
            )
            return
        if name in self.models or name in self._loading:
            await _error(send, 409, "ConflictStatusException", f"Model {name} is already loaded")
            return
        directory = Path(url)
        if not directory.exists():
            await _error(send, 404, "ModelNotFoundException", f"Model directory {url} not found")
            return
        if not directory.is_dir():
            await _error(send, 400, "BadRequestException", f"Model url {url} is not a directory")
            return
        self._loading.add(name)
        try:
            runtime = await asyncio.to_thread(self.loader, name, directory)
        except Exception as exc:
            status, kind = (507, "InsufficientStorage") if _out_of_memory(exc) else (500, "")
            log.exception("model %s failed to load", name)
            reason = f"Failed to load model {name}: {type(exc).__name__}: {exc}"
            await _error(send, status, kind or "InternalServerException", reason)
            return
        finally:
            self._loading.discard(name)
        self.models[name] = LoadedModel(name, url, ModelServer(runtime))
        await respond_json(send, 200, {"status": f'Model "{name}" loaded'})

    async def _list(self, scope: Scope, send: Send) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        try:
            limit = int(query.get("limit", [PAGE_SIZE])[0])
            start = int(query.get("next_page_token", ["0"])[0] or 0)
        except ValueError:
            await _error(send, 400, "BadRequestException", "limit and next_page_token are numbers")
            return
        names = sorted(self.models)
        limit = limit if limit > 0 else PAGE_SIZE
        page: dict[str, Any] = {
            "models": [self.models[n].describe() for n in names[start : start + limit]]
        }
        if start + limit < len(names):
            page["nextPageToken"] = str(start + limit)
        await respond_json(send, 200, page)

    async def _describe(self, name: str, send: Send) -> None:
        model = self.models.get(name)
        if model is None:
            await _not_loaded(send, name)
            return
        await respond_json(send, 200, model.describe())

    async def _unload(self, name: str, send: Send) -> None:
        model = self.models.pop(name, None)
        if model is None:
            await _not_loaded(send, name)
            return
        close = getattr(model.server.runtime, "close", None)
        if callable(close):
            close()
        await respond_json(send, 200, {"status": f'Model "{name}" unloaded'})


def _raw_path(scope: Scope) -> str:
    raw = scope.get("raw_path")
    return raw.decode("utf-8", "replace") if raw else str(scope["path"])


def _out_of_memory(exc: BaseException) -> bool:
    # torch.OutOfMemoryError is a RuntimeError: known by name, not to import torch here.
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError"


async def _not_loaded(send: Send, name: str) -> None:
    await _error(send, 404, "ModelNotFoundException", f"Model not found: {name}")


async def _error(send: Send, status: int, kind: str, message: str) -> None:
    await respond_json(send, status, {"code": status, "type": kind, "message": message})
