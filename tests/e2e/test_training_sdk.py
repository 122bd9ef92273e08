"""The sagemaker SDK v2's script mode, unchanged, against a real server, offline."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from sagebrush.testing import Server
from tests.e2e._offline import run_offline

TRAIN_PY = r"""
import argparse, json, os, sys
import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression

parser = argparse.ArgumentParser()
parser.add_argument("-C", type=float)  # the toolkit passes one-letter keys as -k
parser.add_argument("--tag", type=str)
parser.add_argument("--layers", type=str)
args = parser.parse_args()
assert args.tag == "hello world", args.tag
assert args.layers == "[1, 2]", args.layers
assert json.loads(os.environ["SM_HPS"]) == {"C": 0.5, "tag": "hello world", "layers": [1, 2]}
assert os.environ["SM_CHANNELS"] == '["train","validation"]', os.environ["SM_CHANNELS"]
import requests_fixture_marker  # installed from requirements.txt
def load(channel):
    data = np.loadtxt(os.path.join(os.environ[f"SM_CHANNEL_{channel.upper()}"], "data.csv"),
                      delimiter=",")
    return data[:, 1:], data[:, 0]
X, y = load("train")
Xv, yv = load("validation")
model = LogisticRegression(C=args.C).fit(X, y)
for step in range(3):
    print(f"step {step}: validation:accuracy={model.score(Xv, yv):.4f}", flush=True)
joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
"""


def _wheel(directory: Path) -> Path:
    """A minimal pure-Python wheel, built by hand: pip installs it offline, no build step."""
    name = "requests_fixture_marker"
    path = directory / f"{name}-1.0-py3-none-any.whl"
    info = f"{name}-1.0.dist-info"
    files = {
        f"{name}.py": "VALUE = 42\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    with zipfile.ZipFile(path, "w") as whl:
        for member, text in files.items():
            whl.writestr(member, text)
        whl.writestr(f"{info}/RECORD", "".join(f"{m},,\n" for m in files) + f"{info}/RECORD,,\n")
    return path


SDK_SCRIPT = r"""
import io, os, sys, tarfile, time
import boto3, joblib, numpy as np, sagemaker
from sagemaker.sklearn import SKLearn
from sagemaker.estimator import Estimator
from sagemaker.analytics import TrainingJobAnalytics

rng = np.random.default_rng(0)
X = rng.normal(size=(200, 3))
y = (X @ [1.0, -2.0, 0.5] > 0).astype(float)
np.savetxt("train.csv", np.column_stack([y[:150], X[:150]]), delimiter=",")
np.savetxt("validation.csv", np.column_stack([y[150:], X[150:]]), delimiter=",")
os.makedirs("t"); os.makedirs("v")
os.rename("train.csv", "t/data.csv"); os.rename("validation.csv", "v/data.csv")

session = sagemaker.Session()
train = session.upload_data("t", key_prefix="sk/train")
validation = session.upload_data("v", key_prefix="sk/validation")
estimator = SKLearn(
    entry_point="train.py",
    source_dir="src",
    framework_version="1.2-1",
    instance_type="ml.m5.large",
    instance_count=1,
    role="arn:aws:iam::000000000000:role/SagebrushExecutionRole",
    sagemaker_session=session,
    hyperparameters={"C": 0.5, "tag": "hello world", "layers": [1, 2]},
    metric_definitions=[{"Name": "validation:accuracy",
                         "Regex": r"validation:accuracy=([0-9.]+)"}],
)
estimator.fit({"train": train, "validation": validation}, logs=True)
name = estimator.latest_training_job.name
uri = estimator.model_data
bucket, key = uri[len("s3://"):].split("/", 1)
body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
with tarfile.open(fileobj=io.BytesIO(body)) as tar:
    model = joblib.load(tar.extractfile("model.joblib"))
assert model.predict(np.array([[3.0, -3.0, 0.0]]))[0] == 1.0

attached = Estimator.attach(name, sagemaker_session=session)
assert attached.model_data == uri
frame = TrainingJobAnalytics(name, metric_names=["validation:accuracy"],
                             sagemaker_session=session).dataframe()
assert list(frame["metric_name"].unique()) == ["validation:accuracy"], frame
assert frame["value"].iloc[-1] > 0.8, frame
print("OK", name)
"""


@pytest.mark.slow
def test_sklearn_script_mode_fit_attach_and_analytics(server: Server, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(TRAIN_PY)
    # requirements.txt naming a local package: installed into the job's own virtualenv,
    # layered on the server's environment (numpy, scikit-learn come from there).
    (src / "requirements.txt").write_text(f"scikit-learn\n{_wheel(tmp_path)}\n")
    (tmp_path / "fit.py").write_text(SDK_SCRIPT)
    proc = run_offline(server, tmp_path, f"{sys.executable} fit.py")
    assert "OK" in proc.stdout
    # fit(logs=True) streamed the job's own output.
    assert "validation:accuracy=" in proc.stdout
