"""A built-in XGBoost training job against xgboost called directly on the same CSV.

Data: 200,000 rows x 50 float32 features, label first, no header (seed 0), ~110 MB of CSV,
uploaded once. Job: SageMaker's XGBoost 1.7-1 image URI through boto3
``create_training_job`` (ContentType text/csv, File mode, 50 rounds, max_depth 6,
binary:logistic, an instance type with at least this machine's cores), timed from
CreateTrainingJob to DescribeTrainingJob saying Completed (polled every 50 ms).
Baselines in the same run, both reading the same CSV file with pyarrow (multithreaded) and
calling ``xgboost.train`` with the same params:
- a script: a fresh ``python`` process doing just that, timed from its start to the model
  saved — what training XGBoost yourself on this machine costs (interpreter start and the
  imports included, as the job pays them);
- in-process: the same calls in this already-warm process (no start, no imports).
Job and baselines alternate ``--repeat`` times (default 3) and the medians are compared;
the job's model must predict what the baseline's does. Target: ratio <= 1.15.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import xgboost as xgb

from sagebrush.testing import start_server

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ROLE = "arn:aws:iam::000000000000:role/SagebrushExecutionRole"
PARAMS = {"objective": "binary:logistic", "max_depth": 6}
SIZES = (("large", 2), ("xlarge", 4), ("2xlarge", 8), ("4xlarge", 16), ("12xlarge", 48))
SCRIPT = """
import sys
import numpy as np, pyarrow.csv as pa_csv, xgboost as xgb
table = pa_csv.read_csv(sys.argv[1], read_options=pa_csv.ReadOptions(
    autogenerate_column_names=True, block_size=1 << 24))
X = np.empty((table.num_rows, table.num_columns - 1), dtype=np.float32)
for i, column in enumerate(table.columns[1:]):
    X[:, i] = column.to_numpy()
y = table.column(0).to_numpy().astype(np.float32)
params = {"objective": "binary:logistic", "max_depth": 6}
xgb.train(params, xgb.DMatrix(X, label=y), num_boost_round=int(sys.argv[2])).save_model(sys.argv[3])
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3, help="job/baseline pairs (medians)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = root / "train.csv"
        write_csv(data, args.rows, args.features)
        size = data.stat().st_size
        print(f"data: {args.rows:,} x {args.features} CSV, {size / 2**20:.0f} MiB")
        baseline_once(data, args.rounds)  # warms the page cache and xgboost's first call
        server = start_server(root / "home")
        jobs, baselines, scripts = [], [], []
        try:
            upload(server, data)
            for n in range(args.repeat):
                # Alternated, so a busy spell on a shared machine hits both sides alike.
                baseline, direct = baseline_once(data, args.rounds)
                script = baseline_script(root, data, args.rounds)
                job, model = run_job(server, f"xgb-bench-{n}", args.rounds)
                print(
                    f"  round {n}: job {job:.2f} s, script {script:.2f} s, "
                    f"in-process {baseline:.2f} s",
                    flush=True,
                )
                jobs.append(job)
                baselines.append(baseline)
                scripts.append(script)
        finally:
            server.stop()
        check_same_model(model, direct, data)
    job, baseline = statistics.median(jobs), statistics.median(baselines)
    script = statistics.median(scripts)
    print(f"job, Create -> Completed: median {job:.2f} s")
    print(f"baseline, a python script (start, imports, read, train, save): median {script:.2f} s")
    print(f"baseline, pyarrow read + xgboost.train in this warm process: median {baseline:.2f} s")
    print(f"ratio job / script: {job / script:.2f}  (target <= 1.15)")
    print(f"ratio job / in-process: {job / baseline:.2f}")


def write_csv(path: Path, rows: int, features: int) -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, features), dtype=np.float32)
    weights = rng.standard_normal(features).astype(np.float32)
    y = (X @ weights + rng.standard_normal(rows, dtype=np.float32) > 0).astype(np.float32)
    columns = {"label": y, **{f"f{i}": X[:, i] for i in range(features)}}
    options = pa_csv.WriteOptions(include_header=False)
    pa_csv.write_csv(pa.table(columns), str(path), write_options=options)


def read_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    table = pa_csv.read_csv(
        str(path),
        read_options=pa_csv.ReadOptions(autogenerate_column_names=True, block_size=1 << 24),
    )
    matrix = np.empty((table.num_rows, table.num_columns - 1), dtype=np.float32)
    for i, column in enumerate(table.columns[1:]):
        matrix[:, i] = column.to_numpy()
    return matrix, table.column(0).to_numpy().astype(np.float32)


def baseline_once(path: Path, rounds: int) -> tuple[float, xgb.Booster]:
    begin = time.perf_counter()
    X, y = read_csv(path)
    booster = xgb.train(PARAMS, xgb.DMatrix(X, label=y), num_boost_round=rounds)
    return time.perf_counter() - begin, booster


def baseline_script(root: Path, data: Path, rounds: int) -> float:
    script = root / "baseline.py"
    script.write_text(SCRIPT)
    begin = time.perf_counter()
    subprocess.run(
        [sys.executable, str(script), str(data), str(rounds), str(root / "baseline.model")],
        check=True,
    )
    return time.perf_counter() - begin


def instance_type() -> str:
    cores = os.cpu_count() or 1
    size = next((name for name, vcpus in SIZES if vcpus >= cores), SIZES[-1][0])
    return f"ml.m5.{size}"


def upload(server, data: Path) -> None:  # type: ignore[no-untyped-def]
    s3 = server.client("s3")
    s3.create_bucket(Bucket="bench")
    s3.upload_file(str(data), "bench", "xgb/train/train.csv")


def run_job(server, name: str, rounds: int) -> tuple[float, bytes]:  # type: ignore[no-untyped-def]
    s3, sm = server.client("s3"), server.client("sagemaker")
    hyperparameters = {k: str(v) for k, v in PARAMS.items()} | {"num_round": str(rounds)}
    before = time.perf_counter()
    sm.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        HyperParameters=hyperparameters,
        InputDataConfig=[
            {
                "ChannelName": "train",
                "ContentType": "text/csv",
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bench/xgb/train/"}
                },
            }
        ],
        OutputDataConfig={"S3OutputPath": "s3://bench/out"},
        ResourceConfig={"InstanceType": instance_type(), "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )
    while (job := sm.describe_training_job(TrainingJobName=name))[
        "TrainingJobStatus"
    ] == "InProgress":
        time.sleep(0.05)
    elapsed = time.perf_counter() - before
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    phases = []
    for step in job["SecondaryStatusTransitions"]:
        end = step.get("EndTime", step["StartTime"])
        phases.append(f"{step['Status']} {(end - step['StartTime']).total_seconds():.2f} s")
    print(f"  {name} on {instance_type()}: {', '.join(phases)}")
    for line in algorithm_log(server, name):
        print(f"    {line}")
    bucket, key = job["ModelArtifacts"]["S3ModelArtifacts"][len("s3://") :].split("/", 1)
    archive = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.extractfile("xgboost-model")
        assert member is not None
        return elapsed, member.read()


def algorithm_log(server, name: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The algorithm's own INFO lines (read and training times, thread count)."""
    logs = server.client("logs")
    group = "/aws/sagemaker/TrainingJobs"
    streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=name)
    lines = []
    for stream in streams["logStreams"]:
        events = logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])
        lines += [e["message"] for e in events["events"] if e["message"].startswith("INFO: ")]
    return lines


def check_same_model(model: bytes, direct: xgb.Booster, data: Path) -> None:
    booster = xgb.Booster()
    booster.load_model(bytearray(model))
    X, _ = read_csv(data)
    sample = xgb.DMatrix(X[:10_000])
    difference = float(np.abs(booster.predict(sample) - direct.predict(sample)).max())
    assert difference <= 1e-6, difference
    print(f"job's model vs baseline's: max prediction difference {difference:.1e}")


if __name__ == "__main__":
    main()
