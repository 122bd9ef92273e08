"""Sagebrush's own endpoints under ``/_sagebrush/`` (no AWS wire format)."""

from __future__ import annotations

import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from sagebrush import __version__
from sagebrush.gateway.status import snapshot
from sagebrush.services.base import Runtime


async def health(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    return JSONResponse(
        {
            "status": "ok",
            "version": __version__,
            "uptime_seconds": round(time.time() - runtime.started_at, 3),
            "services": list(runtime.catalog.services),
        }
    )


async def status(request: Request) -> JSONResponse:
    """What the server holds and runs (``sagebrush status``): gathered on a worker thread,
    since it queries the database, reads ``/proc`` and walks the home's directories."""
    runtime: Runtime = request.app.state.runtime
    return JSONResponse(await run_in_threadpool(snapshot, runtime))
