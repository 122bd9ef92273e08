"""The sagemaker SDK's HyperparameterTuner over the built-in XGBoost, offline, under
``eval "$(sagebrush env)"``: Bayesian with 12 jobs two at a time, the best job, analytics,
attach, best_estimator, a warm start with 6 more jobs, and the Random strategy."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sagebrush.testing import Server
from tests.e2e._offline import run_offline

SDK_SCRIPT = r"""
import os
import numpy as np, sagemaker
from sagemaker import image_uris
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.tuner import (ContinuousParameter, HyperparameterTuner, IntegerParameter,
                             WarmStartConfig, WarmStartTypes)
from sklearn.datasets import load_breast_cancer

X, y = load_breast_cancer(return_X_y=True)
order = np.random.default_rng(0).permutation(len(y))
train, valid = order[:400], order[400:]
os.makedirs("t"); os.makedirs("v")
np.savetxt("t/train.csv", np.column_stack([y[train], X[train]]), delimiter=",")
np.savetxt("v/validation.csv", np.column_stack([y[valid], X[valid]]), delimiter=",")
session = sagemaker.Session()
sm = session.sagemaker_client
inputs = {
    channel: TrainingInput(session.upload_data(folder, key_prefix=f"tune/{channel}"),
                           content_type="text/csv")
    for channel, folder in (("train", "t"), ("validation", "v"))
}
image = image_uris.retrieve("xgboost", "eu-west-1", "1.7-1")
estimator = Estimator(image_uri=image, role="arn:aws:iam::000000000000:role/R",
                      instance_count=1, instance_type="ml.m5.large", sagemaker_session=session,
                      hyperparameters={"objective": "binary:logistic", "num_round": "20",
                                       "eval_metric": "auc", "seed": "1"})
ranges = {"eta": ContinuousParameter(0.01, 0.5, scaling_type="Logarithmic"),
          "max_depth": IntegerParameter(1, 6),
          "min_child_weight": ContinuousParameter(1, 20)}
tuner = HyperparameterTuner(estimator, "validation:auc", ranges, max_jobs=12,
                            max_parallel_jobs=2, strategy="Bayesian",
                            base_tuning_job_name="xgb-tune")
tuner.fit(inputs, include_cls_metadata=False)
name = tuner.latest_tuning_job.name
job = tuner.describe()
assert job["HyperParameterTuningJobStatus"] == "Completed", job
assert job["TrainingJobStatusCounters"]["Completed"] == 12, job["TrainingJobStatusCounters"]

frame = tuner.analytics().dataframe()
assert len(frame) == 12, frame
assert set(frame["TrainingJobStatus"]) == {"Completed"}
assert {"eta", "max_depth", "min_child_weight", "FinalObjectiveValue"} <= set(frame.columns)
best = tuner.best_training_job()
assert best == frame.sort_values("FinalObjectiveValue").iloc[-1]["TrainingJobName"], frame
described = sm.describe_training_job(TrainingJobName=best)
auc = {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}["validation:auc"]
assert auc == frame["FinalObjectiveValue"].max() and auc > 0.95, auc
for value in frame["eta"]:
    assert 0.01 <= float(value) <= 0.5

# Never more than two children alive at once (creation to last change).
edges = []
for child in frame["TrainingJobName"]:
    d = sm.describe_training_job(TrainingJobName=child)
    edges += [(d["CreationTime"], 1), (d["LastModifiedTime"], -1)]
alive = peak = 0
for _, step in sorted(edges, key=lambda e: (e[0], e[1])):
    alive += step
    peak = max(peak, alive)
assert peak <= 2, peak

attached = HyperparameterTuner.attach(name, sagemaker_session=session)
assert attached.best_training_job() == best
assert attached.estimator.hyperparameters()["num_round"] == "20"
best_estimator = tuner.best_estimator()
assert best_estimator.model_data.endswith(f"{best}/output/model.tar.gz")

warm = HyperparameterTuner(estimator, "validation:auc", ranges, max_jobs=6,
                           max_parallel_jobs=2, strategy="Bayesian",
                           base_tuning_job_name="xgb-warm",
                           warm_start_config=WarmStartConfig(
                               WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM, parents={name}))
warm.fit(inputs, include_cls_metadata=False)
job = warm.describe()
assert job["HyperParameterTuningJobStatus"] == "Completed"
assert job["WarmStartConfig"]["ParentHyperParameterTuningJobs"] == [
    {"HyperParameterTuningJobName": name}]
overall = job["OverallBestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
assert overall >= auc and len(warm.analytics().dataframe()) == 6

random = HyperparameterTuner(estimator, "validation:auc", ranges, max_jobs=4,
                             max_parallel_jobs=4, strategy="Random",
                             base_tuning_job_name="xgb-rand")
random.fit(inputs, include_cls_metadata=False)
assert random.describe()["HyperParameterTuningJobStatus"] == "Completed"
assert len(random.analytics().dataframe()) == 4
print("OK", auc)
"""


@pytest.mark.slow
def test_hyperparameter_tuner_over_builtin_xgboost(server: Server, tmp_path: Path) -> None:
    (tmp_path / "tune.py").write_text(SDK_SCRIPT)
    proc = run_offline(server, tmp_path, f"{sys.executable} tune.py", timeout=600)
    assert "OK" in proc.stdout
