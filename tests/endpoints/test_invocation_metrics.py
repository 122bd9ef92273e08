"""Invocation metrics: per-minute aggregates read back through the metric store."""

from __future__ import annotations

import logging
import math
import random
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sagebrush.jobs.endpoints.invocation_metrics import InvocationMetrics
from sagebrush.state.db import Database
from sagebrush.state.metrics import (
    Aggregate,
    DatapointRow,
    MetricRecord,
    MetricStore,
    StatisticsQuery,
)

ACCOUNT, REGION = "123456789012", "us-east-1"
T0 = 1_700_000_040  # a whole minute
VARIANT = (("EndpointName", "ep"), ("VariantName", "AllTraffic"))


@pytest.fixture
def store(db: Database) -> MetricStore:
    return MetricStore(db)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def collector(
    store: MetricStore,
    clock: Clock | None = None,
    *,
    flush_interval: float = 1.0,
    max_pending: int = 100_000,
) -> InvocationMetrics:
    return InvocationMetrics(
        store,
        flush_interval=flush_interval,
        max_pending=max_pending,
        clock=clock or Clock(T0 + 5),
    )


def invoke(
    metrics: InvocationMetrics,
    status: int | None = 200,
    *,
    model_latency_us: float = 1000.0,
    overhead_latency_us: float = 50.0,
    instance_count: int = 1,
    containers: list[tuple[str, float]] | None = None,
    endpoint: str = "ep",
    account: str = ACCOUNT,
) -> None:
    metrics.invocation(
        account,
        REGION,
        endpoint,
        "AllTraffic",
        status=status,
        model_latency_us=model_latency_us,
        overhead_latency_us=overhead_latency_us,
        instance_count=instance_count,
        containers=containers or (),
    )


def stats(
    store: MetricStore,
    metric: str,
    *,
    namespace: str = "AWS/SageMaker",
    dims: tuple[tuple[str, str], ...] = VARIANT,
    percentiles: tuple[float, ...] = (),
    account: str = ACCOUNT,
) -> list[Aggregate]:
    query = StatisticsQuery(
        namespace=namespace,
        metric_name=metric,
        dimensions=dims,
        start=T0,
        end=T0 + 600,
        period=60,
        percentiles=percentiles,
    )
    return store.statistics(account, REGION, query)


def flags(count: int, ones: int) -> Aggregate:
    """What a minute of 0/1 samples reads back as."""
    return Aggregate(
        timestamp=T0,
        unit="None",
        sample_count=count,
        sum=ones,
        minimum=0.0 if ones < count else 1.0,
        maximum=1.0 if ones else 0.0,
    )


def test_each_invocation_counts_once_with_its_outcome(store: MetricStore) -> None:
    metrics = collector(store)
    for status in (200, 201, 404, 500, None, 503):
        invoke(metrics, status, instance_count=4)
    metrics.flush()

    assert stats(store, "Invocations") == [flags(6, 6)]
    assert stats(store, "Invocation4XXErrors") == [flags(6, 1)]
    assert stats(store, "Invocation5XXErrors") == [flags(6, 2)]
    assert stats(store, "InvocationModelErrors") == [flags(6, 4)]
    assert stats(store, "InvocationsPerInstance") == [
        Aggregate(T0, "None", sample_count=6, sum=1.5, minimum=0.25, maximum=0.25)
    ]
    assert stats(store, "ModelLatency") == [
        Aggregate(T0, "Microseconds", sample_count=6, sum=6000.0, minimum=1000.0, maximum=1000.0)
    ]
    names = {m.metric_name for m in store.list_metrics(ACCOUNT, REGION)}
    assert names == {
        "Invocations",
        "Invocation4XXErrors",
        "Invocation5XXErrors",
        "InvocationModelErrors",
        "InvocationsPerInstance",
        "ModelLatency",
        "OverheadLatency",
    }


def test_latencies_keep_exact_totals_and_close_percentiles(
    store: MetricStore, db: Database
) -> None:
    rng = random.Random(11)
    model = [rng.lognormvariate(math.log(20_000), 0.6) for _ in range(3000)]
    metrics = collector(store)
    for latency in model:
        invoke(metrics, model_latency_us=latency, overhead_latency_us=0.0)
    metrics.flush()

    [got] = stats(store, "ModelLatency", percentiles=(50.0, 90.0, 99.0, 100.0))
    assert got.sample_count == 3000
    assert got.sum == pytest.approx(sum(model), rel=1e-12)
    assert (got.minimum, got.maximum) == (min(model), max(model))
    ordered = sorted(model)
    for p in (50.0, 90.0, 99.0):
        exact = ordered[math.ceil(p / 100 * len(ordered)) - 1]  # nearest rank
        assert got.percentiles[p] == pytest.approx(exact, rel=0.045), p
    assert got.percentiles[100.0] == max(model)
    [overhead] = stats(store, "OverheadLatency", percentiles=(99.0,))
    assert overhead == Aggregate(T0, "Microseconds", 3000, 0.0, 0.0, 0.0, {99.0: 0.0})

    # Buckets, not a row per request.
    with db.session() as session:
        rows = session.scalar(select(func.count()).select_from(DatapointRow))
    assert rows is not None and rows < 400


def test_minutes_are_aggregated_apart(store: MetricStore) -> None:
    clock = Clock(T0 + 59.9)
    metrics = collector(store, clock)
    invoke(metrics, model_latency_us=10.0)
    clock.now = T0 + 60.0
    invoke(metrics, model_latency_us=30.0)
    invoke(metrics, model_latency_us=50.0)
    metrics.flush()
    assert stats(store, "ModelLatency", percentiles=(50.0,)) == [
        Aggregate(T0, "Microseconds", 1, 10.0, 10.0, 10.0, {50.0: 10.0}),
        Aggregate(T0 + 60, "Microseconds", 2, 80.0, 30.0, 50.0, {50.0: 30.0}),
    ]


def test_flushes_within_a_minute_add_up(store: MetricStore) -> None:
    metrics = collector(store)
    invoke(metrics, 200)
    metrics.flush()
    invoke(metrics, 500)
    invoke(metrics, 502)
    metrics.flush()
    assert stats(store, "Invocations") == [flags(3, 3)]
    assert stats(store, "Invocation5XXErrors") == [flags(3, 2)]


def test_pipelines_report_each_container(store: MetricStore) -> None:
    metrics = collector(store)
    invoke(metrics, containers=[("prep", 100.0), ("model", 900.0)], model_latency_us=1000.0)
    invoke(metrics, containers=[("prep", 300.0), ("model", 700.0)], model_latency_us=1000.0)
    metrics.flush()
    for container, expected in (("prep", (100.0, 300.0)), ("model", (700.0, 900.0))):
        dims = (*VARIANT, ("ContainerName", container))
        assert stats(store, "ContainerLatency", dims=dims) == [
            Aggregate(T0, "Microseconds", 2, sum(expected), *expected)
        ]
    assert stats(store, "ModelLatency") == [
        Aggregate(T0, "Microseconds", 2, 2000.0, 1000.0, 1000.0)
    ]


def test_multi_model_metrics(store: MetricStore) -> None:
    metrics = collector(store)
    metrics.multi_model(
        ACCOUNT,
        REGION,
        "ep",
        "AllTraffic",
        cache_hit=False,
        loading_time_us=5000.0,
        loading_wait_time_us=7000.0,
        downloading_time_us=1500.0,
        loaded_model_count=1,
    )
    metrics.multi_model(ACCOUNT, REGION, "ep", "AllTraffic", cache_hit=True, loaded_model_count=2)
    metrics.multi_model(ACCOUNT, REGION, "ep", "AllTraffic", cache_hit=True, unloading_time_us=80.0)
    metrics.flush()

    assert stats(store, "ModelCacheHit") == [flags(3, 2)]
    for metric, value in (
        ("ModelLoadingTime", 5000.0),
        ("ModelLoadingWaitTime", 7000.0),
        ("ModelDownloadingTime", 1500.0),
        ("ModelUnloadingTime", 80.0),
    ):
        assert stats(store, metric) == [Aggregate(T0, "Microseconds", 1, value, value, value)]
    assert stats(store, "LoadedModelCount", namespace="/aws/sagemaker/Endpoints") == [
        Aggregate(T0, "None", 2, 3.0, 1.0, 2.0)
    ]
    assert store.list_metrics(ACCOUNT, REGION, namespace="/aws/sagemaker/Endpoints") == [
        MetricRecord("/aws/sagemaker/Endpoints", "LoadedModelCount", VARIANT, T0 + 5)
    ]


def test_accounts_and_endpoints_are_kept_apart(store: MetricStore) -> None:
    metrics = collector(store)
    invoke(metrics)
    invoke(metrics, endpoint="other")
    invoke(metrics, account="210987654321")
    invoke(metrics, account="210987654321")
    metrics.flush()
    assert stats(store, "Invocations") == [flags(1, 1)]
    other = (("EndpointName", "other"), ("VariantName", "AllTraffic"))
    assert stats(store, "Invocations", dims=other) == [flags(1, 1)]
    assert stats(store, "Invocations", account="210987654321") == [flags(2, 2)]


def test_a_full_queue_drops_and_counts(store: MetricStore) -> None:
    metrics = collector(store, max_pending=5)
    for _ in range(8):
        invoke(metrics)
    assert metrics.dropped == 3
    metrics.flush()
    assert stats(store, "Invocations") == [flags(5, 5)]
    invoke(metrics)  # room again after the flush
    assert metrics.dropped == 3


def test_a_failing_store_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    database = Database(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables yet
    store = MetricStore(database)
    metrics = collector(store)
    caplog.set_level(logging.WARNING, logger="sagebrush.jobs.endpoints.invocation_metrics")
    invoke(metrics)
    metrics.flush()
    invoke(metrics)
    metrics.flush()
    assert len(caplog.records) == 1  # once a minute
    assert "dropped 7 datapoints" in caplog.records[0].getMessage()

    database.migrate()
    invoke(metrics)
    metrics.flush()
    assert stats(store, "Invocations") == [flags(1, 1)]
    database.dispose()


def test_background_thread_publishes_and_close_flushes(store: MetricStore) -> None:
    periodic = collector(store, flush_interval=0.05)
    periodic.start()
    invoke(periodic)
    deadline = time.monotonic() + 5
    while not stats(store, "Invocations") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stats(store, "Invocations") == [flags(1, 1)]
    periodic.close()

    hourly = collector(store, flush_interval=3600)
    hourly.start()
    invoke(hourly)
    started = time.monotonic()
    hourly.close()
    assert time.monotonic() - started < 5
    assert stats(store, "Invocations") == [flags(2, 2)]
    invoke(hourly)
    assert hourly.dropped == 1


def test_a_call_costs_microseconds(store: MetricStore) -> None:
    metrics = InvocationMetrics(store, max_pending=100_000)
    calls = 20_000
    started = time.perf_counter()
    for _ in range(calls):
        metrics.invocation(
            ACCOUNT,
            REGION,
            "ep",
            "AllTraffic",
            status=200,
            model_latency_us=1234.0,
            overhead_latency_us=56.0,
            instance_count=2,
        )
    per_call_us = (time.perf_counter() - started) / calls * 1e6
    assert metrics.dropped == 0
    assert per_call_us < 100, per_call_us
