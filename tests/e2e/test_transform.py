"""Batch transform end to end through boto3: how files are dealt to instances and named
(prefixes and manifests), what a failing file leaves behind (a bad record, an unsplit file
over MaxPayloadInMB, a timeout, bad gzip, an out-of-range OutputFilter), Gzip, JSON Lines
joins, RecordIO records, filters, pipelines, the batch container contract, output order
under concurrency, stopping, listing and bad requests.

One server for the module. Models are the built-in XGBoost (tiny boosters whose
predictions the test computes with the library) and ``mirror``, a registered local image
defined here that shows what it was sent: per request it prints ``invoked <instance>
<what>`` to its log, and answers by ``MIRROR_MODE``:

- ``tag``: each line of the body, then ``,<instance id>`` (CSV);
- ``double``: each CSV line with every value doubled (a preprocessing container);
- ``jsonl``: for each JSON array line, ``{"n": <length>, "sum": <sum>}`` (JSON Lines);
- ``sizes``: ``<body length> <lengths of its RecordIO frames, comma-separated>`` (the
  frames only under ``MultiRecord``: a single record's data may start with the magic word);
- ``env``: the batch variables of its environment, as one JSON line.

``MIRROR_DELAY`` / ``MIRROR_JITTER`` make it sleep (fixed / random) per request, and
``MIRROR_EXECUTION_PARAMETERS`` is what its ``GET /execution-parameters`` answers (404
without it).
"""

from __future__ import annotations

import functools
import gzip
import json
import random
import struct
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.exceptions
import numpy as np
import pytest
import xgboost

from sagebrush.container import recordio
from sagebrush.testing import Server, start_server
from tests.e2e._endpoints import (
    ACCOUNT,
    INSTANCE_TYPE,
    REGION,
    XGBOOST_IMAGE,
    create_model,
    processes_under,
    stop_server,
    tarball,
    unique,
    upload,
)

ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
FAST = {"Delay": 0.1, "MaxAttempts": 1200}
LOG_GROUP = "/aws/sagemaker/TransformJobs"
MIB = 1024 * 1024

MIRROR_SERVE = """\
#!{python}
import json, os, random, struct, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = os.environ.get("MIRROR_MODE", "tag")
INSTANCE = os.environ.get("SAGEBRUSH_INSTANCE_ID", "")
DELAY = float(os.environ.get("MIRROR_DELAY", "0"))
JITTER = float(os.environ.get("MIRROR_JITTER", "0"))
EXECUTION = os.environ.get("MIRROR_EXECUTION_PARAMETERS")
SHOWN = ("SAGEMAKER_BATCH", "SAGEMAKER_BATCH_STRATEGY", "SAGEMAKER_MAX_PAYLOAD_IN_MB",
         "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS", "FROM_JOB")


def frames(body):
    sizes, at = [], 0
    while at < len(body):
        magic, word = struct.unpack_from("<II", body, at)
        if magic != 0xCED7230A or word >> 29:
            raise ValueError("not a plain RecordIO frame at %d" % at)
        length = word & ((1 << 29) - 1)
        sizes.append(length)
        at += 8 + length + (-length % 4)
    return sizes


def answer(body):
    lines = body.decode("utf-8", "replace").splitlines()
    if MODE == "tag":
        return "".join("%s,%s\\n" % (line, INSTANCE) for line in lines), "text/csv"
    if MODE == "double":
        rows = (",".join(repr(2 * float(v)) for v in line.split(",")) for line in lines)
        return "".join(row + "\\n" for row in rows), "text/csv"
    if MODE == "jsonl":
        values = [json.loads(line) for line in lines]
        out = (json.dumps({"n": len(v), "sum": sum(v)}) for v in values)
        return "".join(o + "\\n" for o in out), "application/jsonlines"
    if MODE == "sizes":
        multi = os.environ.get("SAGEMAKER_BATCH_STRATEGY") == "MULTI_RECORD"
        sizes = frames(body) if multi else []
        return "%d %s\\n" % (len(body), ",".join(map(str, sizes))), "text/plain"
    return json.dumps({k: os.environ.get(k) for k in SHOWN}) + "\\n", "application/json"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/ping":
            self.reply(200, b"")
        elif self.path == "/execution-parameters" and EXECUTION:
            self.reply(200, EXECUTION.encode(), "application/json")
        else:
            self.reply(404, b"")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        first = body.split(b"\\n", 1)[0][:60].decode("utf-8", "replace")
        # One write per line: print() writes text and newline apart, and two request
        # threads printing at once would interleave them.
        sys.stdout.write("invoked %s %d %s\\n" % (INSTANCE, len(body), first))
        sys.stdout.flush()
        time.sleep(DELAY + random.random() * JITTER)
        try:
            text, content_type = answer(body)
        except Exception as exc:
            self.reply(400, ("mirror cannot read this: %r" % exc).encode())
            return
        self.reply(200, text.encode(), content_type)


server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["SAGEMAKER_BIND_TO_PORT"])), Handler)
print("mirror ready", flush=True)
server.serve_forever()
"""


@dataclass
class Env:
    srv: Server
    sm: Any
    s3: Any
    logs: Any
    image: str

    def mirror(self, mode: str = "tag", **environment: str) -> str:
        return create_model(self.sm, self.image, None, {"MIRROR_MODE": mode, **environment})

    def xgboost(self, booster: xgboost.Booster) -> str:
        url = f"s3://models/{unique('xgb')}/model.tar.gz"
        upload(self.s3, url, tarball({"xgboost-model": bytes(booster.save_raw("ubj"))}))
        return create_model(self.sm, XGBOOST_IMAGE, url)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    home = tmp_path_factory.mktemp("transform-home")
    image = home / "images" / "mirror"
    image.mkdir(parents=True)
    (image / "serve").write_text(MIRROR_SERVE.replace("{python}", sys.executable))
    (image / "serve").chmod(0o755)
    server = start_server(home)
    yield Env(
        server,
        server.client("sagemaker"),
        server.client("s3"),
        server.client("logs"),
        "mirror:latest",
    )
    stop_server(server)


@functools.cache
def _booster() -> xgboost.Booster:
    X = np.random.default_rng(7).normal(size=(200, 3))
    labels = X[:, 0] * 2 - X[:, 1] + 0.1 * X[:, 2]
    params = {"objective": "reg:squarederror", "max_depth": 3}
    return xgboost.train(params, xgboost.DMatrix(X, label=labels), 8)


def _predictions(booster: xgboost.Booster, rows: np.ndarray) -> list[str]:
    """The container's CSV numbers: each float32 prediction written as the double it is."""
    return [repr(float(v)) for v in booster.predict(xgboost.DMatrix(rows))]


def _csv(rows: np.ndarray) -> str:
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows)


def _request(
    model: str,
    source: str,
    output: str,
    *,
    count: int = 1,
    data_type: str = "S3Prefix",
    **fields: Any,
) -> dict[str, Any]:
    """A CreateTransformJob request; ``TransformInput`` / ``TransformOutput`` fields merge."""
    request: dict[str, Any] = {
        "TransformJobName": unique("t"),
        "ModelName": model,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": data_type, "S3Uri": source}}
        },
        "TransformOutput": {"S3OutputPath": output},
        "TransformResources": {"InstanceType": INSTANCE_TYPE, "InstanceCount": count},
    }
    for key, value in fields.items():
        if key in ("TransformInput", "TransformOutput"):
            request[key].update(value)
        else:
            request[key] = value
    return request


def _run(env: Env, request: Mapping[str, Any]) -> dict[str, Any]:
    """Create the job, wait with botocore's waiter, return DescribeTransformJob."""
    name = request["TransformJobName"]
    env.sm.create_transform_job(**request)
    waiter = env.sm.get_waiter("transform_job_completed_or_stopped")
    try:
        waiter.wait(TransformJobName=name, WaiterConfig=FAST)
    except botocore.exceptions.WaiterError as exc:
        # The waiter's failure acceptor: the job Failed (tests assert on the description).
        assert exc.last_response["TransformJobStatus"] == "Failed", exc.last_response
    described: dict[str, Any] = env.sm.describe_transform_job(TransformJobName=name)
    return described


def _outputs(env: Env, uri: str) -> dict[str, bytes]:
    """Every object under ``uri`` (a prefix), by key relative to it."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    prefix = prefix.rstrip("/") + "/"
    found = {}
    for page in env.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            body = env.s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            found[item["Key"][len(prefix) :]] = body
    return found


def _invocations(env: Env, job: str) -> dict[str, list[str]]:
    """The mirror's ``invoked ...`` lines per log stream of the job."""
    streams = env.logs.describe_log_streams(logGroupName=LOG_GROUP, logStreamNamePrefix=job)
    found = {}
    for stream in streams["logStreams"]:
        name = stream["logStreamName"]
        events = env.logs.get_log_events(
            logGroupName=LOG_GROUP, logStreamName=name, startFromHead=True
        )["events"]
        found[name] = [e["message"] for e in events if e["message"].startswith("invoked ")]
    return found


def _error(env: Env, request: Mapping[str, Any]) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        env.sm.create_transform_job(**request)
    error = caught.value.response["Error"]
    return error["Code"], error["Message"]


# --- distribution and naming ------------------------------------------------------------


def test_files_are_dealt_to_instances_once_each_keeping_nested_prefixes(env: Env) -> None:
    base = f"s3://transform/{unique('deal')}"
    keys = [f"{d}/f{i}.csv" for i, d in enumerate(["a", "a/b", "a/b/c", "d", "d/e"] * 2)]
    for i, key in enumerate(keys):
        upload(env.s3, f"{base}/in/{key}", "".join(f"{i},{r}\n" for r in range(5)).encode())
    model = env.mirror("tag")
    request = _request(
        model,
        f"{base}/in/",
        f"{base}/out",
        count=3,
        BatchStrategy="MultiRecord",
        TransformInput={"ContentType": "text/csv", "SplitType": "Line"},
        TransformOutput={"AssembleWith": "Line", "Accept": "text/csv"},
    )
    described = _run(env, request)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")

    # One .out per input, named after its key below the input prefix; every record
    # answered once, in order, all of a file by the one instance that had it.
    outputs = _outputs(env, f"{base}/out")
    assert sorted(outputs) == sorted(f"{key}.out" for key in keys)
    owner = {}
    for i, key in enumerate(keys):
        lines = outputs[f"{key}.out"].decode().splitlines()
        instances = {line.rsplit(",", 1)[1] for line in lines}
        assert len(instances) == 1, (key, lines)
        owner[key] = instances.pop()
        assert lines == [f"{i},{r},{owner[key]}" for r in range(5)]
    assert len(set(owner.values())) == 3  # no instance left idle

    # The logs: one stream per instance, "<job>/<instance id>-<epoch>", where each file
    # was sent exactly once (one MultiRecord request per file) by its owner.
    name = request["TransformJobName"]
    streams = _invocations(env, name)
    assert len(streams) == 3, sorted(streams)
    sent: Counter[tuple[str, str]] = Counter()
    for stream, lines in streams.items():
        instance = stream.removeprefix(f"{name}/").rsplit("-", 1)[0]
        for line in lines:
            _, seen_by, _, first = line.split(" ", 3)
            assert seen_by == instance, (stream, line)
            sent[(instance, first.split(",")[0])] += 1
    assert sent == Counter({(owner[key], str(i)): 1 for i, key in enumerate(keys)})

    assert described == {
        "TransformJobName": name,
        "TransformJobArn": f"{ARN}:transform-job/{name}",
        "TransformJobStatus": "Completed",
        "ModelName": model,
        "BatchStrategy": "MultiRecord",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"{base}/in/"}},
            "ContentType": "text/csv",
            "CompressionType": "None",
            "SplitType": "Line",
        },
        "TransformOutput": {
            "S3OutputPath": f"{base}/out",
            "Accept": "text/csv",
            "AssembleWith": "Line",
        },
        "TransformResources": {"InstanceType": INSTANCE_TYPE, "InstanceCount": 3},
        "CreationTime": described["CreationTime"],
        "TransformStartTime": described["TransformStartTime"],
        "TransformEndTime": described["TransformEndTime"],
        "ResponseMetadata": described["ResponseMetadata"],
    }
    assert described["CreationTime"] <= described["TransformStartTime"]
    assert described["TransformStartTime"] <= described["TransformEndTime"]


def test_a_manifest_names_the_objects_and_their_output_keys(env: Env) -> None:
    base = f"s3://transform/{unique('manifest')}"
    for key, body in {"x/one.csv": "1\n2\n", "y/z/two.csv": "3\n", "skipped.csv": "9\n"}.items():
        upload(env.s3, f"{base}/data/{key}", body.encode())
    manifest = [{"prefix": f"{base}/data/"}, "y/z/two.csv", "x/one.csv"]
    upload(env.s3, f"{base}/list.manifest", json.dumps(manifest).encode())
    request = _request(
        env.mirror("tag"),
        f"{base}/list.manifest",
        f"{base}/out/",
        data_type="ManifestFile",
        TransformInput={"ContentType": "text/csv", "SplitType": "Line"},
        TransformOutput={"AssembleWith": "Line"},
    )
    described = _run(env, request)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    outputs = _outputs(env, f"{base}/out")
    assert sorted(outputs) == ["x/one.csv.out", "y/z/two.csv.out"]
    instance = outputs["x/one.csv.out"].decode().split(",")[-1].strip()
    assert outputs == {
        "x/one.csv.out": f"1,{instance}\n2,{instance}\n".encode(),
        "y/z/two.csv.out": f"3,{instance}\n".encode(),
    }


# --- failures ----------------------------------------------------------------------------


def test_a_poisoned_record_fails_its_file_only(env: Env) -> None:
    base = f"s3://transform/{unique('poison')}"
    rows = np.random.default_rng(1).normal(size=(30, 3)).round(4)
    good = {"good-1.csv": rows[:10], "good-2.csv": rows[10:20]}
    for key, part in good.items():
        upload(env.s3, f"{base}/in/{key}", _csv(part).encode())
    poisoned = _csv(rows[20:25]) + "1.0,not-a-number,3.0\n" + _csv(rows[25:])
    upload(env.s3, f"{base}/in/poisoned.csv", poisoned.encode())
    request = _request(
        env.xgboost(_booster()),
        f"{base}/in",
        f"{base}/out",
        count=2,
        TransformInput={"ContentType": "text/csv", "SplitType": "Line"},
        TransformOutput={"AssembleWith": "Line"},
    )
    described = _run(env, request)
    assert described["TransformJobStatus"] == "Failed"
    reason = described["FailureReason"]
    assert f"{base}/in/poisoned.csv" in reason, reason
    assert "good-" not in reason, reason
    outputs = _outputs(env, f"{base}/out")
    assert sorted(outputs) == ["good-1.csv.out", "good-2.csv.out"]
    for key, part in good.items():
        assert outputs[f"{key}.out"].decode().splitlines() == _predictions(_booster(), part)


def test_an_unsplit_file_over_max_payload_fails_with_a_clear_reason(env: Env) -> None:
    base = f"s3://transform/{unique('payload')}"
    upload(env.s3, f"{base}/in/big.bin", b"x" * (MIB + MIB // 2))
    upload(env.s3, f"{base}/in/small.bin", b"y" * 1000)
    request = _request(
        env.mirror("sizes"),
        f"{base}/in/",
        f"{base}/out",
        MaxPayloadInMB=1,
        TransformInput={"ContentType": "application/octet-stream", "SplitType": "None"},
    )
    described = _run(env, request)
    assert described["TransformJobStatus"] == "Failed"
    reason = described["FailureReason"]
    assert f"{base}/in/big.bin" in reason, reason
    assert "MaxPayloadInMB" in reason, reason
    assert "small.bin" not in reason, reason
    # The whole object, as one request, for the file that fits.
    assert _outputs(env, f"{base}/out") == {"small.bin.out": b"1000 \n"}


def test_an_invocation_timeout_fails_the_file(env: Env) -> None:
    base = f"s3://transform/{unique('timeout')}"
    upload(env.s3, f"{base}/in/slow.csv", b"1\n")
    request = _request(
        env.mirror("tag", MIRROR_DELAY="3"),
        f"{base}/in/",
        f"{base}/out",
        ModelClientConfig={"InvocationsTimeoutInSeconds": 1, "InvocationsMaxRetries": 0},
        TransformInput={"ContentType": "text/csv", "SplitType": "Line"},
    )
    started = time.monotonic()
    described = _run(env, request)
    assert time.monotonic() - started < 3 + 2  # gave up before the model answered
    assert described["TransformJobStatus"] == "Failed"
    assert f"{base}/in/slow.csv" in described["FailureReason"]
    assert described["ModelClientConfig"] == {
        "InvocationsTimeoutInSeconds": 1,
        "InvocationsMaxRetries": 0,
    }
    assert _outputs(env, f"{base}/out") == {}


def test_filters_slice_inclusively_and_an_out_of_range_output_filter_fails(env: Env) -> None:
    base = f"s3://transform/{unique('filters')}"
    upload(env.s3, f"{base}/in/rows.csv", b"a,b,c,d,e\nf,g,h,i,j\n")
    csv = {"ContentType": "text/csv", "SplitType": "Line"}
    out = {"Accept": "text/csv", "AssembleWith": "Line"}
    # "$[1:2]" is the second through third columns: SageMaker's slice end is inclusive.
    request = _request(
        env.mirror("tag"),
        f"{base}/in/",
        f"{base}/out",
        TransformInput=csv,
        TransformOutput=out,
        DataProcessing={"InputFilter": "$[1:2]", "JoinSource": "Input", "OutputFilter": "$[-3:]"},
    )
    described = _run(env, request)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    body = _outputs(env, f"{base}/out")["rows.csv.out"].decode()
    instance = body.split(",", 3)[2].split("\n")[0]
    assert body == f"b,c,{instance}\ng,h,{instance}\n"

    # An OutputFilter index beyond the joined record (11 columns) is an error (DataProcessing).
    request = _request(
        env.mirror("tag"),
        f"{base}/in/",
        f"{base}/out-range",
        TransformInput=csv,
        TransformOutput=out,
        DataProcessing={"JoinSource": "Input", "OutputFilter": "$[0,20]"},
    )
    described = _run(env, request)
    assert described["TransformJobStatus"] == "Failed"
    reason = described["FailureReason"]
    assert f"{base}/in/rows.csv" in reason and "OutputFilter" in reason, reason
    assert _outputs(env, f"{base}/out-range") == {}


# --- input formats -----------------------------------------------------------------------


def test_gzip_input_is_split_and_predicted_uncompressed(env: Env) -> None:
    base = f"s3://transform/{unique('gzip')}"
    rows = np.random.default_rng(2).normal(size=(500, 3)).round(4)
    upload(env.s3, f"{base}/in/part.csv.gz", gzip.compress(_csv(rows).encode()))
    request = _request(
        env.xgboost(_booster()),
        f"{base}/in/",
        f"{base}/out",
        MaxPayloadInMB=1,
        BatchStrategy="MultiRecord",
        TransformInput={"ContentType": "text/csv", "SplitType": "Line", "CompressionType": "Gzip"},
        TransformOutput={"AssembleWith": "Line", "Accept": "text/csv"},
    )
    described = _run(env, request)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    expected = "".join(p + "\n" for p in _predictions(_booster(), rows))
    assert _outputs(env, f"{base}/out") == {"part.csv.gz.out": expected.encode()}

    # An object that is not gzip data fails alone.
    upload(env.s3, f"{base}/in/plain.csv", _csv(rows[:3]).encode())
    request = {**request, "TransformJobName": unique("t")}
    request["TransformOutput"] = {**request["TransformOutput"], "S3OutputPath": f"{base}/out-2"}
    described = _run(env, request)
    assert described["TransformJobStatus"] == "Failed"
    assert f"{base}/in/plain.csv" in described["FailureReason"]
    assert "gzip" in described["FailureReason"].lower()
    assert _outputs(env, f"{base}/out-2") == {"part.csv.gz.out": expected.encode()}


def test_json_lines_join_keeps_the_record_and_adds_sagemaker_output(env: Env) -> None:
    base = f"s3://transform/{unique('jsonl')}"
    objects: list[dict[str, Any]] = [
        {"id": f"r{i}", "features": [i, i + 1, 2 * i]} for i in range(6)
    ]
    arrays = [[i, -i, 0.5] for i in range(4)]
    upload(
        env.s3, f"{base}/in/objects.jsonl", "".join(json.dumps(o) + "\n" for o in objects).encode()
    )
    upload(
        env.s3,
        f"{base}/arrays/arrays.jsonl",
        "".join(json.dumps(a) + "\n" for a in arrays).encode(),
    )
    model = env.mirror("jsonl")
    lines = {"ContentType": "application/jsonlines", "SplitType": "Line"}
    out = {"Accept": "application/jsonlines", "AssembleWith": "Line"}

    # Objects: the model gets only the features; the output keeps the id beside its answer.
    request = _request(
        model,
        f"{base}/in/",
        f"{base}/out-objects",
        BatchStrategy="MultiRecord",
        TransformInput=lines,
        TransformOutput=out,
        DataProcessing={
            "InputFilter": "$.features",
            "JoinSource": "Input",
            "OutputFilter": "$['id','SageMakerOutput']",
        },
    )
    described = _run(env, request)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    body = _outputs(env, f"{base}/out-objects")["objects.jsonl.out"].decode()
    assert body.endswith("\n")
    assert [json.loads(line) for line in body.splitlines()] == [
        {"id": o["id"], "SageMakerOutput": {"n": 3, "sum": sum(o["features"])}} for o in objects
    ]

    # Arrays are not objects: joined as SageMakerInput beside SageMakerOutput.
    request = _request(
        model,
        f"{base}/arrays/",
        f"{base}/out-arrays",
        BatchStrategy="SingleRecord",
        TransformInput=lines,
        TransformOutput=out,
        DataProcessing={"JoinSource": "Input"},
    )
    described = _run(env, request)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    body = _outputs(env, f"{base}/out-arrays")["arrays.jsonl.out"].decode()
    assert [json.loads(line) for line in body.splitlines()] == [
        {"SageMakerInput": a, "SageMakerOutput": {"n": 3, "sum": sum(a)}} for a in arrays
    ]


def _framed_size(record: bytes) -> int:
    return 8 + len(record) + (-len(record) % 4)


def test_recordio_records_reach_the_model_whole(env: Env) -> None:
    base = f"s3://transform/{unique('recordio')}"
    rng = random.Random(3)
    magic = struct.pack("<I", recordio.MAGIC)
    # One record holds the magic word 4-byte aligned: split in the file, one record again.
    single = [b"a", b"bcdef", magic * 3 + b"tail", bytes(rng.randrange(256) for _ in range(999))]
    upload(env.s3, f"{base}/single/r.rec", b"".join(recordio.encode(r) for r in single))
    # ~300 KB records (no magic words): MultiRecord packs what fits in 1 MiB per request.
    big = [bytes([65 + i]) * rng.randrange(250_000, 350_000) for i in range(10)]
    upload(env.s3, f"{base}/multi/r.rec", b"".join(recordio.encode(r) for r in big))
    model = env.mirror("sizes")
    source = {"ContentType": "application/x-recordio", "SplitType": "RecordIO"}

    # SingleRecord: each request is one record's data, its framing and padding removed.
    request = _request(
        model,
        f"{base}/single/",
        f"{base}/out-single",
        BatchStrategy="SingleRecord",
        TransformInput=source,
        TransformOutput={"AssembleWith": "Line"},
    )
    described = _run(env, request)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    expected = "".join(f"{len(r)} \n" for r in single)
    assert _outputs(env, f"{base}/out-single") == {"r.rec.out": expected.encode()}

    # MultiRecord: framed records back to back, as many as fit under MaxPayloadInMB.
    request = _request(
        model,
        f"{base}/multi/",
        f"{base}/out-multi",
        BatchStrategy="MultiRecord",
        MaxPayloadInMB=1,
        TransformInput=source,
    )
    described = _run(env, request)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    batches: list[list[bytes]] = [[]]
    for record in big:
        if sum(map(_framed_size, batches[-1] + [record])) > MIB:
            batches.append([])
        batches[-1].append(record)
    expected = "".join(
        f"{sum(map(_framed_size, b))} {','.join(str(len(r)) for r in b)}\n" for b in batches
    )
    assert len(batches) > 2
    assert _outputs(env, f"{base}/out-multi") == {"r.rec.out": expected.encode()}


# --- models and parameters ---------------------------------------------------------------


def test_a_pipeline_model_transforms_through_both_containers(env: Env) -> None:
    base = f"s3://transform/{unique('pipeline')}"
    rows = np.random.default_rng(4).normal(size=(40, 3)).round(3)
    ids = [f"id{i:03d}" for i in range(len(rows))]
    body = "".join(
        f"{i}," + ",".join(repr(float(v)) for v in row) + "\n"
        for i, row in zip(ids, rows, strict=True)
    )
    upload(env.s3, f"{base}/in/rows.csv", body.encode())
    url = f"s3://models/{unique('xgb')}/model.tar.gz"
    upload(env.s3, url, tarball({"xgboost-model": bytes(_booster().save_raw("ubj"))}))
    name = unique("pipe")
    env.sm.create_model(
        ModelName=name,
        Containers=[
            {"Image": env.image, "Environment": {"MIRROR_MODE": "double"}},
            {"Image": XGBOOST_IMAGE, "ModelDataUrl": url},
        ],
        ExecutionRoleArn="arn:aws:iam::000000000000:role/SagebrushExecutionRole",
    )
    request = _request(
        name,
        f"{base}/in/",
        f"{base}/out",
        TransformInput={"ContentType": "text/csv", "SplitType": "Line"},
        TransformOutput={"AssembleWith": "Line", "Accept": "text/csv"},
        DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
    )
    described = _run(env, request)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    predictions = _predictions(_booster(), rows * 2)
    expected = "".join(f"{i},{p}\n" for i, p in zip(ids, predictions, strict=True))
    assert _outputs(env, f"{base}/out") == {"rows.csv.out": expected.encode()}


def test_without_accept_answers_are_read_as_the_content_type(env: Env) -> None:
    # The SDK's own release test (tests/integ/test_transformer.py) filters without accept=.
    base = f"s3://transform/{unique('noaccept')}"
    upload(env.s3, f"{base}/in/rows.csv", b"k1,1,2\nk2,3,4\nk3,5,6\n")
    request = _request(
        env.mirror("tag"),
        f"{base}/in/",
        f"{base}/out",
        TransformInput={"ContentType": "text/csv", "SplitType": "Line"},
        TransformOutput={"AssembleWith": "Line"},
        DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,2:]"},
    )
    described = _run(env, request)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    body = _outputs(env, f"{base}/out")["rows.csv.out"].decode()
    instance = body.splitlines()[0].rsplit(",", 1)[1]
    # Joined: id,a,b + the answer a,b,instance; "$[0,2:]" keeps the id and from b on.
    assert body == "".join(
        f"{k},{b},{a},{b},{instance}\n" for k, a, b in (("k1", 1, 2), ("k2", 3, 4), ("k3", 5, 6))
    )


def test_the_container_contract_and_execution_parameters(env: Env) -> None:
    base = f"s3://transform/{unique('contract')}"
    upload(env.s3, f"{base}/in/three.txt", b"one\ntwo\nthree\n")
    asks = {"MaxConcurrentTransforms": 2, "BatchStrategy": "SINGLE_RECORD", "MaxPayloadInMB": 1}
    model = env.mirror("env", MIRROR_EXECUTION_PARAMETERS=json.dumps(asks))
    source = {"ContentType": "text/plain", "SplitType": "Line"}

    # Nothing set in the request: the container's execution parameters decide (one record
    # per request), and only SAGEMAKER_BATCH is set in its environment.
    request = _request(
        model,
        f"{base}/in/",
        f"{base}/out-container",
        TransformInput=source,
        TransformOutput={"AssembleWith": "Line"},
        Environment={"FROM_JOB": "yes"},
    )
    described = _run(env, request)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    seen = {
        "SAGEMAKER_BATCH": "true",
        "SAGEMAKER_BATCH_STRATEGY": None,
        "SAGEMAKER_MAX_PAYLOAD_IN_MB": None,
        "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": None,
        "FROM_JOB": "yes",
    }
    body = _outputs(env, f"{base}/out-container")["three.txt.out"].decode()
    assert [json.loads(line) for line in body.splitlines()] == [seen] * 3
    invoked = [
        i for lines in _invocations(env, request["TransformJobName"]).values() for i in lines
    ]
    assert sorted(line.split(" ", 3)[3] for line in invoked) == ["one", "three", "two"]

    # The request's values win, and the container is told them.
    request = _request(
        model,
        f"{base}/in/",
        f"{base}/out-request",
        BatchStrategy="MultiRecord",
        MaxPayloadInMB=2,
        MaxConcurrentTransforms=3,
        TransformInput=source,
    )
    described = _run(env, request)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    told = {
        **seen,
        "SAGEMAKER_BATCH_STRATEGY": "MULTI_RECORD",
        "SAGEMAKER_MAX_PAYLOAD_IN_MB": "2",
        "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": "3",
        "FROM_JOB": None,
    }
    body = _outputs(env, f"{base}/out-request")["three.txt.out"].decode()
    assert json.loads(body) == told  # one request for the whole file


def test_output_order_survives_concurrent_requests(env: Env) -> None:
    base = f"s3://transform/{unique('order')}"
    lines = [
        f"{i}," + "x" * rng_len
        for i, rng_len in enumerate(random.Random(5).choices(range(50, 400), k=12_000))
    ]
    upload(env.s3, f"{base}/in/rows.csv", "".join(line + "\n" for line in lines).encode())
    request = _request(
        env.mirror("tag", MIRROR_JITTER="0.05"),
        f"{base}/in/",
        f"{base}/out",
        BatchStrategy="MultiRecord",
        MaxPayloadInMB=1,
        MaxConcurrentTransforms=4,
        TransformInput={"ContentType": "text/csv", "SplitType": "Line"},
        TransformOutput={"AssembleWith": "Line"},
    )
    described = _run(env, request)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    body = _outputs(env, f"{base}/out")["rows.csv.out"].decode().splitlines()
    instance = body[0].rsplit(",", 1)[1]
    assert body == [f"{line},{instance}" for line in lines]
    invoked = [i for ls in _invocations(env, request["TransformJobName"]).values() for i in ls]
    assert len(invoked) >= 2  # several payloads (~2.5 MB of records in 1 MiB payloads)
    assert all(int(line.split(" ")[2]) <= MIB for line in invoked)


# --- stopping, waiting, listing ------------------------------------------------------------


@dataclass(frozen=True)
class Stopped:
    name: str
    output: str
    ran: list[int]  # the job's instance processes while it ran
    seconds: float  # from StopTransformJob to Stopped


@pytest.fixture(scope="module")
def stopped(env: Env) -> Stopped:
    """A job stopped while its second file (one instance, 0.1 s per record) was being sent."""
    base = f"s3://transform/{unique('stop')}"
    upload(env.s3, f"{base}/in/a-quick.csv", b"1\n")
    upload(env.s3, f"{base}/in/b-slow.csv", "".join(f"{i}\n" for i in range(200)).encode())
    request = _request(
        env.mirror("tag", MIRROR_DELAY="0.1"),
        f"{base}/in/",
        f"{base}/out",
        BatchStrategy="SingleRecord",
        TransformInput={"ContentType": "text/csv", "SplitType": "Line"},
        TransformOutput={"AssembleWith": "Line"},
    )
    name = request["TransformJobName"]
    env.sm.create_transform_job(**request)
    deadline = time.monotonic() + 60
    while sum(len(v) for v in _invocations(env, name).values()) < 5:  # well into b-slow.csv
        assert time.monotonic() < deadline, env.sm.describe_transform_job(TransformJobName=name)
        time.sleep(0.1)
    ran = processes_under(_job_dir(env, name))
    env.sm.stop_transform_job(TransformJobName=name)
    stopping = env.sm.describe_transform_job(TransformJobName=name)["TransformJobStatus"]
    assert stopping in ("Stopping", "Stopped")
    asked = time.monotonic()
    env.sm.get_waiter("transform_job_completed_or_stopped").wait(
        TransformJobName=name, WaiterConfig=FAST
    )
    return Stopped(name, f"{base}/out", ran, time.monotonic() - asked)


def _job_dir(env: Env, name: str) -> Path:
    return env.srv.home / "transform" / ACCOUNT / REGION / name


def test_stop_mid_run_ends_stopped_and_its_instances(env: Env, stopped: Stopped) -> None:
    assert stopped.seconds < 10  # the rest of b-slow.csv alone takes ~20 s
    described = env.sm.describe_transform_job(TransformJobName=stopped.name)
    assert described["TransformJobStatus"] == "Stopped"
    assert "FailureReason" not in described
    assert described["TransformEndTime"] >= described["TransformStartTime"]
    assert stopped.ran, "no instance process found while the job ran"
    assert processes_under(_job_dir(env, stopped.name)) == []
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        env.sm.stop_transform_job(TransformJobName=stopped.name)
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_a_stopped_job_stores_no_output(env: Env, stopped: Stopped) -> None:
    # "When you stop a batch transform job before it is completed, Amazon SageMaker doesn't
    # store the job's output in Amazon S3" (StopTransformJob): not even a.csv's, done before.
    assert _outputs(env, stopped.output) == {}


def test_list_transform_jobs_filters_sorts_and_pages(env: Env) -> None:
    base = f"s3://transform/{unique('list')}"
    upload(env.s3, f"{base}/in/x.csv", b"1\n")
    marker = unique("listed")
    model = env.mirror("tag")
    before = datetime.now(UTC) - timedelta(seconds=1)
    names = [f"{marker}-{suffix}" for suffix in ("b", "c", "a")]
    for suffix, name in zip(("b", "c", "a"), names, strict=True):
        source = f"{base}/in/" if suffix != "c" else f"{base}/missing/"
        request = _request(
            model, source, f"{base}/out-{suffix}", TransformInput={"SplitType": "Line"}
        )
        _run(env, {**request, "TransformJobName": name})
    statuses = {n: env.sm.describe_transform_job(TransformJobName=n) for n in names}
    assert statuses[f"{marker}-c"]["TransformJobStatus"] == "Failed"
    reason = statuses[f"{marker}-c"]["FailureReason"]
    assert reason.startswith(f'No S3 objects found under S3 URL "{base}/missing/"'), reason

    def listed(**kw: Any) -> dict[str, Any]:
        page: dict[str, Any] = env.sm.list_transform_jobs(NameContains=marker, **kw)
        return page

    by_name = listed(SortBy="Name", SortOrder="Ascending")["TransformJobSummaries"]
    assert [s["TransformJobName"] for s in by_name] == sorted(names)
    by_default = listed()["TransformJobSummaries"]  # CreationTime, Descending
    assert [s["TransformJobName"] for s in by_default] == names[::-1]
    failed = listed(StatusEquals="Failed")["TransformJobSummaries"]
    described = statuses[f"{marker}-c"]
    assert failed == [
        {
            "TransformJobName": f"{marker}-c",
            "TransformJobArn": f"{ARN}:transform-job/{marker}-c",
            "CreationTime": described["CreationTime"],
            "TransformEndTime": described["TransformEndTime"],
            "LastModifiedTime": failed[0]["LastModifiedTime"],
            "TransformJobStatus": "Failed",
            "FailureReason": described["FailureReason"],
        }
    ]
    completed = listed(StatusEquals="Completed", SortBy="Name", SortOrder="Descending")
    assert [s["TransformJobName"] for s in completed["TransformJobSummaries"]] == [
        f"{marker}-b",
        f"{marker}-a",
    ]
    assert listed(CreationTimeBefore=before)["TransformJobSummaries"] == []
    assert len(listed(CreationTimeAfter=before)["TransformJobSummaries"]) == 3

    first = listed(SortBy="Name", SortOrder="Ascending", MaxResults=2)
    assert [s["TransformJobName"] for s in first["TransformJobSummaries"]] == sorted(names)[:2]
    rest = listed(SortBy="Name", SortOrder="Ascending", MaxResults=2, NextToken=first["NextToken"])
    assert [s["TransformJobName"] for s in rest["TransformJobSummaries"]] == sorted(names)[2:]
    assert "NextToken" not in rest


# --- bad requests ------------------------------------------------------------------------


def test_bad_requests_are_refused_before_anything_runs(env: Env) -> None:
    base = f"s3://transform/{unique('bad')}"
    model = env.mirror("tag")
    ok = _request(model, f"{base}/in/", f"{base}/out", TransformInput={"SplitType": "Line"})

    code, message = _error(env, {**ok, "MaxPayloadInMB": 101})
    assert code == "ValidationException" and "MaxPayloadInMB" in message and "100" in message
    code, message = _error(env, {**ok, "MaxPayloadInMB": 6, "MaxConcurrentTransforms": 20})
    assert code == "ValidationException"
    assert "MaxConcurrentTransforms" in message and "MaxPayloadInMB" in message
    code, message = _error(env, {**ok, "ModelName": "no-such-model"})
    assert (code, message) == (
        "ValidationException",
        f'Could not find model "{ARN}:model/no-such-model".',
    )
    bad_filters = [
        ("text/csv", "features"),
        ("text/csv", "$[1:"),
        ("text/csv", "$.id"),  # CSV rows take index paths only
        ("application/jsonlines", "$.a_b"),  # SageMaker refuses "_" (aws/aws-sdk#184)
    ]
    for content_type, path in bad_filters:
        source = {**ok["TransformInput"], "ContentType": content_type}
        output = {**ok["TransformOutput"], "Accept": content_type}
        request = {**ok, "TransformInput": source, "TransformOutput": output,
                   "DataProcessing": {"InputFilter": path}}  # fmt: skip
        code, message = _error(env, request)
        assert code == "ValidationException" and path in message, (path, message)
    augmented = _request(
        model, f"{base}/m.manifest", f"{base}/out", data_type="AugmentedManifestFile"
    )
    code, message = _error(env, augmented)
    assert code == "ValidationException" and "AugmentedManifestFile" in message
    # The model's own constraints, checked before the provider: an unknown SplitType.
    code, _ = _error(env, {**ok, "TransformInput": {**ok["TransformInput"], "SplitType": "Words"}})
    assert code == "ValidationException"

    # None of them made a job.
    listed = env.sm.list_transform_jobs(NameContains=ok["TransformJobName"])
    assert listed["TransformJobSummaries"] == []

    upload(env.s3, f"{base}/in/x.csv", b"1\n")
    _run(env, ok)
    code, message = _error(env, ok)
    assert code == "ResourceInUse"
    assert ok["TransformJobName"] in message or "already exists" in message

    with pytest.raises(botocore.exceptions.ClientError) as caught:
        env.sm.describe_transform_job(TransformJobName="never-made")
    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "ValidationException",
        "Could not find requested job with name never-made",
    )


def test_batch_data_capture_writes_manifests_and_inference_ids(env: Env) -> None:
    base = f"s3://transform/{unique('capture')}"
    upload(env.s3, f"{base}/in/a.csv", b"1,2\n3,4\n")
    upload(env.s3, f"{base}/in/sub/b.csv", b"5,6\n")
    request = _request(
        env.mirror("tag"),
        f"{base}/in/",
        f"{base}/out",
        TransformInput={"ContentType": "text/csv", "SplitType": "Line"},
        TransformOutput={"AssembleWith": "Line", "Accept": "text/csv"},
        DataCaptureConfig={"DestinationS3Uri": f"{base}/capture", "GenerateInferenceId": True},
    )
    described = _run(env, request)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert described["DataCaptureConfig"] == request["DataCaptureConfig"]
    started = described["TransformStartTime"].astimezone(UTC)
    hour, when = started.strftime("%Y/%m/%d/%H"), started.strftime("%Y-%m-%dT%H:%M:%SZ")

    outputs = _outputs(env, f"{base}/out")
    assert sorted(outputs) == ["a.csv.out", "sub/b.csv.out"]
    ids = []
    for key, rows in (("a.csv.out", ["1,2", "3,4"]), ("sub/b.csv.out", ["5,6"])):
        lines = outputs[key].decode().splitlines()
        assert len(lines) == len(rows)
        for line, row in zip(lines, rows, strict=True):
            *answer, inference_id, time_ = line.split(",")
            assert ",".join(answer[:2]) == row  # the model's answer: the row and its instance
            assert str(uuid.UUID(inference_id)) == inference_id and time_ == when
            ids.append(inference_id)
    assert len(set(ids)) == 3

    job = request["TransformJobName"]
    captured = _outputs(env, f"{base}/capture")
    assert sorted(captured) == [f"input/{hour}/{job}.jsonl", f"output/{hour}/{job}.jsonl"]
    inputs = json.loads(captured[f"input/{hour}/{job}.jsonl"])
    assert inputs[0] == {"prefix": f"{base}/in/"} and sorted(inputs[1:]) == ["a.csv", "sub/b.csv"]
    written = json.loads(captured[f"output/{hour}/{job}.jsonl"])
    assert written[0] == {"prefix": f"{base}/out/"}
    assert sorted(written[1:]) == ["a.csv.out", "sub/b.csv.out"]


def test_inference_ids_need_a_csv_or_json_output(env: Env) -> None:
    base = f"s3://transform/{unique('capture-bad')}"
    request = _request(
        env.mirror("tag"),
        f"{base}/in/",
        f"{base}/out",
        TransformInput={"ContentType": "application/x-recordio-protobuf"},
        DataCaptureConfig={"DestinationS3Uri": f"{base}/capture", "GenerateInferenceId": True},
    )
    assert _error(env, request) == (
        "ValidationException",
        "GenerateInferenceId adds inference ids to CSV, JSON and JSON Lines outputs only; the "
        "job's output is application/x-recordio-protobuf.",
    )
