"""Hyperparameter tuning efficiency: Bayesian vs Random search on a noisy Branin function.

Objective: a registered local image (``<home>/images/branin/train``) whose training job
reads ``x1`` and ``x2`` from ``/opt/ml/input/config/hyperparameters.json`` and prints
``objective=<value>``: the Branin function (a=1, b=5.1/(4 pi^2), c=5/pi, r=6, s=10,
t=1/(8 pi); x1 in [-5, 10], x2 in [0, 15]; minimum f* = 0.397887 at three points) plus
Gaussian noise of sd 1.0. The noise is seeded from the static hyperparameter ``noise_seed``
(the benchmark's seed) and the point itself, so both strategies see the same noisy
function and the benchmark can recompute every value the jobs report.

Method: for each of ``--seeds`` seeds (default 5) and each strategy, one
CreateHyperParameterTuningJob through boto3 (``RandomSeed`` = the seed; x1 and x2 as
Linear ``ContinuousParameterRanges``; objective Minimize ``branin``, parsed from the log by
the ``MetricDefinitions`` regex; ``--jobs`` (default 60) training jobs, ``--parallel``
(default 2) at a time; no completion criteria, so every run does all its jobs), one after
another with the strategy order alternating, polled every 0.2 s until Completed. Then the
children are listed (ListTrainingJobsForHyperParameterTuningJob, 100 a page), ordered by
CreationTime, and the true, noise-free Branin is evaluated at each child's
TunedHyperParameters: the count is the children up to and including the first within 1% of
the optimum, as normalized regret, f(x) - f* <= 0.01 x (max f - f*), the maximum taken on a
1000 x 1000 grid of the domain (~308). A run that never gets there counts as ``--jobs``
(printed ``>=N``). Every run is checked: the tuning job and every child Completed, every
child's objective equal to the noisy value recomputed here (within 1e-9), BestTrainingJob
the minimum of the listed objectives.

Baseline: Random search in the same run, the same seeds and the same noisy function.
Target: median jobs Bayesian / median jobs Random <= 0.5.

Also the platform's per-trial scheduling overhead, from the children's timestamps: for each
child after the first ``--parallel``, the time from the end (TrainingEndTime, stamped as
the job turns terminal) of the earlier child whose end freed the slot it took, to its
CreationTime: the tuner noticing, proposing the next point and creating the job. Target:
median <= 0.3 s (p90 printed beside it). Printed separately: CreationTime ->
TrainingStartTime, the training controller's admission and launch of a child.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from sagebrush.testing import Server, start_server

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/branin:latest"
ROLE = "arn:aws:iam::000000000000:role/SagebrushExecutionRole"
STRATEGIES = ("Bayesian", "Random")
METRIC = "branin"
X1, X2 = (-5.0, 10.0), (0.0, 15.0)
F_STAR = 0.397887357729738  # 5 / (4 pi), at (-pi, 12.275), (pi, 2.275), (9.42478, 2.475)
REGRET = 0.01  # "within 1% of the optimum", as normalized regret
NOISE_SD = 1.0
GRID = 1000


def branin(x1: float, x2: float) -> float:
    """The Branin-Hoo function with its usual constants."""
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def noise(noise_seed: str, x1: float, x2: float) -> float:
    """Gaussian noise (sd NOISE_SD) fixed by the seed and the point: the same in any
    process (a str seed is hashed with SHA-512, not with Python's salted hash)."""
    return random.Random(f"{noise_seed}:{x1!r}:{x2!r}").gauss(0.0, NOISE_SD)


def train() -> None:
    """The image's ``train``: the objective for this job's point, printed once."""
    hyperparameters = json.loads(Path("/opt/ml/input/config/hyperparameters.json").read_text())
    x1, x2 = float(hyperparameters["x1"]), float(hyperparameters["x2"])
    value = branin(x1, x2) + noise(hyperparameters["noise_seed"], x1, x2)
    print(f"x1={x1!r} x2={x2!r}", flush=True)
    print(f"objective={value!r}", flush=True)


# The image's executable is these functions' own source, so the job and the checks here
# compute the same thing. -S: no site import, as a container's lean entry point would.
TRAIN = "\n\n".join(
    [
        f"#!{sys.executable} -S",
        "import json, math, random\nfrom pathlib import Path",
        f"NOISE_SD = {NOISE_SD!r}",
        inspect.getsource(branin),
        inspect.getsource(noise),
        inspect.getsource(train),
        "train()\n",
    ]
)


def branin_max() -> float:
    """Max of Branin over a GRID x GRID grid of the domain (at the corner x1=-5, x2=15)."""
    x1, x2 = np.meshgrid(np.linspace(*X1, GRID), np.linspace(*X2, GRID))
    b, c, t = 5.1 / (4 * np.pi**2), 5 / np.pi, 1 / (8 * np.pi)
    values = (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * np.cos(x1) + 10
    where = np.unravel_index(int(np.argmax(values)), values.shape)
    top = branin(float(x1[where]), float(x2[where]))
    assert abs(top - float(values[where])) < 1e-9, "the grid and branin() disagree"
    return top


@dataclass(frozen=True)
class Child:
    name: str
    status: str
    created: float
    started: float | None
    ended: float | None
    x1: float
    x2: float
    objective: float | None
    objective_status: str | None  # ObjectiveStatus: Succeeded, Pending, Failed


@dataclass(frozen=True)
class Run:
    strategy: str
    seed: int
    children: list[Child]  # by CreationTime
    seconds: float  # CreateHyperParameterTuningJob -> Completed
    best: dict[str, Any]  # BestTrainingJob


def jobs_until_within(children: list[Child], scale: float) -> int | None:
    """Children (by CreationTime) up to and including the first whose true value is
    within REGRET x scale of the optimum; None when none is."""
    for n, child in enumerate(children, 1):
        if branin(child.x1, child.x2) - F_STAR <= REGRET * scale:
            return n
    return None


def slot_waits(children: list[Child], parallel: int) -> list[float]:
    """For each child after the first ``parallel``: its CreationTime less the end of the
    earlier child that freed its slot. With ``parallel`` slots, child k (from 0) can start
    only once k - parallel + 1 earlier children have ended: the (k - parallel)-th end."""
    waits = []
    for k in range(parallel, len(children)):
        ends = sorted(c.ended for c in children[:k] if c.ended is not None)
        if len(ends) > k - parallel:
            waits.append(children[k].created - ends[k - parallel])
    return waits


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=60, help="MaxNumberOfTrainingJobs")
    parser.add_argument("--parallel", type=int, default=2, help="MaxParallelTrainingJobs")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 per strategy")
    args = parser.parse_args()
    if args.jobs < 1 or args.parallel < 1 or args.seeds < 1:
        parser.error("--jobs, --parallel and --seeds must be at least 1")
    scale = branin_max() - F_STAR
    print(
        f"Branin max on a {GRID}x{GRID} grid {scale + F_STAR:.3f}: within 1% means "
        f"f - f* <= {REGRET * scale:.3f}; noise sd {NOISE_SD}",
        flush=True,
    )
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        register_image(home)
        server = start_server(home)
        try:
            server.client("s3").create_bucket(Bucket="bench")
            for seed in range(args.seeds):
                # Alternated, so a busy spell on a shared machine hits both alike.
                order = STRATEGIES if seed % 2 == 0 else STRATEGIES[::-1]
                for strategy in order:
                    run = tune(server, strategy, seed, args.jobs, args.parallel)
                    check(run, args.jobs)
                    runs.append(run)
                    count = jobs_until_within(run.children, scale)
                    print(
                        f"  {strategy:<8} seed {seed}: {fmt(count, args.jobs):>4} jobs to 1%, "
                        f"{run.seconds:.1f} s for {len(run.children)} jobs, best noisy "
                        f"{run.best['FinalHyperParameterTuningJobObjectiveMetric']['Value']:.3f}",
                        flush=True,
                    )
        finally:
            server.stop()
    report(runs, scale, args.jobs, args.parallel)


def register_image(home: Path) -> None:
    image = home / "images" / "branin"
    image.mkdir(parents=True)
    (image / "train").write_text(TRAIN)
    (image / "train").chmod(0o755)


def tune(server: Server, strategy: str, seed: int, jobs: int, parallel: int) -> Run:
    sm = server.client("sagemaker")
    name = f"branin-{strategy.lower()}-{seed}"
    ranges = [
        {"Name": n, "MinValue": str(lo), "MaxValue": str(hi), "ScalingType": "Linear"}
        for n, (lo, hi) in (("x1", X1), ("x2", X2))
    ]
    begin = time.perf_counter()
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name,
        HyperParameterTuningJobConfig={
            "Strategy": strategy,
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": METRIC},
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": jobs,
                "MaxParallelTrainingJobs": parallel,
            },
            "ParameterRanges": {"ContinuousParameterRanges": ranges},
            "TrainingJobEarlyStoppingType": "Off",
            "RandomSeed": seed,
        },
        TrainingJobDefinition={
            "StaticHyperParameters": {"noise_seed": str(seed)},
            "AlgorithmSpecification": {
                "TrainingImage": IMAGE,
                "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": METRIC, "Regex": r"objective=([-+0-9.eE]+)"}],
            },
            "RoleArn": ROLE,
            "OutputDataConfig": {"S3OutputPath": f"s3://bench/{name}"},
            "ResourceConfig": {
                "InstanceType": "ml.m5.large",
                "InstanceCount": 1,
                "VolumeSizeInGB": 1,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 120},
        },
    )
    while (job := sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name))[
        "HyperParameterTuningJobStatus"
    ] in ("InProgress", "Stopping"):
        time.sleep(0.2)
    seconds = time.perf_counter() - begin
    status = job["HyperParameterTuningJobStatus"]
    assert status == "Completed", f"{name}: {status}: {job.get('FailureReason')}"
    children = list_children(sm, name)
    return Run(strategy, seed, children, seconds, job.get("BestTrainingJob", {}))


def list_children(sm: Any, name: str) -> list[Child]:
    summaries: list[dict[str, Any]] = []
    token: dict[str, str] = {}
    while True:
        page = sm.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=name, MaxResults=100, **token
        )
        summaries += page["TrainingJobSummaries"]
        if not page.get("NextToken"):
            break
        token = {"NextToken": page["NextToken"]}
    children = []
    for summary in summaries:
        s = summary
        if "TrainingStartTime" not in s or "TrainingEndTime" not in s:
            # The summary's timestamps are optional; DescribeTrainingJob has them.
            s = {**sm.describe_training_job(TrainingJobName=s["TrainingJobName"]), **s}
        metric = s.get("FinalHyperParameterTuningJobObjectiveMetric")
        children.append(
            Child(
                name=s["TrainingJobName"],
                status=s["TrainingJobStatus"],
                created=s["CreationTime"].timestamp(),
                started=seconds(s.get("TrainingStartTime")),
                ended=seconds(s.get("TrainingEndTime")),
                x1=float(s["TunedHyperParameters"]["x1"]),
                x2=float(s["TunedHyperParameters"]["x2"]),
                objective=None if metric is None else float(metric["Value"]),
                objective_status=s.get("ObjectiveStatus"),
            )
        )
    return sorted(children, key=lambda c: (c.created, c.name))


def seconds(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def check(run: Run, jobs: int) -> None:
    """Every child Completed with the objective its point gives; the best is the min."""
    label = f"{run.strategy} seed {run.seed}"
    assert len(run.children) == jobs, f"{label}: {len(run.children)} children, wanted {jobs}"
    for child in run.children:
        assert child.status == "Completed", f"{label}: {child.name} is {child.status}"
        assert child.objective is not None, f"{label}: {child.name} has no objective"
        assert child.objective_status == "Succeeded", (
            f"{label}: {child.name}'s ObjectiveStatus is {child.objective_status}"
        )
        want = branin(child.x1, child.x2) + noise(str(run.seed), child.x1, child.x2)
        assert math.isclose(child.objective, want, rel_tol=1e-9, abs_tol=1e-9), (
            f"{label}: {child.name} reported {child.objective}, its point gives {want}"
        )
        assert X1[0] <= child.x1 <= X1[1] and X2[0] <= child.x2 <= X2[1], (
            f"{label}: {child.name} outside the ranges: x1={child.x1}, x2={child.x2}"
        )
    lowest = min(c.objective for c in run.children if c.objective is not None)
    best = run.best.get("FinalHyperParameterTuningJobObjectiveMetric", {}).get("Value")
    assert best is not None and math.isclose(best, lowest, rel_tol=1e-9, abs_tol=1e-9), (
        f"{label}: BestTrainingJob {run.best.get('TrainingJobName')} has {best}, min {lowest}"
    )
    named = {c.name: c.objective for c in run.children}
    assert named.get(run.best["TrainingJobName"]) == best, f"{label}: best job mismatch"


def fmt(count: int | None, jobs: int) -> str:
    return f">={jobs}" if count is None else str(count)


def report(runs: list[Run], scale: float, jobs: int, parallel: int) -> None:
    seeds = sorted({r.seed for r in runs})
    counts = {(r.strategy, r.seed): jobs_until_within(r.children, scale) for r in runs}
    print(
        f"\nnoisy Branin (sd {NOISE_SD}), {jobs} jobs per tuning job, {parallel} in parallel; "
        f"jobs until the first within 1% (normalized regret <= {REGRET}); every child "
        "checked (Completed, objective = its point's noisy value, best = the min)"
    )
    print(f"{'seed':<8}" + "".join(f"{s:>10}" for s in STRATEGIES))
    for seed in seeds:
        print(f"{seed:<8}" + "".join(f"{fmt(counts[s, seed], jobs):>10}" for s in STRATEGIES))
    medians = {
        s: statistics.median(jobs if (c := counts[s, seed]) is None else c for seed in seeds)
        for s in STRATEGIES
    }
    print(f"{'median':<8}" + "".join(f"{medians[s]:>10g}" for s in STRATEGIES))
    ratio = medians["Bayesian"] / medians["Random"]
    verdict = "met" if ratio <= 0.5 else "NOT met"
    print(f"ratio Bayesian / Random: {ratio:.2f}  (target <= 0.5: {verdict})")
    never = [f"{s} seed {seed}" for (s, seed), c in counts.items() if c is None]
    if never:
        print(f"never within 1% (counted as {jobs}): {', '.join(never)}")

    print(f"\n{'per child, seconds':<66}{'median':>8}{'p90':>8}{'n':>6}")
    waits = {
        s: [w for r in runs if r.strategy == s for w in slot_waits(r.children, parallel)]
        for s in STRATEGIES
    }
    everything = [w for s in STRATEGIES for w in waits[s]]
    rows = [
        (f"scheduling overhead, {s} (slot freed -> next child created)", waits[s])
        for s in STRATEGIES
    ]
    rows.append(("scheduling overhead, all", everything))
    launch = [c.started - c.created for r in runs for c in r.children if c.started is not None]
    rows.append(("child CreationTime -> TrainingStartTime (admission + launch)", launch))
    for label, values in rows:
        if values:
            print(
                f"{label:<66}{statistics.median(values):>8.3f}"
                f"{percentile(values, 90):>8.3f}{len(values):>6}"
            )
    if everything:
        median = statistics.median(everything)
        verdict = "met" if median <= 0.3 else "NOT met"
        print(f"scheduling overhead median {median:.3f} s  (target <= 0.3 s: {verdict})")
    total = sum(len(r.children) for r in runs)
    wall = sum(r.seconds for r in runs)
    print(
        f"{total} training jobs in {wall:.0f} s of tuning ({total / wall:.1f} jobs/s, "
        f"{os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
