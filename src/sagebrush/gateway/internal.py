"""Sagebrush's own endpoints under ``/_sagebrush/`` (no AWS wire format)."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import JSONResponse

from sagebrush import __version__
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
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    usage = runtime.objects.usage()
    return JSONResponse(
        {
            "version": __version__,
            "uptime_seconds": round(time.time() - runtime.started_at, 3),
            "home": str(settings.home),
            "database": runtime.db.engine.url.render_as_string(hide_password=True),
            "objects_dir": str(settings.objects_dir),
            "account_id": settings.account_id,
            "region": settings.region,
            "signature_verification": settings.verify_signatures,
            "s3": {"buckets": usage.buckets, "objects": usage.objects, "bytes": usage.bytes},
        }
    )
