"""Real-time endpoints through the sagemaker SDK v3's ModelBuilder, in its own environment.

What runs without containers is ModelBuilder's SAGEMAKER_ENDPOINT mode when it is handed
an image and a model artifact rather than a model object: ``image_uri`` +
``s3_model_data_url`` ("pass-through": CreateModel with that image and data as they are),
optionally with ``source_code`` (the artifact is repacked with the code under ``code/``
and ``SAGEMAKER_PROGRAM`` / ``SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code`` set, which
Sagebrush's script-mode inference toolkit serves). Building from a model object packs it
for TorchServe or Triton containers, LOCAL_CONTAINER needs Docker, and IN_PROCESS never
talks to SageMaker: see the closing note of issue 6.

``deploy(wait=False)`` then ``wait_for_status(poll=1)``: ModelBuilder's own wait sleeps
10-30 s before its first look.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import joblib  # type: ignore[import-untyped]
import numpy as np
import pytest
import xgboost
from sklearn.linear_model import Ridge

from sagebrush.testing import Server
from tests.e2e import _sdk3
from tests.e2e._endpoints import XGBOOST_IMAGE, tarball

SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"

INFERENCE_PY = r"""
import json
import os

import joblib
import numpy as np


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def input_fn(body, content_type):
    return np.asarray(json.loads(body)["rows"], dtype=np.float64)


def output_fn(prediction, accept):
    return json.dumps({"predictions": prediction.tolist()}), "application/json"
"""

SDK_SCRIPT = r"""
import json
import boto3, botocore
from sagemaker.core.helper.session_helper import Session
from sagemaker.core.resources import Model
from sagemaker.core.training.configs import SourceCode
from sagemaker.serve.mode.function_pointers import Mode
from sagemaker.serve.model_builder import ModelBuilder

ROLE = "arn:aws:iam::000000000000:role/SagebrushExecutionRole"
s3 = boto3.client("s3")
s3.create_bucket(Bucket="sdk3-models")
rows = json.load(open("rows.json"))


def serve(name, body, content_type, **builder):
    key = name + "/model.tar.gz"
    s3.put_object(Bucket="sdk3-models", Key=key, Body=open(key, "rb").read())
    mb = ModelBuilder(s3_model_data_url="s3://sdk3-models/" + key, role_arn=ROLE,
                      instance_type="ml.m5.large", mode=Mode.SAGEMAKER_ENDPOINT,
                      sagemaker_session=Session(), **builder)
    model = mb.build()
    container = Model.get(model.model_name).primary_container
    endpoint = mb.deploy(endpoint_name="sdk3-" + name, initial_instance_count=1, wait=False)
    endpoint.wait_for_status("InService", poll=1)
    answer = endpoint.invoke(body=body, content_type=content_type)
    endpoint.delete()
    endpoint.wait_for_delete(poll=1)
    model.delete()
    try:
        boto3.client("sagemaker").describe_endpoint(EndpointName=endpoint.endpoint_name)
        gone = None
    except botocore.exceptions.ClientError as exc:
        gone = exc.response["Error"]["Code"]
    return {"body": answer.body.read().decode(), "content_type": answer.content_type,
            "variant": answer.invoked_production_variant, "gone": gone,
            "image": container.image,
            "environment": container.environment if isinstance(container.environment, dict) else {}}


xgb = serve("xgb", "\n".join(",".join(repr(v) for v in row) for row in rows), "text/csv",
            image_uri="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1")
sk = serve("sk", json.dumps({"rows": rows}), "application/json",
           image_uri="683313688378.dkr.ecr.us-east-1.amazonaws.com/"
                     "sagemaker-scikit-learn:1.2-1-cpu-py3",
           source_code=SourceCode(source_dir="code", entry_script="inference.py"))
print("\nRESULT " + json.dumps({"xgb": xgb, "sk": sk}))
"""


def _run(server: Server, tmp_path: Path, files: dict[str, str | bytes]) -> Any:
    for name, content in {"deploy.py": SDK_SCRIPT, **files}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            (tmp_path / name).write_bytes(content)
        else:
            (tmp_path / name).write_text(content)
    return _sdk3.result(_sdk3.run_offline(server, tmp_path, "deploy.py", timeout=240))


@pytest.mark.slow
def test_sdk_v3_model_builder_deploys_invokes_and_deletes(server: Server, tmp_path: Path) -> None:
    X = np.random.default_rng(3).normal(size=(60, 3)).round(3)
    rows = X[:4]
    booster = xgboost.train(
        {"objective": "reg:squarederror", "max_depth": 2}, xgboost.DMatrix(X, label=X[:, 1]), 6
    )
    ridge = Ridge(alpha=1.0).fit(X, X @ [2.0, 0.5, -1.0])
    buffer = io.BytesIO()
    joblib.dump(ridge, buffer)
    result = _run(
        server,
        tmp_path,
        {
            "rows.json": json.dumps(rows.tolist()),
            "xgb/model.tar.gz": tarball({"xgboost-model": bytes(booster.save_raw("ubj"))}),
            "sk/model.tar.gz": tarball({"model.joblib": buffer.getvalue()}),
            "code/inference.py": INFERENCE_PY,
        },
    )

    # Pass-through: the image and artifact as given, the built-in XGBoost serving them.
    expected = [float(v) for v in booster.predict(xgboost.DMatrix(rows))]
    assert result["xgb"] == {
        "body": ",".join(repr(v) for v in expected),
        "content_type": "text/csv",
        "variant": "AllTraffic",
        "gone": "ValidationException",
        "image": XGBOOST_IMAGE,
        "environment": {},
    }
    # Repacked with its code: the script-mode toolkit runs inference.py from the artifact.
    expected = [float(v) for v in ridge.predict(rows)]
    assert result["sk"] == {
        "body": json.dumps({"predictions": expected}),
        "content_type": "application/json",
        "variant": "AllTraffic",
        "gone": "ValidationException",
        "image": SKLEARN_IMAGE,
        "environment": {
            "SAGEMAKER_PROGRAM": "inference.py",
            "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
            "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
            "SAGEMAKER_REGION": "us-east-1",
        },
    }
