"""Endpoint invocation metrics: what SageMaker publishes to CloudWatch for every InvokeEndpoint.

Namespace ``AWS/SageMaker``, dimensions ``EndpointName`` and ``VariantName`` (plus
``ContainerName`` for a pipeline's ``ContainerLatency``); ``LoadedModelCount`` goes to
``/aws/sagemaker/Endpoints``. Units are the ones the SageMaker developer guide lists:
latencies in ``Microseconds``, counts and ratios with unit ``None``.

The calls run on the server's event loop for every request, so they only queue a small
tuple. A background thread folds the queue into per-minute aggregates, one per (account,
region, namespace, metric, dimensions, unit, minute), and writes them through
``MetricStore.put`` every ``flush_interval`` seconds; nothing outlives the flush it went
out with. Counts (0/1 flags, 1/instances) are published as exact values with counts.
Latencies keep percentiles answerable without a row per request: values fall into
logarithmic buckets 1/16 of a doubling wide (about 4.4 %, roughly two significant digits),
and each bucket is published as the mean of its values with their count, plus the exact
minimum and maximum as values of their own. So Sum, SampleCount, Average, Minimum and
Maximum are exact, and a percentile is off by at most one bucket's width.

It also keeps running totals per endpoint and variant (invocations, and failures by the
container's answer) for the operator's Prometheus metrics: a list increment per call.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from sagebrush.jobs.endpoints._batches import BatchWriter
from sagebrush.state.metrics import NO_UNIT, Datapoint, Dimensions, MetricStore, dimensions

__all__ = ["ENDPOINTS_NAMESPACE", "ERROR_CLASSES", "NAMESPACE", "InvocationMetrics"]

log = logging.getLogger(__name__)

NAMESPACE = "AWS/SageMaker"
ENDPOINTS_NAMESPACE = "/aws/sagemaker/Endpoints"
MICROSECONDS = "Microseconds"
BUCKETS_PER_DOUBLING = 16
# How an invocation failed, by the container's answer (the running totals' error labels).
ERROR_CLASSES = ("4xx", "5xx", "none", "other")
WARN_EVERY = 60.0


class _Invocation(NamedTuple):
    account_id: str
    region: str
    endpoint: str
    variant: str
    at: float
    status: int | None
    model_latency_us: float
    overhead_latency_us: float
    instance_count: int
    containers: tuple[tuple[str, float], ...]


class _MultiModel(NamedTuple):
    account_id: str
    region: str
    endpoint: str
    variant: str
    at: float
    cache_hit: bool
    loading_time_us: float | None
    loading_wait_time_us: float | None
    downloading_time_us: float | None
    unloading_time_us: float | None
    loaded_model_count: int | None


class _Series(NamedTuple):
    account_id: str
    region: str
    namespace: str
    metric: str
    dimensions: Dimensions
    unit: str
    minute: int


class _Tally:
    """Exact values and how often each was seen (0/1 flags, 1/instances, model counts)."""

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts: dict[float, int] = {}

    def add(self, value: float) -> None:
        self.counts[value] = self.counts.get(value, 0) + 1

    def points(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        values = sorted(self.counts)
        return tuple(values), tuple(float(self.counts[v]) for v in values)


class _Histogram:
    """Latencies: exact count, min and max, and per-bucket counts and sums."""

    __slots__ = ("buckets", "count", "high", "low")

    def __init__(self) -> None:
        self.count = 0
        self.low = math.inf
        self.high = -math.inf
        self.buckets: dict[int, list[float]] = {}  # bucket -> [count, sum]

    def add(self, value: float) -> None:
        # A negative (or non-finite) latency can only be clock trouble; kept, it would make
        # the store refuse percentiles for the whole period, as CloudWatch does.
        value = value if 0.0 <= value < math.inf else 0.0
        self.count += 1
        self.low = min(self.low, value)
        self.high = max(self.high, value)
        bucket = self.buckets.setdefault(_bucket(value), [0.0, 0.0])
        bucket[0] += 1
        bucket[1] += value

    def points(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Values and counts to publish; call once (it takes the extremes out of buckets)."""
        if self.count == 1:
            return (self.low,), (1.0,)
        # The extremes go out exactly; each bucket's other values as their mean, which
        # lies inside the bucket, so the order of buckets and the sum are both kept.
        for extreme in (self.low, self.high):
            bucket = self.buckets[_bucket(extreme)]
            bucket[0] -= 1
            bucket[1] -= extreme
        values, counts = [self.low], [1.0]
        for index in sorted(self.buckets):
            count, total = self.buckets[index]
            if count > 0:
                values.append(min(self.high, max(self.low, total / count)))
                counts.append(count)
        values.append(self.high)
        counts.append(1.0)
        return tuple(values), tuple(counts)


def _error_class(status: int | None) -> int:
    """The index in :data:`ERROR_CLASSES` of a container's answer that was not 2xx."""
    if status is None:
        return 2
    if 400 <= status < 500:
        return 0
    if 500 <= status < 600:
        return 1
    return 3


def _bucket(value: float) -> int:
    if value <= 0:
        return -(1 << 30)
    return math.floor(math.log2(value) * BUCKETS_PER_DOUBLING)


class InvocationMetrics(BatchWriter["_Invocation | _MultiModel"]):
    """Collects invocation metrics on the request path and publishes them in the background."""

    def __init__(
        self,
        metrics: MetricStore,
        *,
        flush_interval: float = 1.0,
        max_pending: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # Calls queued between flushes; beyond max_pending (a store stalled for a long time)
        # new ones are dropped and counted rather than held.
        super().__init__(
            name="invocation-metrics",
            unit="calls",
            interval=flush_interval,
            max_pending=max_pending,
            log=log,
        )
        self._metrics = metrics
        self._clock = clock
        self._last_warning = -math.inf
        # Running totals since start, per (endpoint, variant): [invocations, then errors by
        # the container's answer: 4xx, 5xx, none, other]. Read by the operator's /metrics.
        self._totals: dict[tuple[str, str], list[int]] = {}

    # --- the request path -------------------------------------------------------------------

    def invocation(
        self,
        account_id: str,
        region: str,
        endpoint: str,
        variant: str,
        *,
        status: int | None,
        model_latency_us: float,
        overhead_latency_us: float,
        instance_count: int,
        containers: Sequence[tuple[str, float]] = (),
    ) -> None:
        """One InvokeEndpoint answered by a variant.

        ``status`` is the container's HTTP status, None when it gave no answer (socket
        error, timeout); ``containers`` are a pipeline's (ContainerName, latency µs).
        """
        totals = self._totals.get((endpoint, variant))
        if totals is None:
            totals = self._totals[(endpoint, variant)] = [0] * (1 + len(ERROR_CLASSES))
        totals[0] += 1
        if status is None or not 200 <= status < 300:
            totals[1 + _error_class(status)] += 1
        self._push(
            _Invocation(
                account_id,
                region,
                endpoint,
                variant,
                self._clock(),
                status,
                model_latency_us,
                overhead_latency_us,
                instance_count,
                tuple(containers) if containers else (),
            )
        )

    def multi_model(
        self,
        account_id: str,
        region: str,
        endpoint: str,
        variant: str,
        *,
        cache_hit: bool,
        loading_time_us: float | None = None,
        loading_wait_time_us: float | None = None,
        downloading_time_us: float | None = None,
        unloading_time_us: float | None = None,
        loaded_model_count: int | None = None,
    ) -> None:
        """One invocation of a multi-model endpoint: the cache outcome and what it cost."""
        self._push(
            _MultiModel(
                account_id,
                region,
                endpoint,
                variant,
                self._clock(),
                cache_hit,
                loading_time_us,
                loading_wait_time_us,
                downloading_time_us,
                unloading_time_us,
                loaded_model_count,
            )
        )

    def totals(self) -> list[tuple[str, str, int, dict[str, int]]]:
        """``(endpoint, variant, invocations, {error class: count})`` since the server
        started; error classes are :data:`ERROR_CLASSES` (the container's answer: 4xx, 5xx,
        none at all, anything else that is not 2xx). Safe to call from any thread."""
        out = []
        for (endpoint, variant), running in list(self._totals.items()):
            counts = list(running)
            errors = dict(zip(ERROR_CLASSES, counts[1:], strict=True))
            out.append((endpoint, variant, counts[0], errors))
        return out

    def _push(self, event: _Invocation | _MultiModel) -> None:
        self._offer(event)

    # --- publishing --------------------------------------------------------------------------

    def _write(self, items: list[_Invocation | _MultiModel]) -> None:
        try:
            aggregator = _Aggregator()
            aggregator.add_all(items)
            batches = _datapoints(aggregator.series)
        except Exception:  # a bug here must not kill the thread or reach a caller
            log.exception("invocation metrics: dropped %d calls", len(items))
            return
        now = self._clock()
        for (account_id, region, namespace), points in batches.items():
            try:
                self._metrics.put(account_id, region, namespace, points, received_at=now)
            except Exception as exc:  # a full disk or a locked database must not stop us
                self._warn(
                    f"could not store {namespace} metrics of account {account_id} in "
                    f"{region}, dropped {len(points)} datapoints: {exc}"
                )

    def _warn(self, message: str) -> None:
        now = self._clock()
        if now - self._last_warning >= WARN_EVERY:
            self._last_warning = now
            log.warning("invocation metrics: %s", message)


def _datapoints(
    aggregates: Mapping[_Series, _Tally | _Histogram],
) -> dict[tuple[str, str, str], list[Datapoint]]:
    """The aggregates as datapoints, grouped by what one ``MetricStore.put`` takes."""
    batches: dict[tuple[str, str, str], list[Datapoint]] = {}
    for series, aggregate in aggregates.items():
        values, counts = aggregate.points()
        point = Datapoint(
            metric_name=series.metric,
            timestamp=series.minute,
            values=values,
            counts=counts,
            dimensions=series.dimensions,
            unit=series.unit,
        )
        batches.setdefault((series.account_id, series.region, series.namespace), []).append(point)
    return batches


class _Aggregator:
    """Folds queued calls into one aggregate per series and minute."""

    def __init__(self) -> None:
        self.series: dict[_Series, _Tally | _Histogram] = {}

    def add_all(self, events: Sequence[_Invocation | _MultiModel]) -> None:
        for event in events:
            variant = dimensions({"EndpointName": event.endpoint, "VariantName": event.variant})
            if isinstance(event, _Invocation):
                self._invocation(event, variant)
            else:
                self._multi_model(event, variant)

    def _add(
        self,
        event: _Invocation | _MultiModel,
        metric: str,
        value: float,
        unit: str,
        dims: Dimensions,
        *,
        namespace: str = NAMESPACE,
    ) -> None:
        minute = int(event.at // 60) * 60
        key = _Series(event.account_id, event.region, namespace, metric, dims, unit, minute)
        aggregate = self.series.get(key)
        if aggregate is None:
            aggregate = self.series[key] = _Histogram() if unit == MICROSECONDS else _Tally()
        aggregate.add(value)

    def _invocation(self, event: _Invocation, dims: Dimensions) -> None:
        status = event.status
        client_error = status is not None and 400 <= status < 500
        server_error = status is not None and 500 <= status < 600
        answered_ok = status is not None and 200 <= status < 300
        self._add(event, "Invocations", 1.0, NO_UNIT, dims)
        self._add(event, "Invocation4XXErrors", float(client_error), NO_UNIT, dims)
        self._add(event, "Invocation5XXErrors", float(server_error), NO_UNIT, dims)
        self._add(event, "InvocationModelErrors", float(not answered_ok), NO_UNIT, dims)
        per_instance = 1.0 / max(1, event.instance_count)
        self._add(event, "InvocationsPerInstance", per_instance, NO_UNIT, dims)
        self._add(event, "ModelLatency", event.model_latency_us, MICROSECONDS, dims)
        self._add(event, "OverheadLatency", event.overhead_latency_us, MICROSECONDS, dims)
        for container, latency in event.containers:
            with_container = dimensions((*dims, ("ContainerName", container)))
            self._add(event, "ContainerLatency", latency, MICROSECONDS, with_container)

    def _multi_model(self, event: _MultiModel, dims: Dimensions) -> None:
        self._add(event, "ModelCacheHit", float(event.cache_hit), NO_UNIT, dims)
        timings = (
            ("ModelLoadingTime", event.loading_time_us),
            ("ModelLoadingWaitTime", event.loading_wait_time_us),
            ("ModelDownloadingTime", event.downloading_time_us),
            ("ModelUnloadingTime", event.unloading_time_us),
        )
        for metric, value in timings:
            if value is not None:
                self._add(event, metric, value, MICROSECONDS, dims)
        if event.loaded_model_count is not None:
            count = float(event.loaded_model_count)
            self._add(
                event, "LoadedModelCount", count, NO_UNIT, dims, namespace=ENDPOINTS_NAMESPACE
            )
