"""How long the sagemaker SDK v2's own calls take, unchanged, against Sagebrush.

Two flows, each timed around the one SDK call, in a client process started under the
environment ``eval "$(sagebrush env)"`` makes (``Server.env``):
- deploy: ``Estimator.attach(<a built-in XGBoost 1.7-1 job trained once up front>)
  .deploy(1, "ml.m5.large")`` (CreateModel, CreateEndpointConfig, CreateEndpoint, wait for
  InService); the endpoint is deleted, untimed, after each;
- fit: ``SKLearn(entry_point="noop.py", framework_version="1.2-1").fit()`` of a script that
  does nothing (source upload, CreateTrainingJob, logs tailed until Completed).
Three ways:
- accelerated: the SDK with the accelerator ``sagebrush env`` enables (docs/sdk.md);
- boto3, the baseline in the same run: the same requests through boto3 (the source
  tarball put, the same CreateTrainingJob; the three hosting calls), polling Describe every
  0.05 s until done;
- SDK unaccelerated (``SAGEBRUSH_SDK_HOOK=0``): the SDK's own poll (30 s before the first
  DescribeEndpoint, 5 s before DescribeTrainingJob and 30 s between them while tailing logs),
  once, for comparison.
``--repeat`` rounds (default 5) alternate the accelerated client and boto3; medians are
compared. Targets: accelerated deploy <= 3 s and fit <= 3 s.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from sagebrush.testing import Server, start_server

XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
ROLE = "arn:aws:iam::000000000000:role/SagebrushExecutionRole"
BUCKET = "sagemaker-us-east-1-000000000000"
POLL = 0.05
# Each flow whole, and from the SDK sending CreateEndpoint / CreateTrainingJob to the end.
FLOWS = ("deploy", "fit", "deploy_wait", "fit_wait")

CLIENT = r"""
import json, sys, time
from sagemaker.estimator import Estimator
from sagemaker.session import Session
from sagemaker.sklearn import SKLearn

job, rounds = sys.argv[1], int(sys.argv[2])
session = Session()
created = {}  # when the SDK sent CreateEndpoint / CreateTrainingJob
session.sagemaker_client.meta.events.register(
    "before-call.sagemaker.*",
    lambda model, **_: created.__setitem__(model.name, time.perf_counter()))
trained = Estimator.attach(job, sagemaker_session=session)
for _ in range(rounds):
    begin = time.perf_counter()
    predictor = trained.deploy(1, "ml.m5.large")
    end = time.perf_counter()
    deploy, deploy_wait = end - begin, end - created["CreateEndpoint"]
    predictor.delete_endpoint()
    estimator = SKLearn(entry_point="noop.py", framework_version="1.2-1",
                        instance_type="ml.m5.large", role=sys.argv[3], sagemaker_session=session)
    begin = time.perf_counter()
    estimator.fit()
    end = time.perf_counter()
    fit, fit_wait = end - begin, end - created["CreateTrainingJob"]
    print("TIMING " + json.dumps({"deploy": deploy, "fit": fit, "deploy_wait": deploy_wait,
                                  "fit_wait": fit_wait}), flush=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        server = start_server(root / "home")
        try:
            results = run(server, root, args.repeat)
        finally:
            server.stop()
    report(results)


def run(server: Server, root: Path, repeat: int) -> dict[str, dict[str, list[float]]]:
    sm, s3 = server.client("sagemaker"), server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    job = train_xgboost(sm, s3)
    (root / "noop.py").write_text("pass\n")
    results: dict[str, dict[str, list[float]]] = {
        way: {flow: [] for flow in FLOWS} for way in ("accelerated", "boto3", "unaccelerated")
    }
    env = server.env
    for n in range(repeat):
        # Alternated, so a busy spell on a shared machine hits both sides alike.
        for flow, seconds in client_timings(root, env, job, 1).items():
            results["accelerated"][flow] += seconds
        for flow, seconds in boto3_deploy(sm, job, f"boto3-{n}").items():
            results["boto3"][flow].append(seconds)
        for flow, seconds in boto3_fit(sm, s3, f"boto3-fit-{n}").items():
            results["boto3"][flow].append(seconds)
        print(
            f"  round {n + 1}: accelerated deploy {results['accelerated']['deploy'][-1]:.2f} s"
            f", fit {results['accelerated']['fit'][-1]:.2f} s; boto3 deploy "
            f"{results['boto3']['deploy'][-1]:.2f} s, fit {results['boto3']['fit'][-1]:.2f} s",
            flush=True,
        )
    off = client_timings(root, {**env, "SAGEBRUSH_SDK_HOOK": "0"}, job, 1)
    for flow, seconds in off.items():
        results["unaccelerated"][flow] += seconds
    return results


def train_xgboost(sm: Any, s3: Any) -> str:
    """A built-in XGBoost job on 200 x 5 seeded rows, for the SDK to attach to."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 5))
    rows = np.column_stack([(X @ rng.standard_normal(5) > 0), X])
    text = io.StringIO()
    np.savetxt(text, rows, delimiter=",", fmt="%g")
    s3.put_object(Bucket=BUCKET, Key="bench/train/data.csv", Body=text.getvalue().encode())
    name = "bench-xgboost"
    sm.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": XGBOOST, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        HyperParameters={"objective": "binary:logistic", "num_round": "20"},
        InputDataConfig=[
            {
                "ChannelName": "train",
                "ContentType": "text/csv",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{BUCKET}/bench/train/",
                    }
                },
            }
        ],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/bench/output"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )
    status = poll(lambda: sm.describe_training_job(TrainingJobName=name), "TrainingJobStatus")
    assert status == "Completed", status
    return name


def client_timings(
    root: Path, env: dict[str, str], job: str, rounds: int
) -> dict[str, list[float]]:
    (root / "client.py").write_text(CLIENT)
    proc = subprocess.run(
        [sys.executable, "client.py", job, str(rounds), ROLE],
        cwd=root,
        env={**env, "HOME": str(root)},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    found: dict[str, list[float]] = {flow: [] for flow in FLOWS}
    for line in proc.stdout.splitlines():
        if line.startswith("TIMING "):
            for flow, seconds in json.loads(line[len("TIMING ") :]).items():
                found[flow].append(seconds)
    return found


def boto3_deploy(sm: Any, job: str, name: str) -> dict[str, float]:
    """What ``deploy()`` asks for, through boto3: the model of ``job``, a config, the
    endpoint, then DescribeEndpoint every 0.05 s until InService; deleted afterwards."""
    artifact = sm.describe_training_job(TrainingJobName=job)["ModelArtifacts"]["S3ModelArtifacts"]
    begin = time.perf_counter()
    sm.create_model(
        ModelName=name,
        PrimaryContainer={"Image": XGBOOST, "ModelDataUrl": artifact},
        ExecutionRoleArn=ROLE,
    )
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": name,
        "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large",
    }
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant])
    created = time.perf_counter()
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    status = poll(lambda: sm.describe_endpoint(EndpointName=name), "EndpointStatus")
    end = time.perf_counter()
    assert status == "InService", status
    sm.delete_endpoint(EndpointName=name)
    return {"deploy": end - begin, "deploy_wait": end - created}


def boto3_fit(sm: Any, s3: Any, name: str) -> dict[str, float]:
    """What ``SKLearn(...).fit()`` asks for, through boto3: the source tarball uploaded, the
    same CreateTrainingJob, then DescribeTrainingJob every 0.05 s until it ends."""
    begin = time.perf_counter()
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("noop.py")
        info.size = len(b"pass\n")
        tar.addfile(info, io.BytesIO(b"pass\n"))
    key = f"{name}/source/sourcedir.tar.gz"
    s3.put_object(Bucket=BUCKET, Key=key, Body=archive.getvalue())
    created = time.perf_counter()
    sm.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": SKLEARN, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        HyperParameters={
            "sagemaker_program": '"noop.py"',
            "sagemaker_submit_directory": f'"s3://{BUCKET}/{key}"',
            "sagemaker_container_log_level": "20",
            "sagemaker_region": '"us-east-1"',
        },
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
        StoppingCondition={"MaxRuntimeInSeconds": 86400},
    )
    status = poll(lambda: sm.describe_training_job(TrainingJobName=name), "TrainingJobStatus")
    end = time.perf_counter()
    assert status == "Completed", status
    return {"fit": end - begin, "fit_wait": end - created}


def poll(describe: Any, key: str) -> str:
    while (status := describe()[key]) in {"InProgress", "Creating", "Stopping"}:
        time.sleep(POLL)
    return str(status)


def report(results: dict[str, dict[str, list[float]]]) -> None:
    rounds = len(results["boto3"]["deploy"])
    print(f"\n{rounds} rounds; the SDK unaccelerated once. Medians, seconds; 'from Create':")
    print("from the CreateEndpoint / CreateTrainingJob request to the call's return.")
    header = ("deploy", "from Create", "fit", "from Create")
    print(f"{'':<32}" + "".join(f"{h:>12}" for h in header))
    for way, label in (
        ("accelerated", "SDK, accelerated"),
        ("boto3", "boto3, 0.05 s polling"),
        ("unaccelerated", "SDK, SAGEBRUSH_SDK_HOOK=0"),
    ):
        columns = ("deploy", "deploy_wait", "fit", "fit_wait")
        values = [statistics.median(results[way][flow]) for flow in columns]
        print(f"{label:<32}" + "".join(f"{v:>12.2f}" for v in values))
    for flow in ("deploy", "fit"):
        sdk = statistics.median(results["accelerated"][flow])
        base = statistics.median(results["boto3"][flow])
        off = statistics.median(results["unaccelerated"][flow])
        sdk_wait = statistics.median(results["accelerated"][f"{flow}_wait"])
        base_wait = statistics.median(results["boto3"][f"{flow}_wait"])
        print(
            f"{flow}: accelerated {sdk:.2f} s (target <= 3 s), ratio SDK/boto3 {sdk / base:.2f}"
            f" ({sdk_wait / base_wait:.2f} from Create), unaccelerated {off:.1f} s "
            f"({off / sdk:.0f}x the accelerated)"
        )


if __name__ == "__main__":
    main()
