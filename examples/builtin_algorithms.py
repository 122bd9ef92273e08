"""Train SageMaker's built-in algorithms offline: XGBoost on CSV, K-Means and Linear Learner
on RecordIO-protobuf record sets — the same code that runs on SageMaker.

Start the server as the README's quick start says, then in another shell, in the
repository:

    source .venv/bin/activate && eval "$(sagebrush env)"
    python examples/builtin_algorithms.py

XGBoost is found by the SDK's own `image_uris.retrieve`, trained on label-first CSV with a
validation channel; its `validation:auc` lands in FinalMetricDataList and the artifact is a
plain xgboost model. K-Means and Linear Learner train on `estimator.record_set(...)` (the
SDK writes RecordIO-protobuf shards and a manifest) with a test channel, and publish
SageMaker's metric names (`test:msd`, `test:binary_classification_accuracy`). Nothing here
knows about Sagebrush: with a real role ARN the same code runs against AWS.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from pathlib import Path

import boto3
import numpy as np
import xgboost
from sagemaker import KMeans, LinearLearner, image_uris
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.session import Session
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

ROLE = "arn:aws:iam::000000000000:role/SagebrushExecutionRole"


def final_metrics(session: Session, job_name: str) -> dict[str, float]:
    job = session.describe_training_job(job_name)
    return {m["MetricName"]: m["Value"] for m in job.get("FinalMetricDataList", [])}


def main() -> None:
    session = Session()
    work = Path(tempfile.mkdtemp())
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype("float32")
    y = y.astype("float32")
    order = np.random.default_rng(0).permutation(len(y))
    train, test = order[:450], order[450:]

    # XGBoost: label-first CSV without a header, train and validation channels.
    for channel, rows in (("train", train), ("validation", test)):
        (work / channel).mkdir()
        np.savetxt(work / channel / "data.csv", np.column_stack([y[rows], X[rows]]), delimiter=",")
    xgb = Estimator(
        image_uri=image_uris.retrieve("xgboost", session.boto_region_name, "1.7-1"),
        role=ROLE,
        instance_count=1,
        instance_type="ml.m5.large",
        sagemaker_session=session,
        hyperparameters={
            "objective": "binary:logistic",
            "num_round": "50",
            "max_depth": "3",
            "eval_metric": "auc",
        },
    )
    xgb.fit(
        {
            channel: TrainingInput(
                session.upload_data(str(work / channel), key_prefix=f"examples/xgb/{channel}"),
                content_type="text/csv",
            )
            for channel in ("train", "validation")
        },
        logs=False,
    )
    print("xgboost", final_metrics(session, xgb.latest_training_job.name))
    bucket, key = xgb.model_data[len("s3://") :].split("/", 1)
    body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        model = tar.extractfile("xgboost-model")
        assert model is not None
        # The file has no extension to tell its format by: handed over as bytes, xgboost
        # reads the format from the content (given a path, it warns and guesses).
        booster = xgboost.Booster(model_file=bytearray(model.read()))
    accuracy = ((booster.predict(xgboost.DMatrix(X[test])) > 0.5) == y[test]).mean()
    print(f"xgboost model loaded with the xgboost library: test accuracy {accuracy:.3f}")

    # Amazon's algorithms on record sets (RecordIO-protobuf), with a test channel.
    common = {
        "role": ROLE,
        "instance_count": 1,
        "instance_type": "ml.m5.large",
        "sagemaker_session": session,
    }
    kmeans = KMeans(k=2, **common)
    learner = LinearLearner(predictor_type="binary_classifier", **common)
    for estimator, labelled in ((kmeans, False), (learner, True)):
        estimator.fit(
            [
                estimator.record_set(X[train], labels=y[train] if labelled else None),
                estimator.record_set(X[test], labels=y[test], channel="test"),
            ],
            logs=False,
        )
        name = type(estimator).__name__
        print(name, final_metrics(session, estimator.latest_training_job.name))
    print("built-in algorithms ok")


if __name__ == "__main__":
    main()
