"""Prometheus metrics for operators: ``GET /metrics`` (and ``GET /_sagebrush/metrics``).

Every app has a registry of its own (tests run several apps in one process), holding
collectors that compute their families when scraped:

- requests by service, operation and HTTP status, errors by AWS error code, and request
  latencies (:class:`RequestMetrics`: plain counters the gateway bumps on the event loop,
  a dict lookup, a bisect and a few increments per request);
- jobs and endpoints by kind and status (one ``GROUP BY`` over the resource table, run on a
  worker thread: the scrape is rendered off the event loop);
- endpoint invocations and their failures by endpoint and variant (the running totals the
  router's invocation-metrics aggregator keeps);
- instances and processes running now, from the controllers' live state;
- the server process's CPU, memory and file descriptors (prometheus_client's
  ``ProcessCollector``).

``/metrics`` is also a path-style S3 URL (ListObjects on a bucket named ``metrics``), so
it is served as metrics only when the request is unsigned and has no query string
(:func:`is_scrape`): every AWS client signs, Prometheus does not. ``/_sagebrush/metrics``
is always metrics.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from sagebrush import __version__
from sagebrush.jobs.endpoints.invocation_metrics import ERROR_CLASSES
from sagebrush.jobs.endpoints.status import LIFECYCLE as ENDPOINT
from sagebrush.jobs.lifecycle import Lifecycle
from sagebrush.jobs.training.status import LIFECYCLE as TRAINING
from sagebrush.jobs.transform.status import LIFECYCLE as TRANSFORM
from sagebrush.jobs.tuning.status import LIFECYCLE as TUNING
from sagebrush.services.base import Runtime
from sagebrush.state.resources import ResourceStore

# Request latency buckets, in seconds: sub-millisecond API calls to minute-long uploads.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_LE = (*(repr(b) for b in BUCKETS), "+Inf")

# Resource kinds with a lifecycle, as the ``kind`` label names them; every status of
# theirs is reported (0 when no record has it), so a dashboard's series never vanish.
JOB_KINDS: dict[str, tuple[str, Lifecycle]] = {
    TRAINING.kind: ("training", TRAINING),
    TRANSFORM.kind: ("transform", TRANSFORM),
    TUNING.kind: ("tuning", TUNING),
    ENDPOINT.kind: ("endpoint", ENDPOINT),
}
# Records without a lifecycle (their status is always "Created").
_NOT_JOBS = frozenset({"model", "endpoint-config"})


class _Series:
    __slots__ = ("buckets", "errors", "statuses", "sum")

    def __init__(self) -> None:
        self.statuses: dict[int, int] = {}
        self.errors: dict[str, int] = {}
        self.buckets = [0] * (len(BUCKETS) + 1)  # the last one: above every bound
        self.sum = 0.0


class RequestMetrics:
    """Requests by (service, operation): counts by HTTP status and AWS error code, and a
    latency histogram. Written on the event loop only; read from any thread (copies)."""

    def __init__(self) -> None:
        self._series: dict[tuple[str, str], _Series] = {}

    def observe(
        self, service: str, operation: str, status: int, seconds: float, code: str | None = None
    ) -> None:
        series = self._series.get((service, operation))
        if series is None:
            series = self._series[(service, operation)] = _Series()
        statuses = series.statuses
        statuses[status] = statuses.get(status, 0) + 1
        if code is not None:
            series.errors[code] = series.errors.get(code, 0) + 1
        series.buckets[bisect_left(BUCKETS, seconds)] += 1
        series.sum += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "sagebrush_requests",
            "Requests answered, by AWS service, operation and HTTP status.",
            labels=["service", "operation", "status"],
        )
        errors = CounterMetricFamily(
            "sagebrush_request_errors",
            "Requests answered with an AWS error, by service, operation and error code.",
            labels=["service", "operation", "code"],
        )
        latency = HistogramMetricFamily(
            "sagebrush_request_duration_seconds",
            "Time from the request's arrival to the last byte of its response.",
            labels=["service", "operation"],
        )
        for (service, operation), series in sorted(list(self._series.items())):
            for status, count in sorted(dict(series.statuses).items()):
                requests.add_metric([service, operation, str(status)], count)
            for code, count in sorted(dict(series.errors).items()):
                errors.add_metric([service, operation, code], count)
            cumulative, buckets = 0, []
            for le, count in zip(_LE, list(series.buckets), strict=True):
                cumulative += count
                buckets.append((le, float(cumulative)))
            latency.add_metric([service, operation], buckets, series.sum)
        yield from (requests, errors, latency)


class JobsCollector:
    """Jobs and endpoints by kind and status, counted in the database at scrape time."""

    def __init__(self, store: ResourceStore) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "sagebrush_jobs",
            "Training, transform and tuning jobs and endpoints, by kind and status.",
            labels=["kind", "status"],
        )
        counts: dict[tuple[str, str], int] = {}
        for name, lifecycle in JOB_KINDS.values():
            for status in lifecycle.primary.values():
                counts[(name, status)] = 0
        for kind, status, count in self.store.count_by_status():
            if kind in _NOT_JOBS:
                continue
            name = JOB_KINDS[kind][0] if kind in JOB_KINDS else kind
            counts[(name, status)] = counts.get((name, status), 0) + count
        for (name, status), count in sorted(counts.items()):
            family.add_metric([name, status], count)
        yield family


class LiveCollector:
    """Endpoint invocations, and the instances and processes the controllers run now."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        yield from self._invocations()
        yield from self._instances()

    def _invocations(self) -> Iterable[Metric]:
        invocations = CounterMetricFamily(
            "sagebrush_endpoint_invocations",
            "InvokeEndpoint calls a variant's containers answered (or failed to), as "
            "CloudWatch's Invocations counts them; shadow variants included.",
            labels=["endpoint", "variant"],
        )
        errors = CounterMetricFamily(
            "sagebrush_endpoint_invocation_errors",
            "Invocations whose container did not answer 2xx, by its answer: 4xx, 5xx, none "
            "(no answer, timeout) or other.",
            labels=["endpoint", "variant", "error"],
        )
        endpoints = self.runtime.endpoints
        totals = endpoints.invocation_metrics.totals() if endpoints is not None else []
        for endpoint, variant, count, failed in sorted(totals):
            invocations.add_metric([endpoint, variant], count)
            for error in ERROR_CLASSES:
                errors.add_metric([endpoint, variant, error], failed[error])
        return (invocations, errors)

    def _instances(self) -> Iterable[Metric]:
        endpoint_instances = GaugeMetricFamily(
            "sagebrush_endpoint_instances",
            "ML instances running behind an endpoint's variant (both fleets of an update).",
            labels=["endpoint", "variant"],
        )
        transform_instances = GaugeMetricFamily(
            "sagebrush_transform_instances",
            "ML instances of a running batch transform job.",
            labels=["job"],
        )
        servers = GaugeMetricFamily(
            "sagebrush_model_server_processes",
            "Model-server processes (one per container of an instance), by owner.",
            labels=["kind", "name"],
        )
        training = GaugeMetricFamily(
            "sagebrush_training_instance_processes",
            "Training instance processes running now, by training job.",
            labels=["job"],
        )
        runtime = self.runtime
        if runtime.endpoints is not None:
            per_endpoint: dict[str, int] = {}
            for endpoint, variant, instances, processes in sorted(runtime.endpoints.live_counts()):
                endpoint_instances.add_metric([endpoint, variant], instances)
                per_endpoint[endpoint] = per_endpoint.get(endpoint, 0) + processes
            for endpoint, processes in per_endpoint.items():
                servers.add_metric(["endpoint", endpoint], processes)
        if runtime.transform is not None:
            for job, instances, processes in sorted(runtime.transform.live_counts()):
                transform_instances.add_metric([job], instances)
                servers.add_metric(["transform", job], processes)
        if runtime.training is not None:
            for job, processes in sorted(runtime.training.running_instances()):
                training.add_metric([job], processes)
        return (endpoint_instances, transform_instances, servers, training)


class _Info:
    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            "sagebrush_info", "The server's version (always 1).", labels=["version"]
        )
        info.add_metric([__version__], 1)
        yield info


def metrics_registry(runtime: Runtime, requests: RequestMetrics) -> CollectorRegistry:
    """A registry of this app's own: never the process-wide default one."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Info())
    registry.register(requests)
    registry.register(JobsCollector(ResourceStore(runtime.db)))
    registry.register(LiveCollector(runtime))
    ProcessCollector(registry=registry)
    return registry


def is_scrape(scope: Scope) -> bool:
    """An unsigned GET/HEAD of ``/metrics`` without a query string: Prometheus, not S3
    (every AWS client signs; a presigned URL or ListObjectsV2 has a query string)."""
    if scope["method"] not in ("GET", "HEAD") or scope.get("query_string"):
        return False
    return all(key != b"authorization" for key, _ in scope["headers"])


class MetricsExporter:
    """The exposition as a bare ASGI app: text format, or OpenMetrics when asked for."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        accept = ""
        for key, value in scope["headers"]:
            if key == b"accept":
                accept = value.decode("latin-1")
        encoder, content_type = choose_encoder(accept)
        # The database query and /proc reads run on a worker thread, off the event loop.
        body = await run_in_threadpool(encoder, self.registry)
        headers = [
            (b"content-type", content_type.encode("latin-1")),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        head = scope["method"] == "HEAD"
        await send({"type": "http.response.body", "body": b"" if head else body})
