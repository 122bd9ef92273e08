"""Tune the built-in XGBoost offline with the SDK's HyperparameterTuner, then compare the
trials with SageMaker Search — exactly as on SageMaker.

Start the server as the README's quick start says, then in another shell, in the
repository:

    source .venv/bin/activate && eval "$(sagebrush env)"
    python examples/hyperparameter_tuning.py
    sagebrush tuning <the tuning job's name>     # the trials as a table, live while it runs

A Bayesian tuning job runs 8 training jobs, 2 at a time, over three ranges of XGBoost
hyperparameters (eta on a log scale) and maximizes `validation:auc`, one of the metrics the
built-in algorithm reports. `analytics().dataframe()` lists the trials, `best_training_job()`
names the best. A second tuning job warm-starts from the first (4 more jobs that begin with
the first job's results), and `search(...)` finds the training jobs whose validation:auc is
above 0.97, best first. Nothing here knows about Sagebrush: with a real role ARN the same code
runs against AWS.
"""

# The sagemaker SDK has no type hints.
# mypy: disable-error-code="no-untyped-call"
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from sagemaker import image_uris
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.session import Session
from sagemaker.tuner import (
    ContinuousParameter,
    HyperparameterTuner,
    IntegerParameter,
    WarmStartConfig,
    WarmStartTypes,
)
from sklearn.datasets import load_breast_cancer

ROLE = "arn:aws:iam::000000000000:role/SagebrushExecutionRole"


def main() -> None:
    session = Session()
    inputs = upload_data(session)
    estimator = Estimator(
        image_uri=image_uris.retrieve("xgboost", session.boto_region_name, "1.7-1"),
        role=ROLE,
        instance_count=1,
        instance_type="ml.m5.large",
        sagemaker_session=session,
        hyperparameters={"objective": "binary:logistic", "num_round": "30", "eval_metric": "auc"},
    )
    ranges = {
        "eta": ContinuousParameter(0.01, 0.5, scaling_type="Logarithmic"),
        "max_depth": IntegerParameter(1, 6),
        "min_child_weight": ContinuousParameter(1, 20),
    }
    tuner = HyperparameterTuner(
        estimator,
        objective_metric_name="validation:auc",
        hyperparameter_ranges=ranges,
        max_jobs=8,
        max_parallel_jobs=2,
        strategy="Bayesian",
        base_tuning_job_name="xgb-tuning",
    )
    tuner.fit(inputs, include_cls_metadata=False)
    name = tuner.latest_tuning_job.name
    trials = tuner.analytics().dataframe().sort_values("FinalObjectiveValue", ascending=False)
    columns = ["TrainingJobName", "eta", "max_depth", "min_child_weight", "FinalObjectiveValue"]
    print(f"tuning job {name}: {len(trials)} trials\n{trials[columns].to_string(index=False)}")
    print("best training job:", tuner.best_training_job())

    warm = HyperparameterTuner(
        estimator,
        objective_metric_name="validation:auc",
        hyperparameter_ranges=ranges,
        max_jobs=4,
        max_parallel_jobs=2,
        base_tuning_job_name="xgb-warm",
        warm_start_config=WarmStartConfig(
            WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM, parents={name}
        ),
    )
    warm.fit(inputs, include_cls_metadata=False)
    overall = warm.describe()["OverallBestTrainingJob"]
    print(
        "warm start: best over both tuning jobs:",
        overall["TrainingJobName"],
        overall["FinalHyperParameterTuningJobObjectiveMetric"]["Value"],
    )

    found = session.sagemaker_client.search(
        Resource="TrainingJob",
        SearchExpression={
            "Filters": [
                {"Name": "Metrics.validation:auc", "Operator": "GreaterThan", "Value": "0.97"},
                {"Name": "TrainingJobName", "Operator": "Contains", "Value": "xgb-"},
            ]
        },
        SortBy="Metrics.validation:auc",
        SortOrder="Descending",
        MaxResults=5,
    )
    print("search: training jobs with validation:auc > 0.97, best first:")
    for result in found["Results"]:
        job = result["TrainingJob"]
        auc = next(
            m["Value"] for m in job["FinalMetricDataList"] if m["MetricName"] == "validation:auc"
        )
        print(f"  {job['TrainingJobName']}  validation:auc={auc:.4f}")
    print("hyperparameter tuning example ok")


def upload_data(session: Session) -> dict[str, TrainingInput]:
    """Label-first CSV train and validation channels, as the built-in XGBoost reads them."""
    X, y = load_breast_cancer(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    splits = {"train": order[:400], "validation": order[400:]}
    inputs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for channel, rows in splits.items():
            folder = Path(tmp) / channel
            folder.mkdir()
            np.savetxt(
                folder / f"{channel}.csv", np.column_stack([y[rows], X[rows]]), delimiter=","
            )
            uri = session.upload_data(str(folder), key_prefix=f"examples/tuning/{channel}")
            inputs[channel] = TrainingInput(uri, content_type="text/csv")
    return inputs


if __name__ == "__main__":
    main()
