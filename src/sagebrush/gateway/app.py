"""The app factory: one ASGI app serving every AWS API and Sagebrush's own endpoints."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from sagebrush.aws.models import ServiceCatalog
from sagebrush.compute import LocalLauncher
from sagebrush.config import Settings
from sagebrush.gateway.aws import AwsGateway
from sagebrush.gateway.internal import health, status
from sagebrush.gateway.metrics import MetricsExporter, is_scrape, metrics_registry
from sagebrush.jobs.context import PlatformContext
from sagebrush.jobs.endpoints.controller import EndpointContext, EndpointController
from sagebrush.jobs.training.context import TrainingContext
from sagebrush.jobs.training.controller import TrainingController
from sagebrush.jobs.transform.context import TransformContext
from sagebrush.jobs.transform.controller import TransformController
from sagebrush.jobs.tuning.context import TuningContext
from sagebrush.jobs.tuning.controller import TuningController
from sagebrush.services.base import Runtime
from sagebrush.services.registry import ProviderRegistry
from sagebrush.state.db import Database
from sagebrush.state.logs import LogStore
from sagebrush.state.metrics import MetricStore
from sagebrush.state.resources import ResourceStore
from sagebrush.storage import FilesystemObjectStore

log = logging.getLogger(__name__)


def build_runtime(settings: Settings) -> Runtime:
    """Open (and migrate) the database and the object store for ``settings.home``."""
    settings.home.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url)
    db.migrate()
    objects = FilesystemObjectStore(settings.objects_dir, db)
    objects.recover()
    runtime = Runtime(settings=settings, catalog=ServiceCatalog(), db=db, objects=objects)
    shared = PlatformContext(
        settings=settings,
        store=ResourceStore(db),
        objects=objects,
        logs=LogStore(db),
        metrics=MetricStore(db),
        launcher=LocalLauncher(),  # one: training instances and model servers alike
        clock=runtime.clock,
        endpoint_url=_endpoint_url(settings),
    )
    runtime.training = TrainingController(shared.derive(TrainingContext))
    runtime.endpoints = EndpointController(shared.derive(EndpointContext))
    runtime.transform = TransformController(shared.derive(TransformContext))
    runtime.tuning = TuningController(shared.derive(TuningContext), runtime.training.wake)
    runtime.training.listeners.append(runtime.tuning.wake)
    return runtime


def _endpoint_url(settings: Settings) -> str:
    host = settings.host
    if host in {"0.0.0.0", "::", ""}:
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


class SagebrushApp:
    """The Starlette app, with InvokeEndpoint's fast path in front of its routing.

    Invocations are the one request whose per-call cost is the product, so they skip
    Starlette's router and middleware; everything else goes through them. So does a
    Prometheus scrape of ``/metrics``: that path is also S3's ListObjects on a bucket named
    "metrics", which signed (and S3-query) requests still reach (``metrics.is_scrape``).
    """

    def __init__(self, app: Starlette, gateway: AwsGateway, exporter: MetricsExporter) -> None:
        self.app = app
        self.gateway = gateway
        self.exporter = exporter
        self.state = app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if self.gateway.takes_invocation(scope):
                await self.gateway.invocations(scope, receive, send)
                return
            if scope["path"] == "/metrics" and is_scrape(scope):
                await self.exporter(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(settings: Settings, runtime: Runtime | None = None) -> SagebrushApp:
    runtime = runtime or build_runtime(settings)
    registry = ProviderRegistry(runtime)
    gateway = AwsGateway(runtime, registry)
    exporter = MetricsExporter(metrics_registry(runtime, gateway.recorder.metrics))

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        log.info("sagebrush ready: home=%s db=%s", settings.home, runtime.db.engine.url)
        for controller in runtime.controllers():
            controller.start()
        try:
            yield
        finally:
            for controller in reversed(runtime.controllers()):
                controller.close()
            runtime.db.dispose()

    app = Starlette(
        routes=[
            Route("/_sagebrush/health", health, methods=["GET"]),
            Route("/_sagebrush/status", status, methods=["GET"]),
            Route("/_sagebrush/metrics", exporter, methods=["GET"]),
            Mount("/", app=gateway),
        ],
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.registry = registry
    return SagebrushApp(app, gateway, exporter)
