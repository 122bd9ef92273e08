"""Built-in XGBoost through the SDK's generic Estimator and SageMaker's own image URI."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from sagebrush.testing import Server
from tests.e2e._offline import run_offline

SDK_SCRIPT = r"""
import io, os, tarfile
import boto3, numpy as np, sagemaker, xgboost
from sagemaker import image_uris
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sklearn.datasets import load_breast_cancer

X, y = load_breast_cancer(return_X_y=True)
rng = np.random.default_rng(0)
order = rng.permutation(len(y))
train, valid = order[:450], order[450:]
os.makedirs("t"); os.makedirs("v")
np.savetxt("t/train.csv", np.column_stack([y[train], X[train]]), delimiter=",")
np.savetxt("v/validation.csv", np.column_stack([y[valid], X[valid]]), delimiter=",")
session = sagemaker.Session()
s3_train = session.upload_data("t", key_prefix="xgb/train")
s3_valid = session.upload_data("v", key_prefix="xgb/validation")

image = image_uris.retrieve("xgboost", "eu-west-1", "1.7-1")
hyperparameters = {"objective": "binary:logistic", "num_round": "20", "max_depth": "3",
                   "eta": "0.3", "eval_metric": "auc", "seed": "1"}
estimator = Estimator(image_uri=image, role="arn:aws:iam::000000000000:role/R",
                      instance_count=1, instance_type="ml.m5.large",
                      sagemaker_session=session, hyperparameters=hyperparameters)
estimator.fit({"train": TrainingInput(s3_train, content_type="text/csv"),
               "validation": TrainingInput(s3_valid, content_type="text/csv")}, logs=False)
job = session.describe_training_job(estimator.latest_training_job.name)
metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
assert "validation:auc" in metrics and "train:auc" in metrics, metrics
assert metrics["validation:auc"] > 0.95, metrics

bucket, key = estimator.model_data[len("s3://"):].split("/", 1)
body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
with tarfile.open(fileobj=io.BytesIO(body)) as tar:
    tar.extract("xgboost-model", ".")
served = xgboost.Booster(model_file="xgboost-model")
params = {"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "eval_metric": "auc",
          "seed": 1, "verbosity": 0}
direct = xgboost.train(params, xgboost.DMatrix(X[train], label=y[train]), num_boost_round=20)
test = xgboost.DMatrix(X[valid])
difference = np.abs(served.predict(test) - direct.predict(test)).max()
assert difference <= 1e-6, difference
print("OK", metrics["validation:auc"])
"""


@pytest.mark.slow
def test_builtin_xgboost_matches_the_library(server: Server, tmp_path: Path) -> None:
    (tmp_path / "fit.py").write_text(SDK_SCRIPT)
    proc = run_offline(server, tmp_path, f"{sys.executable} fit.py")
    assert "OK" in proc.stdout


def _xgb_job(name: str, hyperparameters: dict[str, str], content_type: str) -> dict[str, object]:
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {
            "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
            "TrainingInputMode": "File",
        },
        "RoleArn": "arn:aws:iam::000000000000:role/R",
        "HyperParameters": hyperparameters,
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "ContentType": content_type,
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://xgb-data/libsvm/"}
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://xgb-data/out"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }


@pytest.mark.parametrize(
    ("name", "hyperparameters", "content_type", "status", "reason"),
    [
        (
            "xgb-libsvm",
            {"num_round": "5", "objective": "reg:squarederror"},
            "text/libsvm",
            "Completed",
            None,
        ),
        (
            "xgb-no-rounds",
            {"objective": "reg:squarederror"},
            "text/libsvm",
            "Failed",
            "ClientError: Missing required hyperparameter: num_round",
        ),
        (
            "xgb-bad-objective",
            {"num_round": "5", "objective": "nope"},
            "text/libsvm",
            "Failed",
            "ClientError: XGBoost rejected",
        ),
        (
            "xgb-bad-type",
            {"num_round": "5"},
            "application/x-image",
            "Failed",
            "ClientError: Content type application/x-image is not supported",
        ),
    ],
)
def test_builtin_xgboost_with_boto3(  # noqa: PLR0917
    server: Server,
    name: str,
    hyperparameters: dict[str, str],
    content_type: str,
    status: str,
    reason: str | None,
) -> None:
    s3, sm = server.client("s3"), server.client("sagemaker")
    if "xgb-data" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket="xgb-data")
        rows = [f"{i % 3} 1:{i} 2:{i * 0.5}\n" for i in range(60)]
        s3.put_object(Bucket="xgb-data", Key="libsvm/part-0", Body="".join(rows[:30]))
        s3.put_object(Bucket="xgb-data", Key="libsvm/part-1", Body="".join(rows[30:]))
    sm.create_training_job(**_xgb_job(name, hyperparameters, content_type))
    deadline = time.monotonic() + 60
    while (job := sm.describe_training_job(TrainingJobName=name))["TrainingJobStatus"] == (
        "InProgress"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert job["TrainingJobStatus"] == status, job.get("FailureReason")
    if reason:
        assert job["FailureReason"].startswith(reason), job["FailureReason"]
    else:
        names = {m["MetricName"] for m in job["FinalMetricDataList"]}
        assert "train:rmse" in names, names
