"""``GET /metrics`` on a real server: Prometheus's exposition of requests, jobs, endpoint
invocations and the processes that run, next to S3's bucket named "metrics"."""

from __future__ import annotations

import contextlib
import urllib.request
from collections.abc import Iterator
from typing import Any

import botocore.exceptions
import pytest
from prometheus_client.parser import text_string_to_metric_families

from sagebrush.testing import Server, start_server
from tests.e2e._endpoints import (
    RawInvoker,
    create_model,
    deploy,
    register_echo_image,
    stop_server,
    tarball,
    upload,
    variant,
)
from tests.e2e._tiny_training import job_request, register_tiny_image, unique, until, wait_done

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("metrics-home")
    register_tiny_image(home)
    register_echo_image(home)
    server = start_server(home, "--stop-grace-seconds", "3")
    yield server
    stop_server(server)


def scrape(server: Server, path: str = "/metrics") -> tuple[str, Samples]:
    with urllib.request.urlopen(server.url + path, timeout=10) as reply:
        assert reply.status == 200
        content_type = reply.headers["Content-Type"]
        text = reply.read().decode()
    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    return content_type, samples


def value(samples: Samples, name: str, /, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def delta(before: Samples, after: Samples, name: str, /, **labels: str) -> float:
    """How much a counter rose between two scrapes (the tests share one server)."""
    return (value(after, name, **labels) or 0.0) - (value(before, name, **labels) or 0.0)


def test_requests_are_counted_by_service_operation_and_status(srv: Server) -> None:
    content_type, before = scrape(srv)
    assert content_type.startswith("text/plain; version=0.0.4")
    assert value(before, "sagebrush_info", version="0.1.0") == 1
    assert (value(before, "process_resident_memory_bytes") or 0) > 0
    s3, sm = srv.client("s3"), srv.client("sagemaker")
    # A bucket named "metrics": signed requests to /metrics are still S3's.
    s3.create_bucket(Bucket="metrics")
    s3.put_object(Bucket="metrics", Key="a.txt", Body=b"x")
    assert [o["Key"] for o in s3.list_objects(Bucket="metrics")["Contents"]] == ["a.txt"]
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        sm.describe_training_job(TrainingJobName="no-such-job")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    _, after = scrape(srv)
    for operation in ("CreateBucket", "PutObject", "ListObjects"):
        labels = {"service": "s3", "operation": operation}
        assert delta(before, after, "sagebrush_requests_total", status="200", **labels) == 1
        assert delta(before, after, "sagebrush_request_duration_seconds_count", **labels) == 1
        inf = delta(before, after, "sagebrush_request_duration_seconds_bucket", le="+Inf", **labels)
        assert inf == 1
    failed = {"service": "sagemaker", "operation": "DescribeTrainingJob"}
    assert delta(before, after, "sagebrush_requests_total", status="400", **failed) == 1
    code = "ValidationException"
    assert delta(before, after, "sagebrush_request_errors_total", code=code, **failed) == 1
    assert value(after, "sagebrush_requests_total", status="200", **failed) is None
    # /_sagebrush/metrics is the same exposition, signed or not.
    _, internal = scrape(srv, "/_sagebrush/metrics")
    assert value(internal, "sagebrush_requests_total", status="400", **failed) == value(
        after, "sagebrush_requests_total", status="400", **failed
    )


def test_training_jobs_by_status_and_their_instance_processes(srv: Server) -> None:
    s3, sm = srv.client("s3"), srv.client("sagemaker")
    s3.create_bucket(Bucket="out")
    sleeper = unique("sleeps")
    sm.create_training_job(**job_request(sleeper, mode="sleep"))

    def processes() -> float | None:
        return value(scrape(srv)[1], "sagebrush_training_instance_processes", job=sleeper)

    until(lambda: processes() == 1)
    _, running = scrape(srv)
    assert value(running, "sagebrush_jobs", kind="training", status="InProgress") == 1
    sm.stop_training_job(TrainingJobName=sleeper)
    assert wait_done(sm, sleeper)["TrainingJobStatus"] == "Stopped"
    done = unique("done")
    sm.create_training_job(**job_request(done))
    job = wait_done(sm, done)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    _, after = scrape(srv)
    assert value(after, "sagebrush_jobs", kind="training", status="Completed") == 1
    assert value(after, "sagebrush_jobs", kind="training", status="Stopped") == 1
    assert value(after, "sagebrush_jobs", kind="training", status="InProgress") == 0
    assert value(after, "sagebrush_jobs", kind="training", status="Failed") == 0
    assert value(after, "sagebrush_training_instance_processes", job=sleeper) is None


def test_endpoint_invocations_errors_and_model_servers(srv: Server) -> None:
    s3, sm = srv.client("s3"), srv.client("sagemaker")
    s3.create_bucket(Bucket="models")
    url = upload(s3, "s3://models/echo/model.tar.gz", tarball({"answer.txt": b"hi"}))
    endpoint = deploy(sm, [variant(create_model(sm, "echo:latest", url))])
    _, deployed = scrape(srv)
    assert value(deployed, "sagebrush_jobs", kind="endpoint", status="InService") == 1
    assert (
        value(deployed, "sagebrush_endpoint_instances", endpoint=endpoint, variant="AllTraffic")
        == 1
    )
    servers = value(deployed, "sagebrush_model_server_processes", kind="endpoint", name=endpoint)
    assert servers == 1
    _, before = scrape(srv)
    raw = RawInvoker(srv.url)
    try:
        answers = [raw.invoke(endpoint, b"1,2") for _ in range(3)]
        failing = raw.invoke(endpoint, b"status:500")  # the container answers 500
    finally:
        raw.close()
    assert [a.status for a in answers] == [200, 200, 200] and failing.status == 424
    _, after = scrape(srv)
    variant_labels: dict[str, Any] = {"endpoint": endpoint, "variant": "AllTraffic"}
    assert value(after, "sagebrush_endpoint_invocations_total", **variant_labels) == 4
    errors = "sagebrush_endpoint_invocation_errors_total"
    assert value(after, errors, error="5xx", **variant_labels) == 1
    assert value(after, errors, error="4xx", **variant_labels) == 0
    invoke = {"service": "sagemaker-runtime", "operation": "InvokeEndpoint"}
    assert delta(before, after, "sagebrush_requests_total", status="200", **invoke) == 3
    assert delta(before, after, "sagebrush_requests_total", status="424", **invoke) == 1
    assert delta(before, after, "sagebrush_request_errors_total", code="ModelError", **invoke) == 1
    sm.delete_endpoint(EndpointName=endpoint)
    until(lambda: not sm.list_endpoints()["Endpoints"])
    _, deleted = scrape(srv)
    assert (
        value(deleted, "sagebrush_endpoint_instances", endpoint=endpoint, variant="AllTraffic")
        is None
    )
    # Counters keep what they counted.
    assert value(deleted, "sagebrush_endpoint_invocations_total", **variant_labels) == 4


def test_openmetrics_when_asked_and_s3_with_a_query(srv: Server) -> None:
    with contextlib.suppress(botocore.exceptions.ClientError):
        srv.client("s3").create_bucket(Bucket="metrics")
    request = urllib.request.Request(
        srv.url + "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.headers["Content-Type"].startswith("application/openmetrics-text")
        assert reply.read().endswith(b"# EOF\n")
    # An unsigned request with S3's query is S3's too (ListObjectsV2 on the loopback server).
    with urllib.request.urlopen(srv.url + "/metrics?list-type=2", timeout=10) as reply:
        assert b"<ListBucketResult" in reply.read()
