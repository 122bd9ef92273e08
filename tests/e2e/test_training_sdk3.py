"""The sagemaker SDK v3's ModelTrainer, in a virtual environment of its own, runs the job.

v3 cannot share an environment with the v2 SDK the rest of the suite uses: ``_sdk3`` builds
``.venv-sdk3`` at the repository root (pip, from the package index, like ``.ci/run``
builds ``.venv``), in the background from the start of the session.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from sagebrush.testing import Server
from tests.e2e import _sdk3

TRAIN_PY = r"""
import argparse, os
import joblib, numpy as np
from sklearn.linear_model import LogisticRegression

parser = argparse.ArgumentParser()
parser.add_argument("--C", type=float)
args = parser.parse_args()
data = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "data.csv"), delimiter=",")
model = LogisticRegression(C=args.C).fit(data[:, 1:], data[:, 0])
print(f"train:accuracy={model.score(data[:, 1:], data[:, 0]):.4f}", flush=True)
joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
"""

SDK_SCRIPT = r"""
import io, tarfile
import boto3, numpy as np
from sagemaker.core.helper.session_helper import Session
from sagemaker.core.training.configs import Compute, InputData, SourceCode
from sagemaker.train.model_trainer import ModelTrainer

rng = np.random.default_rng(0)
X = rng.normal(size=(100, 3))
y = (X[:, 0] > 0).astype(float)
buf = io.BytesIO()
np.savetxt(buf, np.column_stack([y, X]), delimiter=",")
s3 = boto3.client("s3")
s3.create_bucket(Bucket="sdk3-data")
s3.put_object(Bucket="sdk3-data", Key="train/data.csv", Body=buf.getvalue())
trainer = ModelTrainer(
    training_image="683313688378.dkr.ecr.us-east-1.amazonaws.com/"
    "sagemaker-scikit-learn:1.2-1-cpu-py3",
    source_code=SourceCode(source_dir="src", entry_script="train.py",
                           requirements="requirements.txt"),
    compute=Compute(instance_type="ml.m5.large", instance_count=1),
    base_job_name="sdk3",
    role="arn:aws:iam::000000000000:role/SagebrushExecutionRole",
    sagemaker_session=Session(),
    hyperparameters={"C": 0.5},
)
trainer.train(input_data_config=[InputData(channel_name="train",
                                           data_source="s3://sdk3-data/train")],
              wait=True, logs=True)
job = trainer._latest_training_job
assert job.training_job_status == "Completed", job.failure_reason
uri = job.model_artifacts.s3_model_artifacts
bucket, key = uri[len("s3://"):].split("/", 1)
body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
with tarfile.open(fileobj=io.BytesIO(body)) as tar:
    assert "model.joblib" in tar.getnames(), tar.getnames()
events = boto3.client("logs").filter_log_events(
    logGroupName="/aws/sagemaker/TrainingJobs",
    logStreamNamePrefix=job.training_job_name + "/")["events"]
assert any(e["message"].startswith("train:accuracy=") for e in events), events
print("OK", job.training_job_name)
"""


@pytest.mark.slow
def test_sdk_v3_model_trainer_runs_the_script(server: Server, tmp_path: Path) -> None:
    python = _sdk3.python()
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(TRAIN_PY)
    (tmp_path / "src" / "requirements.txt").write_text("scikit-learn\n")
    (tmp_path / "fit.py").write_text(SDK_SCRIPT)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        **server.env,
        "HOME": str(tmp_path),
    }
    proc = subprocess.run(
        [python, "fit.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "OK sdk3-" in proc.stdout
