"""The tuning job's search space, optimizer and progress, without a server."""

from __future__ import annotations

import math
from typing import Any

import optuna
import pytest

from sagebrush.jobs.tuning.children import Child, child_request
from sagebrush.jobs.tuning.progress import _not_improving, max_jobs, progress_of
from sagebrush.jobs.tuning.space import Objective, Range, definitions_of, max_resource
from sagebrush.jobs.tuning.tuner import Tuner
from sagebrush.state.resources import Resource


def _spec(strategy: str = "Bayesian", **config: Any) -> dict[str, Any]:
    return {
        "HyperParameterTuningJobName": "t",
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 10, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {
                        "Name": "lr",
                        "MinValue": "0.001",
                        "MaxValue": "0.1",
                        "ScalingType": "Logarithmic",
                    },
                    {
                        "Name": "beta",
                        "MinValue": "0.9",
                        "MaxValue": "0.9999",
                        "ScalingType": "ReverseLogarithmic",
                    },
                ],
                "IntegerParameterRanges": [{"Name": "depth", "MinValue": "1", "MaxValue": "8"}],
                "CategoricalParameterRanges": [{"Name": "act", "Values": ["relu", "tanh"]}],
            },
            "RandomSeed": 3,
            **config,
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"epochs": "5"},
            "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
            "RoleArn": "arn:aws:iam::000000000000:role/R",
            "OutputDataConfig": {"S3OutputPath": "s3://b/o"},
            "HyperParameterTuningResourceConfig": {
                "InstanceType": "ml.m5.large",
                "InstanceCount": 1,
                "VolumeSizeInGB": 1,
                "AllocationStrategy": "Prioritized",
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 60},
        },
    }


def test_suggestions_respect_every_range_and_scaling() -> None:
    tuner = Tuner(_spec("Random"))
    betas = []
    for _ in range(200):
        trial, suggestion = tuner.suggest()
        tuned = suggestion.hyperparameters
        assert 0.001 <= float(tuned["lr"]) <= 0.1
        assert 0.9 <= float(tuned["beta"]) <= 0.9999
        assert tuned["depth"] in {str(n) for n in range(1, 9)}
        assert tuned["act"] in ("relu", "tanh")
        betas.append(float(tuned["beta"]))
        tuner.study.tell(trial, 1.0)
    # ReverseLogarithmic: 1 - beta is log-uniform, so half the draws sit above the
    # geometric middle of the range, about 0.99 — far above the linear middle.
    middle = 1 - math.sqrt(0.1 * 0.0001)
    above = sum(b > middle for b in betas) / len(betas)
    assert 0.35 < above < 0.65


def test_a_hyperparameter_string_maps_back_to_the_optimizer_value() -> None:
    reverse = Range("beta", "Continuous", 0.9, 0.9999, "ReverseLogarithmic")
    assert reverse.internal(reverse.hyperparameter(0.05)) == pytest.approx(0.05)
    assert reverse.internal("0.5") is None  # outside the range
    integer = Range("depth", "Integer", 1, 8)
    assert integer.hyperparameter(3.0) == "3" and integer.internal("3") == 3
    assert integer.internal("2.5") is None
    categorical = Range("act", "Categorical", values=("relu", "tanh"))
    assert categorical.internal("tanh") == "tanh" and categorical.internal("gelu") is None


def test_random_strategy_is_repeatable_with_its_seed() -> None:
    def draws() -> list[dict[str, str]]:
        tuner = Tuner(_spec("Random"))
        out = []
        for _ in range(5):
            trial, suggestion = tuner.suggest()
            out.append(suggestion.hyperparameters)
            tuner.study.tell(trial, 0.0)
        return out

    assert draws() == draws()


def test_grid_visits_every_combination_once() -> None:
    spec = _spec("Grid")
    spec["HyperParameterTuningJobConfig"]["ParameterRanges"] = {
        "CategoricalParameterRanges": [
            {"Name": "a", "Values": ["1", "2", "3"]},
            {"Name": "b", "Values": ["x", "y"]},
        ]
    }
    spec["HyperParameterTuningJobConfig"]["ResourceLimits"].pop("MaxNumberOfTrainingJobs")
    assert max_jobs(spec) == 6
    tuner = Tuner(spec)
    seen = set()
    for _ in range(6):
        trial, suggestion = tuner.suggest()
        seen.add((suggestion.hyperparameters["a"], suggestion.hyperparameters["b"]))
        tuner.study.tell(trial, 0.0)
    assert len(seen) == 6


def test_bayesian_after_history_exploits_it() -> None:
    """With warm-start history TPE starts modelling at once: its first suggestions crowd
    near the best past trials rather than spreading over the range."""
    spec = _spec()
    spec["HyperParameterTuningJobConfig"]["ParameterRanges"] = {
        "ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "10"}]
    }
    history = [(x, (x - 7.0) ** 2) for x in (0.5, 1.5, 2.5, 3.5, 4.5, 6.5, 7.2, 8.5, 9.5, 5.5)]
    tuner = Tuner(spec, history=len(history))
    for x, value in history:
        params = tuner.params_of(None, {"x": str(x)})
        assert params is not None
        tuner.add_finished(params, value, [])
    xs = []
    for _ in range(8):
        trial, suggestion = tuner.suggest()
        x = float(suggestion.hyperparameters["x"])
        xs.append(x)
        tuner.study.tell(trial, (x - 7.0) ** 2)
    assert sum(abs(x - 7.0) < 2.0 for x in xs) >= 5, xs


def test_median_rule_prunes_a_child_worse_than_the_completed_ones() -> None:
    tuner = Tuner(_spec("Random", TrainingJobEarlyStoppingType="Auto"))
    for n in range(3):
        trial, _ = tuner.suggest()
        tuner.bind(f"c{n}", trial)
        assert not tuner.report(f"c{n}", [1.0, 0.8, 0.6])
        tuner.finish(f"c{n}", 0.6)
    trial, _ = tuner.suggest()
    tuner.bind("bad", trial)
    assert not tuner.report("bad", [5.0])  # the first epoch is a warm-up
    assert tuner.report("bad", [5.0, 4.0])
    tuner.finish("bad", None, pruned=True)
    states = [t.state for t in tuner.study.trials]
    assert states.count(optuna.trial.TrialState.PRUNED) == 1


def test_a_rebuilt_tuner_resumes_running_children() -> None:
    tuner = Tuner(_spec("Random", TrainingJobEarlyStoppingType="Auto"))
    tuned = {"lr": "0.01", "beta": "0.99", "depth": "3", "act": "relu"}
    params = tuner.params_of(None, tuned)
    assert params is not None
    for value in (0.5, 0.5, 0.5):
        tuner.add_finished(params, value, [0.9, 0.7, 0.5])
    tuner.resume("running", params, [9.0])
    assert tuner.report("running", [9.0, 8.0])  # the resumed trial is pruned as any other
    live = tuner.study.trials[-1]
    assert live.params == params and live.state == optuna.trial.TrialState.RUNNING


def test_child_requests_carry_static_tuned_and_the_objective() -> None:
    definition = definitions_of(_spec())[0]
    request = child_request(
        "t-001-abcdef12", definition, {"lr": "0.01"}, [{"Key": "k", "Value": "v"}]
    )
    assert request["HyperParameters"] == {
        "epochs": "5",
        "lr": "0.01",
        "_tuning_objective_metric": "loss",
    }
    assert request["ResourceConfig"] == {
        "InstanceType": "ml.m5.large",
        "InstanceCount": 1,
        "VolumeSizeInGB": 1,
    }
    assert request["Tags"] == [{"Key": "k", "Value": "v"}]
    assert max_resource(_spec()["HyperParameterTuningJobConfig"], definition.static) == 5


def _child(
    name: str, status: str, value: float | None, end: float, reason: str = ""
) -> tuple[Child, Resource]:
    facts: dict[str, Any] = {"training_end": end}
    if value is not None:
        facts["final_metrics"] = {"loss": {"Value": value, "Timestamp": end}}
    if reason:
        facts["failure_reason"] = reason
    record = Resource(
        id=0, account_id="a", region="r", kind="TrainingJob", name=name, arn=name,
        status=status, secondary_status=status, status_message="", created=0.0,
        modified=end, ended=end if status != "InProgress" else None, stop_requested=False,
        spec={}, facts=facts, version=0,
    )  # fmt: skip
    return Child(name, None, {}), record


def test_progress_counts_children_and_finds_the_best() -> None:
    job = Resource(
        id=1, account_id="a", region="r", kind="HyperParameterTuningJob", name="t", arn="t",
        status="InProgress", secondary_status="InProgress", status_message="", created=0.0,
        modified=0.0, ended=None, stop_requested=False, spec=_spec(), facts={}, version=0,
    )  # fmt: skip
    children = [
        _child("c1", "Completed", 0.5, 1),
        _child("c2", "Completed", 0.3, 2),
        _child("c3", "Failed", None, 3, "ClientError: bad"),
        _child("c4", "Failed", None, 4, "InternalServerError: boom"),
        _child("c5", "Stopped", 0.9, 5),
        _child("c6", "InProgress", None, 6),
    ]
    state = progress_of(job, children, Objective("Minimize", "loss"))
    assert state.status_counters == {
        "Completed": 2,
        "InProgress": 1,
        "RetryableError": 1,
        "NonRetryableError": 1,
        "Stopped": 1,
    }
    assert state.objective_counters == {"Succeeded": 3, "Pending": 1, "Failed": 2}
    assert state.best is not None and state.best[0].name == "c2"
    assert state.created == 6 and state.running == 1 and not state.failed_only
    met = state.completion_details({"TargetObjectiveMetricValue": 0.3}, now=9)
    assert met.met
    assert not state.completion_details({"TargetObjectiveMetricValue": 0.2}, now=9).met


def test_not_improving_counts_children_since_the_last_1_percent_gain() -> None:
    maximize = Objective("Maximize", "auc")
    assert _not_improving([0.80, 0.90, 0.905, 0.90, 0.91], maximize) == 3
    assert _not_improving([0.80, 0.90, 0.95], maximize) == 0
    minimize = Objective("Minimize", "loss")
    assert _not_improving([1.0, 0.995, 0.98, 2.0], minimize) == 1
