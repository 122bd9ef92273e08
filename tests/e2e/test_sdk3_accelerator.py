"""The sagemaker SDK v3 (``.venv-sdk3``), unchanged, under ``sagebrush env`` with the
network cut off: its STS calls reach the server (``get_execution_role()``,
``Session.account_id()``), and its waits (``ModelTrainer.train(wait=True)``,
``ModelBuilder.deploy()``, a resource's ``wait_for_delete()``) end when the server is done
rather than at the SDK's next poll (5 s for jobs, 30 s for ModelBuilder's endpoint wait).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xgboost

from sagebrush.testing import Server
from tests.e2e import _sdk3
from tests.e2e._endpoints import tarball
from tests.e2e._sdk_hook import patched

ROLE = "arn:aws:iam::000000000000:role/SagebrushExecutionRole"

IDENTITY = r"""
import json
from sagemaker.core.helper.session_helper import Session, get_execution_role

session = Session()
print("RESULT " + json.dumps({"role": get_execution_role(), "account": session.account_id(),
                              "caller": session.get_caller_identity_arn()}))
"""

WAITS = r"""
import json, time
import boto3
from sagemaker.core.helper.session_helper import Session, get_execution_role
from sagemaker.core.training.configs import Compute, SourceCode
from sagemaker.serve.mode.function_pointers import Mode
from sagemaker.serve.model_builder import ModelBuilder
from sagemaker.train.model_trainer import ModelTrainer

timings = {}
session = Session()
role = get_execution_role()
trainer = ModelTrainer(
    training_image="683313688378.dkr.ecr.us-east-1.amazonaws.com/"
    "sagemaker-scikit-learn:1.2-1-cpu-py3",
    source_code=SourceCode(source_dir="src", entry_script="noop.py"),
    compute=Compute(instance_type="ml.m5.large", instance_count=1),
    base_job_name="acc3", role=role, sagemaker_session=session)
begin = time.perf_counter()
trainer.train(wait=True, logs=True)
timings["train"] = time.perf_counter() - begin
status = trainer._latest_training_job.training_job_status

s3 = boto3.client("s3")
s3.create_bucket(Bucket="acc3-models")
s3.put_object(Bucket="acc3-models", Key="xgb/model.tar.gz", Body=open("model.tar.gz", "rb").read())
builder = ModelBuilder(s3_model_data_url="s3://acc3-models/xgb/model.tar.gz", role_arn=role,
                       instance_type="ml.m5.large", mode=Mode.SAGEMAKER_ENDPOINT,
                       sagemaker_session=session,
                       image_uri="683313688378.dkr.ecr.us-east-1.amazonaws.com/"
                       "sagemaker-xgboost:1.7-1")
builder.build()
begin = time.perf_counter()
endpoint = builder.deploy(endpoint_name="acc3-xgb", initial_instance_count=1)
timings["deploy"] = time.perf_counter() - begin
answer = endpoint.invoke(body="0.1,0.2,0.3", content_type="text/csv").body.read().decode()
endpoint.delete()
begin = time.perf_counter()
endpoint.wait_for_delete()
timings["wait_for_delete"] = time.perf_counter() - begin
print("\nRESULT " + json.dumps({"timings": timings, "status": status, "answer": answer}))
"""


def _run(server: Server, tmp_path: Path, script: str) -> dict[str, Any]:
    (tmp_path / "script.py").write_text(script)
    found: dict[str, Any] = _sdk3.result(_sdk3.run_offline(server, tmp_path, "script.py"))
    return found


def test_the_hook_fits_this_sdk() -> None:
    """Every patch applies to the SDK v3 3.27.0 as installed."""
    result = patched(str(_sdk3.python()))
    assert result["problems"] == []
    assert {
        "sagemaker.core.common_utils:sts_regional_endpoint",
        "sagemaker.core.helper.session_helper:time",
        "sagemaker.core.helper.session_helper:sts_regional_endpoint",
        "sagemaker.core.helper.session_helper:_logs_for_job",
        "sagemaker.core.helper.session_helper:Session.wait_for_endpoint",
        "sagemaker.core.helper.session_helper:Session.account_id",
        "sagemaker.core.helper.session_helper:Session.get_caller_identity_arn",
        "sagemaker.core.helper.session_helper:Session.generate_default_sagemaker_bucket_name",
        "sagemaker.core.resources:time",
        "sagemaker.core.resources:TrainingJob.wait",
        "sagemaker.core.resources:Endpoint.wait_for_status",
        "sagemaker.core.resources:Endpoint.wait_for_delete",
        "sagemaker.core.remote_function.job:_logs_for_job",
        "sagemaker.core.processing:logs_for_processing_job",
        "sagemaker.core.transformer:logs_for_transform_job",
        "sagemaker.serve.model_builder:ModelBuilder._wait_for_endpoint",
        "sagemaker.train.common_utils.trainer_wait:wait",
        "sagemaker.train.common_utils.job_wait:wait",
    } <= set(result["marked"])


def test_sdk_v3_get_execution_role_and_account_id_work_offline(
    server: Server, tmp_path: Path
) -> None:
    result = _run(server, tmp_path, IDENTITY)
    assert result == {"role": ROLE, "account": "000000000000", "caller": ROLE}


@pytest.mark.slow
def test_sdk_v3_waits_end_when_the_server_is_done(server: Server, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "noop.py").write_text("print('nothing to do')\n")
    X = np.random.default_rng(3).normal(size=(60, 3))
    booster = xgboost.train(
        {"objective": "reg:squarederror", "max_depth": 2}, xgboost.DMatrix(X, label=X[:, 1]), 3
    )
    (tmp_path / "model.tar.gz").write_bytes(
        tarball({"xgboost-model": bytes(booster.save_raw("ubj"))})
    )
    result = _run(server, tmp_path, WAITS)
    timings = result["timings"]
    assert result["status"] == "Completed"
    expected = booster.predict(xgboost.DMatrix(np.array([[0.1, 0.2, 0.3]])))[0]
    assert float(result["answer"]) == pytest.approx(float(expected), rel=1e-6)
    # Without the accelerator: train >= 5 s, deploy >= 30 s, wait_for_delete >= 5 s.
    assert timings["train"] <= 5, timings
    assert timings["deploy"] <= 5, timings
    assert timings["wait_for_delete"] <= 2, timings
