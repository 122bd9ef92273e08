"""Data capture: the records, files and keys SageMaker writes, sampling, bounds and failures."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sagebrush.jobs.endpoints.capture import CaptureConfig, CaptureWriter, parse_destination
from sagebrush.state import Database
from sagebrush.storage import FilesystemObjectStore

BUCKET = "capture-bucket"
# 2022-02-14 17:25:49.123 UTC
T0 = datetime(2022, 2, 14, 17, 25, 49, 123000, tzinfo=UTC).timestamp()
UUID4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"

REQUEST: dict[str, Any] = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 30,
    "DestinationS3Uri": f"s3://{BUCKET}/monitor/capture/",
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    "CaptureContentTypeHeader": {
        "CsvContentTypes": ["text/csv", "Text/X-CSV"],
        "JsonContentTypes": ["application/json"],
    },
}


@pytest.fixture
def store(tmp_path: Path, db: Database) -> FilesystemObjectStore:
    objects = FilesystemObjectStore(tmp_path / "objects", db)
    objects.create_bucket(BUCKET, "111111111111", "us-east-1")
    return objects


def config(**overrides: Any) -> CaptureConfig:
    return CaptureConfig.from_request({**REQUEST, **overrides})


def capture(writer: CaptureWriter, cfg: CaptureConfig, **overrides: Any) -> None:
    fields: dict[str, Any] = {
        "request_body": b"1,2,3\n",
        "request_content_type": "text/csv",
        "response_body": b'{"score": 0.5}',
        "response_content_type": "application/json",
        "inference_id": None,
        "event_id": "e-1",
        "event_time": T0,
    }
    fields.update(overrides)
    endpoint = fields.pop("endpoint", "ep")
    variant = fields.pop("variant", "AllTraffic")
    writer.capture(cfg, endpoint, variant, **fields)


def keys(store: FilesystemObjectStore, prefix: str = "") -> list[str]:
    return [o.key for o in store.list_objects(BUCKET, prefix=prefix).objects]


def read(store: FilesystemObjectStore, key: str) -> bytes:
    async def collect() -> bytes:
        return b"".join([chunk async for chunk in store.open_object(BUCKET, key).stream()])

    return asyncio.run(collect())


def records(store: FilesystemObjectStore, key: str) -> list[dict[str, Any]]:
    text = read(store, key).decode()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_from_request_reads_every_field() -> None:
    full = config(KmsKeyId="alias/capture")
    assert full == CaptureConfig(
        enabled=True,
        sampling_percentage=30,
        destination=f"s3://{BUCKET}/monitor/capture",
        capture_input=True,
        capture_output=True,
        csv_content_types=frozenset({"text/csv", "text/x-csv"}),
        json_content_types=frozenset({"application/json"}),
        kms_key_id="alias/capture",
    )
    minimal = CaptureConfig.from_request(
        {
            "InitialSamplingPercentage": 0,
            "DestinationS3Uri": f"https://{BUCKET}.s3.us-west-2.amazonaws.com/p/",
            "CaptureOptions": [{"CaptureMode": "Output"}],
        }
    )
    assert minimal == CaptureConfig(
        enabled=True,  # EnableCapture defaults to enabled
        sampling_percentage=0,
        destination=f"s3://{BUCKET}/p",
        capture_input=False,
        capture_output=True,
        csv_content_types=frozenset(),  # no header: everything is base64
        json_content_types=frozenset(),
        kms_key_id=None,
    )
    assert config(CaptureOptions=[{"CaptureMode": "InputAndOutput"}]).capture_input
    assert not config(EnableCapture=False).enabled


def test_parse_destination() -> None:
    assert parse_destination("s3://b/a/b/") == ("b", "a/b")
    assert parse_destination("s3://b") == ("b", "")
    assert parse_destination("https://s3.eu-west-1.amazonaws.com/b/x") == ("b", "x")
    assert parse_destination("https://example.com/b/x") is None
    assert parse_destination("b/x") is None


def test_records_and_keys_follow_sagemakers_layout(store: FilesystemObjectStore) -> None:
    writer = CaptureWriter(store)
    cfg = config()
    capture(writer, cfg, inference_id="inf-7", event_id="e-1")
    capture(
        writer,
        cfg,
        request_body=b"\x00\xffraw",
        request_content_type="application/x-npy",
        response_body=b"0.25",
        response_content_type="text/csv; charset=utf-8",
        event_id="e-2",
        event_time=T0 + 1.5,
    )
    writer.flush()

    [key] = keys(store)
    assert re.fullmatch(
        rf"monitor/capture/ep/AllTraffic/2022/02/14/17/25-49-123-{UUID4}\.jsonl", key
    ), key
    first = (
        '{"captureData":{'
        '"endpointInput":{"observedContentType":"text/csv","mode":"INPUT",'
        '"data":"1,2,3\\n","encoding":"CSV"},'
        '"endpointOutput":{"observedContentType":"application/json","mode":"OUTPUT",'
        '"data":"{\\"score\\": 0.5}","encoding":"JSON"}},'
        '"eventMetadata":{"eventId":"e-1","inferenceId":"inf-7",'
        '"inferenceTime":"2022-02-14T17:25:49Z"},"eventVersion":"0"}\n'
    )
    second = {
        "captureData": {
            "endpointInput": {
                "observedContentType": "application/x-npy",
                "mode": "INPUT",
                "data": base64.b64encode(b"\x00\xffraw").decode(),
                "encoding": "BASE64",
            },
            "endpointOutput": {
                "observedContentType": "text/csv; charset=utf-8",
                "mode": "OUTPUT",
                "data": "0.25",
                "encoding": "CSV",
            },
        },
        "eventMetadata": {"eventId": "e-2", "inferenceTime": "2022-02-14T17:25:50Z"},
        "eventVersion": "0",
    }
    body = read(store, key).decode()
    assert body == first + json.dumps(second, separators=(",", ":")) + "\n"
    info = store.head_object(BUCKET, key)
    assert info.meta.content_type == "application/octet-stream"
    assert dict(info.meta.extra) == {"sse": "AES256"}


def test_capture_options_choose_what_is_kept(store: FilesystemObjectStore) -> None:
    writer = CaptureWriter(store)
    capture(writer, config(CaptureOptions=[{"CaptureMode": "Input"}]), endpoint="in")
    capture(writer, config(CaptureOptions=[{"CaptureMode": "Output"}]), endpoint="out")
    # Output only, and the model gave no answer: nothing to write.
    capture(
        writer,
        config(CaptureOptions=[{"CaptureMode": "Output"}]),
        endpoint="no",
        response_body=None,
    )
    writer.flush()
    [inputs] = records(store, keys(store, "monitor/capture/in/")[0])
    [outputs] = records(store, keys(store, "monitor/capture/out/")[0])
    assert list(inputs["captureData"]) == ["endpointInput"]
    assert list(outputs["captureData"]) == ["endpointOutput"]
    assert keys(store, "monitor/capture/no/") == []


def test_content_types_match_on_media_type_only(store: FilesystemObjectStore) -> None:
    writer = CaptureWriter(store)
    cfg = config()
    capture(
        writer,
        cfg,
        request_content_type="TEXT/X-CSV ; charset=utf-8",
        response_content_type="Application/JSON;charset=UTF-8",
    )
    capture(writer, cfg, request_content_type=None, event_id="e-2")
    capture(writer, cfg, request_body=b"\xff,1\n", event_id="e-3")  # "CSV" that is not UTF-8
    writer.flush()
    first, second, third = records(store, keys(store)[0])
    assert first["captureData"]["endpointInput"] == {
        "observedContentType": "TEXT/X-CSV ; charset=utf-8",
        "mode": "INPUT",
        "data": "1,2,3\n",
        "encoding": "CSV",
    }
    assert first["captureData"]["endpointOutput"]["encoding"] == "JSON"
    assert second["captureData"]["endpointInput"] == {
        "mode": "INPUT",
        "data": base64.b64encode(b"1,2,3\n").decode(),
        "encoding": "BASE64",
    }
    assert third["captureData"]["endpointInput"]["encoding"] == "BASE64"
    assert base64.b64decode(third["captureData"]["endpointInput"]["data"]) == b"\xff,1\n"


def test_without_content_type_header_everything_is_base64(store: FilesystemObjectStore) -> None:
    writer = CaptureWriter(store)
    request = {k: v for k, v in REQUEST.items() if k != "CaptureContentTypeHeader"}
    capture(writer, CaptureConfig.from_request(request))
    writer.flush()
    [record] = records(store, keys(store)[0])
    encodings = {part["encoding"] for part in record["captureData"].values()}
    assert encodings == {"BASE64"}
    output = record["captureData"]["endpointOutput"]["data"]
    assert base64.b64decode(output) == b'{"score": 0.5}'


def test_one_file_per_endpoint_variant_and_hour_per_flush(store: FilesystemObjectStore) -> None:
    writer = CaptureWriter(store)
    cfg = config()
    capture(writer, cfg, event_id="a")
    capture(writer, cfg, event_id="b", event_time=T0 + 10)
    capture(writer, cfg, event_id="c", variant="Blue")
    capture(writer, cfg, event_id="d", endpoint="ep2")
    capture(writer, cfg, event_id="e", event_time=T0 + 3600)  # 18:25:49.123
    writer.flush()
    capture(writer, cfg, event_id="f", event_time=T0 + 20)
    writer.flush()

    found: dict[str, list[list[str]]] = {key.rsplit("/", 1)[0]: [] for key in keys(store)}
    for key in keys(store):
        found[key.rsplit("/", 1)[0]].append(
            [r["eventMetadata"]["eventId"] for r in records(store, key)]
        )
    base = "monitor/capture"
    assert {folder: sorted(ids) for folder, ids in found.items()} == {
        f"{base}/ep/AllTraffic/2022/02/14/17": [["a", "b"], ["f"]],
        f"{base}/ep/Blue/2022/02/14/17": [["c"]],
        f"{base}/ep2/AllTraffic/2022/02/14/17": [["d"]],
        f"{base}/ep/AllTraffic/2022/02/14/18": [["e"]],
    }
    names = [key.rsplit("/", 1)[1][:9] for key in keys(store, f"{base}/ep/AllTraffic/")]
    assert sorted(names) == ["25-49-123", "25-49-123", "26-09-123"]


def test_kms_key_is_recorded_on_the_object(store: FilesystemObjectStore) -> None:
    writer = CaptureWriter(store)
    capture(writer, config(KmsKeyId="arn:aws:kms:us-east-1:111111111111:key/k1"))
    writer.flush()
    meta = store.head_object(BUCKET, keys(store)[0]).meta
    assert dict(meta.extra) == {
        "sse": "aws:kms",
        "sse_kms_key_id": "arn:aws:kms:us-east-1:111111111111:key/k1",
    }


def test_sampling_takes_the_configured_share() -> None:
    rng = random.Random(20240601)
    sampled = sum(config().sampled(rng) for _ in range(2000))
    # Binomial(2000, 0.3): mean 600, sd 20.5; 4 sd either side.
    assert 518 <= sampled <= 682, sampled
    assert sum(config(InitialSamplingPercentage=0).sampled(rng) for _ in range(500)) == 0
    assert sum(config(InitialSamplingPercentage=100).sampled(rng) for _ in range(500)) == 500
    assert not any(config(EnableCapture=False).sampled(rng) for _ in range(500))


def test_queue_bounds_drop_and_count(
    store: FilesystemObjectStore, caplog: pytest.LogCaptureFixture
) -> None:
    writer = CaptureWriter(store, max_pending=3)
    for n in range(5):
        capture(writer, config(), event_id=f"e-{n}")
    assert writer.dropped == 2
    caplog.set_level(logging.WARNING, logger="sagebrush.jobs.endpoints.capture")
    writer.flush()
    assert [r.getMessage() for r in caplog.records] == [
        "data capture: queue full, dropped 2 records"
    ]
    ids = [r["eventMetadata"]["eventId"] for r in records(store, keys(store)[0])]
    assert ids == ["e-0", "e-1", "e-2"]

    # Bytes bound too: each call holds 6 + 14 = 20 bytes of bodies.
    by_size = CaptureWriter(store, max_pending_bytes=50)
    for n in range(4):
        capture(by_size, config(), event_id=f"s-{n}")
    assert by_size.dropped == 2
    # The queue empties on flush, so there is room again.
    by_size.flush()
    capture(by_size, config(), event_id="s-4")
    assert by_size.dropped == 2


def test_missing_bucket_drops_the_batch_and_warns_once_a_minute(
    store: FilesystemObjectStore, caplog: pytest.LogCaptureFixture
) -> None:
    now = [1000.0]
    writer = CaptureWriter(store, clock=lambda: now[0])
    missing = config(DestinationS3Uri="s3://no-such-bucket/x")
    caplog.set_level(logging.WARNING, logger="sagebrush.jobs.endpoints.capture")
    capture(writer, missing)
    capture(writer, config(), event_id="kept")  # a good destination in the same flush
    writer.flush()
    capture(writer, missing)
    now[0] += 30
    writer.flush()
    assert len(caplog.records) == 1
    assert "no-such-bucket" in caplog.records[0].getMessage()
    now[0] += 31
    capture(writer, missing)
    writer.flush()
    assert len(caplog.records) == 2
    [record] = records(store, keys(store)[0])
    assert record["eventMetadata"]["eventId"] == "kept"

    store.create_bucket("no-such-bucket", "111111111111", "us-east-1")
    capture(writer, missing, event_id="late")
    writer.flush()
    [late] = store.list_objects("no-such-bucket").objects
    assert late.key.startswith("x/ep/AllTraffic/2022/02/14/17/")


def test_background_thread_writes_and_close_flushes(store: FilesystemObjectStore) -> None:
    periodic = CaptureWriter(store, flush_interval=0.05)
    periodic.start()
    capture(periodic, config(), event_id="periodic")
    deadline = time.monotonic() + 5
    while not keys(store) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(keys(store)) == 1
    periodic.close()

    # An hour between flushes: only close() can write this one, and it must not wait.
    hourly = CaptureWriter(store, flush_interval=3600)
    hourly.start()
    capture(hourly, config(), event_id="on-close")
    started = time.monotonic()
    hourly.close()
    assert time.monotonic() - started < 5
    assert len(keys(store)) == 2
    capture(hourly, config(), event_id="after-close")
    assert hourly.dropped == 1


def test_flush_called_on_an_event_loop_still_writes(store: FilesystemObjectStore) -> None:
    writer = CaptureWriter(store)

    async def on_the_loop() -> None:
        capture(writer, config())
        writer.flush()

    asyncio.run(on_the_loop())
    assert len(keys(store)) == 1


def test_capture_costs_microseconds(store: FilesystemObjectStore) -> None:
    writer = CaptureWriter(store, max_pending=100_000)
    cfg = config()
    body = b"x" * 1000
    calls = 20_000
    started = time.perf_counter()
    for n in range(calls):
        writer.capture(
            cfg,
            "ep",
            "AllTraffic",
            request_body=body,
            request_content_type="text/csv",
            response_body=body,
            response_content_type="text/csv",
            inference_id=None,
            event_id="e",
            event_time=T0 + n,
        )
    per_call_us = (time.perf_counter() - started) / calls * 1e6
    assert writer.dropped == 0
    assert per_call_us < 100, per_call_us
