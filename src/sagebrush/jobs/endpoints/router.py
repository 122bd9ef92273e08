"""InvokeEndpoint's path: pick a variant and an instance, call its containers, account.

The controller publishes one immutable :class:`RoutingTable` per endpoint (a dict entry
swapped whole, from its thread); the router only reads them, on the event loop. A
variant is chosen by weight (``TargetVariant`` pins one), an instance by fewest requests
in flight. During a blue/green update the table holds routes of both fleets under the same
variant names, with the weights of the traffic shift; the controller retires the old
fleet's instances only once their in-flight count is back to zero.

Each finished invocation goes to the metrics aggregator and, when sampled, to data capture;
both only queue (no I/O here). Shadow variants get a copy of the request on a task of
their own; their answers are counted and dropped.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sagebrush.jobs.endpoints.capture import CaptureConfig, CaptureWriter
from sagebrush.jobs.endpoints.errors import (
    InvalidInvocation,
    InvocationError,
    ModelError,
    PayloadTooLarge,
    ServiceUnavailable,
)
from sagebrush.jobs.endpoints.fleet import Instance, Process
from sagebrush.jobs.endpoints.invocation_metrics import InvocationMetrics
from sagebrush.jobs.endpoints.upstream import Response, ResponseTooLarge, UpstreamError

if TYPE_CHECKING:
    from sagebrush.jobs.endpoints.multi_model import MultiModelSet

MAX_PAYLOAD = 6 * 1024 * 1024  # 6 MiB, request and response
MAX_HOP = 5 * 1024 * 1024  # between the containers of a pipeline
TIMEOUT = 60.0

SINGLE, SERIAL, DIRECT, MULTI_MODEL = "single", "serial", "direct", "multi-model"

Key = tuple[str, str, str]  # account, region, endpoint name


@dataclass(frozen=True)
class Route:
    """One production (or shadow) variant of one fleet."""

    variant: str
    fleet: str
    weight: float
    instances: tuple[Instance, ...]
    mode: str
    multi_model: MultiModelSet | None = None

    @property
    def hostnames(self) -> tuple[str, ...]:
        return tuple(p.hostname for p in self.instances[0].processes) if self.instances else ()


@dataclass(frozen=True)
class Shadow:
    route: Route
    fraction: float  # of production requests copied to it


@dataclass(frozen=True)
class RoutingTable:
    account_id: str
    region: str
    endpoint: str
    routes: tuple[Route, ...]
    shadows: tuple[Shadow, ...] = ()
    capture: CaptureConfig | None = None
    # Smooth weighted round robin (nginx's): each route's credit grows by its weight per
    # pick and the chosen one pays back the total, so any window of requests is split as
    # the weights say — exactly, not just on average as a random draw would.
    _weights: tuple[float, ...] = field(init=False, repr=False, compare=False)
    _credit: list[float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        weights = [r.weight if r.instances else 0.0 for r in self.routes]
        if not any(w > 0 for w in weights):
            # Every weight zero: SageMaker then splits evenly among the variants.
            weights = [1.0 if r.instances else 0.0 for r in self.routes]
        object.__setattr__(self, "_weights", tuple(weights))
        object.__setattr__(self, "_credit", [0.0] * len(weights))

    def choose(self, rng: random.Random, variant: str | None) -> Route:
        if variant is not None:
            return self._pinned(rng, variant)
        weights, credit = self._weights, self._credit
        if len(weights) == 1:
            if weights[0] > 0:
                return self.routes[0]
        else:
            best, total = -1, 0.0
            for i, weight in enumerate(weights):
                if weight > 0:
                    credit[i] += weight
                    total += weight
                    if best < 0 or credit[i] > credit[best]:
                        best = i
            if best >= 0:
                credit[best] -= total
                return self.routes[best]
        raise ServiceUnavailable(f"Endpoint {self.endpoint} has no instance in service.")

    def _pinned(self, rng: random.Random, variant: str) -> Route:
        routes = [r for r in self.routes if r.variant == variant and r.instances]
        if not routes:
            if any(r.variant == variant for r in self.routes):
                raise ServiceUnavailable(
                    f"Variant {variant} of endpoint {self.endpoint} has no instance in service."
                )
            raise InvalidInvocation(
                f"The variant {variant} does not exist for endpoint {self.endpoint}."
            )
        if len(routes) == 1:
            return routes[0]
        # The same variant in two fleets during an update: the shift's shares.
        return rng.choices(routes, [max(r.weight, 1e-9) for r in routes])[0]


@dataclass(frozen=True)
class Invocation:
    body: bytes
    content_type: str | None
    variant: str
    custom_attributes: str | None


@dataclass(frozen=True)
class Request:
    body: bytes
    content_type: str | None
    accept: str | None
    custom_attributes: str | None = None
    target_variant: str | None = None
    target_model: str | None = None
    target_container: str | None = None
    inference_id: str | None = None


class Router:
    def __init__(
        self,
        capture: CaptureWriter,
        metrics: InvocationMetrics,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.capture = capture
        self.metrics = metrics
        self.tables: dict[Key, RoutingTable] = {}
        self.rng = rng or random.Random()
        self._background: set[asyncio.Task[None]] = set()

    def publish(self, key: Key, table: RoutingTable | None) -> None:
        if table is None:
            self.tables.pop(key, None)
        else:
            self.tables[key] = table

    async def invoke(self, account_id: str, region: str, name: str, request: Request) -> Invocation:
        started = time.perf_counter()
        if len(request.body) > MAX_PAYLOAD:
            raise PayloadTooLarge(f"HTTP content length exceeded {MAX_PAYLOAD} bytes.")
        table = self.tables.get((account_id, region, name))
        if table is None:
            raise InvalidInvocation(f"Endpoint {name} of account {account_id} not found.")
        route = table.choose(self.rng, request.target_variant)
        status: int | None = None
        model_us = 0.0
        hops: list[tuple[str, float]] = []
        counted = True  # requests refused before a container saw them are not invocations
        try:
            response, model_us, hops = await self._call(table, route, request)
            status = response.status
        except ModelError as exc:
            status, model_us = exc.original_status, exc.latency_us
            raise
        except InvocationError:
            counted = False
            raise
        finally:
            total_us = (time.perf_counter() - started) * 1e6
            if counted:
                self._count(table, route, status, model_us=model_us, total_us=total_us, hops=hops)
        for shadow in table.shadows:
            if self.rng.random() < shadow.fraction:
                self._spawn(self._shadow(table, shadow.route, request))
        if table.capture is not None and table.capture.sampled(self.rng):
            self.capture.capture(
                table.capture,
                name,
                route.variant,
                request_body=request.body,
                request_content_type=request.content_type,
                response_body=response.body,
                response_content_type=response.headers.get("content-type"),
                inference_id=request.inference_id,
                event_id=str(uuid.uuid4()),
                event_time=time.time(),
            )
        return Invocation(
            response.body,
            response.headers.get("content-type"),
            route.variant,
            response.headers.get("x-amzn-sagemaker-custom-attributes"),
        )

    def _count(
        self,
        table: RoutingTable,
        route: Route,
        status: int | None,
        *,
        model_us: float,
        total_us: float,
        hops: list[tuple[str, float]],
    ) -> None:
        self.metrics.invocation(
            table.account_id,
            table.region,
            table.endpoint,
            route.variant,
            status=status,
            model_latency_us=model_us,
            overhead_latency_us=max(0.0, total_us - model_us),
            instance_count=len(route.instances),
            containers=hops if route.mode == SERIAL else (),
        )

    async def _call(
        self, table: RoutingTable, route: Route, request: Request
    ) -> tuple[Response, float, list[tuple[str, float]]]:
        if request.target_model is not None and route.mode != MULTI_MODEL:
            raise InvalidInvocation(
                f"Endpoint {table.endpoint} is not a multi-model endpoint and does not support "
                "target model header."
            )
        if route.mode == MULTI_MODEL:
            assert route.multi_model is not None
            if not request.target_model:
                raise InvalidInvocation(
                    "TargetModel header must be specified for multi-model endpoint "
                    f"{table.endpoint}."
                )
            return await route.multi_model.invoke(table, route, request, self.metrics)
        instance = _pick(route.instances)
        instance.inflight += 1
        try:
            if route.mode == DIRECT:
                return await self._direct(table, instance, request)
            if request.target_container is not None:
                raise InvalidInvocation(
                    "TargetContainerHostname may only be specified for an endpoint whose "
                    "model uses the Direct inference execution mode."
                )
            if route.mode == SERIAL:
                return await self._serial(table, instance, request)
            process = instance.processes[0]
            t0 = time.perf_counter()
            response = await call_container(table, process, "/invocations", request, "primary")
            return response, (time.perf_counter() - t0) * 1e6, []
        finally:
            instance.inflight -= 1

    async def _direct(
        self, table: RoutingTable, instance: Instance, request: Request
    ) -> tuple[Response, float, list[tuple[str, float]]]:
        if request.target_container is None:
            raise InvalidInvocation(
                "TargetContainerHostname must be specified for an endpoint whose model "
                "uses the Direct inference execution mode."
            )
        for process in instance.processes:
            if process.hostname == request.target_container:
                t0 = time.perf_counter()
                response = await call_container(
                    table, process, "/invocations", request, process.hostname
                )
                return response, (time.perf_counter() - t0) * 1e6, []
        raise InvalidInvocation(
            f"The container {request.target_container} does not exist in endpoint {table.endpoint}."
        )

    async def _serial(
        self, table: RoutingTable, instance: Instance, request: Request
    ) -> tuple[Response, float, list[tuple[str, float]]]:
        hops: list[tuple[str, float]] = []
        body, content_type = request.body, request.content_type
        response: Response | None = None
        processes = instance.processes
        for i, process in enumerate(processes):
            hop = Request(body, content_type, request.accept, request.custom_attributes)
            t0 = time.perf_counter()
            response = await call_container(table, process, "/invocations", hop, process.hostname)
            hops.append((process.hostname, (time.perf_counter() - t0) * 1e6))
            if i + 1 < len(processes) and len(response.body) > MAX_HOP:
                nxt = processes[i + 1].hostname
                raise ModelError(
                    f"Received response from {process.hostname} with status code "
                    f"{response.status}. However, the request payload from {process.hostname} "
                    f"to {nxt} is {len(response.body)} bytes, which has exceeded the maximum "
                    "limit of 5 MB.",
                    original_status=response.status,
                    original_message="",
                    log_stream_arn=log_group_arn(table),
                )
            body = response.body
            content_type = response.headers.get("content-type", content_type)
        assert response is not None
        return response, sum(us for _, us in hops), hops

    async def _shadow(self, table: RoutingTable, route: Route, request: Request) -> None:
        started = time.perf_counter()
        status: int | None = None
        model_us = 0.0
        try:
            response, model_us, _ = await self._call(table, route, request)
            status = response.status
        except ModelError as exc:
            status, model_us = exc.original_status, exc.latency_us
        except InvocationError:
            return
        total_us = (time.perf_counter() - started) * 1e6
        self._count(table, route, status, model_us=model_us, total_us=total_us, hops=[])

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _pick(instances: Sequence[Instance]) -> Instance:
    best = instances[0]
    if len(instances) == 1:
        return best
    for instance in instances[1:]:
        if instance.inflight < best.inflight:
            best = instance
    if best.inflight:
        return best
    # Idle instances share the load rather than the first taking it all.
    idle = [i for i in instances if not i.inflight]
    return idle[random.randrange(len(idle))]


async def call_container(
    table: RoutingTable, process: Process, path: str, request: Request, name: str
) -> Response:
    """POST to a container; a non-2xx answer or none at all is a ``ModelError``."""
    headers: list[tuple[str, str]] = []
    if request.content_type:
        headers.append(("Content-Type", request.content_type))
    if request.accept:
        headers.append(("Accept", request.accept))
    if request.custom_attributes:
        headers.append(("X-Amzn-SageMaker-Custom-Attributes", request.custom_attributes))
    started = time.perf_counter()
    try:
        response = await process.upstream.request(
            "POST", path, request.body, headers, timeout=TIMEOUT, max_body=MAX_PAYLOAD
        )
    except ResponseTooLarge:
        raise model_error(
            table,
            name,
            None,
            f"Response payload from container {name} exceeded the maximum of {MAX_PAYLOAD} bytes.",
        ) from None
    except UpstreamError as exc:
        text = str(exc)
        if text.startswith("no response within"):
            message = (
                f"Your invocation timed out while waiting for a response from container "
                f"{name}. Review the latency metrics for each container in Amazon "
                "CloudWatch, resolve the issue, and try again."
            )
        else:
            message = f"Received no valid response from container {name}: {text}."
        raise model_error(table, name, None, message) from None
    if not 200 <= response.status < 300:
        original = response.body.decode("utf-8", "replace")
        kind = "client" if response.status < 500 else "server"
        region, account = table.region, table.account_id
        message = (
            f"Received {kind} error ({response.status}) from {name} with message "
            f'"{original}". See https://{region}.console.aws.amazon.com/cloudwatch/home?'
            f"region={region}#logEventViewer:group=/aws/sagemaker/Endpoints/{table.endpoint} "
            f"in account {account} for more information."
        )
        error = ModelError(
            message,
            original_status=response.status,
            original_message=original,
            log_stream_arn=log_group_arn(table),
        )
        error.latency_us = (time.perf_counter() - started) * 1e6
        raise error
    return response


def model_error(table: RoutingTable, name: str, status: int | None, message: str) -> ModelError:
    return ModelError(
        message, original_status=status, original_message="", log_stream_arn=log_group_arn(table)
    )


def log_group_arn(table: RoutingTable) -> str:
    return (
        f"arn:aws:logs:{table.region}:{table.account_id}:log-group:"
        f"/aws/sagemaker/Endpoints/{table.endpoint}"
    )
