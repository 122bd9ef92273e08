"""A server killed mid-training: the restarted one adopts the job's instances."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from sagebrush.testing import start_server

TRAIN = """\
#!/bin/sh
echo "started $$"
sleep 3
echo "finished" > /opt/ml/model/done.txt
echo "finished"
exit "${EXIT_CODE:-0}"
"""

ROLE = "arn:aws:iam::000000000000:role/SagebrushExecutionRole"


def _request(name: str, exit_code: int = 0) -> dict[str, object]:
    return {
        "Environment": {"EXIT_CODE": str(exit_code)},
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": "survivor:1", "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "OutputDataConfig": {"S3OutputPath": "s3://out/models"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 120},
    }


def _processes_of(name: str) -> list[str]:
    out = subprocess.run(
        ["ps", "-eo", "pid,args"], capture_output=True, text=True, check=True
    ).stdout
    return [line for line in out.splitlines() if name in line and "ps -eo" not in line]


@pytest.mark.slow
@pytest.mark.parametrize("exit_code", [0, 4])
def test_kill_9_mid_training_then_restart_completes(tmp_path: Path, exit_code: int) -> None:
    home = tmp_path / "home"
    image = home / "images" / "survivor"
    image.mkdir(parents=True)
    (image / "train").write_text(TRAIN)
    (image / "train").chmod(0o755)
    first = start_server(home)
    sm = first.client("sagemaker")
    first.client("s3").create_bucket(Bucket="out")
    sm.create_training_job(**_request("survivor-job", exit_code))
    deadline = time.monotonic() + 30
    while sm.describe_training_job(TrainingJobName="survivor-job")["SecondaryStatus"] != "Training":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)
    first.stop(signal.SIGKILL)

    second = start_server(home)
    try:
        sm = second.client("sagemaker")
        deadline = time.monotonic() + 60
        while (job := sm.describe_training_job(TrainingJobName="survivor-job"))[
            "TrainingJobStatus"
        ] == "InProgress":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        if exit_code:
            # The adopted process is not the new server's child: its status comes from
            # what the toolkit recorded, so a failure is still a failure.
            assert job["TrainingJobStatus"] == "Failed"
            assert "exited with status 4" in job["FailureReason"], job["FailureReason"]
            return
        assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
        body = (
            second.client("s3")
            .get_object(Bucket="out", Key="models/survivor-job/output/model.tar.gz")["Body"]
            .read()
        )
        assert len(body) > 0
        logs = second.client("logs").filter_log_events(
            logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix="survivor-job/"
        )["events"]
        messages = [e["message"] for e in logs]
        started = [m for m in messages if m.startswith("started")]
        # Adoption resumes reading the instance's output where it stopped: nothing is
        # lost and nothing is repeated.
        assert len(started) == 1 and messages.count("finished") == 1, messages
        assert messages.index(started[0]) < messages.index("finished")
        assert _processes_of("survivor") == []
    finally:
        second.stop()
