"""Batch transform through the sagemaker SDK v2, unchanged, against a real server, offline.

One user script (run once for the module, in a fresh shell after ``eval "$(sagebrush
env)"``, any network use beyond loopback failing) trains the built-in XGBoost with an
``Estimator`` and runs three transform jobs from ``estimator.transformer(...)``:

1. ``transform(content_type="text/csv", split_type="Line", join_source="Input",
   input_filter="$[1:]", output_filter="$[0,-1]")`` on a 100,000-row CSV whose first
   column is a (shuffled) id: the output must be exactly ``id,prediction`` per row, in
   input order;
2. a directory with a poisoned file: the SDK's wait raises ``UnexpectedStatusException``
   with the job's FailureReason, and only the good file has a ``.out``;
3. RecordIO-protobuf written by the SDK's own ``write_numpy_to_dense_tensor``, split with
   ``split_type="RecordIO"``, answered as JSON Lines.

The tests then compute every prediction themselves with xgboost, from the model artifact
the training job left in S3.

Waiting: ``transformer.wait()`` / ``transform(wait=True)`` tail the job's logs and call
DescribeTransformJob only every 30 s (``logs_for_transform_job``); with ``logs=False``
they poll every 5 s. The script passes ``wait=False`` and calls the SDK's own
``session.wait_for_transform_job(name, poll=0.1)`` instead.
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import xgboost

from sagebrush.testing import Server
from tests.e2e._offline import run_offline

ROWS = 100_000

SCRIPT = r"""
import io, json
import boto3, numpy as np, sagemaker
from sagemaker import image_uris
from sagemaker.amazon.common import write_numpy_to_dense_tensor
from sagemaker.estimator import Estimator
from sagemaker.exceptions import UnexpectedStatusException
from sagemaker.inputs import TrainingInput

ROLE = "arn:aws:iam::000000000000:role/SagebrushExecutionRole"
session = sagemaker.Session()
bucket = session.default_bucket()
image = image_uris.retrieve("xgboost", session.boto_region_name, "1.7-1")
estimator = Estimator(image_uri=image, role=ROLE, instance_count=1,
                      instance_type="ml.m5.large", sagemaker_session=session,
                      hyperparameters={"objective": "reg:squarederror", "num_round": "12",
                                       "max_depth": "3"})
train = session.upload_data("train.csv", key_prefix="bt/train")
estimator.fit({"train": TrainingInput(train, content_type="text/csv")}, wait=False)
session.wait_for_job(estimator.latest_training_job.name, poll=0.1)


def run(transformer, data, **kw):
    transformer.transform(data, wait=False, **kw)
    name = transformer.latest_transform_job.name
    try:
        described = session.wait_for_transform_job(name, poll=0.1)
    except UnexpectedStatusException as exc:
        return {"job": name, "error": str(exc)}
    return {"job": name, "status": described["TransformJobStatus"],
            "output": transformer.output_path}


# 1. The id column skips the model and comes back joined to its prediction.
joined = run(
    estimator.transformer(1, "ml.m5.large", strategy="MultiRecord", assemble_with="Line",
                          accept="text/csv", output_path=f"s3://{bucket}/bt/joined"),
    session.upload_data("rows.csv", key_prefix="bt/rows"),
    content_type="text/csv", split_type="Line", join_source="Input",
    input_filter="$[1:]", output_filter="$[0,-1]")

# 2. One good file, one poisoned: the wait raises; the good file still has its output.
for name in ("good.csv", "poisoned.csv"):
    session.upload_data(name, key_prefix="bt/mixed")
failed = run(estimator.transformer(2, "ml.m5.large", assemble_with="Line",
                                   output_path=f"s3://{bucket}/bt/mixed-out"),
             f"s3://{bucket}/bt/mixed/", content_type="text/csv", split_type="Line")

# 3. RecordIO-protobuf from the SDK's writer, a record per row.
buffer = io.BytesIO()
write_numpy_to_dense_tensor(buffer, np.loadtxt("protobuf.csv", delimiter=",", ndmin=2))
boto3.client("s3").put_object(Bucket=bucket, Key="bt/protobuf/rows.rec", Body=buffer.getvalue())
protobuf = run(
    estimator.transformer(1, "ml.m5.large", strategy="MultiRecord", assemble_with="Line",
                          accept="application/jsonlines", max_payload=1,
                          output_path=f"s3://{bucket}/bt/protobuf-out"),
    f"s3://{bucket}/bt/protobuf/", content_type="application/x-recordio-protobuf",
    split_type="RecordIO")

print("\nRESULT " + json.dumps({"model_data": estimator.model_data, "bucket": bucket,
                                "joined": joined, "failed": failed, "protobuf": protobuf}))
"""


def _csv(matrix: np.ndarray) -> str:
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in matrix)


@pytest.fixture(scope="module")
def rows() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    return {
        "train": rng.normal(size=(400, 3)).round(3),
        "rows": rng.normal(size=(ROWS, 3)).round(4),
        "ids": rng.permutation(ROWS) + 1_000_000,
        "good": rng.normal(size=(20, 3)).round(3),
        "protobuf": rng.normal(size=(3000, 3)).round(3),
    }


@pytest.fixture(scope="module")
def result(
    server: Server, tmp_path_factory: pytest.TempPathFactory, rows: dict[str, np.ndarray]
) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("transform-sdk")
    train = rows["train"]
    labels = train[:, 0] * 2 - train[:, 1] + 0.5 * train[:, 2]
    files = {
        "script.py": SCRIPT,
        "train.csv": _csv(np.column_stack([labels, train])),
        "rows.csv": "".join(
            f"{i}," + ",".join(repr(float(v)) for v in row) + "\n"
            for i, row in zip(rows["ids"], rows["rows"], strict=True)
        ),
        "good.csv": _csv(rows["good"]),
        "poisoned.csv": _csv(rows["good"][:5]) + "1.0,oops,2.0\n",
        "protobuf.csv": _csv(rows["protobuf"]),
    }
    for name, content in files.items():
        (work / name).write_text(content)
    proc = run_offline(server, work, f"{sys.executable} script.py", timeout=240)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    yield json.loads(line[len("RESULT ") :])


def _get(server: Server, uri: str) -> bytes:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    body: bytes = server.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def _keys(server: Server, uri: str) -> list[str]:
    bucket, prefix = uri.removeprefix("s3://").split("/", 1)
    listed = server.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix.rstrip("/") + "/")
    return sorted(item["Key"][len(prefix.rstrip("/")) + 1 :] for item in listed.get("Contents", []))


def _trained(server: Server, result: dict[str, Any]) -> xgboost.Booster:
    with tarfile.open(fileobj=io.BytesIO(_get(server, result["model_data"]))) as tar:
        member = tar.extractfile("xgboost-model")
        assert member is not None
        booster = xgboost.Booster()
        booster.load_model(bytearray(member.read()))
        return booster


def _predictions(booster: xgboost.Booster, rows: np.ndarray) -> list[str]:
    """The container's CSV numbers: each float32 prediction written as the double it is."""
    return [repr(float(v)) for v in booster.predict(xgboost.DMatrix(rows))]


def test_join_with_filters_gives_id_and_prediction_per_row_in_order(
    server: Server, result: dict[str, Any], rows: dict[str, np.ndarray]
) -> None:
    joined = result["joined"]
    assert joined["status"] == "Completed", joined
    assert joined["output"] == f"s3://{result['bucket']}/bt/joined"
    assert _keys(server, joined["output"]) == ["rows.csv.out"]
    body = _get(server, f"{joined['output']}/rows.csv.out").decode()
    predictions = _predictions(_trained(server, result), rows["rows"])
    assert len(set(predictions)) > 100  # a real model, not a constant
    expected = "".join(f"{i},{p}\n" for i, p in zip(rows["ids"], predictions, strict=True))
    assert body == expected

    described = server.client("sagemaker").describe_transform_job(TransformJobName=joined["job"])
    assert described["DataProcessing"] == {
        "InputFilter": "$[1:]",
        "OutputFilter": "$[0,-1]",
        "JoinSource": "Input",
    }
    assert described["BatchStrategy"] == "MultiRecord"


def test_a_poisoned_file_fails_the_sdk_wait_and_keeps_the_good_output(
    server: Server, result: dict[str, Any], rows: dict[str, np.ndarray]
) -> None:
    failed = result["failed"]
    bucket = result["bucket"]
    described = server.client("sagemaker").describe_transform_job(TransformJobName=failed["job"])
    assert described["TransformJobStatus"] == "Failed"
    reason = described["FailureReason"]
    assert f"s3://{bucket}/bt/mixed/poisoned.csv" in reason
    # The SDK's UnexpectedStatusException carries the job's status and reason.
    assert failed["error"] == (
        f"Error for Transform job {failed['job']}: Failed. Reason: {reason}. "
        "Check troubleshooting guide for common errors: "
        "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-python-sdk-troubleshooting.html"
    )
    out = f"s3://{bucket}/bt/mixed-out"
    assert _keys(server, out) == ["good.csv.out"]
    expected = "".join(p + "\n" for p in _predictions(_trained(server, result), rows["good"]))
    assert _get(server, f"{out}/good.csv.out").decode() == expected


def test_recordio_protobuf_from_the_sdk_writer_is_split_per_record(
    server: Server, result: dict[str, Any], rows: dict[str, np.ndarray]
) -> None:
    protobuf = result["protobuf"]
    assert protobuf["status"] == "Completed", protobuf
    body = _get(server, f"{protobuf['output']}/rows.rec.out").decode()
    scores = [float(p) for p in _predictions(_trained(server, result), rows["protobuf"])]
    assert [json.loads(line) for line in body.splitlines()] == [{"score": s} for s in scores]
    assert body.endswith("\n")
