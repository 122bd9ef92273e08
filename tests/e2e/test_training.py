"""Training jobs through boto3: registered local images, the lifecycle, stopping, errors."""

from __future__ import annotations

import io
import json
import tarfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from sagebrush.testing import Server, start_server

ROLE = "arn:aws:iam::000000000000:role/SagebrushExecutionRole"
WAIT = {"Delay": 1, "MaxAttempts": 120}

# A custom "container": its train hard-codes /opt/ml paths as real algorithm images do.
TRAIN = """\
#!/usr/bin/env python3
import json, os, socket, sys, time
hp = json.load(open("/opt/ml/input/config/hyperparameters.json"))
rc = json.load(open("/opt/ml/input/config/resourceconfig.json"))
channels = json.load(open("/opt/ml/input/config/inputdataconfig.json"))
print("hosts", rc["hosts"], "current", rc["current_host"], flush=True)
for host in rc["hosts"]:
    socket.gethostbyname(host)
mode = hp.get("mode", "ok")
if mode == "fail":
    open("/opt/ml/output/failure", "w").write("ClientError: bad thing " + "x" * 2000)
    sys.exit(3)
if mode == "sleep":
    import signal
    def on_term(*_):
        open("/opt/ml/model/partial.txt", "w").write("saved on SIGTERM")
        sys.exit(0)
    signal.signal(signal.SIGTERM, on_term)
    time.sleep(600)
total = 0
for folder, _, files in os.walk("/opt/ml/input/data/train"):
    for name in files:
        total += sum(int(r) for r in open(os.path.join(folder, name)).read().split())
for epoch in range(3):
    print(f"epoch={epoch} loss={1.0 / (epoch + 1):.4f}", flush=True)
open("/opt/ml/model/model.json", "w").write(json.dumps({"total": total, "hp": hp}))
os.makedirs("/opt/ml/output/data", exist_ok=True)
open("/opt/ml/output/data/extra.txt", "w").write("extra")
print("channels", sorted(channels), flush=True)
"""


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("training-home")
    image = home / "images" / "my-algo"
    image.mkdir(parents=True)
    (image / "train").write_text(TRAIN)
    (image / "train").chmod(0o755)
    server = start_server(home, "--stop-grace-seconds", "3", "--instance-quota", "4")
    s3 = server.client("s3")
    s3.create_bucket(Bucket="data")
    s3.put_object(Bucket="data", Key="train/a.txt", Body=b"1 2 3\n")
    s3.put_object(Bucket="data", Key="train/sub/b.txt", Body=b"10 20\n")
    yield server
    server.stop()


def _job(name: str, **overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {
            "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-algo:latest",
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "train:loss", "Regex": r"loss=([0-9.]+)"}],
        },
        "RoleArn": ROLE,
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": "s3://data/train/",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://data/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "HyperParameters": {"epochs": "3"},
    }
    request.update(overrides)
    return request


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _wait(sm: Any, name: str) -> dict[str, Any]:
    sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName=name, WaiterConfig=WAIT)
    return sm.describe_training_job(TrainingJobName=name)  # type: ignore[no-any-return]


def test_local_image_hard_coding_opt_ml_runs(srv: Server) -> None:
    sm, s3 = srv.client("sagemaker"), srv.client("s3")
    name = _name("local")
    arn = sm.create_training_job(**_job(name, Tags=[{"Key": "team", "Value": "a"}]))
    assert arn["TrainingJobArn"].endswith(f":training-job/{name}")
    job = _wait(sm, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]] == [
        "Starting",
        "Downloading",
        "Training",
        "Uploading",
        "Completed",
    ]
    assert job["OutputDataConfig"]["KmsKeyId"] == ""
    assert job["TrainingTimeInSeconds"] >= 1 and job["BillableTimeInSeconds"] >= 1
    uri = job["ModelArtifacts"]["S3ModelArtifacts"]
    assert uri == f"s3://data/output/{name}/output/model.tar.gz"
    body = s3.get_object(Bucket="data", Key=f"output/{name}/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        model = json.load(tar.extractfile("model.json"))  # type: ignore[arg-type]
    assert model == {"total": 36, "hp": {"epochs": "3"}}
    out = s3.get_object(Bucket="data", Key=f"output/{name}/output/output.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        assert tar.extractfile("extra.txt").read() == b"extra"  # type: ignore[union-attr]
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert metrics == {"train:loss": pytest.approx(1 / 3, abs=1e-4)}
    logs = srv.client("logs")
    streams = logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=f"{name}/"
    )["logStreams"]
    assert [s["logStreamName"].rsplit("-", 1)[0] for s in streams] == [f"{name}/algo-1"]
    events = logs.get_log_events(
        logGroupName="/aws/sagemaker/TrainingJobs",
        logStreamName=streams[0]["logStreamName"],
        startFromHead=True,
    )["events"]
    assert "epoch=2 loss=0.3333" in [e["message"] for e in events]
    assert sm.list_tags(ResourceArn=arn["TrainingJobArn"])["Tags"] == [
        {"Key": "team", "Value": "a"}
    ]


def test_failure_reason_comes_from_the_failure_file(srv: Server) -> None:
    sm = srv.client("sagemaker")
    name = _name("fails")
    sm.create_training_job(**_job(name, HyperParameters={"mode": "fail"}))
    with pytest.raises(botocore.exceptions.WaiterError):
        sm.get_waiter("training_job_completed_or_stopped").wait(
            TrainingJobName=name, WaiterConfig=WAIT
        )
    job = sm.describe_training_job(TrainingJobName=name)
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: bad thing xxx")
    assert len(job["FailureReason"]) == 1024


def test_stop_sends_sigterm_and_uploads_what_the_model_dir_holds(srv: Server) -> None:
    sm, s3 = srv.client("sagemaker"), srv.client("s3")
    name = _name("stop")
    sm.create_training_job(**_job(name, HyperParameters={"mode": "sleep"}))
    _until(lambda: sm.describe_training_job(TrainingJobName=name)["SecondaryStatus"] == "Training")
    time.sleep(0.5)
    sm.stop_training_job(TrainingJobName=name)
    # The SDK's wait loop only keeps waiting on InProgress: stopping must still say so.
    during = sm.describe_training_job(TrainingJobName=name)
    assert (during["TrainingJobStatus"], during["SecondaryStatus"]) in {
        ("InProgress", "Stopping"),
        ("Stopped", "Stopped"),
    }
    started = time.monotonic()
    job = _wait(sm, name)
    assert time.monotonic() - started < 3 + 5
    assert job["TrainingJobStatus"] == "Stopped"
    body = s3.get_object(Bucket="data", Key=f"output/{name}/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        assert tar.extractfile("partial.txt").read() == b"saved on SIGTERM"  # type: ignore[union-attr]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        sm.stop_training_job(TrainingJobName=name)
    assert err.value.response["Error"]["Code"] == "ValidationException"


def test_max_runtime_is_enforced(srv: Server) -> None:
    sm = srv.client("sagemaker")
    name = _name("maxrt")
    sm.create_training_job(
        **_job(
            name, HyperParameters={"mode": "sleep"}, StoppingCondition={"MaxRuntimeInSeconds": 1}
        )
    )
    job = _wait(sm, name)
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")


def test_missing_input_fails_in_downloading(srv: Server) -> None:
    sm = srv.client("sagemaker")
    name = _name("noinput")
    request = _job(name)
    request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = "s3://data/nothing/"
    sm.create_training_job(**request)
    with pytest.raises(botocore.exceptions.WaiterError):
        sm.get_waiter("training_job_completed_or_stopped").wait(
            TrainingJobName=name, WaiterConfig=WAIT
        )
    job = sm.describe_training_job(TrainingJobName=name)
    assert job["TrainingJobStatus"] == "Failed"
    assert "s3://data/nothing/" in job["FailureReason"]
    assert job["SecondaryStatusTransitions"][-2]["Status"] == "Downloading"


@pytest.mark.parametrize(
    ("change", "code", "text"),
    [
        ({"TrainingJobName": "bad_name!"}, "ValidationException", "at 'trainingJobName'"),
        (
            {
                "ResourceConfig": {
                    "InstanceType": "ml.nope.large",
                    "InstanceCount": 1,
                    "VolumeSizeInGB": 1,
                }
            },
            "ValidationException",
            "resourceConfig.instanceType",
        ),
        (
            {
                "AlgorithmSpecification": {
                    "TrainingImage": "1.dkr.ecr.us-east-1.amazonaws.com/nope:1",
                    "TrainingInputMode": "File",
                }
            },
            "ValidationException",
            "does not exist",
        ),
        (
            {
                "ResourceConfig": {
                    "InstanceType": "ml.m5.large",
                    "InstanceCount": 5,
                    "VolumeSizeInGB": 1,
                }
            },
            "ResourceLimitExceeded",
            "4 Instances",
        ),
        ({"EnableManagedSpotTraining": True}, "ValidationException", "MaxWaitTimeInSeconds"),
        ({"HyperParameters": {"k": "v" * 3000}}, "ValidationException", "hyperParameters.k.value"),
    ],
)
def test_bad_requests_get_sagemaker_errors(
    srv: Server, change: dict[str, Any], code: str, text: str
) -> None:
    sm = srv.client("sagemaker")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        sm.create_training_job(**_job(_name("bad"), **change))
    assert err.value.response["Error"]["Code"] == code
    assert text in err.value.response["Error"]["Message"]


def test_duplicate_and_unknown_names(srv: Server) -> None:
    sm = srv.client("sagemaker")
    name = _name("dup")
    sm.create_training_job(**_job(name))
    with pytest.raises(botocore.exceptions.ClientError) as err:
        sm.create_training_job(**_job(name))
    assert err.value.response["Error"]["Code"] == "ResourceInUse"
    for call in (sm.describe_training_job, sm.stop_training_job):
        with pytest.raises(botocore.exceptions.ClientError) as err:
            call(TrainingJobName="no-such-job")
        assert err.value.response["Error"]["Code"] == "ValidationException"
        assert err.value.response["Error"]["Message"] == "Requested resource not found."
    _wait(sm, name)


def test_list_filters_sorts_and_pages(srv: Server) -> None:
    sm = srv.client("sagemaker")
    tag = uuid.uuid4().hex[:6]
    names = [f"list-{tag}-{i}" for i in range(3)]
    for name in names:
        sm.create_training_job(**_job(name))
    for name in names:
        _wait(sm, name)
    listed = sm.list_training_jobs(
        NameContains=f"LIST-{tag}", SortBy="Name", SortOrder="Ascending", MaxResults=2
    )
    assert [j["TrainingJobName"] for j in listed["TrainingJobSummaries"]] == names[:2]
    rest = sm.list_training_jobs(
        NameContains=f"LIST-{tag}",
        SortBy="Name",
        SortOrder="Ascending",
        MaxResults=2,
        NextToken=listed["NextToken"],
    )
    assert [j["TrainingJobName"] for j in rest["TrainingJobSummaries"]] == names[2:]
    assert "NextToken" not in rest
    newest = sm.list_training_jobs(NameContains=tag)["TrainingJobSummaries"]
    assert [j["TrainingJobName"] for j in newest] == names[::-1]
    failed = sm.list_training_jobs(NameContains=tag, StatusEquals="Failed")
    assert failed["TrainingJobSummaries"] == []
    paginator = sm.get_paginator("list_training_jobs")
    pages = list(paginator.paginate(NameContains=tag, PaginationConfig={"PageSize": 1}))
    assert sum(len(p["TrainingJobSummaries"]) for p in pages) == 3


def test_distributed_hosts_resolve_and_each_instance_has_its_own_opt_ml(srv: Server) -> None:
    sm, logs = srv.client("sagemaker"), srv.client("logs")
    name = _name("two")
    sm.create_training_job(
        **_job(
            name,
            ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 1},
        )
    )
    job = _wait(sm, name)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    streams = logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=f"{name}/"
    )["logStreams"]
    assert len(streams) == 2
    for n, stream in enumerate(sorted(s["logStreamName"] for s in streams), start=1):
        events = logs.get_log_events(
            logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream, startFromHead=True
        )["events"]
        assert f"hosts ['algo-1', 'algo-2'] current algo-{n}" in [e["message"] for e in events]


def _until(check: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_jobs_queue_under_the_instance_quota(tmp_path: Path) -> None:
    home = tmp_path / "home"
    image = home / "images" / "sleeper"
    image.mkdir(parents=True)
    (image / "train").write_text(
        textwrap.dedent("""\
        #!/bin/sh
        sleep 1
        """)
    )
    (image / "train").chmod(0o755)
    server = start_server(home, "--instance-quota", "2")
    try:
        server.client("s3").create_bucket(Bucket="data")
        sm = server.client("sagemaker")
        names = [f"q-{i}" for i in range(5)]
        for name in names:
            request = _job(
                name,
                AlgorithmSpecification={
                    "TrainingImage": "sleeper:latest",
                    "TrainingInputMode": "File",
                },
            )
            del request["InputDataConfig"]
            sm.create_training_job(**request)
        peak = 0
        while True:
            jobs = [sm.describe_training_job(TrainingJobName=n) for n in names]
            running = sum(j["SecondaryStatus"] in ("Downloading", "Training") for j in jobs)
            peak = max(peak, running)
            if all(j["TrainingJobStatus"] != "InProgress" for j in jobs):
                break
            time.sleep(0.05)
        assert peak <= 2
        assert [(j["TrainingJobStatus"], j.get("FailureReason")) for j in jobs] == [
            ("Completed", None)
        ] * len(jobs)
        assert any(
            "Pending" in [t["Status"] for t in j["SecondaryStatusTransitions"]] for j in jobs
        )
    finally:
        server.stop()


PIPE_TRAIN = """\
#!/usr/bin/env python3
import hashlib, json, os
digests = []
for epoch in range(2):
    with open(f"/opt/ml/input/data/train_{epoch}", "rb") as fifo:
        digests.append(hashlib.sha256(fifo.read()).hexdigest())
open("/opt/ml/model/digests.json", "w").write(json.dumps(digests))
ckpt = "/opt/ml/checkpoints/state.txt"
before = open(ckpt).read() if os.path.exists(ckpt) else ""
open(ckpt, "w").write(before + "x")
open("/opt/ml/model/checkpoint-seen.txt", "w").write(before)
"""


def test_pipe_mode_streams_the_channel_once_per_epoch_and_checkpoints_persist(
    srv: Server,
) -> None:
    image = srv.home / "images" / "piper"
    image.mkdir(exist_ok=True)
    (image / "train").write_text(PIPE_TRAIN)
    (image / "train").chmod(0o755)
    sm, s3 = srv.client("sagemaker"), srv.client("s3")
    payload = bytes(range(256)) * 40_000  # 10 MB across two objects
    s3.put_object(Bucket="data", Key="pipe/part-0", Body=payload[:4_000_000])
    s3.put_object(Bucket="data", Key="pipe/part-1", Body=payload[4_000_000:])
    expected = __import__("hashlib").sha256(payload).hexdigest()
    seen = []
    for _ in range(2):
        name = _name("pipe")
        request = _job(
            name,
            AlgorithmSpecification={"TrainingImage": "piper:1", "TrainingInputMode": "Pipe"},
            CheckpointConfig={"S3Uri": "s3://data/checkpoints/pipe"},
        )
        request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = "s3://data/pipe/"
        sm.create_training_job(**request)
        job = _wait(sm, name)
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
        body = s3.get_object(Bucket="data", Key=f"output/{name}/output/model.tar.gz")["Body"]
        with tarfile.open(fileobj=io.BytesIO(body.read())) as tar:
            assert json.load(tar.extractfile("digests.json")) == [expected, expected]  # type: ignore[arg-type]
            seen.append(tar.extractfile("checkpoint-seen.txt").read())  # type: ignore[union-attr]
    # The second job found the first one's checkpoint restored from S3 at start.
    assert seen == [b"", b"x"]
    stored = s3.get_object(Bucket="data", Key="checkpoints/pipe/state.txt")["Body"].read()
    assert stored == b"xx"
