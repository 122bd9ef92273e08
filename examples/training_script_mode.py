"""Train a scikit-learn model in script mode, exactly as on SageMaker, then inspect it.

Start the server as the README's quick start says, then in another shell, in the
repository:

    source .venv/bin/activate && eval "$(sagebrush env)"
    python examples/training_script_mode.py

The job runs `train.py` as SageMaker's scikit-learn container would (hyperparameters as
command-line arguments, SM_* variables, /opt/ml/...), streams its log while `fit()` waits,
uploads model.tar.gz, and publishes the metric its log prints. Nothing here knows about
Sagebrush: the same code runs against AWS (with a real role ARN).
"""

from __future__ import annotations

import io
import tarfile
import tempfile
import textwrap
from pathlib import Path

import boto3
import joblib
import numpy as np
from sagemaker.analytics import TrainingJobAnalytics
from sagemaker.estimator import Estimator
from sagemaker.session import Session
from sagemaker.sklearn import SKLearn

ROLE = "arn:aws:iam::000000000000:role/SagebrushExecutionRole"

TRAIN = textwrap.dedent("""\
    import argparse, os
    import joblib, numpy as np
    from sklearn.linear_model import LogisticRegression

    parser = argparse.ArgumentParser()
    parser.add_argument("-C", type=float, default=1.0)
    args = parser.parse_args()

    def load(channel):
        data = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_" + channel.upper()],
                                       "data.csv"), delimiter=",")
        return data[:, 1:], data[:, 0]

    X, y = load("train")
    X_val, y_val = load("validation")
    model = LogisticRegression(C=args.C).fit(X, y)
    print(f"validation:accuracy={model.score(X_val, y_val):.4f}")
    joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
    """)


def main() -> None:
    session = Session()
    work = Path(tempfile.mkdtemp())
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4))
    y = (X @ [1.5, -2.0, 0.5, 0.0] > 0).astype(float)
    for channel, rows in (("train", slice(0, 300)), ("validation", slice(300, 400))):
        (work / channel).mkdir()
        np.savetxt(work / channel / "data.csv", np.column_stack([y[rows], X[rows]]), delimiter=",")
    train = session.upload_data(str(work / "train"), key_prefix="examples/sklearn/train")
    validation = session.upload_data(
        str(work / "validation"), key_prefix="examples/sklearn/validation"
    )
    (work / "src").mkdir()
    (work / "src" / "train.py").write_text(TRAIN)

    estimator = SKLearn(
        entry_point="train.py",
        source_dir=str(work / "src"),
        framework_version="1.2-1",
        instance_type="ml.m5.large",
        role=ROLE,
        sagemaker_session=session,
        hyperparameters={"C": 0.5},
        metric_definitions=[
            {"Name": "validation:accuracy", "Regex": r"validation:accuracy=([0-9.]+)"}
        ],
    )
    estimator.fit({"train": train, "validation": validation}, logs=True)
    name = estimator.latest_training_job.name

    bucket, key = estimator.model_data[len("s3://") :].split("/", 1)
    artifact = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(artifact)) as tar:
        member = tar.extractfile("model.joblib")
        assert member is not None
        model = joblib.load(member)
    print("prediction for [2, -2, 0, 0]:", model.predict(np.array([[2.0, -2.0, 0.0, 0.0]])))

    attached = Estimator.attach(name, sagemaker_session=session)
    print("attached:", attached.latest_training_job.name, attached.model_data)
    metrics = TrainingJobAnalytics(
        name, metric_names=["validation:accuracy"], sagemaker_session=session
    ).dataframe()
    print(metrics.to_string(index=False))
    print("script mode training ok")


if __name__ == "__main__":
    main()
