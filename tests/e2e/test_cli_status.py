"""`sagebrush status` against a server holding a bucket, training jobs and an endpoint: the
JSON counts them, lists the endpoint's instances and the processes with live pids, and
measures the home's disk use; the text shows the same in sections."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagebrush.testing import Server, start_server
from tests.e2e._endpoints import create_model, deploy, register_echo_image, stop_server, variant
from tests.e2e._tiny_training import job_request

ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
TRAIN = """\
#!/usr/bin/env python3
import json, time
hp = json.load(open("/opt/ml/input/config/hyperparameters.json"))
print("training", flush=True)
if hp.get("mode") == "sleep":
    time.sleep(600)
open("/opt/ml/model/model.txt", "w").write("x" * 10000)
"""


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("status-home")
    image = home / "images" / "tiny"
    image.mkdir(parents=True)
    (image / "train").write_text(TRAIN)
    (image / "train").chmod(0o755)
    register_echo_image(home)
    server = start_server(home, "--stop-grace-seconds", "2")
    yield server
    stop_server(server)


def _status(srv: Server, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "sagebrush", "status", *args, "--home", str(srv.home)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def _train(srv: Server, mode: str) -> str:
    sm = srv.client("sagemaker")
    name = f"tiny-{mode}-{uuid.uuid4().hex[:6]}"
    sm.create_training_job(
        **job_request(name, mode, bucket="status-bucket", image=f"{ECR}/tiny:latest")
    )
    return name


def _wait_training(srv: Server, name: str, until: Any) -> dict[str, Any]:
    sm = srv.client("sagemaker")
    deadline = time.monotonic() + 120
    while True:
        job: dict[str, Any] = sm.describe_training_job(TrainingJobName=name)
        if until(job):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_status_counts_what_the_server_holds_and_runs(srv: Server) -> None:
    s3, sm = srv.client("s3"), srv.client("sagemaker")
    s3.create_bucket(Bucket="status-bucket")
    s3.put_object(Bucket="status-bucket", Key="data.csv", Body=b"1,2,3\n" * 1000)
    job = _train(srv, "ok")
    done = _wait_training(srv, job, lambda j: j["TrainingJobStatus"] != "InProgress")
    assert done["TrainingJobStatus"] == "Completed", done.get("FailureReason")
    model = create_model(sm, register_echo_image(srv.home))
    endpoint = deploy(sm, [variant(model, count=1)])

    data = json.loads(_status(srv, "--json"))
    assert data["s3"]["buckets"] == 1
    stored = s3.list_objects_v2(Bucket="status-bucket")["KeyCount"]
    assert stored >= 2  # the object, and the job's model.tar.gz (and output.tar.gz)
    assert data["s3"]["objects"] == stored
    resources = data["resources"]
    assert resources["training_jobs"] == {"Completed": 1}
    assert resources["endpoints"] == {"InService": 1}
    assert resources["models"] == {"Created": 1}
    assert resources["endpoint_configs"] == {"Created": 1}
    assert resources["transform_jobs"] == {} and resources["tuning_jobs"] == {}

    [shown] = data["endpoints"]
    assert (shown["name"], shown["status"], shown["instance_count"]) == (endpoint, "InService", 1)
    [live] = shown["variants"]
    assert (live["variant"], live["desired_instance_count"]) == ("AllTraffic", 1)
    [instance] = live["instances"]
    [process] = instance["processes"]
    assert process["alive"] is True and _alive(process["pid"])
    assert "serve" in Path(f"/proc/{process['pid']}/cmdline").read_text()
    assert process["port"] > 0

    processes = data["processes"]
    assert processes["count"] == 1  # the training job ended: its instance is gone
    assert processes["training"]["count"] == 0
    assert processes["endpoints"]["pids"] == [process["pid"]]
    assert processes["endpoints"]["by_owner"] == [{"name": endpoint, "pids": [process["pid"]]}]
    assert processes["transform"]["count"] == 0

    disk = data["disk"]
    assert disk["parts"]["objects"] >= 6000
    assert disk["parts"]["jobs"] > 0 and disk["parts"]["endpoints"] > 0
    assert disk["database"] > 0
    assert disk["total"] == sum(disk["parts"].values()) + disk["database"]
    assert data["console"] is None

    text = _status(srv)
    assert "\x1b" not in text  # piped: plain text
    assert srv.url in text and f"1 buckets, {stored} objects" in text
    assert re.search(r"^  training jobs\s+1 Completed$", text, re.MULTILINE)
    assert re.search(r"^  endpoints\s+1 InService$", text, re.MULTILINE)
    assert re.search(rf"\b{endpoint}\b.*InService.*AllTraffic.*1/1", text)
    assert f"{instance['id']} {process['pid']}:{process['port']}" in text
    assert re.search(r"^Processes: 1 running$", text, re.MULTILINE)
    assert re.search(rf"^  endpoints\s+1  {endpoint} \(pid {process['pid']}\)$", text, re.MULTILINE)
    assert re.search(r"^Disk: \d", text, re.MULTILINE)
    assert re.search(r"^  objects/\s+\d", text, re.MULTILINE)
    assert "console" not in text


def test_status_lists_a_running_training_instance(srv: Server) -> None:
    job = _train(srv, "sleep")
    _wait_training(srv, job, lambda j: j["SecondaryStatus"] == "Training")
    deadline = time.monotonic() + 30
    while True:
        training = json.loads(_status(srv, "--json"))["processes"]["training"]
        if training["count"]:
            break
        assert time.monotonic() < deadline, training
        time.sleep(0.2)
    [owner] = training["by_owner"]
    [pid] = owner["pids"]
    assert owner["name"] == job and _alive(pid)
    assert re.search(rf"^  training\s+1  {job} \(pid {pid}\)$", _status(srv), re.MULTILINE)

    srv.client("sagemaker").stop_training_job(TrainingJobName=job)
    _wait_training(srv, job, lambda j: j["TrainingJobStatus"] == "Stopped")
    after = json.loads(_status(srv, "--json"))
    assert after["processes"]["training"]["count"] == 0
    assert after["resources"]["training_jobs"].get("Stopped") == 1
