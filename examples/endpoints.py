"""Host XGBoost models on a real-time endpoint, exactly as on SageMaker: two production
variants sharing the traffic 70/30 with data capture on, then an update to a new model.

Start the server as the README's quick start says, then in another shell, in the
repository:

    source .venv/bin/activate && eval "$(sagebrush env)"
    python examples/endpoints.py

Two training jobs (the built-in XGBoost, found by the SDK's `image_uris.retrieve`) give
models A and B; an endpoint serves A to ~70% of the requests and B to ~30%, and writes
every request and response to S3 as SageMaker's data capture does (JSON Lines under
`<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/`). A third model, trained here with
the xgboost library and uploaded, then replaces both without downtime (UpdateEndpoint).
Nothing here knows about Sagebrush: with a real role ARN the same code runs against AWS,
where each step takes minutes instead of seconds.
"""

# The sagemaker SDK has no type hints.
# mypy: disable-error-code="no-untyped-call"
from __future__ import annotations

import collections
import json
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import xgboost
from sagemaker import image_uris
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.session import Session
from sklearn.datasets import load_breast_cancer

ROLE = "arn:aws:iam::000000000000:role/SagebrushExecutionRole"
INSTANCE_TYPE = "ml.m5.large"
# The boto3 waiters look every 30 s by default; Sagebrush is done in seconds.
FAST = {"Delay": 1, "MaxAttempts": 1800}


def as_csv(rows: np.ndarray) -> str:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in rows)


def variant(name: str, model: str, weight: float) -> dict[str, Any]:
    return {
        "VariantName": name,
        "ModelName": model,
        "InitialInstanceCount": 1,
        "InstanceType": INSTANCE_TYPE,
        "InitialVariantWeight": weight,
    }


def captured(s3: Any, bucket: str, prefix: str, expected: int) -> list[dict[str, Any]]:
    """The capture records under ``prefix`` once there are ``expected`` of them: files are
    written in batches after the requests (every second here, every few minutes on AWS)."""
    deadline = time.monotonic() + 600
    while True:
        records = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                records += [json.loads(line) for line in body.splitlines() if line]
        if len(records) >= expected or time.monotonic() > deadline:
            return records
        time.sleep(0.5)


def main() -> None:
    session = Session()
    sm, runtime, s3 = (boto3.client(s) for s in ("sagemaker", "sagemaker-runtime", "s3"))
    bucket = session.default_bucket()
    image = image_uris.retrieve("xgboost", session.boto_region_name, "1.7-1")
    work = Path(tempfile.mkdtemp())
    X, y = load_breast_cancer(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    train, test = order[:450], order[450:]
    (work / "train").mkdir()
    np.savetxt(work / "train" / "data.csv", np.column_stack([y[train], X[train]]), delimiter=",")
    data = TrainingInput(
        session.upload_data(str(work / "train"), key_prefix="examples/endpoints/train"),
        content_type="text/csv",
    )

    # Models A and B: two training jobs at once, differing in depth.
    stamp = time.strftime("%Y%m%d-%H%M%S")
    estimators = {}
    for name, depth in (("A", 2), ("B", 5)):
        estimators[name] = Estimator(
            image_uri=image,
            role=ROLE,
            instance_count=1,
            instance_type=INSTANCE_TYPE,
            sagemaker_session=session,
            hyperparameters={
                "objective": "binary:logistic",
                "num_round": "30",
                "max_depth": str(depth),
            },
        )
        estimators[name].fit(
            {"train": data}, wait=False, job_name=f"example-{name.lower()}-{stamp}"
        )
    models = {}
    for name, estimator in estimators.items():
        models[name] = f"example-{name.lower()}-{stamp}"  # named after its training job
        session.wait_for_job(models[name])
        sm.create_model(
            ModelName=models[name],
            PrimaryContainer={"Image": image, "ModelDataUrl": estimator.model_data},
            ExecutionRoleArn=ROLE,
        )
        print(f"model {name}: {estimator.model_data}")

    # One endpoint, two variants weighted 0.7 / 0.3, every request captured.
    endpoint = f"example-endpoint-{stamp}"
    capture = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 100,
        "DestinationS3Uri": f"s3://{bucket}/examples/endpoints/capture",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]},
    }
    configs = [f"{endpoint}-ab", f"{endpoint}-c"]
    sm.create_endpoint_config(
        EndpointConfigName=configs[0],
        ProductionVariants=[variant("A", models["A"], 0.7), variant("B", models["B"], 0.3)],
        DataCaptureConfig=capture,
    )
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=configs[0])
    sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig=FAST)
    print(f"endpoint {endpoint} is InService")

    # Each answer says which variant served it.
    split: collections.Counter[str] = collections.Counter()
    for row in X[test][:100].tolist() * 2:
        answer = runtime.invoke_endpoint(
            EndpointName=endpoint, Body=as_csv(np.array([row])), ContentType="text/csv"
        )
        answer["Body"].read()
        split[answer["InvokedProductionVariant"]] += 1
    print(f"variant split over 200 requests: {dict(sorted(split.items()))}")
    assert 0.55 < split["A"] / 200 < 0.85, split
    pinned = runtime.invoke_endpoint(
        EndpointName=endpoint, Body=as_csv(X[test][:3]), ContentType="text/csv", TargetVariant="B"
    )
    print(f"TargetVariant=B answered by {pinned['InvokedProductionVariant']}: ", end="")
    print(pinned["Body"].read().decode())

    # Model C, trained here with the xgboost library and uploaded, replaces A and B.
    booster = xgboost.train(
        {"objective": "binary:logistic", "max_depth": 3},
        xgboost.DMatrix(X[train], label=y[train]),
        num_boost_round=50,
    )
    booster.save_model(str(work / "xgboost-model.json"))
    with tarfile.open(work / "model.tar.gz", "w:gz") as tar:
        tar.add(work / "xgboost-model.json", "xgboost-model")
    models["C"] = f"example-c-{stamp}"
    sm.create_model(
        ModelName=models["C"],
        PrimaryContainer={
            "Image": image,
            "ModelDataUrl": session.upload_data(
                str(work / "model.tar.gz"), key_prefix="examples/endpoints/c"
            ),
        },
        ExecutionRoleArn=ROLE,
    )
    sm.create_endpoint_config(
        EndpointConfigName=configs[1],
        ProductionVariants=[variant("C", models["C"], 1.0)],
        DataCaptureConfig=capture,
    )
    sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=configs[1])
    sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig=FAST)
    answer = runtime.invoke_endpoint(
        EndpointName=endpoint, Body=as_csv(X[test][:3]), ContentType="text/csv"
    )
    served = [float(v) for v in answer["Body"].read().decode().split(",")]
    local = booster.predict(xgboost.DMatrix(X[test][:3])).tolist()
    print(f"after the update, {answer['InvokedProductionVariant']} answers {served}")
    assert answer["InvokedProductionVariant"] == "C" and served == local, (served, local)

    # What data capture wrote for variant A: one record per request it served.
    prefix = f"examples/endpoints/capture/{endpoint}/A/"
    records = captured(s3, bucket, prefix, split["A"])
    print(f"{len(records)} records captured for variant A under s3://{bucket}/{prefix}")
    print(json.dumps(records[0], indent=2)[:1200])
    assert len(records) == split["A"], (len(records), split)

    sm.delete_endpoint(EndpointName=endpoint)
    sm.get_waiter("endpoint_deleted").wait(EndpointName=endpoint, WaiterConfig=FAST)
    for config in configs:
        sm.delete_endpoint_config(EndpointConfigName=config)
    for model in models.values():
        sm.delete_model(ModelName=model)
    print("endpoints example ok")


if __name__ == "__main__":
    main()
