"""Amazon's algorithms through the SDK's own estimators and ``record_set``, then served.

The script is what a user writes against SageMaker: ``PCA``, ``KMeans``,
``LinearLearner``, ``KNN``, ``FactorizationMachines`` and ``RandomCutForest`` fitted on
``estimator.record_set(numpy_array)`` (RecordIO-protobuf shards and a manifest in S3,
ShardedByS3Key), plus LightGBM on CSV through the generic ``Estimator``. Each model.tar.gz
is then loaded by the algorithm's inference runtime and asked, in RecordIO-protobuf, for
predictions the SDK's ``RecordDeserializer`` reads back.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from sagemaker.amazon.common import RecordDeserializer, RecordSerializer

from sagebrush.algorithms.serving import load_runtime
from sagebrush.testing import Server

OFFLINE = Path(__file__).parent / "offline"
RECORDIO = "application/x-recordio-protobuf"

SDK_SCRIPT = r"""
import json, os, time
import numpy as np, sagemaker
from sagemaker import (PCA, KMeans, LinearLearner, KNN, FactorizationMachines,
                       RandomCutForest)
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

session = sagemaker.Session()
role = "arn:aws:iam::000000000000:role/SagebrushExecutionRole"
common = dict(role=role, instance_count=1, instance_type="ml.m5.large",
              sagemaker_session=session)
X, y = load_breast_cancer(return_X_y=True)
X = StandardScaler().fit_transform(X).astype("float32")
y = y.astype("float32")
order = np.random.default_rng(0).permutation(len(y))
train, test = order[:450], order[450:]

estimators = {
    "pca": PCA(num_components=5, **common),
    "kmeans": KMeans(k=4, **common),
    "linear-learner": LinearLearner(predictor_type="binary_classifier", **common),
    "knn": KNN(k=5, sample_size=450, predictor_type="classifier", **common),
    "factorization-machines": FactorizationMachines(
        num_factors=4, predictor_type="binary_classifier", epochs=20, **common),
    "randomcutforest": RandomCutForest(num_trees=50, num_samples_per_tree=128, **common),
}
labelled = {"linear-learner", "knn", "factorization-machines"}
with_test = {"kmeans", "linear-learner", "knn"}
for name, estimator in estimators.items():
    records = [estimator.record_set(X[train], labels=y[train] if name in labelled else None)]
    if name in with_test:
        records.append(estimator.record_set(X[test], labels=y[test], channel="test"))
    estimator.fit(records, wait=False, logs=False)

os.makedirs("csv/train")
np.savetxt("csv/train/data.csv", np.column_stack([y, X]), delimiter=",")
lightgbm = Estimator(
    image_uri="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-lightgbm:latest",
    hyperparameters={"num_boost_round": "30", "learning_rate": "0.1", "num_leaves": "15",
                     "objective": "binary"},
    **common)
lightgbm.fit({"train": TrainingInput(session.upload_data("csv/train", key_prefix="lgb/train"),
                                     content_type="text/csv")}, wait=False, logs=False)
estimators["lightgbm"] = lightgbm

result = {}
for name, estimator in estimators.items():
    # The SDK's wait() sleeps 5 s before its first look; poll as a script would instead.
    while (job := session.describe_training_job(estimator.latest_training_job.name))[
            "TrainingJobStatus"] == "InProgress":
        time.sleep(0.2)
    assert job["TrainingJobStatus"] == "Completed", (name, job.get("FailureReason"))
    result[name] = {
        "model": estimator.model_data,
        "metrics": {m["MetricName"]: m["Value"] for m in job.get("FinalMetricDataList", [])},
        "channels": [c["DataSource"]["S3DataSource"]["S3DataType"]
                     for c in job["InputDataConfig"]],
    }
print("RESULT " + json.dumps(result))
"""


@pytest.mark.slow
def test_amazon_algorithms_fit_on_record_sets_and_serve(server: Server, tmp_path: Path) -> None:
    (tmp_path / "fit.py").write_text(SDK_SCRIPT)
    shell = (
        f'eval "$({sys.executable} -m sagebrush env --home {server.home})" && '
        f'export PYTHONPATH={OFFLINE}:"$PYTHONPATH" && {sys.executable} fit.py'
    )
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run(
        ["bash", "-c", shell], cwd=tmp_path, env=env, capture_output=True, text=True,
        check=False, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])

    assert result["pca"]["channels"] == ["ManifestFile"]
    metrics = {name: r["metrics"] for name, r in result.items()}
    assert metrics["linear-learner"]["test:binary_classification_accuracy"] > 0.9
    assert metrics["knn"]["test:accuracy"] > 0.9
    assert "test:msd" in metrics["kmeans"]

    rows = np.random.default_rng(1).normal(size=(3, 30)).astype("float32")
    request = RecordSerializer().serialize(rows).getvalue()  # a BytesIO, as Predictor sends it
    expected = {
        "pca": ("projection", 5),
        "kmeans": ("closest_cluster", 1),
        "linear-learner": ("predicted_label", 1),
        "knn": ("predicted_label", 1),
        "factorization-machines": ("score", 1),
        "randomcutforest": ("score", 1),
    }
    s3 = server.client("s3")
    for name, (key, width) in expected.items():
        model_dir = tmp_path / "models" / name
        bucket, object_key = result[name]["model"][len("s3://") :].split("/", 1)
        body = s3.get_object(Bucket=bucket, Key=object_key)["Body"].read()
        with tarfile.open(fileobj=io.BytesIO(body)) as tar:
            tar.extractall(model_dir, filter="data")
        runtime = load_runtime(name, model_dir)
        response = runtime.invoke(request, RECORDIO, RECORDIO)
        assert response.status == 200, (name, response.body[:200])
        records = RecordDeserializer().deserialize(io.BytesIO(response.body), response.content_type)
        assert len(records) == 3, name
        assert all(len(r.label[key].float32_tensor.values) == width for r in records), name

    lightgbm_dir = tmp_path / "models" / "lightgbm"
    bucket, object_key = result["lightgbm"]["model"][len("s3://") :].split("/", 1)
    body = s3.get_object(Bucket=bucket, Key=object_key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        tar.extractall(lightgbm_dir, filter="data")
    answer = load_runtime("lightgbm", lightgbm_dir).invoke(
        b"\n".join(b",".join(repr(float(v)).encode() for v in row) for row in rows),
        "text/csv",
        "application/json",
    )
    assert answer.status == 200, answer.body
    assert len(json.loads(answer.body)["probabilities"]) == 3
