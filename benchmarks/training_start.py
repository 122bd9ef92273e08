"""How fast a script-mode training job starts and finishes.

For 20 jobs (SageMaker scikit-learn framework image, script mode, one File channel):
- start: time from CreateTrainingJob returning to the first line of the user's script
  running (the script records ``time.time()`` first thing);
- Create -> Completed for that no-op script, polling DescribeTrainingJob every 10 ms.
Baseline in the same run: starting the same interpreter on a one-line script directly
(``subprocess.run``), the floor for anything that launches a Python process.
Targets: p50 start <= 0.25 s, p50 Create -> Completed <= 1 s.
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from sagebrush.testing import start_server

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
ROLE = "arn:aws:iam::000000000000:role/SagebrushExecutionRole"
SCRIPT = """import time, os
open(os.environ["MARK_FILE"], "w").write(repr(time.time()))
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        server = start_server(root / "home")
        try:
            run(server, root, args.jobs)
        finally:
            server.stop()


def run(server, root: Path, jobs: int) -> None:  # type: ignore[no-untyped-def]
    s3, sm = server.client("s3"), server.client("sagemaker")
    s3.create_bucket(Bucket="bench")
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("train.py")
        info.size = len(SCRIPT)
        tar.addfile(info, io.BytesIO(SCRIPT.encode()))
    s3.put_object(Bucket="bench", Key="code/sourcedir.tar.gz", Body=archive.getvalue())
    s3.put_object(Bucket="bench", Key="data/train.csv", Body=b"1,2,3\n" * 1000)
    starts, totals = [], []
    for n in range(jobs):
        mark = root / f"mark-{n}"
        name = f"start-{n}"
        before = time.time()
        sm.create_training_job(
            TrainingJobName=name,
            AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            RoleArn=ROLE,
            HyperParameters={
                "sagemaker_program": '"train.py"',
                "sagemaker_submit_directory": '"s3://bench/code/sourcedir.tar.gz"',
            },
            Environment={"MARK_FILE": str(mark)},
            InputDataConfig=[
                {
                    "ChannelName": "train",
                    "DataSource": {
                        "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bench/data/"}
                    },
                }
            ],
            OutputDataConfig={"S3OutputPath": "s3://bench/out"},
            ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            StoppingCondition={"MaxRuntimeInSeconds": 60},
        )
        returned = time.time()
        while True:
            status = sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"]
            if status != "InProgress":
                break
            time.sleep(0.01)
        done = time.time()
        assert status == "Completed", sm.describe_training_job(TrainingJobName=name)
        starts.append(float(mark.read_text()) - returned)
        totals.append(done - before)
    floor = []
    for _ in range(jobs):
        begin = time.time()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        floor.append(time.time() - begin)
    p50s, p50t, p50f = (statistics.median(v) for v in (starts, totals, floor))
    print(f"jobs: {jobs}")
    print(
        f"start (Create returned -> script's first line): p50 {p50s:.3f} s, "
        f"p95 {percentile(starts, 95):.3f} s  (target p50 <= 0.25 s)"
    )
    print(
        f"Create -> Completed (no-op script): p50 {p50t:.3f} s, "
        f"p95 {percentile(totals, 95):.3f} s  (target p50 <= 1 s)"
    )
    print(f"baseline, one bare interpreter start: p50 {p50f:.3f} s")
    print(f"ratio start / bare interpreter start: {p50s / p50f:.1f}x")


if __name__ == "__main__":
    main()
