"""The ``context`` a handler gets when it asks for one, as Multi Model Server hands it over.

The toolkit passes a trailing ``context`` argument to any handler whose signature has room
for it. Scripts written for SageMaker read the request's headers through it —
``context.request_processor[0].get_request_properties()`` (MMS) or
``context.get_request_header(0, name)`` (TorchServe) — most often for
``X-Amzn-SageMaker-Custom-Attributes``, which the platform forwards untouched; and the
model's directory through ``context.system_properties["model_dir"]``.

The request's headers reach the runtime through ``REQUEST_HEADERS``, set by the ASGI app
around the invocation (``relay_headers``) so that ``ModelRuntime.invoke`` keeps its shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sagebrush.algorithms.serving.asgi import App, Receive, Scope, Send

CUSTOM_ATTRIBUTES = "x-amzn-sagemaker-custom-attributes"

# The raw ASGI header pairs of the request being served; decoded only if a handler asks.
REQUEST_HEADERS: ContextVar[Sequence[tuple[bytes, bytes]]] = ContextVar(
    "request_headers", default=()
)


class Headers(Mapping[str, str]):
    """Request headers by case-insensitive name."""

    def __init__(self, pairs: Iterable[tuple[bytes, bytes]]) -> None:
        self._items = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in pairs}

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclass(frozen=True)
class RequestProcessor:
    headers: Headers

    def get_request_properties(self) -> Headers:
        return self.headers

    def get_request_property(self, name: str) -> str | None:
        return self.headers.get(name)


@dataclass(frozen=True)
class Context:
    model_name: str
    model_dir: str
    request_processor: list[RequestProcessor] = field(default_factory=list)

    @property
    def system_properties(self) -> dict[str, Any]:
        return {"model_dir": self.model_dir, "gpu_id": None, "batch_size": 1}

    @property
    def manifest(self) -> dict[str, Any]:
        return {"model": {"modelName": self.model_name}}

    @property
    def custom_attributes(self) -> str | None:
        """``X-Amzn-SageMaker-Custom-Attributes`` of the request (None outside one)."""
        return self.get_request_header(0, CUSTOM_ATTRIBUTES)

    def get_request_header(self, idx: int, key: str) -> str | None:
        if idx >= len(self.request_processor):
            return None
        return self.request_processor[idx].headers.get(key)

    def get_all_request_header(self, idx: int) -> Headers:
        if idx >= len(self.request_processor):
            return Headers(())
        return self.request_processor[idx].headers

    def for_request(self) -> Context:
        """This context with the headers of the request being served."""
        headers = Headers(REQUEST_HEADERS.get())
        return Context(self.model_name, self.model_dir, [RequestProcessor(headers)])


def relay_headers(app: App) -> App:
    """``app`` with each HTTP request's headers in ``REQUEST_HEADERS`` while it runs."""

    async def relay(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        token = REQUEST_HEADERS.set(scope["headers"])
        try:
            await app(scope, receive, send)
        finally:
            REQUEST_HEADERS.reset(token)

    return relay
