"""The operator's Prometheus metrics: collectors, the scrape rule, the exposition."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from sagebrush.gateway.metrics import (
    BUCKETS,
    JobsCollector,
    LiveCollector,
    MetricsExporter,
    RequestMetrics,
    is_scrape,
    metrics_registry,
)
from sagebrush.jobs.endpoints.invocation_metrics import InvocationMetrics
from sagebrush.state.db import Database
from sagebrush.state.metrics import MetricStore
from sagebrush.state.resources import ResourceStore


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'meta.db'}")
    database.migrate()
    yield database
    database.dispose()


def samples(collector: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample a collector yields, keyed by (name, sorted labels)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in collector.collect()
        for s in family.samples
    }


def parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


# --- requests ----------------------------------------------------------------------------------


def test_requests_count_by_status_and_code_with_a_latency_histogram() -> None:
    requests = RequestMetrics()
    requests.observe("s3", "PutObject", 200, 0.0004)
    requests.observe("s3", "PutObject", 200, 0.003)
    requests.observe("s3", "PutObject", 404, 0.02, "NoSuchBucket")
    requests.observe("sagemaker", "CreateTrainingJob", 501, 120.0, "NotImplemented")
    found = samples(requests)
    put = (("operation", "PutObject"), ("service", "s3"))
    assert found[("sagebrush_requests_total", (*put, ("status", "200")))] == 2
    assert found[("sagebrush_requests_total", (*put, ("status", "404")))] == 1
    code = (("code", "NoSuchBucket"), ("operation", "PutObject"), ("service", "s3"))
    assert found[("sagebrush_request_errors_total", code)] == 1
    assert found[("sagebrush_request_duration_seconds_count", put)] == 3
    assert found[("sagebrush_request_duration_seconds_sum", put)] == pytest.approx(0.0234)
    buckets = {
        dict(labels)["le"]: value
        for (name, labels), value in found.items()
        if name == "sagebrush_request_duration_seconds_bucket" and ("service", "s3") in labels
    }
    assert buckets["0.001"] == 1 and buckets["0.005"] == 2 and buckets["0.025"] == 3
    assert buckets["+Inf"] == 3 and len(buckets) == len(BUCKETS) + 1
    slow = (("operation", "CreateTrainingJob"), ("service", "sagemaker"))
    slow_buckets = [
        v
        for (name, labels), v in found.items()
        if name.endswith("_bucket") and ("service", "sagemaker") in labels
    ]
    assert sorted(slow_buckets) == [0.0] * len(BUCKETS) + [1.0]  # above 60 s: +Inf only
    assert found[("sagebrush_request_duration_seconds_count", slow)] == 1


def test_a_bound_is_inclusive() -> None:
    requests = RequestMetrics()
    requests.observe("s3", "GetObject", 200, 0.005)
    found = samples(requests)
    labels = (("le", "0.005"), ("operation", "GetObject"), ("service", "s3"))
    assert found[("sagebrush_request_duration_seconds_bucket", labels)] == 1


# --- jobs by status ------------------------------------------------------------------------------


def _create(store: ResourceStore, kind: str, name: str, status: str, region: str = "r") -> None:
    store.create(
        kind=kind,
        account_id="000000000000",
        region=region,
        name=name,
        arn=f"arn:{kind}:{region}:{name}",
        spec={"big": "x" * 1000},
        status=status,
        secondary_status=status,
        message="",
        now=1.0,
    )


def test_jobs_by_kind_and_status_from_one_group_by(db: Database) -> None:
    store = ResourceStore(db)
    for i in range(3):
        _create(store, "TrainingJob", f"t{i}", "Completed")
    _create(store, "TrainingJob", "t9", "Completed", region="other")  # regions add up
    _create(store, "TrainingJob", "f", "Failed")
    _create(store, "TransformJob", "x", "InProgress")
    _create(store, "HyperParameterTuningJob", "h", "Stopping")
    _create(store, "endpoint", "e", "InService")
    _create(store, "model", "m", "Created")  # not a job
    _create(store, "endpoint-config", "c", "Created")
    _create(store, "ProcessingJob", "p", "InProgress")  # no lifecycle here: its kind as is
    found = samples(JobsCollector(store))

    def jobs(kind: str, status: str) -> float:
        return found[("sagebrush_jobs", (("kind", kind), ("status", status)))]

    assert jobs("training", "Completed") == 4
    assert jobs("training", "Failed") == 1
    assert jobs("training", "InProgress") == 0  # every status of a known kind is reported
    assert jobs("transform", "InProgress") == 1
    assert jobs("tuning", "Stopping") == 1
    assert jobs("endpoint", "InService") == 1
    assert jobs("endpoint", "Creating") == 0
    assert jobs("ProcessingJob", "InProgress") == 1
    kinds = {dict(labels)["kind"] for _, labels in found}
    assert kinds == {"training", "transform", "tuning", "endpoint", "ProcessingJob"}


def test_count_by_status_reads_no_record(db: Database) -> None:
    store = ResourceStore(db)
    _create(store, "TrainingJob", "a", "Completed")
    _create(store, "TrainingJob", "b", "Completed")
    _create(store, "endpoint", "e", "Failed")
    assert store.count_by_status() == [("TrainingJob", "Completed", 2), ("endpoint", "Failed", 1)]


# --- invocations and live state ------------------------------------------------------------


def test_invocation_totals_by_endpoint_variant_and_answer(db: Database) -> None:
    aggregator = InvocationMetrics(MetricStore(db))
    for status in (200, 200, 201, 404, 500, 503, None, 302):
        aggregator.invocation(
            "000000000000",
            "r",
            "ep",
            "A",
            status=status,
            model_latency_us=10.0,
            overhead_latency_us=1.0,
            instance_count=1,
        )
    aggregator.invocation(
        "000000000000",
        "r",
        "ep",
        "B",
        status=200,
        model_latency_us=1.0,
        overhead_latency_us=1.0,
        instance_count=2,
    )
    assert sorted(aggregator.totals()) == [
        ("ep", "A", 8, {"4xx": 1, "5xx": 2, "none": 1, "other": 1}),
        ("ep", "B", 1, {"4xx": 0, "5xx": 0, "none": 0, "other": 0}),
    ]
    runtime = SimpleNamespace(
        endpoints=SimpleNamespace(invocation_metrics=aggregator, live_counts=list),
        transform=None,
        training=None,
    )
    found = samples(LiveCollector(runtime))  # type: ignore[arg-type]
    a = (("endpoint", "ep"), ("variant", "A"))
    assert found[("sagebrush_endpoint_invocations_total", a)] == 8
    a5 = (("endpoint", "ep"), ("error", "5xx"), ("variant", "A"))
    assert found[("sagebrush_endpoint_invocation_errors_total", a5)] == 2
    b = (("endpoint", "ep"), ("error", "4xx"), ("variant", "B"))
    assert found[("sagebrush_endpoint_invocation_errors_total", b)] == 0


def test_instances_and_processes_from_the_controllers() -> None:
    runtime = SimpleNamespace(
        endpoints=SimpleNamespace(
            invocation_metrics=SimpleNamespace(totals=list),
            live_counts=lambda: [("ep", "A", 2, 2), ("ep", "B", 1, 3)],
        ),
        transform=SimpleNamespace(live_counts=lambda: [("tj", 2, 2)]),
        training=SimpleNamespace(running_instances=lambda: [("job", 3)]),
    )
    found = samples(LiveCollector(runtime))  # type: ignore[arg-type]
    assert found[("sagebrush_endpoint_instances", (("endpoint", "ep"), ("variant", "A")))] == 2
    assert found[("sagebrush_endpoint_instances", (("endpoint", "ep"), ("variant", "B")))] == 1
    servers = "sagebrush_model_server_processes"
    assert found[(servers, (("kind", "endpoint"), ("name", "ep")))] == 5
    assert found[(servers, (("kind", "transform"), ("name", "tj")))] == 2
    assert found[("sagebrush_transform_instances", (("job", "tj"),))] == 2
    assert found[("sagebrush_training_instance_processes", (("job", "job"),))] == 3


def test_a_runtime_without_controllers_has_empty_families() -> None:
    runtime = SimpleNamespace(endpoints=None, transform=None, training=None)
    assert samples(LiveCollector(runtime)) == {}  # type: ignore[arg-type]


# --- the registry and the exposition -------------------------------------------------------


def _runtime(db: Database) -> Any:
    return SimpleNamespace(db=db, endpoints=None, transform=None, training=None)


def test_each_app_has_its_own_registry(db: Database) -> None:
    first, second = RequestMetrics(), RequestMetrics()
    one = metrics_registry(_runtime(db), first)
    two = metrics_registry(_runtime(db), second)  # no "duplicated timeseries" error
    first.observe("s3", "ListBuckets", 200, 0.001)
    text_one = parse(generate_latest(one).decode())
    text_two = parse(generate_latest(two).decode())
    key = (
        "sagebrush_requests_total",
        (("operation", "ListBuckets"), ("service", "s3"), ("status", "200")),
    )
    assert text_one[key] == 1 and key not in text_two
    assert ("sagebrush_info", (("version", "0.1.0"),)) in text_one
    assert any(name == "process_resident_memory_bytes" for name, _ in text_one)


def _call(
    app: Any, method: str = "GET", accept: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    headers = [(b"accept", accept.encode())] if accept else []
    scope = {"type": "http", "method": method, "path": "/metrics", "headers": headers}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    head = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], head, sent[1]["body"]


def test_exporter_speaks_text_and_openmetrics(db: Database) -> None:
    exporter = MetricsExporter(metrics_registry(_runtime(db), RequestMetrics()))
    status, headers, body = _call(exporter)
    assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4")
    assert int(headers["content-length"]) == len(body)
    assert 'sagebrush_jobs{kind="training",status="Completed"} 0.0' in body.decode()
    _, headers, body = _call(exporter, accept="application/openmetrics-text; version=1.0.0")
    assert headers["content-type"].startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")
    status, headers, body = _call(exporter, method="HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0


@pytest.mark.parametrize(
    ("method", "query", "headers", "scrape"),
    [
        ("GET", b"", [], True),
        ("HEAD", b"", [(b"accept", b"text/plain")], True),
        # Every AWS client signs: S3's ListObjects on a bucket named "metrics".
        (
            "GET",
            b"",
            [
                (
                    b"authorization",
                    b"AWS4-HMAC-SHA256 Credential=x/20250101/us-east-1/s3/aws4_request",
                )
            ],
            False,
        ),
        ("GET", b"list-type=2", [], False),  # ListObjectsV2, signed or not
        ("GET", b"X-Amz-Signature=abc&X-Amz-Credential=x", [], False),  # presigned
        ("PUT", b"", [], False),  # CreateBucket
        ("DELETE", b"", [], False),
    ],
)
def test_only_an_unsigned_plain_get_is_a_scrape(
    method: str, query: bytes, headers: list[tuple[bytes, bytes]], scrape: bool
) -> None:
    scope = {"method": method, "path": "/metrics", "query_string": query, "headers": headers}
    assert is_scrape(scope) is scrape
