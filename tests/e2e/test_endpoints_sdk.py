"""Real-time endpoints through the sagemaker SDK v2, unchanged, against a real server, offline.

Each test runs a script a user would write (``estimator.deploy``, ``predictor.predict``,
``update_endpoint``, ``SKLearnModel``, ``PipelineModel``) in a fresh shell after
``eval "$(sagebrush env)"``, with any network use beyond loopback failing. The test makes
the data and the models trained outside SageMaker, the script prints what it observed, and
the test computes the expected answers itself with the libraries, from the models it made
and from the artifacts the training jobs left in S3.

The SDK sleeps 30 s before its first DescribeEndpoint (5 s before its first
DescribeTrainingJob); the scripts pass ``wait=False`` and call the SDK's own
``wait_for_endpoint`` / ``wait_for_job`` with a short ``poll`` instead.
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
from pathlib import Path
from typing import Any

import joblib  # type: ignore[import-untyped]
import numpy as np
import xgboost
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler

from sagebrush.testing import Server
from tests.e2e._endpoints import XGBOOST_IMAGE, tarball
from tests.e2e._offline import run_offline

SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
ARN = "arn:aws:sagemaker:us-east-1:000000000000"

PRELUDE = r"""
import json, os, time
import botocore, numpy as np, sagemaker
from sagemaker import image_uris
from sagemaker.deserializers import CSVDeserializer, JSONDeserializer
from sagemaker.serializers import CSVSerializer, JSONSerializer

ROLE = "arn:aws:iam::000000000000:role/SagebrushExecutionRole"
session = sagemaker.Session()
sm = session.sagemaker_client
rows = np.loadtxt("rows.csv", delimiter=",", ndmin=2)


def error(call, **request):
    try:
        call(**request)
    except botocore.exceptions.ClientError as exc:
        return [exc.response["Error"]["Code"], exc.response["Error"]["Message"]]
    return None


def result(**observed):
    # After the SDK's progress dashes, which end without a newline.
    print("\nRESULT " + json.dumps(observed))
"""

XGBOOST_SCRIPT = r"""
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.model import Model

image = image_uris.retrieve("xgboost", session.boto_region_name, "1.7-1")
estimator = Estimator(image_uri=image, role=ROLE, instance_count=1,
                      instance_type="ml.m5.large", sagemaker_session=session,
                      hyperparameters={"objective": "binary:logistic", "num_round": "10",
                                       "max_depth": "2"})
estimator.fit({"train": TrainingInput(session.upload_data("train", key_prefix="ep/train"),
                                      content_type="text/csv")}, wait=False)
session.wait_for_job(estimator.latest_training_job.name, poll=0.1)
predictor = estimator.deploy(1, "ml.m5.large", wait=False)
session.wait_for_endpoint(predictor.endpoint_name, poll=0.1)
first_config = sm.describe_endpoint(EndpointName=predictor.endpoint_name)["EndpointConfigName"]
predictor.serializer, predictor.deserializer = CSVSerializer(), CSVDeserializer()
as_csv = predictor.predict(rows)
predictor.serializer, predictor.deserializer = JSONSerializer(), JSONDeserializer()
as_json = predictor.predict(rows.tolist())

# A model trained elsewhere: the endpoint moves to it, on two instances.
second = Model(image_uri=image, role=ROLE, sagemaker_session=session,
               model_data=session.upload_data("second/model.tar.gz", key_prefix="ep/second"))
second.create(instance_type="ml.m5.large")
first_model = predictor._get_model_names()[0]
predictor.update_endpoint(model_name=second.name, initial_instance_count=2,
                          instance_type="ml.m5.large", wait=False)
during = []  # the distinct answers callers get while the update rolls out
while sm.describe_endpoint(EndpointName=predictor.endpoint_name)["EndpointStatus"] == "Updating":
    answer = predictor.predict(rows.tolist())
    during += [answer] if answer not in during else []
    time.sleep(0.05)
described = session.wait_for_endpoint(predictor.endpoint_name, poll=0.1)
after = predictor.predict(rows.tolist())

predictor.delete_endpoint()
predictor.delete_model()
session.delete_model(first_model)
sm.get_waiter("endpoint_deleted").wait(EndpointName=predictor.endpoint_name,
                                       WaiterConfig={"Delay": 0.1, "MaxAttempts": 300})
gone = {
    "endpoint": error(sm.describe_endpoint, EndpointName=predictor.endpoint_name),
    "config": error(sm.describe_endpoint_config,
                    EndpointConfigName=described["EndpointConfigName"]),
    "models": [error(sm.describe_model, ModelName=m) for m in (first_model, second.name)],
    "invoke": error(predictor.predict, data=rows.tolist()),
}
result(endpoint=predictor.endpoint_name, csv=as_csv, json=as_json,
       model_data=estimator.model_data, first_config=first_config, during=during, after=after,
       gone=gone, described={k: described[k] for k in ("EndpointStatus", "EndpointConfigName",
                                                       "ProductionVariants")})
"""

TRAIN_PY = r"""
import os

import joblib
import numpy as np
from sklearn.linear_model import Ridge


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


if __name__ == "__main__":
    data = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "data.csv"), delimiter=",")
    model = Ridge(alpha=0.5).fit(data[:, 1:], data[:, 0])
    joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
"""

# Its own request and response formats: JSON {"rows": [...]} in, {"predictions", "rows"} out.
INFERENCE_PY = r"""
import json
import os

import joblib
import numpy as np


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def input_fn(body, content_type):
    if content_type == "application/json":
        return np.asarray(json.loads(body)["rows"], dtype=np.float64)
    if content_type == "text/csv":
        text = body.decode() if isinstance(body, bytes) else body
        return np.asarray([[float(v) for v in line.split(",")] for line in text.splitlines()])
    raise ValueError("unsupported content type " + content_type)


def predict_fn(rows, model):
    return model.predict(rows)


def output_fn(prediction, accept):
    if accept == "text/csv":
        return "\n".join(repr(float(v)) for v in prediction), "text/csv"
    body = {"predictions": prediction.tolist(), "rows": len(prediction)}
    return json.dumps(body), "application/json"
"""

SKLEARN_SCRIPT = r"""
from sagemaker.sklearn import SKLearn, SKLearnModel


def predictions(predictor, json_body):
    predictor.serializer, predictor.deserializer = CSVSerializer(), CSVDeserializer()
    as_csv = predictor.predict(rows)
    predictor.serializer, predictor.deserializer = JSONSerializer(), JSONDeserializer()
    as_json = predictor.predict(json_body)
    model = sm.describe_model(ModelName=predictor._get_model_names()[0])
    predictor.delete_model()
    predictor.delete_endpoint()
    return {"csv": as_csv, "json": as_json,
            "environment": model["PrimaryContainer"]["Environment"]}


# Script mode: train.py trains and, through its model_fn, serves.
estimator = SKLearn(entry_point="train.py", source_dir="src", framework_version="1.2-1",
                    instance_type="ml.m5.large", instance_count=1, role=ROLE,
                    sagemaker_session=session)
estimator.fit({"train": session.upload_data("train", key_prefix="sk/train")}, wait=False)
session.wait_for_job(estimator.latest_training_job.name, poll=0.1)
predictor = estimator.deploy(1, "ml.m5.large", wait=False)
session.wait_for_endpoint(predictor.endpoint_name, poll=0.1)
trained = predictions(predictor, rows.tolist())

# A model trained elsewhere, served by its own inference script.
model = SKLearnModel(
    model_data=session.upload_data("own/model.tar.gz", key_prefix="sk/own"),
    entry_point="inference.py", source_dir="serve", framework_version="1.2-1", role=ROLE,
    sagemaker_session=session)
predictor = model.deploy(1, "ml.m5.large", wait=False)
session.wait_for_endpoint(predictor.endpoint_name, poll=0.1)
own = predictions(predictor, {"rows": rows.tolist()})
result(job=estimator.latest_training_job.name, model_data=estimator.model_data,
       trained=trained, own=own)
"""

PREPROCESS_PY = r"""
import os

import joblib
import numpy as np


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "scaler.joblib"))


def input_fn(body, content_type):
    text = body.decode() if isinstance(body, bytes) else body
    return np.asarray([[float(v) for v in line.split(",")] for line in text.splitlines()])


def predict_fn(rows, scaler):
    return scaler.transform(rows)


def output_fn(rows, accept):
    return "\n".join(",".join(repr(float(v)) for v in row) for row in rows), "text/csv"
"""

PIPELINE_SCRIPT = r"""
from sagemaker.model import Model
from sagemaker.pipeline import PipelineModel
from sagemaker.predictor import Predictor
from sagemaker.sklearn import SKLearnModel

preprocess = SKLearnModel(model_data=session.upload_data("pre.tar.gz", key_prefix="pipe/pre"),
                          entry_point="preprocess.py", source_dir="pre",
                          framework_version="1.2-1", role=ROLE, sagemaker_session=session)
xgb = Model(image_uri=image_uris.retrieve("xgboost", session.boto_region_name, "1.7-1"),
            model_data=session.upload_data("xgb.tar.gz", key_prefix="pipe/xgb"),
            role=ROLE, sagemaker_session=session)
pipeline = PipelineModel(models=[preprocess, xgb], role=ROLE, sagemaker_session=session)
name = "pipeline-" + str(int(time.time() * 1000))
returned = pipeline.deploy(initial_instance_count=1, instance_type="ml.m5.large",
                           endpoint_name=name, wait=False)
session.wait_for_endpoint(name, poll=0.1)
answer = Predictor(name, sagemaker_session=session, serializer=CSVSerializer()).predict(rows)
containers = sm.describe_model(ModelName=pipeline.name)["Containers"]
sm.delete_endpoint(EndpointName=name)
result(returned=repr(returned), answer=answer.decode(),
       images=[c["Image"] for c in containers])
"""


def _run(server: Server, tmp_path: Path, script: str, files: dict[str, str | bytes]) -> Any:
    """Run ``script`` as a user would, in a fresh shell; returns its ``RESULT`` JSON."""
    for name, content in {"script.py": PRELUDE + script, **files}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            (tmp_path / name).write_bytes(content)
        else:
            (tmp_path / name).write_text(content)
    proc = run_offline(server, tmp_path, f"{sys.executable} script.py", timeout=240)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def _csv(matrix: np.ndarray) -> str:
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in matrix)


def _trained_artifact(server: Server, uri: str, member: str) -> bytes:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    body = server.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        extracted = tar.extractfile(member)
        assert extracted is not None, member
        return extracted.read()


def _booster_file(booster: xgboost.Booster) -> bytes:
    return tarball({"xgboost-model": bytes(booster.save_raw(raw_format="ubj"))})


def _joblib_file(name: str, obj: object) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(obj, buffer)
    return tarball({name: buffer.getvalue()})


def _scores(values: np.ndarray) -> list[float]:
    return [float(v) for v in values]


def test_xgboost_deploy_predict_update_and_delete(server: Server, tmp_path: Path) -> None:
    X = np.random.default_rng(0).normal(size=(120, 4)).round(3)
    rows = X[:5]
    second = xgboost.train(
        {"objective": "reg:squarederror", "max_depth": 1}, xgboost.DMatrix(X, label=X[:, 2]), 5
    )
    files: dict[str, str | bytes] = {
        "train/data.csv": _csv(np.column_stack([X[:, 0] > X[:, 1], X])),
        "second/model.tar.gz": _booster_file(second),
        "rows.csv": _csv(rows),
    }
    result = _run(server, tmp_path, XGBOOST_SCRIPT, files)
    trained = xgboost.Booster()
    trained.load_model(bytearray(_trained_artifact(server, result["model_data"], "xgboost-model")))
    first_scores = _scores(trained.predict(xgboost.DMatrix(rows)))
    second_scores = _scores(second.predict(xgboost.DMatrix(rows)))
    assert first_scores != second_scores

    # The CSV answer is one line of comma-separated scores; JSON is the container's shape.
    assert result["csv"] == [[repr(v) for v in first_scores]]
    old, new = ({"predictions": [{"score": v} for v in s]} for s in (first_scores, second_scores))
    assert result["json"] == old

    # The update kept serving (the old model or the new one, never an error) and ended on
    # the new model, on two instances, under a new config the SDK made from the old one.
    assert all(answer in (old, new) for answer in result["during"]), result["during"]
    assert result["after"] == new
    described = result["described"]
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] != result["first_config"]
    variants = [
        {k: v for k, v in variant.items() if k != "DeployedImages"}
        for variant in described["ProductionVariants"]
    ]
    assert variants == [
        {
            "VariantName": "AllTraffic",
            "CurrentWeight": 1.0,
            "DesiredWeight": 1.0,
            "CurrentInstanceCount": 2,
            "DesiredInstanceCount": 2,
        }
    ]
    images = described["ProductionVariants"][0]["DeployedImages"]
    assert [image["SpecifiedImage"] for image in images] == [XGBOOST_IMAGE]

    # delete_endpoint() took the config with it; delete_model() and the old model are gone.
    name, gone = result["endpoint"], result["gone"]
    config = described["EndpointConfigName"]
    assert gone["endpoint"] == [
        "ValidationException",
        f'Could not find endpoint "{ARN}:endpoint/{name}".',
    ]
    assert gone["config"] == [
        "ValidationException",
        f'Could not find endpoint configuration "{ARN}:endpoint-config/{config}".',
    ]
    assert [m[0] for m in gone["models"]] == ["ValidationException"] * 2
    assert gone["invoke"] == [
        "ValidationError",
        f"Endpoint {name} of account 000000000000 not found.",
    ]


def test_sklearn_estimator_and_model_with_its_own_inference_script(
    server: Server, tmp_path: Path
) -> None:
    X = np.random.default_rng(1).normal(size=(80, 3)).round(3)
    rows = X[:4]
    own = Ridge(alpha=2.0).fit(X, X[:, 0] * 3)
    files: dict[str, str | bytes] = {
        "train/data.csv": _csv(np.column_stack([X @ [1.5, -2.0, 0.25] + 0.1, X])),
        "own/model.tar.gz": _joblib_file("model.joblib", own),
        "rows.csv": _csv(rows),
        "src/train.py": TRAIN_PY,
        "serve/inference.py": INFERENCE_PY,
    }
    result = _run(server, tmp_path, SKLEARN_SCRIPT, files)

    # The trained model behind the container's default handlers, which read CSV and JSON
    # as float32 and answer one value per line (CSV) or a JSON list.
    artifact = _trained_artifact(server, result["model_data"], "model.joblib")
    trained = joblib.load(io.BytesIO(artifact))
    expected = _scores(trained.predict(rows.astype(np.float32)))
    assert result["trained"]["csv"] == [[repr(v)] for v in expected]
    assert result["trained"]["json"] == expected
    job = server.client("sagemaker").describe_training_job(TrainingJobName=result["job"])
    submit = json.loads(job["HyperParameters"]["sagemaker_submit_directory"])
    assert submit.endswith("/source/sourcedir.tar.gz")
    assert result["trained"]["environment"] == {
        "SAGEMAKER_PROGRAM": "train.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": submit,  # the training job's code, reused
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "SAGEMAKER_REGION": "us-east-1",
    }

    # The model trained elsewhere, through inference.py's own input_fn / output_fn.
    expected = _scores(own.predict(rows))
    assert result["own"]["csv"] == [[repr(v)] for v in expected]
    assert result["own"]["json"] == {"predictions": expected, "rows": len(rows)}
    environment = result["own"]["environment"]
    assert environment["SAGEMAKER_PROGRAM"] == "inference.py"
    assert environment["SAGEMAKER_SUBMIT_DIRECTORY"].endswith("/sourcedir.tar.gz")


def test_pipeline_model_chains_preprocessing_into_xgboost(server: Server, tmp_path: Path) -> None:
    X = np.random.default_rng(2).normal(loc=5.0, scale=3.0, size=(100, 3)).round(3)
    rows = X[:3]
    scaler = StandardScaler().fit(X)
    booster = xgboost.train(
        {"objective": "reg:squarederror", "max_depth": 2},
        xgboost.DMatrix(scaler.transform(X), label=X[:, 0] * 2 - X[:, 2]),
        8,
    )
    files: dict[str, str | bytes] = {
        "pre.tar.gz": _joblib_file("scaler.joblib", scaler),
        "xgb.tar.gz": _booster_file(booster),
        "rows.csv": _csv(rows),
        "pre/preprocess.py": PREPROCESS_PY,
    }
    result = _run(server, tmp_path, PIPELINE_SCRIPT, files)
    assert result["returned"] == "None"  # PipelineModel.deploy gives no predictor
    assert result["images"] == [SKLEARN_IMAGE, XGBOOST_IMAGE]
    expected = _scores(booster.predict(xgboost.DMatrix(scaler.transform(rows))))
    assert result["answer"] == ",".join(repr(v) for v in expected)
