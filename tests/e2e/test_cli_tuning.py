"""`sagebrush tuning NAME` follows a real tuning job to its end and prints its trials."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from sagebrush.testing import Server, start_server

ROLE = "arn:aws:iam::000000000000:role/SagebrushExecutionRole"

# A registered local image: its objective peaks at x = 0.3, so the best trial is knowable.
TRAIN = """\
#!/usr/bin/env python3
import json
hp = json.load(open("/opt/ml/input/config/hyperparameters.json"))
x = float(hp["x"])
print(f"objective={1 - (x - 0.3) ** 2:.6f}", flush=True)
"""


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("tuning-cli-home")
    image = home / "images" / "peak"
    image.mkdir(parents=True)
    (image / "train").write_text(TRAIN)
    (image / "train").chmod(0o755)
    server = start_server(home)
    server.client("s3").create_bucket(Bucket="out")
    yield server
    server.stop()


def _sagebrush(srv: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sagebrush", *args, "--home", str(srv.home)],
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )


def test_tuning_follows_the_job_to_its_end_and_marks_the_best(srv: Server) -> None:
    sm = srv.client("sagemaker")
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="cli-peak",
        HyperParameterTuningJobConfig={
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "objective"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]
            },
        },
        TrainingJobDefinition={
            "AlgorithmSpecification": {
                "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/peak:latest",
                "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": "objective", "Regex": r"objective=([0-9.\-]+)"}],
            },
            "RoleArn": ROLE,
            "OutputDataConfig": {"S3OutputPath": "s3://out/tuning"},
            "ResourceConfig": {
                "InstanceType": "ml.m5.large",
                "InstanceCount": 1,
                "VolumeSizeInGB": 1,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 300},
        },
    )
    proc = _sagebrush(srv, "tuning", "cli-peak", "--interval", "0.5")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    text = proc.stdout
    assert "\x1b" not in text  # piped: plain text, no redraws
    assert text.count("tuning job ") == 1
    assert re.search(r"^status\s+Completed$", text, re.MULTILINE)
    assert re.search(r"^objective\s+Maximize objective$", text, re.MULTILINE)
    assert re.search(r"^training jobs\s+Completed 4 ", text, re.MULTILINE)

    rows = [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("|") and "cli-peak-" in line
    ]
    best = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="cli-peak")[
        "BestTrainingJob"
    ]
    assert len(rows) == 4
    assert [r[1] for r in rows] == sorted(r[1] for r in rows)
    assert all(r[2] == "Completed" for r in rows)
    marked = [r for r in rows if r[0] == "*"]
    assert [r[1] for r in marked] == [best["TrainingJobName"]]
    values = {r[1]: float(r[4]) for r in rows}  # mark, name, status, x, objective, seconds
    assert values[best["TrainingJobName"]] == max(values.values())
    assert re.search(rf"^best\s+{best['TrainingJobName']}\s", text, re.MULTILINE)


def test_tuning_for_an_unknown_job_exits_2_without_a_traceback(srv: Server) -> None:
    proc = _sagebrush(srv, "tuning", "no-such-tuning-job")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("sagebrush: ")
    assert "Traceback" not in proc.stderr
