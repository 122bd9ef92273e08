"""50 no-op training jobs submitted at once under an instance quota of 4.

Checks that every job completes and that never more than 4 run at once (sampled by
listing jobs every 20 ms), and prints the total wall time. Baseline in the same run: the
same 50 no-op processes run directly, 4 at a time, with a thread pool.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sagebrush.testing import start_server

ROLE = "arn:aws:iam::000000000000:role/SagebrushExecutionRole"
TRAIN = "#!/bin/sh\necho done\n"
RUNNING = {"Downloading", "Training", "Uploading"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--quota", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        image = home / "images" / "noop"
        image.mkdir(parents=True)
        (image / "train").write_text(TRAIN)
        (image / "train").chmod(0o755)
        server = start_server(home, "--instance-quota", str(args.quota))
        try:
            wall, peak = burst(server, args.jobs, args.quota)
        finally:
            server.stop()
        begin = time.perf_counter()
        with ThreadPoolExecutor(args.quota) as pool:
            list(
                pool.map(
                    lambda _: subprocess.run(
                        [str(image / "train")], check=True, capture_output=True
                    ),
                    range(args.jobs),
                )
            )
        floor = time.perf_counter() - begin
    print(
        f"{args.jobs} jobs, quota {args.quota}: all completed in {wall:.2f} s; "
        f"at most {peak} running at once"
    )
    print(f"baseline, the same processes {args.quota} at a time directly: {floor:.2f} s")
    print(f"ratio: {wall / floor:.1f}x")


def burst(server, jobs: int, quota: int) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    sm = server.client("sagemaker")
    server.client("s3").create_bucket(Bucket="burst")
    begin = time.perf_counter()
    for n in range(jobs):
        sm.create_training_job(
            TrainingJobName=f"burst-{n}",
            AlgorithmSpecification={"TrainingImage": "noop:latest", "TrainingInputMode": "File"},
            RoleArn=ROLE,
            OutputDataConfig={"S3OutputPath": "s3://burst/out"},
            ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            StoppingCondition={"MaxRuntimeInSeconds": 60},
        )
    peak = 0
    while True:
        summaries = []
        pages = sm.get_paginator("list_training_jobs").paginate(NameContains="burst-")
        for page in pages:
            summaries.extend(page["TrainingJobSummaries"])
        running = sum(s.get("SecondaryStatus") in RUNNING for s in summaries)
        peak = max(peak, running)
        if len(summaries) == jobs and all(
            s["TrainingJobStatus"] != "InProgress" for s in summaries
        ):
            break
        time.sleep(0.02)
    wall = time.perf_counter() - begin
    failed = [s["TrainingJobName"] for s in summaries if s["TrainingJobStatus"] != "Completed"]
    assert not failed, failed
    assert peak <= quota, peak
    return wall, peak


if __name__ == "__main__":
    main()
