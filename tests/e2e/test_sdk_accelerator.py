"""The sagemaker SDK v2, unchanged, under ``eval "$(sagebrush env)"`` with the network cut
off: the accelerator ``sagebrush env`` enables (``sagebrush.sdkboot``) routes the SDK's
hard-coded STS client to the server and cuts its wait loops' sleeps, so its documented first
lines work and its waits end when the server is done, not at the SDK's next poll (30 s for
endpoints, 5-10 s for jobs). ``SAGEBRUSH_SDK_HOOK=0`` gives the SDK back its own timing.

The limits here are loose (a shared 2-core machine); ``benchmarks/sdk_latency.py`` measures.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from sagebrush.testing import Server
from tests.e2e._offline import run_offline
from tests.e2e._sdk_hook import patched

ROLE = "arn:aws:iam::000000000000:role/SagebrushExecutionRole"

IDENTITY = r"""
import json, sagemaker
from sagemaker.modules import Session as CoreSession, get_execution_role as core_role

session = sagemaker.Session()
print("RESULT " + json.dumps({
    "role": sagemaker.get_execution_role(),
    "account": session.account_id(),
    "caller": session.get_caller_identity_arn(),
    # sagemaker-core 1.x, v2's ModelTrainer's Session: no config file default for it
    "core_role": core_role(),
    "core_bucket": CoreSession().default_bucket(),
}))
"""

FLOWS = r"""
import json, os, time
import numpy as np, sagemaker
from sagemaker import image_uris
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.sklearn import SKLearn
from sagemaker.tuner import HyperparameterTuner, IntegerParameter

timings = {}


def timed(name, call):
    begin = time.perf_counter()
    value = call()
    timings[name] = round(time.perf_counter() - begin, 3)
    return value


session = sagemaker.Session()
role = sagemaker.get_execution_role()
rng = np.random.default_rng(0)
X = rng.normal(size=(40, 3))
os.makedirs("train")
np.savetxt("train/data.csv", np.column_stack([(X[:, 0] > 0), X]), delimiter=",", fmt="%g")
np.savetxt("rows.csv", X[:3], delimiter=",", fmt="%g")
data = TrainingInput(session.upload_data("train", key_prefix="acc/train"), content_type="text/csv")
rows = session.upload_data("rows.csv", key_prefix="acc/rows")
estimator = Estimator(image_uri=image_uris.retrieve("xgboost", "us-east-1", "1.7-1"),
                      role=role, instance_count=1, instance_type="ml.m5.large",
                      sagemaker_session=session,
                      hyperparameters={"objective": "binary:logistic", "num_round": "3"})
timed("fit_no_logs", lambda: estimator.fit({"train": data}, logs=False))
predictor = timed("deploy", lambda: estimator.deploy(1, "ml.m5.large"))
answer = predictor.predict("0.5,0.1,-0.2", initial_args={"ContentType": "text/csv"})

transformer = estimator.transformer(1, "ml.m5.large", output_path=f"s3://{session.default_bucket()}/acc/out")
timed("transform", lambda: transformer.transform(rows, content_type="text/csv", split_type="Line"))

tuner = HyperparameterTuner(estimator, "train:logloss", {"max_depth": IntegerParameter(1, 3)},
                            objective_type="Minimize", max_jobs=1, max_parallel_jobs=1)
tuner.fit({"train": data}, include_cls_metadata=False, wait=False)
timed("tuner_wait", tuner.wait)

with open("noop.py", "w") as f:
    f.write("print('nothing to do')\n")
script = SKLearn(entry_point="noop.py", framework_version="1.2-1", instance_type="ml.m5.large",
                 role=role, sagemaker_session=session)
timed("fit_script_mode", lambda: script.fit())
# Waiting for a job that has already ended: the SDK sleeps its 5 s poll first.
timed("wait_for_ended_job", lambda: session.wait_for_job(script.latest_training_job.name))
predictor.delete_endpoint()
transform = session.describe_transform_job(transformer.latest_transform_job.name)
print("\nRESULT " + json.dumps({"timings": timings, "answer": answer.decode(),
                                 "transform": transform["TransformJobStatus"],
                                 "job": script.latest_training_job.name}))
"""

HOOK_OFF = r"""
import json, sys, time, sagemaker
session = sagemaker.Session()
begin = time.perf_counter()
session.wait_for_job(sys.argv[1])
print("RESULT " + json.dumps({"wait_for_ended_job": time.perf_counter() - begin,
                              "hook_loaded": "sagebrush_sdk_hook" in sys.modules}))
"""


def _result(proc: Any) -> dict[str, Any]:
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line[len("RESULT ") :])
    return result


def test_the_hook_fits_this_sdk() -> None:
    """Every patch applies to the SDK v2 2.257.7 (and sagemaker-core 1.x) as installed."""
    result = patched(sys.executable)
    assert result["problems"] == []
    session = "sagemaker.session:"
    assert {
        "sagemaker.utils:sts_regional_endpoint",
        *(
            session + name
            for name in (
                "time",
                "sts_regional_endpoint",
                "_logs_for_job",
                "generate_default_sagemaker_bucket_name",
                "Session.wait_for_endpoint",
                "Session.wait_for_job",
                "Session.wait_for_tuning_job",
                "Session.wait_for_transform_job",
                "Session.wait_for_processing_job",
                "Session.logs_for_job",
                "Session.logs_for_transform_job",
                "Session.logs_for_processing_job",
                "Session.account_id",
                "Session.get_caller_identity_arn",
                "Session.default_bucket",
            )
        ),
        "sagemaker_core.helper.session_helper:sts_regional_endpoint",
        "sagemaker_core.helper.session_helper:Session.get_caller_identity_arn",
        "sagemaker_core.main.resources:time",
        "sagemaker_core.main.resources:TrainingJob.wait",
        "sagemaker_core.main.resources:Endpoint.wait_for_status",
    } <= set(result["marked"])


def test_get_execution_role_and_account_id_work_offline(server: Server, tmp_path: Path) -> None:
    (tmp_path / "identity.py").write_text(IDENTITY)
    result = _result(run_offline(server, tmp_path, f"{sys.executable} identity.py"))
    assert result == {
        "role": ROLE,
        "account": "000000000000",
        "caller": ROLE,
        "core_role": ROLE,
        "core_bucket": "sagemaker-us-east-1-000000000000",
    }


@pytest.mark.slow
def test_sdk_waits_end_when_the_server_is_done(server: Server, tmp_path: Path) -> None:
    (tmp_path / "flows.py").write_text(FLOWS)
    proc = run_offline(server, tmp_path, f"{sys.executable} flows.py")
    result = _result(proc)
    timings = result["timings"]
    # Without the accelerator: deploy >= 30 s, fit >= 5 s (logs=False) or 10 s, transform
    # >= 10 s, the tuner's wait >= 5 s, a wait for an ended job 5 s.
    assert timings["deploy"] <= 5, timings
    assert timings["fit_no_logs"] <= 5, timings
    assert timings["fit_script_mode"] <= 6, timings
    assert timings["transform"] <= 6, timings
    assert timings["tuner_wait"] <= 6, timings
    assert timings["wait_for_ended_job"] <= 1, timings
    assert result["transform"] == "Completed"
    assert 0 < float(result["answer"]) < 1
    # The SDK's v2 banner is off: sagebrush env exports its own switch.
    assert "You are using the SageMaker Python SDK v2" not in proc.stdout + proc.stderr

    # Switched off, the SDK sleeps its 5 s poll before looking at the ended job.
    (tmp_path / "off.py").write_text(HOOK_OFF)
    command = f"SAGEBRUSH_SDK_HOOK=0 {sys.executable} off.py {result['job']}"
    off = _result(run_offline(server, tmp_path, command))
    assert off["wait_for_ended_job"] >= 5, off
    assert off["hook_loaded"] is False
