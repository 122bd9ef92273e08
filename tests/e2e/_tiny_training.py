"""A tiny training "container" (a registered local image) and its job request: a job that
completes in a couple of seconds, fails on request, or sleeps until stopped."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROLE = "arn:aws:iam::000000000000:role/SagebrushExecutionRole"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/tiny-algo:latest"

TRAIN = """\
#!/usr/bin/env python3
import json, signal, sys, time
hp = json.load(open("/opt/ml/input/config/hyperparameters.json"))
mode = hp.get("mode", "ok")
if mode == "fail":
    open("/opt/ml/output/failure", "w").write("ClientError: asked to fail")
    sys.exit(3)
if mode == "sleep":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    time.sleep(600)
print("loss=0.5", flush=True)
open("/opt/ml/model/model.txt", "w").write("ok")
"""


def register_tiny_image(home: Path) -> None:
    image = home / "images" / "tiny-algo"
    image.mkdir(parents=True, exist_ok=True)
    (image / "train").write_text(TRAIN)
    (image / "train").chmod(0o755)


def job_request(
    name: str, mode: str = "ok", bucket: str = "out", image: str = IMAGE
) -> dict[str, Any]:
    """A job of a local image (``IMAGE`` or another) with ``mode`` as its hyperparameter."""
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "HyperParameters": {"mode": mode},
    }


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_done(sm: Any, name: str, timeout: float = 120.0) -> dict[str, Any]:
    """DescribeTrainingJob once the job has ended."""
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = sm.describe_training_job(TrainingJobName=name)
        if job["TrainingJobStatus"] not in ("InProgress", "Stopping"):
            return job
        if time.monotonic() > deadline:
            raise TimeoutError(f"training job {name} still {job['SecondaryStatus']}")
        time.sleep(0.1)


def until(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.05)
