"""Hyperparameter tuning jobs through boto3: strategies, early stopping, warm start, stop,
completion criteria, the children's listing, bad input and a server restart.

The children run a registered local image whose objective is a known function of its
hyperparameters, printed once per epoch: ``score = -(x-2)^2 - |k-3| - (5 unless kind is
good) + 0.1*epoch``, best (-0.0 + 0.1 * last epoch) at x=2, k=3, kind=good.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagebrush.testing import Server, start_server

ROLE = "arn:aws:iam::000000000000:role/SagebrushExecutionRole"
BUCKET = "tuning-data"
TRAIN = """\
#!/usr/bin/env python3
import json, sys, time
hp = json.load(open("/opt/ml/input/config/hyperparameters.json"))
if hp.get("_tuning_objective_metric") != "score":
    sys.exit("no _tuning_objective_metric")
x, k, kind = float(hp["x"]), int(hp["k"]), hp["kind"]
if hp.get("crash") == "yes":
    open("/opt/ml/output/failure", "w").write("ClientError: this definition always fails")
    sys.exit(2)
for epoch in range(int(hp.get("epochs", "3"))):
    score = -(x - 2.0) ** 2 - abs(k - 3) - (0 if kind == "good" else 5) + 0.1 * epoch
    print(f"epoch={epoch} score={score:.6f}", flush=True)
    time.sleep(float(hp.get("pause", "0")))
"""


def score(tuned: dict[str, str], epochs: int = 3) -> float:
    x, k = float(tuned["x"]), int(tuned["k"])
    bad = 0 if tuned["kind"] == "good" else 5
    return -((x - 2.0) ** 2) - abs(k - 3) - bad + 0.1 * (epochs - 1)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("tuning-home")
    image = home / "images" / "quad"
    image.mkdir(parents=True)
    (image / "train").write_text(TRAIN)
    (image / "train").chmod(0o755)
    server = start_server(home, "--stop-grace-seconds", "2")
    server.client("s3").create_bucket(Bucket=BUCKET)
    yield server
    server.stop()


def _ranges(kinds: tuple[str, ...] = ("good", "bad")) -> dict[str, Any]:
    return {
        "ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "5"}],
        "IntegerParameterRanges": [{"Name": "k", "MinValue": "1", "MaxValue": "6"}],
        "CategoricalParameterRanges": [{"Name": "kind", "Values": list(kinds)}],
    }


def _definition(**static: str) -> dict[str, Any]:
    return {
        "StaticHyperParameters": {"epochs": "3", **static},
        "AlgorithmSpecification": {
            "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/quad:latest",
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "score", "Regex": r"score=([-0-9.]+)"}],
        },
        "RoleArn": ROLE,
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/out"},
        "HyperParameterTuningResourceConfig": {
            "InstanceType": "ml.m5.large",
            "InstanceCount": 1,
            "VolumeSizeInGB": 1,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }


def _request(
    name: str,
    strategy: str = "Bayesian",
    *,
    jobs: int | None = 6,
    parallel: int = 2,
    ranges: dict[str, Any] | None = None,
    definition: dict[str, Any] | None = None,
    **config: Any,
) -> dict[str, Any]:
    limits: dict[str, Any] = {"MaxParallelTrainingJobs": parallel}
    if jobs is not None:
        limits["MaxNumberOfTrainingJobs"] = jobs
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "score"},
            "ResourceLimits": limits,
            "ParameterRanges": ranges if ranges is not None else _ranges(),
            "RandomSeed": 7,
            **config,
        },
        "TrainingJobDefinition": definition or _definition(),
    }


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def _wait(sm: Any, name: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        if job["HyperParameterTuningJobStatus"] not in ("InProgress", "Stopping"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.3)
    raise AssertionError(f"tuning job {name} did not end in {timeout} s")


def _children(sm: Any, name: str, **kwargs: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        extra = {"NextToken": token} if token else {}
        page = sm.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=name, MaxResults=2, **kwargs, **extra
        )
        out.extend(page["TrainingJobSummaries"])
        token = page.get("NextToken")
        if not token:
            return out


def _max_overlap(sm: Any, children: list[dict[str, Any]]) -> int:
    """Most children alive at once: each from its creation to its last status change."""
    edges = []
    for child in children:
        job = sm.describe_training_job(TrainingJobName=child["TrainingJobName"])
        edges += [(job["CreationTime"].timestamp(), 1), (job["LastModifiedTime"].timestamp(), -1)]
    alive = peak = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):
        alive += step
        peak = max(peak, alive)
    return peak


def test_bayesian_tuning_runs_children_and_reports_the_best(srv: Server) -> None:
    sm = srv.client("sagemaker")
    name = _name("bayes")
    created = sm.create_hyper_parameter_tuning_job(
        **_request(name, jobs=8), Tags=[{"Key": "team", "Value": "search"}]
    )
    assert created["HyperParameterTuningJobArn"].endswith(f":hyper-parameter-tuning-job/{name}")
    job = _wait(sm, name)
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    assert job["TrainingJobStatusCounters"] == {
        "Completed": 8,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": 0,
        "Stopped": 0,
    }
    assert job["ObjectiveStatusCounters"] == {"Succeeded": 8, "Pending": 0, "Failed": 0}
    children = _children(sm, name)
    assert len(children) == 8
    assert [c["TrainingJobName"] for c in children] == sorted(
        c["TrainingJobName"] for c in children
    )
    for n, child in enumerate(children, start=1):
        assert child["TrainingJobName"].startswith(f"{name}-{n:03d}-")
        assert len(child["TrainingJobName"].rsplit("-", 1)[1]) == 8
        tuned = child["TunedHyperParameters"]
        assert 0 <= float(tuned["x"]) <= 5 and 1 <= int(tuned["k"]) <= 6
        assert tuned["kind"] in ("good", "bad")
        metric = child["FinalHyperParameterTuningJobObjectiveMetric"]
        assert metric["MetricName"] == "score" and metric["Type"] == "Maximize"
        assert metric["Value"] == pytest.approx(score(tuned), abs=1e-5)
        assert child["ObjectiveStatus"] == "Succeeded"
    best = max(children, key=lambda c: c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
    assert job["BestTrainingJob"]["TrainingJobName"] == best["TrainingJobName"]
    assert _max_overlap(sm, children) <= 2
    # Children carry the tuning job's tags, its ARN and _tuning_objective_metric.
    first = sm.describe_training_job(TrainingJobName=children[0]["TrainingJobName"])
    assert first["TuningJobArn"] == created["HyperParameterTuningJobArn"]
    assert first["HyperParameters"]["_tuning_objective_metric"] == "score"
    assert first["HyperParameters"]["epochs"] == "3"
    tags = sm.list_tags(ResourceArn=first["TrainingJobArn"])["Tags"]
    assert {"Key": "team", "Value": "search"} in tags
    # Describe shows the definition as the SDK's attach() reads it.
    definition = job["TrainingJobDefinition"]
    assert definition["StaticHyperParameters"]["_tuning_objective_metric"] == "score"
    assert definition["ResourceConfig"]["InstanceType"] == "ml.m5.large"
    assert job["HyperParameterTuningEndTime"] >= job["CreationTime"]
    # Sorted by the objective, best first; a status filter.
    ranked = _children(sm, name, SortBy="FinalObjectiveMetricValue", SortOrder="Descending")
    values = [c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for c in ranked]
    assert values == sorted(values, reverse=True)
    assert _children(sm, name, StatusEquals="Failed") == []
    listed = sm.list_hyper_parameter_tuning_jobs(NameContains=name)
    summary = listed["HyperParameterTuningJobSummaries"][0]
    assert summary["HyperParameterTuningJobName"] == name and summary["Strategy"] == "Bayesian"
    assert summary["TrainingJobStatusCounters"]["Completed"] == 8


def test_random_strategy_and_its_seed(srv: Server) -> None:
    sm = srv.client("sagemaker")
    runs = []
    for _ in range(2):
        name = _name("random")
        sm.create_hyper_parameter_tuning_job(**_request(name, "Random", jobs=4, parallel=4))
        job = _wait(sm, name)
        assert job["HyperParameterTuningJobStatus"] == "Completed"
        runs.append(sorted(str(c["TunedHyperParameters"]) for c in _children(sm, name)))
    assert runs[0] == runs[1]  # RandomSeed makes the draws repeatable
    assert len(set(runs[0])) == 4


def test_grid_strategy_runs_every_combination_once(srv: Server) -> None:
    sm = srv.client("sagemaker")
    name = _name("grid")
    ranges = {
        "CategoricalParameterRanges": [
            {"Name": "x", "Values": ["1", "2", "3"]},
            {"Name": "k", "Values": ["3", "4"]},
            {"Name": "kind", "Values": ["good"]},
        ]
    }
    sm.create_hyper_parameter_tuning_job(**_request(name, "Grid", jobs=None, ranges=ranges))
    job = _wait(sm, name)
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    combos = sorted(
        (c["TunedHyperParameters"]["x"], c["TunedHyperParameters"]["k"])
        for c in _children(sm, name)
    )
    assert combos == [(x, k) for x in "123" for k in "34"]
    assert job["BestTrainingJob"]["TunedHyperParameters"] == {"x": "2", "k": "3", "kind": "good"}
    with pytest.raises(ClientError) as err:
        sm.create_hyper_parameter_tuning_job(
            **_request(_name("grid"), "Grid", jobs=5, ranges=ranges)
        )
    assert (
        "number of distinct hyperparameter combinations (6)"
        in err.value.response["Error"]["Message"]
    )


@pytest.mark.slow
def test_early_stopping_stops_clearly_bad_children(srv: Server) -> None:
    sm = srv.client("sagemaker")
    name = _name("early")
    request = _request(
        name,
        "Random",
        jobs=10,
        definition=_definition(epochs="8", pause="0.4"),
        TrainingJobEarlyStoppingType="Auto",
    )
    sm.create_hyper_parameter_tuning_job(**request)
    job = _wait(sm, name)
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    children = _children(sm, name)
    stopped = [c for c in children if c["TrainingJobStatus"] == "Stopped"]
    assert stopped, [(c["TunedHyperParameters"], c["TrainingJobStatus"]) for c in children]
    assert job["TrainingJobStatusCounters"]["Stopped"] == len(stopped)
    completed = sorted(
        c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        for c in children
        if c["TrainingJobStatus"] == "Completed"
    )
    median = completed[len(completed) // 2]
    for child in stopped:
        # Stopped early: worse than the completed children, with the objective it reached.
        assert score(child["TunedHyperParameters"], 8) < median
        assert child["ObjectiveStatus"] == "Succeeded"
        described = sm.describe_training_job(TrainingJobName=child["TrainingJobName"])
        assert any("early" in t["StatusMessage"] for t in described["SecondaryStatusTransitions"])


def test_hyperband_prunes_by_epochs(srv: Server) -> None:
    sm = srv.client("sagemaker")
    name = _name("hyperband")
    request = _request(
        name,
        "Hyperband",
        jobs=6,
        definition=_definition(epochs="6", pause="0.15"),
        StrategyConfig={"HyperbandStrategyConfig": {"MinResource": 1}},
    )
    sm.create_hyper_parameter_tuning_job(**request)
    job = _wait(sm, name)
    assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
    assert job["HyperParameterTuningJobConfig"]["StrategyConfig"]["HyperbandStrategyConfig"] == {
        "MinResource": 1
    }
    assert sum(job["TrainingJobStatusCounters"].values()) == 6
    # Hyperband stopped the children it gave up on before their last epoch.
    stopped = [c for c in _children(sm, name) if c["TrainingJobStatus"] == "Stopped"]
    assert stopped and job["TrainingJobStatusCounters"]["Stopped"] == len(stopped)
    no_epochs = _definition()
    del no_epochs["StaticHyperParameters"]["epochs"]
    with pytest.raises(ClientError) as err:
        sm.create_hyper_parameter_tuning_job(
            **_request(_name("hb"), "Hyperband", definition=no_epochs, jobs=4)
        )
    assert "MaxResource is required" in err.value.response["Error"]["Message"]


def test_warm_start_carries_the_parents_results(srv: Server) -> None:
    sm = srv.client("sagemaker")
    parent = _name("parent")
    sm.create_hyper_parameter_tuning_job(**_request(parent, jobs=6))
    parent_job = _wait(sm, parent)
    assert parent_job["HyperParameterTuningJobStatus"] == "Completed"
    parent_best = parent_job["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"][
        "Value"
    ]
    child = _name("warm")
    warm = {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": parent}],
        "WarmStartType": "IdenticalDataAndAlgorithm",
    }
    sm.create_hyper_parameter_tuning_job(**_request(child, jobs=6), WarmStartConfig=warm)
    job = _wait(sm, child)
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    assert job["WarmStartConfig"] == warm
    overall = job["OverallBestTrainingJob"]
    values = [
        parent_best,
        job["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"],
    ]
    assert overall["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == max(values)
    # With the parent's six results TPE starts modelling at once: no random start, so the
    # new children score better on average than the parent's (which began at random).
    mine = [c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for c in _children(sm, child)]
    theirs = [
        c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for c in _children(sm, parent)
    ]
    assert sum(mine) / len(mine) > sum(theirs) / len(theirs)
    # Warm start needs ended parents and the same objective.
    running = _name("running")
    sm.create_hyper_parameter_tuning_job(
        **_request(running, jobs=2, definition=_definition(pause="5", epochs="2"))
    )
    bad = {**warm, "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": running}]}
    with pytest.raises(ClientError) as err:
        sm.create_hyper_parameter_tuning_job(**_request(_name("w"), jobs=2), WarmStartConfig=bad)
    assert "needs parent jobs that have ended" in err.value.response["Error"]["Message"]
    sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=running)
    missing = {**warm, "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "nope"}]}
    with pytest.raises(ClientError) as err:
        sm.create_hyper_parameter_tuning_job(
            **_request(_name("w"), jobs=2), WarmStartConfig=missing
        )
    assert "does not exist" in err.value.response["Error"]["Message"]
    assert _wait(sm, running)["HyperParameterTuningJobStatus"] == "Stopped"


def test_stop_stops_the_children(srv: Server) -> None:
    sm = srv.client("sagemaker")
    name = _name("stop")
    sm.create_hyper_parameter_tuning_job(
        **_request(name, jobs=6, definition=_definition(epochs="100", pause="0.5"))
    )
    deadline = time.monotonic() + 60
    while len(_children(sm, name, StatusEquals="InProgress")) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)[
        "HyperParameterTuningJobStatus"
    ] in ("Stopping", "Stopped")
    job = _wait(sm, name)
    assert job["HyperParameterTuningJobStatus"] == "Stopped"
    children = _children(sm, name)
    assert len(children) == 2 and all(c["TrainingJobStatus"] == "Stopped" for c in children)
    with pytest.raises(ClientError) as err:
        sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert "in status Stopped" in err.value.response["Error"]["Message"]
    sm.delete_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    with pytest.raises(ClientError) as err:
        sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert err.value.response["Error"]["Code"] == "ResourceNotFound"


def test_completion_criteria_end_the_search_early(srv: Server) -> None:
    sm = srv.client("sagemaker")
    name = _name("target")
    ranges = {
        "CategoricalParameterRanges": [
            {"Name": "x", "Values": ["2"]},
            {"Name": "k", "Values": ["3", "4", "5"]},
            {"Name": "kind", "Values": ["good"]},
        ]
    }
    request = _request(
        name,
        "Random",
        jobs=30,
        parallel=1,
        ranges=ranges,
        TuningJobCompletionCriteria={"TargetObjectiveMetricValue": -0.5},
    )
    sm.create_hyper_parameter_tuning_job(**request)
    job = _wait(sm, name)
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    children = _children(sm, name)
    assert len(children) < 30
    assert children[-1]["TunedHyperParameters"]["k"] == "3"  # the first to reach the target
    assert all(c["TunedHyperParameters"]["k"] != "3" for c in children[:-1])
    # Not improving: three children in a row that do not beat the best by 1%.
    name = _name("plateau")
    criteria = {"BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 3}}
    flat = {
        "CategoricalParameterRanges": [
            {"Name": n, "Values": [v]} for n, v in (("x", "2"), ("k", "3"), ("kind", "good"))
        ]
    }
    sm.create_hyper_parameter_tuning_job(
        **_request(
            name, "Random", jobs=20, parallel=1, ranges=flat, TuningJobCompletionCriteria=criteria
        )
    )
    job = _wait(sm, name)
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    assert len(_children(sm, name)) == 4
    assert job["TuningJobCompletionDetails"]["NumberOfTrainingJobsObjectiveNotImproving"] == 3


def test_children_that_all_fail_fail_the_tuning_job(srv: Server) -> None:
    sm = srv.client("sagemaker")
    name = _name("failing")
    sm.create_hyper_parameter_tuning_job(
        **_request(name, jobs=8, definition=_definition(crash="yes"))
    )
    job = _wait(sm, name)
    assert job["HyperParameterTuningJobStatus"] == "Failed"
    # Two run at once, so the third and fourth may end together before the tuner looks.
    found = re.search(r"its first (\d+) training jobs failed", job["FailureReason"])
    assert found is not None, job["FailureReason"]
    failed = int(found.group(1))
    assert failed in (3, 4)
    assert "this definition always fails" in job["FailureReason"]
    # No more children once it gave up. The one still running then (two run at once) was
    # stopped, or failed on its own first; the job ended only after it had.
    children = _children(sm, name)
    statuses = sorted(c["TrainingJobStatus"] for c in children)
    assert statuses in (
        ["Failed"] * failed,
        ["Failed"] * (failed + 1),
        ["Failed"] * failed + ["Stopped"],
    )
    assert job["TrainingJobStatusCounters"]["NonRetryableError"] == statuses.count("Failed")
    assert job["ObjectiveStatusCounters"]["Failed"] == len(children)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda r: r["HyperParameterTuningJobConfig"]["ParameterRanges"][
                "ContinuousParameterRanges"
            ][0].update(MinValue="6"),
            "The MinValue (6) of hyperparameter x must be less than or equal to its MaxValue (5)",
        ),
        (
            lambda r: r["HyperParameterTuningJobConfig"]["ParameterRanges"][
                "ContinuousParameterRanges"
            ][0].update(ScalingType="Exponential"),
            "Member must satisfy enum value set",
        ),
        (
            lambda r: r["HyperParameterTuningJobConfig"]["ParameterRanges"][
                "ContinuousParameterRanges"
            ][0].update(ScalingType="Logarithmic"),
            "Logarithmic scaling requires a range whose values are all greater than 0",
        ),
        (
            lambda r: r["HyperParameterTuningJobConfig"]["ParameterRanges"][
                "IntegerParameterRanges"
            ][0].update(ScalingType="ReverseLogarithmic"),
            "ReverseLogarithmic scaling is only supported for continuous hyperparameters",
        ),
        (
            lambda r: r["HyperParameterTuningJobConfig"]["ResourceLimits"].update(
                MaxParallelTrainingJobs=7
            ),
            "MaxParallelTrainingJobs (7) cannot be greater than MaxNumberOfTrainingJobs (6)",
        ),
        (
            lambda r: r["HyperParameterTuningJobConfig"]["ResourceLimits"].update(
                MaxNumberOfTrainingJobs=800, MaxParallelTrainingJobs=101
            ),
            "exceeds the limit of 750 training jobs",
        ),
        (
            lambda r: r["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"].update(
                MetricName="accuracy"
            ),
            "The objective metric [accuracy] is not defined",
        ),
        (
            lambda r: r["HyperParameterTuningJobConfig"]["ResourceLimits"].pop(
                "MaxNumberOfTrainingJobs"
            ),
            "MaxNumberOfTrainingJobs is required unless Strategy is Grid",
        ),
        (
            lambda r: r["TrainingJobDefinition"]["StaticHyperParameters"].update(x="1"),
            "Hyperparameter x is given both as a static hyperparameter and as a tunable",
        ),
        (
            lambda r: r["HyperParameterTuningJobConfig"].update(
                TrainingJobEarlyStoppingType="Auto", Strategy="Hyperband"
            ),
            "TrainingJobEarlyStoppingType must be Off with the Hyperband strategy",
        ),
        (
            lambda r: r["TrainingJobDefinition"]["AlgorithmSpecification"].update(
                TrainingImage="123456789012.dkr.ecr.us-east-1.amazonaws.com/missing:1"
            ),
            "does not exist or is not a training image",
        ),
    ],
)
def test_bad_requests_get_validation_errors(srv: Server, change: Any, message: str) -> None:
    sm = srv.client("sagemaker")
    request = _request(_name("bad"))
    change(request)
    with pytest.raises(ClientError) as err:
        sm.create_hyper_parameter_tuning_job(**request)
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert message in err.value.response["Error"]["Message"]


def test_names_and_missing_jobs(srv: Server) -> None:
    sm = srv.client("sagemaker")
    name = _name("dup")
    sm.create_hyper_parameter_tuning_job(**_request(name, jobs=2))
    with pytest.raises(ClientError) as err:
        sm.create_hyper_parameter_tuning_job(**_request(name, jobs=2))
    assert err.value.response["Error"]["Code"] == "ResourceInUse"
    for call in (
        sm.describe_hyper_parameter_tuning_job,
        sm.stop_hyper_parameter_tuning_job,
        sm.list_training_jobs_for_hyper_parameter_tuning_job,
    ):
        with pytest.raises(ClientError) as err:
            call(HyperParameterTuningJobName="no-such-tuning-job")
        assert err.value.response["Error"]["Code"] == "ResourceNotFound"
        assert "can't find a tuning job" in err.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as err:
        sm.create_hyper_parameter_tuning_job(**_request("x" * 33, jobs=2))
    assert err.value.response["Error"]["Code"] == "ValidationException"
    _wait(sm, name)


@pytest.mark.slow
def test_a_restarted_server_resumes_the_tuning_job(tmp_path: Any) -> None:
    home = tmp_path / "home"
    image = home / "images" / "quad"
    image.mkdir(parents=True)
    (image / "train").write_text(TRAIN)
    (image / "train").chmod(0o755)
    server = start_server(home)
    sm = server.client("sagemaker")
    server.client("s3").create_bucket(Bucket=BUCKET)
    name = _name("restart")
    sm.create_hyper_parameter_tuning_job(
        **_request(name, jobs=6, definition=_definition(epochs="4", pause="0.5"))
    )
    deadline = time.monotonic() + 60
    while len(_children(sm, name)) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    server.stop()
    server = start_server(home)
    try:
        sm = server.client("sagemaker")
        job = _wait(sm, name)
        assert job["HyperParameterTuningJobStatus"] == "Completed", job.get("FailureReason")
        children = _children(sm, name)
        assert len(children) == 6
        assert [c["TrainingJobName"].split("-")[2] for c in children] == [
            f"{n:03d}" for n in range(1, 7)
        ]
        assert job["ObjectiveStatusCounters"]["Succeeded"] >= 4
    finally:
        server.stop()
