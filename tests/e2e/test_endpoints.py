"""Real-time endpoints end to end through boto3 and raw HTTP: routing by weight, updates
without downtime, data capture, errors, metrics and logs, pipelines, crashed instances and
multi-model endpoints. One server for the module; models are the echo image of
``_endpoints`` (distinct answers per artifact) and tiny XGBoost boosters."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import signal
import tarfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from sagebrush.testing import Server, start_server
from tests.e2e._endpoints import (
    ACCOUNT,
    REGION,
    ROLE,
    XGBOOST_IMAGE,
    Answer,
    RawInvoker,
    create_config,
    create_model,
    deploy,
    register_echo_image,
    stop_server,
    tarball,
    unique,
    upload,
    variant,
    wait_status,
    xgboost_model,
)

ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
FAST = {"Delay": 0.1, "MaxAttempts": 300}


@dataclass
class Env:
    srv: Server
    image: str
    sm: Any
    rt: Any
    s3: Any
    answers: dict[str, str] = field(default_factory=dict)  # answer -> s3 url

    def artifact(self, answer: str) -> str:
        if answer not in self.answers:
            url = f"s3://models/echo/{answer}/model.tar.gz"
            upload(self.s3, url, tarball({"answer.txt": answer.encode()}))
            self.answers[answer] = url
        return self.answers[answer]

    def echo_model(self, answer: str, **environment: str) -> str:
        return create_model(self.sm, self.image, self.artifact(answer), environment)

    def raw(self) -> RawInvoker:
        return RawInvoker(self.srv.url)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    home = tmp_path_factory.mktemp("endpoints-home")
    image = register_echo_image(home)
    server = start_server(home)
    yield Env(
        server,
        image,
        server.client("sagemaker"),
        server.client("sagemaker-runtime"),
        server.client("s3"),
    )
    stop_server(server)


def _error(call: Any, **request: Any) -> dict[str, Any]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**request)
    response: dict[str, Any] = caught.value.response
    return response


def _shares(answers: list[Answer]) -> dict[str | None, float]:
    counts = Counter(a.variant for a in answers)
    return {name: 100.0 * n / len(answers) for name, n in counts.items()}


def _invoke_many(env: Env, endpoint: str, n: int, threads: int = 4, **kw: Any) -> list[Answer]:
    def run(count: int) -> list[Answer]:
        client = env.raw()
        try:
            return [client.invoke(endpoint, b"1,2,3", **kw) for _ in range(count)]
        finally:
            client.close()

    with ThreadPoolExecutor(threads) as pool:
        parts = pool.map(run, [n // threads + (i < n % threads) for i in range(threads)])
    return [a for part in parts for a in part]


def _variants(env: Env, endpoint: str) -> list[dict[str, Any]]:
    described = env.sm.describe_endpoint(EndpointName=endpoint)
    assert described["EndpointStatus"] == "InService", described
    variants: list[dict[str, Any]] = described["ProductionVariants"]
    return variants


def _variant_view(env: Env, name: str, weight: float, count: int) -> dict[str, Any]:
    return {
        "VariantName": name,
        "DeployedImages": [{"SpecifiedImage": env.image, "ResolvedImage": env.image}],
        "CurrentWeight": weight,
        "DesiredWeight": weight,
        "CurrentInstanceCount": count,
        "DesiredInstanceCount": count,
    }


# --- 1. weights, TargetVariant, live weight and capacity changes -----------------------------


def test_weights_split_traffic_and_change_live(env: Env) -> None:
    a, b = env.echo_model("answer-a"), env.echo_model("answer-b")
    name = deploy(env.sm, [variant(a, "A", weight=0.7), variant(b, "B", weight=0.3)])
    assert _variants(env, name) == [
        _variant_view(env, "A", 0.7, 1),
        _variant_view(env, "B", 0.3, 1),
    ]

    reply = env.rt.invoke_endpoint(EndpointName=name, Body=b"1,2,3", ContentType="text/csv")
    body = reply["Body"].read()
    assert (reply["InvokedProductionVariant"], body) in {("A", b"answer-a"), ("B", b"answer-b")}

    answers = _invoke_many(env, name, 2000)
    assert {(x.status, x.variant, x.body) for x in answers} == {
        (200, "A", b"answer-a"),
        (200, "B", b"answer-b"),
    }
    shares = _shares(answers)
    assert abs(shares["A"] - 70) <= 3 and abs(shares["B"] - 30) <= 3, shares

    pinned = env.rt.invoke_endpoint(EndpointName=name, Body=b"1", TargetVariant="B")
    assert (pinned["InvokedProductionVariant"], pinned["Body"].read()) == ("B", b"answer-b")
    headers = {"X-Amzn-SageMaker-Target-Variant": "B"}
    assert {x.variant for x in _invoke_many(env, name, 100, headers=headers)} == {"B"}

    env.sm.update_endpoint_weights_and_capacities(
        EndpointName=name,
        DesiredWeightsAndCapacities=[
            {"VariantName": "A", "DesiredWeight": 0.2},
            {"VariantName": "B", "DesiredWeight": 0.8},
        ],
    )
    assert wait_status(env.sm, name)["EndpointStatus"] == "InService"
    assert _variants(env, name) == [
        _variant_view(env, "A", 0.2, 1),
        _variant_view(env, "B", 0.8, 1),
    ]
    shares = _shares(_invoke_many(env, name, 2000))
    assert abs(shares["A"] - 20) <= 3 and abs(shares["B"] - 80) <= 3, shares

    env.sm.update_endpoint_weights_and_capacities(
        EndpointName=name,
        DesiredWeightsAndCapacities=[{"VariantName": "B", "DesiredInstanceCount": 2}],
    )
    assert wait_status(env.sm, name)["EndpointStatus"] == "InService"
    assert _variants(env, name) == [
        _variant_view(env, "A", 0.2, 1),
        _variant_view(env, "B", 0.8, 2),
    ]
    served_by = {x.custom_attributes for x in _invoke_many(env, name, 100, 1, headers=headers)}
    assert len(served_by) == 2 and all(
        re.fullmatch(r"instance=i-[0-9a-f]{16}", s or "") for s in served_by
    )
    env.sm.delete_endpoint(EndpointName=name)
    env.sm.get_waiter("endpoint_deleted").wait(EndpointName=name, WaiterConfig=FAST)
    assert _running({(s or "").removeprefix("instance=") for s in served_by}) == set()


# --- 2. updates: no failed request, then only the new model ---------------------------------


@dataclass
class Load:
    """Threads posting as fast as they can; each result is (sent at, answer or error)."""

    env: Env
    endpoint: str
    threads: int = 4
    results: list[tuple[float, Answer | str]] = field(default_factory=list)
    reconnects: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Load:
        self.started = time.monotonic()
        for _ in range(self.threads):
            worker = threading.Thread(target=self._run, daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=30)
        self.elapsed = time.monotonic() - self.started

    def _run(self) -> None:
        client = self.env.raw()
        mine: list[tuple[float, Answer | str]] = []
        while not self._stop.is_set():
            sent = time.monotonic()
            try:
                mine.append((sent, client.invoke(self.endpoint, b"1,2,3")))
            except Exception as exc:
                mine.append((sent, repr(exc)))
        client.close()
        self.results.extend(mine)
        self.reconnects += client.reconnects

    def failures(self) -> list[Answer | str]:
        return [r for _, r in self.results if not (isinstance(r, Answer) and r.status == 200)]


def _update(env: Env, name: str, model: str, count: int, **extra: Any) -> float:
    """UpdateEndpoint and wait; returns when DescribeEndpoint first answered InService."""
    config = create_config(env.sm, [variant(model, count=count)])
    env.sm.update_endpoint(EndpointName=name, EndpointConfigName=config, **extra)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        described = env.sm.describe_endpoint(EndpointName=name)
        if described["EndpointStatus"] != "Updating":
            assert described["EndpointStatus"] == "InService", described
            assert described["EndpointConfigName"] == config
            return time.monotonic()
        time.sleep(0.05)
    raise TimeoutError(f"endpoint {name} still Updating after 30 s")


def test_update_can_retain_the_current_weights_and_counts(env: Env) -> None:
    old, new = env.echo_model("old"), env.echo_model("new")
    name = deploy(env.sm, [variant(old, "A", weight=1.0)])
    env.sm.update_endpoint_weights_and_capacities(
        EndpointName=name,
        DesiredWeightsAndCapacities=[
            {"VariantName": "A", "DesiredWeight": 0.5, "DesiredInstanceCount": 2}
        ],
    )
    assert wait_status(env.sm, name)["EndpointStatus"] == "InService"
    config = create_config(env.sm, [variant(new, "A", count=1, weight=1.0)])
    env.sm.update_endpoint(
        EndpointName=name, EndpointConfigName=config, RetainAllVariantProperties=True
    )
    assert wait_status(env.sm, name)["EndpointStatus"] == "InService"
    assert _variants(env, name) == [_variant_view(env, "A", 0.5, 2)]
    assert {a.body for a in _invoke_many(env, name, 20)} == {b"new"}
    # Excluded properties come from the new config after all.
    config = create_config(env.sm, [variant(old, "A", count=1, weight=1.0)])
    env.sm.update_endpoint(
        EndpointName=name,
        EndpointConfigName=config,
        RetainAllVariantProperties=True,
        ExcludeRetainedVariantProperties=[{"VariantPropertyType": "DesiredInstanceCount"}],
    )
    assert wait_status(env.sm, name)["EndpointStatus"] == "InService"
    assert _variants(env, name) == [_variant_view(env, "A", 0.5, 1)]
    env.sm.delete_endpoint(EndpointName=name)


def test_update_endpoint_loses_no_request(env: Env) -> None:
    name = deploy(env.sm, [variant(env.echo_model("blue"))])
    new = env.echo_model("green")
    with Load(env, name) as load:
        time.sleep(0.5)
        ready = _update(env, name, new, count=2)
        time.sleep(0.5)
    assert load.failures() == [] and load.reconnects == 0
    assert len(load.results) / load.elapsed >= 200
    bodies = Counter(r.body for _, r in load.results if isinstance(r, Answer))
    assert bodies[b"blue"] > 50 and bodies[b"green"] > 50
    after = [r.body for sent, r in load.results if sent > ready and isinstance(r, Answer)]
    assert after and set(after) == {b"green"}
    assert [v["CurrentInstanceCount"] for v in _variants(env, name)] == [2]
    blue = {
        (r.custom_attributes or "").removeprefix("instance=")
        for _, r in load.results
        if isinstance(r, Answer) and r.body == b"blue"
    }
    assert len(blue) == 1 and _running(blue, wait=5.0) == set()  # the old fleet is stopped
    env.sm.delete_endpoint(EndpointName=name)


@pytest.mark.parametrize(
    "routing",
    [
        {"Type": "CANARY", "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 50}},
        {"Type": "LINEAR", "LinearStepSize": {"Type": "INSTANCE_COUNT", "Value": 1}},
    ],
    ids=["canary", "linear"],
)
def test_blue_green_shift_mixes_answers(env: Env, routing: dict[str, Any]) -> None:
    name = deploy(env.sm, [variant(env.echo_model("blue"))])
    deployment = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {**routing, "WaitIntervalInSeconds": 1},
            "TerminationWaitInSeconds": 0,
        }
    }
    with Load(env, name, threads=2) as load:
        ready = _update(env, name, env.echo_model("green"), 2, DeploymentConfig=deployment)
        time.sleep(0.3)
    assert load.failures() == []
    answers = sorted((sent, r.body) for sent, r in load.results if isinstance(r, Answer))
    first_green = next(t for t, body in answers if body == b"green")
    last_blue = max(t for t, body in answers if body == b"blue")
    assert last_blue - first_green >= 0.8  # the 1 s bake at 50 %
    mixed = Counter(body for t, body in answers if first_green <= t <= last_blue)
    assert 0.3 <= mixed[b"green"] / sum(mixed.values()) <= 0.7, mixed
    assert {body for t, body in answers if t > ready} == {b"green"}
    described = env.sm.describe_endpoint(EndpointName=name)
    assert described["LastDeploymentConfig"] == deployment
    env.sm.delete_endpoint(EndpointName=name)


# --- 3. data capture --------------------------------------------------------------------------

_KEY = re.compile(r"(\d{4})/(\d{2})/(\d{2})/(\d{2})/(\d{2})-(\d{2})-\d{3}-[0-9a-f-]{36}\.jsonl")


def _captured(env: Env, bucket: str, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    records = []
    for page in env.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            body = env.s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            records += [(item["Key"], json.loads(line)) for line in body.splitlines()]
    return records


def _capture_request(i: int) -> tuple[bytes, str]:
    """Request ``i`` of 2,000: CSV, then 50 JSON, then 50 of a type capture does not list."""
    if i < 1900:
        return f"{i},1.5,2".encode(), "text/csv"
    if i < 1950:
        return json.dumps({"i": i}).encode(), "application/json"
    return b"\x93NUMPY" + i.to_bytes(2, "big") + b"\xff", "application/x-npy"


def test_data_capture_samples_and_encodes(env: Env) -> None:
    env.s3.create_bucket(Bucket="capture")
    capture = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 30,
        "DestinationS3Uri": "s3://capture/dc",
        "CaptureOptions": [{"CaptureMode": "InputAndOutput"}],
        "CaptureContentTypeHeader": {
            "CsvContentTypes": ["text/csv"],
            "JsonContentTypes": ["application/json"],
        },
    }
    name = deploy(env.sm, [variant(env.echo_model("captured"))], DataCaptureConfig=capture)
    assert env.sm.describe_endpoint(EndpointName=name)["DataCaptureConfig"] == {
        "EnableCapture": True,
        "CaptureStatus": "Started",
        "CurrentSamplingPercentage": 30,
        "DestinationS3Uri": "s3://capture/dc",
    }
    sent: dict[str, tuple[bytes, str]] = {}  # inference id -> (body, content type)
    started = datetime.now(UTC).replace(microsecond=0)

    def run(k: int) -> None:
        client = env.raw()
        for i in range(k, 2000, 4):
            data, kind = _capture_request(i)
            headers = {"Accept": kind, "X-Amzn-SageMaker-Inference-Id": f"req-{i}"}
            assert client.invoke(name, data, kind, headers).status == 200
            sent[f"req-{i}"] = (data, kind)
        client.close()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(run, range(4)))
    env.sm.delete_endpoint(EndpointName=name)
    env.sm.get_waiter("endpoint_deleted").wait(EndpointName=name, WaiterConfig=FAST)
    finished = datetime.now(UTC) + timedelta(seconds=1)

    records = _captured(env, "capture", f"dc/{name}/AllTraffic/")
    kinds = Counter(sent[r["eventMetadata"]["inferenceId"]][1] for _, r in records)
    assert 1900 * 0.25 <= kinds["text/csv"] <= 1900 * 0.35, kinds
    assert kinds["application/json"] > 0 and kinds["application/x-npy"] > 0, kinds
    assert len({r["eventMetadata"]["inferenceId"] for _, r in records}) == len(records)

    def payload(mode: str, data: bytes, kind: str) -> dict[str, str]:
        encoding = {"text/csv": "CSV", "application/json": "JSON"}.get(kind, "BASE64")
        text = data.decode() if encoding != "BASE64" else base64.b64encode(data).decode()
        return {"observedContentType": kind, "mode": mode, "data": text, "encoding": encoding}

    for key, record in records:
        meta = record["eventMetadata"]
        data, kind = sent[meta["inferenceId"]]
        assert record == {
            "captureData": {
                "endpointInput": payload("INPUT", data, kind),
                "endpointOutput": payload("OUTPUT", b"captured", kind),
            },
            "eventMetadata": {
                "eventId": str(uuid.UUID(meta["eventId"])),
                "inferenceId": meta["inferenceId"],
                "inferenceTime": meta["inferenceTime"],
            },
            "eventVersion": "0",
        }
        at = datetime.strptime(meta["inferenceTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert started <= at <= finished
        match = _KEY.fullmatch(key.removeprefix(f"dc/{name}/AllTraffic/"))
        assert match is not None, key
        assert match.group(1, 2, 3, 4) == (f"{at:%Y}", f"{at:%m}", f"{at:%d}", f"{at:%H}")


# --- 4. errors ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def echo_endpoint(env: Env) -> str:
    return deploy(env.sm, [variant(env.echo_model("plain"))])


def test_payload_limit_is_6_mib(env: Env, echo_endpoint: str) -> None:
    limit = 6 * 1024 * 1024
    ok = env.rt.invoke_endpoint(EndpointName=echo_endpoint, Body=b"x" * limit)
    assert ok["Body"].read() == b"plain"
    error = _error(env.rt.invoke_endpoint, EndpointName=echo_endpoint, Body=b"x" * (limit + 1))
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert error["Error"] == {
        "Code": "ValidationError",
        "Message": "HTTP content length exceeded 6291456 bytes.",
    }


def test_unknown_endpoint_and_variant(env: Env, echo_endpoint: str) -> None:
    error = _error(env.rt.invoke_endpoint, EndpointName="nope", Body=b"1")
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"] == {
        "Code": "ValidationError",
        "Message": f"Endpoint nope of account {ACCOUNT} not found.",
    }
    error = _error(
        env.rt.invoke_endpoint, EndpointName=echo_endpoint, Body=b"1", TargetVariant="Zed"
    )
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "ValidationError" and "Zed" in error["Error"]["Message"]


def test_target_model_on_a_single_model_endpoint(env: Env, echo_endpoint: str) -> None:
    error = _error(
        env.rt.invoke_endpoint, EndpointName=echo_endpoint, Body=b"1", TargetModel="a.tar.gz"
    )
    assert error["Error"] == {
        "Code": "ValidationError",
        "Message": f"Endpoint {echo_endpoint} is not a multi-model endpoint and does not support "
        "target model header.",
    }


def _group(endpoint: str) -> str:
    return f"/aws/sagemaker/Endpoints/{endpoint}"


def _model_error(name: str, status: int, sender: str, original: str) -> dict[str, Any]:
    kind = "client" if status < 500 else "server"
    return {
        "Error": {
            "Code": "ModelError",
            "Message": f'Received {kind} error ({status}) from {sender} with message "{original}". '
            f"See https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}"
            f"#logEventViewer:group=/aws/sagemaker/Endpoints/{name} in account {ACCOUNT} for "
            "more information.",
        },
        "OriginalStatusCode": status,
        "OriginalMessage": original,
        "LogStreamArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{_group(name)}",
        "HTTPStatusCode": 424,
    }


def _as_model_error(response: dict[str, Any]) -> dict[str, Any]:
    keys = ("Error", "OriginalStatusCode", "OriginalMessage", "LogStreamArn")
    view = {k: response.get(k) for k in keys}
    view["HTTPStatusCode"] = response["ResponseMetadata"]["HTTPStatusCode"]
    return view


def test_model_errors_are_424_with_the_original(env: Env, echo_endpoint: str) -> None:
    failing = deploy(env.sm, [variant(env.echo_model("f", ECHO_MODE="fail", ECHO_NAME="x"))])
    error = _error(env.rt.invoke_endpoint, EndpointName=failing, Body=b"1")
    assert _as_model_error(error) == _model_error(failing, 500, "primary", "boom from x")
    error = _error(env.rt.invoke_endpoint, EndpointName=echo_endpoint, Body=b"status:404")
    assert _as_model_error(error) == _model_error(echo_endpoint, 404, "primary", "asked for 404")
    env.sm.delete_endpoint(EndpointName=failing)


@pytest.mark.parametrize("broken", ["missing-artifact", "crashing-serve"])
def test_endpoint_that_cannot_start_fails(env: Env, broken: str) -> None:
    if broken == "missing-artifact":
        model = create_model(env.sm, env.image, "s3://models/echo/missing/model.tar.gz")
        reason = "s3://models/echo/missing/model.tar.gz"
    else:
        model = env.echo_model("never", ECHO_MODE="crash")
        reason = "echo crashing on purpose"
    name = unique("broken")
    env.sm.create_endpoint(
        EndpointName=name, EndpointConfigName=create_config(env.sm, [variant(model)])
    )
    with pytest.raises(botocore.exceptions.WaiterError, match="terminal failure state"):
        env.sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig=FAST)
    described = env.sm.describe_endpoint(EndpointName=name)
    assert described["EndpointStatus"] == "Failed"
    assert reason in described["FailureReason"]

    config = create_config(env.sm, [variant(env.echo_model("plain"))])
    error = _error(env.sm.update_endpoint, EndpointName=name, EndpointConfigName=config)
    assert error["Error"]["Code"] == "ValidationException"
    assert f"{ARN}:endpoint/{name}" in error["Error"]["Message"]

    env.sm.delete_endpoint(EndpointName=name)
    env.sm.get_waiter("endpoint_deleted").wait(EndpointName=name, WaiterConfig=FAST)
    assert _error(env.sm.describe_endpoint, EndpointName=name)["Error"] == {
        "Code": "ValidationException",
        "Message": f'Could not find endpoint "{ARN}:endpoint/{name}".',
    }


def test_updates_refused_while_creating(env: Env) -> None:
    model = env.echo_model("slow", ECHO_START_DELAY="3")
    name = unique("creating")
    env.sm.create_endpoint(
        EndpointName=name, EndpointConfigName=create_config(env.sm, [variant(model)])
    )
    config = create_config(env.sm, [variant(model)])
    for call, request in (
        (env.sm.update_endpoint, {"EndpointConfigName": config}),
        (
            env.sm.update_endpoint_weights_and_capacities,
            {"DesiredWeightsAndCapacities": [{"VariantName": "AllTraffic", "DesiredWeight": 2.0}]},
        ),
    ):
        error = _error(call, EndpointName=name, **request)
        assert error["Error"] == {
            "Code": "ValidationException",
            "Message": f'Cannot update in-progress endpoint "{ARN}:endpoint/{name}".',
        }
    assert env.sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Creating"
    env.sm.delete_endpoint(EndpointName=name)
    env.sm.get_waiter("endpoint_deleted").wait(EndpointName=name, WaiterConfig=FAST)


def test_describe_and_delete_unknown_endpoint(env: Env) -> None:
    expected = {
        "Code": "ValidationException",
        "Message": f'Could not find endpoint "{ARN}:endpoint/gone".',
    }
    assert _error(env.sm.describe_endpoint, EndpointName="gone")["Error"] == expected
    assert _error(env.sm.delete_endpoint, EndpointName="gone")["Error"] == expected


# --- 5. metrics and logs ------------------------------------------------------------------------


def _statistics(cw: Any, name: str, metric: str, variant: str = "AllTraffic") -> dict[str, Any]:
    now = datetime.now(UTC)
    points = cw.get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName=metric,
        Dimensions=[
            {"Name": "EndpointName", "Value": name},
            {"Name": "VariantName", "Value": variant},
        ],
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=1),
        Period=60,
        Statistics=["Sum", "SampleCount", "Minimum", "Maximum"],
    )["Datapoints"]
    return {
        "Sum": sum(p["Sum"] for p in points),
        "SampleCount": sum(p["SampleCount"] for p in points),
        "Minimum": min((p["Minimum"] for p in points), default=None),
        "Maximum": max((p["Maximum"] for p in points), default=None),
        "Units": {p["Unit"] for p in points},
    }


@dataclass(frozen=True)
class Measured:
    endpoint: str
    answers: list[Answer]
    stats: dict[str, dict[str, Any]]  # metric -> _statistics


COUNTED = {
    "Invocations": 25.0,
    "Invocation4XXErrors": 3.0,
    "Invocation5XXErrors": 2.0,
    "InvocationsPerInstance": 25.0,
}


@pytest.fixture(scope="module")
def measured(env: Env) -> Iterator[Measured]:
    """An endpoint that answered 20 requests, 3 with 404 and 2 with 503, and its metrics
    once all 25 are published."""
    name = deploy(env.sm, [variant(env.echo_model("measured"))])
    client = env.raw()
    bodies = [b"1,2"] * 20 + [b"status:404"] * 3 + [b"status:503"] * 2
    answers = [client.invoke(name, body) for body in bodies]
    client.close()
    cw = env.srv.client("cloudwatch")
    deadline = time.monotonic() + 10
    while True:
        stats = {
            metric: _statistics(cw, name, metric)
            for metric in [*COUNTED, "ModelLatency", "OverheadLatency"]
        }
        done = all(s["SampleCount"] >= 25 for s in stats.values())
        if done or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    yield Measured(name, answers, stats)
    env.sm.delete_endpoint(EndpointName=name)


def test_invocation_metrics(measured: Measured) -> None:
    assert [a.status for a in measured.answers] == [200] * 20 + [424] * 5
    stats = measured.stats
    assert {m: stats[m]["Sum"] for m in COUNTED} == COUNTED
    assert {m: (stats[m]["SampleCount"], stats[m]["Units"]) for m in COUNTED} == {
        m: (25.0, {"None"}) for m in COUNTED
    }
    for metric in ("ModelLatency", "OverheadLatency"):
        assert (stats[metric]["SampleCount"], stats[metric]["Units"]) == (25, {"Microseconds"})
        assert 0 <= stats[metric]["Minimum"] <= stats[metric]["Maximum"] < 10_000_000


def test_model_latency_includes_failed_invocations(measured: Measured) -> None:
    assert measured.stats["ModelLatency"]["Minimum"] > 0


def test_container_output_in_endpoint_log_stream(env: Env, measured: Measured) -> None:
    instance = (measured.answers[0].custom_attributes or "").removeprefix("instance=")
    logs = env.srv.client("logs")
    group = _group(measured.endpoint)
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert [s["logStreamName"] for s in streams] == [f"AllTraffic/{instance}"]
    events = logs.get_log_events(logGroupName=group, logStreamName=f"AllTraffic/{instance}")
    assert "echo measured ready" in [e["message"] for e in events["events"]]


def test_shadow_variant_gets_a_copy_and_its_answers_are_dropped(env: Env) -> None:
    production, shadow = env.echo_model("from-production"), env.echo_model("from-shadow")
    name = deploy(
        env.sm,
        [variant(production)],
        ShadowProductionVariants=[variant(shadow, "Shadow")],
    )
    described = env.sm.describe_endpoint(EndpointName=name)
    assert [v["VariantName"] for v in described["ShadowProductionVariants"]] == ["Shadow"]
    answers = _invoke_many(env, name, 100)
    assert {(a.status, a.variant, a.body) for a in answers} == {
        (200, "AllTraffic", b"from-production")
    }
    cw = env.srv.client("cloudwatch")
    deadline = time.monotonic() + 10  # metrics are written every 2 s
    while True:
        copies = _statistics(cw, name, "Invocations", variant="Shadow")["Sum"]
        if copies == 100 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert copies == 100  # weight 1 against the production variant's 1: every request
    assert _statistics(cw, name, "Invocations")["Sum"] == 100
    env.sm.delete_endpoint(EndpointName=name)


# --- 6. inference pipelines ---------------------------------------------------------------------


def _pipeline(env: Env, modes: list[str], execution: str = "Serial") -> str:
    name = unique("pipe")
    containers = [
        {
            "Image": env.image,
            "ContainerHostname": host,
            "Environment": {"ECHO_MODE": mode, "ECHO_NAME": host},
        }
        for host, mode in zip(["first", "second", "third"], modes, strict=True)
    ]
    env.sm.create_model(
        ModelName=name,
        Containers=containers,
        ExecutionRoleArn=ROLE,
        InferenceExecutionConfig={"Mode": execution},
    )
    return deploy(env.sm, [variant(name)])


def test_pipeline_chains_bodies_and_content_types(env: Env) -> None:
    name = _pipeline(env, ["chain", "chain", "chain"])
    reply = env.rt.invoke_endpoint(EndpointName=name, Body=b"hi", ContentType="text/start")
    assert reply["Body"].read() == (
        b"hi|first<-text/start|second<-application/x-first|third<-application/x-second"
    )
    assert reply["ContentType"] == "application/x-third"
    instance = reply["CustomAttributes"].removeprefix("instance=")
    expected = [f"AllTraffic/{instance}/{host}" for host in ("first", "second", "third")]
    logs = env.srv.client("logs")
    deadline = time.monotonic() + 10  # output is moved into CloudWatch Logs every 0.5 s
    while True:
        streams = logs.describe_log_streams(logGroupName=f"/aws/sagemaker/Endpoints/{name}")
        found = sorted(s["logStreamName"] for s in streams["logStreams"])
        if found == expected or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert found == expected
    env.sm.delete_endpoint(EndpointName=name)


def test_pipeline_hop_over_5_mb_is_refused(env: Env) -> None:
    name = _pipeline(env, ["chain", "chain", "chain"])
    body = b"x" * (5 * 1024 * 1024)  # the first container's answer adds its suffix to it
    error = _error(env.rt.invoke_endpoint, EndpointName=name, Body=body, ContentType="text/start")
    size = len(body) + len(b"|first<-text/start")
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["Error"] == {
        "Code": "ModelError",
        "Message": "Received response from first with status code 200. However, the request "
        f"payload from first to second is {size} bytes, which has exceeded the maximum limit "
        "of 5 MB.",
    }
    env.sm.delete_endpoint(EndpointName=name)


def test_pipeline_failing_middle_container_is_named(env: Env) -> None:
    name = _pipeline(env, ["chain", "fail", "chain"])
    error = _error(env.rt.invoke_endpoint, EndpointName=name, Body=b"hi", ContentType="text/start")
    assert _as_model_error(error) == _model_error(name, 500, "second", "boom from second")
    env.sm.delete_endpoint(EndpointName=name)


def test_direct_mode_calls_the_target_container(env: Env) -> None:
    name = _pipeline(env, ["chain", "chain", "chain"], execution="Direct")
    reply = env.rt.invoke_endpoint(
        EndpointName=name, Body=b"hi", ContentType="text/start", TargetContainerHostname="second"
    )
    assert reply["Body"].read() == b"hi|second<-text/start"
    error = _error(env.rt.invoke_endpoint, EndpointName=name, Body=b"hi")
    assert error["Error"]["Code"] == "ValidationError"
    assert "TargetContainerHostname" in error["Error"]["Message"]
    env.sm.delete_endpoint(EndpointName=name)


# --- 7. a crashed model server is replaced ---------------------------------------------------


def _running(instances: set[str], wait: float = 0.0) -> set[str]:
    """Those of ``instances`` that still have a process, after up to ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        alive = {i for i in instances if _pids_of(i)}
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.1)


def _pids_of(instance: str) -> list[int]:
    marker = f"SAGEBRUSH_INSTANCE_ID={instance}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def test_killed_model_server_is_replaced(env: Env) -> None:
    name = deploy(env.sm, [variant(env.echo_model("phoenix"))])
    client = env.raw()
    before = client.invoke(name, b"1").custom_attributes or ""
    pids = _pids_of(before.removeprefix("instance="))
    assert pids
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while True:
        answer = client.invoke(name, b"1")
        if answer.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert (answer.status, answer.body) == (200, b"phoenix")
    assert answer.custom_attributes != before
    assert [v["CurrentInstanceCount"] for v in _variants(env, name)] == [1]
    env.sm.delete_endpoint(EndpointName=name)


# --- 9. multi-model endpoints ----------------------------------------------------------------

MODELS = 50


def test_multi_model_endpoint_loads_and_evicts(env: Env) -> None:
    artifacts = [xgboost_model(float(i)) for i in range(MODELS)]
    sizes = [len(_unpacked(artifact)) for artifact in artifacts]
    with ThreadPoolExecutor(4) as pool:
        list(
            pool.map(
                lambda i: upload(env.s3, f"s3://mme/models/model-{i}.tar.gz", artifacts[i]),
                range(MODELS),
            )
        )
    # A budget that always holds exactly 10 of these models, whichever they are.
    assert 11 * min(sizes) > 10 * max(sizes)
    budget = (10 * max(sizes) + 11 * min(sizes)) / 2
    model = create_model(
        env.sm,
        XGBOOST_IMAGE,
        "s3://mme/models/",
        {"SAGEBRUSH_MODEL_CACHE_MB": repr(budget / (1024 * 1024))},
        Mode="MultiModel",
    )
    name = deploy(env.sm, [variant(model)])
    order = [*range(MODELS), *range(MODELS - 10, MODELS)]
    for i in order:
        reply = env.rt.invoke_endpoint(
            EndpointName=name,
            Body=b"1,2,3",
            ContentType="text/csv",
            TargetModel=f"model-{i}.tar.gz",
        )
        assert float(reply["Body"].read()) == float(i)
    error = _error(env.rt.invoke_endpoint, EndpointName=name, Body=b"1", TargetModel="nope.tar.gz")
    assert error["Error"]["Code"] == "ValidationError"
    assert "nope.tar.gz" in error["Error"]["Message"]
    error = _error(env.rt.invoke_endpoint, EndpointName=name, Body=b"1")
    assert error["Error"]["Code"] == "ValidationError"
    assert "TargetModel" in error["Error"]["Message"]

    cw = env.srv.client("cloudwatch")
    deadline = time.monotonic() + 10
    while True:
        hits = _statistics(cw, name, "ModelCacheHit")
        if hits["SampleCount"] >= len(order) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert (hits["Sum"], hits["SampleCount"]) == (10.0, float(len(order)))
    unloading = _statistics(cw, name, "ModelUnloadingTime")
    assert unloading["SampleCount"] == MODELS - 10
    now = datetime.now(UTC)
    loaded = cw.get_metric_statistics(
        Namespace="/aws/sagemaker/Endpoints",
        MetricName="LoadedModelCount",
        Dimensions=[
            {"Name": "EndpointName", "Value": name},
            {"Name": "VariantName", "Value": "AllTraffic"},
        ],
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=1),
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    assert max(p["Maximum"] for p in loaded) == 10.0
    env.sm.delete_endpoint(EndpointName=name)


def _unpacked(artifact: bytes) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(artifact)) as tar:
        member = tar.extractfile("xgboost-model")
        assert member is not None
        return member.read()
