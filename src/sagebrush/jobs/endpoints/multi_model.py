"""Multi-model endpoints: models loaded into instances as invocations name them.

``TargetModel`` is a key relative to the model's ``ModelDataUrl`` prefix. The platform,
as SageMaker does, decides where a model lives and when it goes: an instance that already
holds the model takes the request (a cache hit); otherwise the least busy instance
downloads and unpacks the artifact, unloads its least recently used models until the new
one fits the memory budget, and loads it through the container's ``POST /models``.
Concurrent first requests for one model wait for one load (``ModelLoadingWaitTime``).

The budget per instance is ``SAGEBRUSH_MODEL_CACHE_MB`` from the container's environment,
else half the instance type's memory; a model counts for the bytes of its unpacked
artifact. With ``MultiModelConfig.ModelCacheSetting: Disabled`` a model is unloaded after
each invocation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from sagebrush.jobs.endpoints.errors import InvalidInvocation, ModelError
from sagebrush.jobs.endpoints.fleet import Instance
from sagebrush.jobs.endpoints.invocation_metrics import InvocationMetrics
from sagebrush.jobs.endpoints.serving import StagingError
from sagebrush.jobs.endpoints.upstream import Response, UpstreamError

if TYPE_CHECKING:
    from sagebrush.jobs.endpoints.router import Request, Route, RoutingTable


@dataclass
class _Cache:
    """One instance's loaded models, least recently used first, and their sizes."""

    models: OrderedDict[str, int] = field(default_factory=OrderedDict)
    loading: dict[str, asyncio.Future[None]] = field(default_factory=dict)

    @property
    def used(self) -> int:
        return sum(self.models.values())


@dataclass
class MultiModelSet:
    prefix: str  # s3://bucket/prefix/
    budget_bytes: int
    # Downloads and unpacks an artifact (blocking; run on a thread); returns its directory.
    stage: Callable[[str], Path]
    caching: bool = True
    _caches: dict[str, _Cache] = field(default_factory=dict)

    def cache(self, instance: Instance) -> _Cache:
        return self._caches.setdefault(instance.id, _Cache())

    async def invoke(
        self,
        table: RoutingTable,
        route: Route,
        request: Request,
        metrics: InvocationMetrics,
    ) -> tuple[Response, float, list[tuple[str, float]]]:
        name = str(request.target_model)
        if name.startswith("/") or ".." in name.split("/"):
            raise InvalidInvocation(f"Invalid TargetModel {name}.")
        holders = [i for i in route.instances if name in self.cache(i).models]
        hit = bool(holders)
        instance = min(holders or route.instances, key=lambda i: i.inflight)
        instance.inflight += 1
        try:
            return await self._invoke_on(
                table, route, request, metrics=metrics, instance=instance, name=name, hit=hit
            )
        finally:
            instance.inflight -= 1

    async def _invoke_on(
        self,
        table: RoutingTable,
        route: Route,
        request: Request,
        *,
        metrics: InvocationMetrics,
        instance: Instance,
        name: str,
        hit: bool,
    ) -> tuple[Response, float, list[tuple[str, float]]]:
        from sagebrush.jobs.endpoints.router import call_container

        cache = self.cache(instance)
        timings: dict[str, float] = {}
        if hit:
            cache.models.move_to_end(name)
        else:
            timings = await self._load(table, instance, cache, name)
        metrics.multi_model(
            table.account_id,
            table.region,
            table.endpoint,
            route.variant,
            cache_hit=hit,
            loaded_model_count=len(cache.models),
            **timings,
        )
        process = instance.processes[0]
        t0 = time.perf_counter()
        try:
            response = await call_container(
                table, process, f"/models/{quote(name, safe='')}/invoke", request, "primary"
            )
        finally:
            if not self.caching:
                await self._unload(instance, cache, name)
        return response, (time.perf_counter() - t0) * 1e6, []

    async def _load(
        self, table: RoutingTable, instance: Instance, cache: _Cache, name: str
    ) -> dict[str, float]:
        pending = cache.loading.get(name)
        if pending is not None:
            t0 = time.perf_counter()
            await asyncio.shield(pending)
            return {"loading_wait_time_us": (time.perf_counter() - t0) * 1e6}
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        cache.loading[name] = future
        try:
            timings = await self._download_and_load(table, instance, cache, name)
            future.set_result(None)
            return timings
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # waiters re-raise it; never "exception was never retrieved"
            raise
        finally:
            cache.loading.pop(name, None)

    async def _download_and_load(
        self, table: RoutingTable, instance: Instance, cache: _Cache, name: str
    ) -> dict[str, float]:
        url = self.prefix + name
        t0 = time.perf_counter()
        try:
            directory = await asyncio.to_thread(self.stage, url)
        except StagingError:
            bucket, _, key = url[len("s3://") :].partition("/")
            raise InvalidInvocation(
                f"Failed to download model data(bucket: {bucket}, key: {key}). Please ensure "
                "that there is an object located at the URL and that the role passed to "
                "CreateModel has permissions to download the model."
            ) from None
        downloaded = time.perf_counter()
        size = max(1, _tree_size(directory))
        unloading = 0.0
        while cache.models and cache.used + size > self.budget_bytes:
            victim = next(iter(cache.models))
            u0 = time.perf_counter()
            await self._unload(instance, cache, victim)
            unloading += time.perf_counter() - u0
        process = instance.processes[0]
        body = json.dumps({"model_name": name, "url": str(directory)}).encode()
        l0 = time.perf_counter()
        try:
            response = await process.upstream.request(
                "POST", "/models", body, [("Content-Type", "application/json")], timeout=600
            )
        except UpstreamError as exc:
            raise _load_error(table, name, None, str(exc)) from None
        if response.status == 409:  # loaded by an earlier server life: fine
            pass
        elif not 200 <= response.status < 300:
            raise _load_error(
                table, name, response.status, response.body.decode("utf-8", "replace")
            )
        cache.models[name] = size
        timings = {
            "downloading_time_us": (downloaded - t0) * 1e6,
            "loading_time_us": (time.perf_counter() - l0) * 1e6,
        }
        if unloading:
            timings["unloading_time_us"] = unloading * 1e6
        return timings

    async def _unload(self, instance: Instance, cache: _Cache, name: str) -> None:
        cache.models.pop(name, None)
        process = instance.processes[0]
        with contextlib.suppress(UpstreamError):
            await process.upstream.request("DELETE", f"/models/{quote(name, safe='')}", timeout=60)


def _load_error(table: RoutingTable, name: str, status: int | None, text: str) -> ModelError:
    from sagebrush.jobs.endpoints.router import log_group_arn

    return ModelError(
        f"Failed to load model {name}: {text}",
        original_status=status,
        original_message=text,
        log_stream_arn=log_group_arn(table),
    )


def _tree_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
