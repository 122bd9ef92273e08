"""Inference of the built-in XGBoost: every request and response format, byte for byte.

Expected bodies are built here from xgboost's own predictions (the float32 values written
in full, ``repr`` of the double they widen to), never by the runtime's encoders.
"""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xgboost as xgb
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from tests.algorithms._support import Channel, csv_bytes, failure, instance, train

from sagebrush.algorithms.errors import InferenceError
from sagebrush.algorithms.serving import load_runtime

CSV, JSON, JSONL = "text/csv", "application/json", "application/jsonlines"
PROTOBUF = "application/x-recordio-protobuf"


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return X[:400], y[:400], X[400:404]


@pytest.fixture(scope="module")
def binary_dir(tmp_path_factory, cancer):
    """A model written by the algorithm's own training job."""
    X, y, _ = cancer
    hp = {"objective": "binary:logistic", "num_round": 5, "max_depth": 3}
    root = instance(
        tmp_path_factory.mktemp("binary"), hp, train=Channel({"t": csv_bytes(X, y)}, CSV)
    )
    assert train("xgboost", root) == 0, failure(root)
    return root / "model"


def _saved(tmp_path_factory, name, params, X, y, *, rounds=3):
    booster = xgb.train(params, xgb.DMatrix(X, label=y), rounds)
    folder = tmp_path_factory.mktemp(name)
    (folder / "xgboost-model").write_bytes(booster.save_raw(raw_format="ubj"))
    return folder


@pytest.fixture(scope="module")
def softprob_dir(tmp_path_factory):
    X, y = load_digits(return_X_y=True)
    params = {"objective": "multi:softprob", "num_class": 10, "max_depth": 2}
    return _saved(tmp_path_factory, "softprob", params, X[:600], y[:600])


@pytest.fixture(scope="module")
def regression_dir(tmp_path_factory):
    X, y = load_diabetes(return_X_y=True)
    return _saved(tmp_path_factory, "regression", {"max_depth": 2}, X, y)


def _runtime(model_dir, **env):
    return load_runtime("xgboost", model_dir, env)


def _direct(model_dir, rows) -> list:
    booster = xgb.Booster()
    booster.load_model(bytearray((model_dir / "xgboost-model").read_bytes()))
    return [np.asarray(p).astype(np.float64).tolist() for p in booster.predict(xgb.DMatrix(rows))]


def _csv(rows) -> bytes:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in rows).encode()


def _records(labels: list[dict[str, list[float]]]) -> bytes:
    from sagemaker.amazon.common import _write_recordio
    from sagemaker.amazon.record_pb2 import Record

    out = io.BytesIO()
    for label in labels:
        record = Record()
        for key, values in label.items():
            record.label[key].float32_tensor.values.extend(values)
        _write_recordio(out, record.SerializeToString(deterministic=True))
    return out.getvalue()


@pytest.mark.parametrize("accept", [None, "*/*", CSV])
def test_csv_is_the_default_answer_on_one_line(binary_dir, cancer, accept):
    rows = cancer[2]
    scores = _direct(binary_dir, rows)
    prediction = _runtime(binary_dir).invoke(_csv(rows), CSV, accept)
    assert (prediction.status, prediction.content_type) == (200, CSV)
    assert prediction.body == ",".join(repr(s) for s in scores).encode()
    assert all(len(repr(s)) > 12 for s in scores)  # float32 values in full


def test_batch_transform_answers_a_line_per_record(binary_dir, cancer):
    rows = cancer[2]
    scores = _direct(binary_dir, rows)
    prediction = _runtime(binary_dir, SAGEMAKER_BATCH="true").invoke(_csv(rows), CSV, CSV)
    assert prediction.body == "".join(f"{s!r}\n" for s in scores).encode()


def test_json_jsonlines_and_recordio_answers(binary_dir, cancer):
    rows = cancer[2]
    scores = _direct(binary_dir, rows)
    runtime = _runtime(binary_dir)
    body = "{" + '"predictions": [' + ", ".join(f'{{"score": {s!r}}}' for s in scores) + "]}"
    assert runtime.invoke(_csv(rows), CSV, JSON).body == body.encode()
    lines = "".join(f'{{"score": {s!r}}}\n' for s in scores)
    assert runtime.invoke(_csv(rows), CSV, JSONL).body == lines.encode()
    answer = runtime.invoke(_csv(rows), CSV, PROTOBUF)
    assert answer.content_type == PROTOBUF
    assert answer.body == _records([{"score": [s]} for s in scores])


def test_json_requests_as_the_sdks_json_serializer_sends_them(binary_dir, cancer):
    rows = cancer[2][:3]
    expected = ",".join(repr(s) for s in _direct(binary_dir, rows)).encode()
    runtime = _runtime(binary_dir)
    as_lists = json.dumps(rows.tolist()).encode()
    assert runtime.invoke(as_lists, JSON, CSV).body == expected
    instances = json.dumps({"instances": [{"features": r} for r in rows.tolist()]}).encode()
    assert runtime.invoke(instances, JSON, CSV).body == expected
    lines = "".join(json.dumps(r) + "\n" for r in rows.tolist()).encode()
    assert runtime.invoke(lines, JSONL, CSV).body == expected
    assert _error(runtime, b'{"oops": 1', JSON).status == 400


def test_the_default_accept_comes_from_the_environment(binary_dir, cancer):
    runtime = _runtime(binary_dir, SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT=JSON)
    prediction = runtime.invoke(_csv(cancer[2]), CSV, None)
    assert prediction.content_type == JSON
    assert json.loads(prediction.body)["predictions"][0]["score"] > 0


def test_every_request_type_gives_the_same_scores(binary_dir, cancer):
    from sagemaker.amazon.common import write_numpy_to_dense_tensor

    rows = cancer[2]
    expected = ",".join(repr(s) for s in _direct(binary_dir, rows)).encode()
    runtime = _runtime(binary_dir)
    libsvm = "\n".join(
        "0 " + " ".join(f"{i}:{float(v)!r}" for i, v in enumerate(row)) for row in rows
    ).encode()
    assert runtime.invoke(libsvm, "text/libsvm", CSV).body == expected
    assert runtime.invoke(libsvm, "text/x-libsvm", CSV).body == expected
    assert runtime.invoke(libsvm, None, CSV).body == expected  # no Content-Type: libsvm
    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, rows.astype(np.float32))
    assert runtime.invoke(buffer.getvalue(), PROTOBUF, CSV).body == expected
    table = io.BytesIO()
    pq.write_table(pa.table({f"f{i}": column for i, column in enumerate(rows.T)}), table)
    assert runtime.invoke(table.getvalue(), "application/x-parquet", CSV).body == expected


def test_softprob_answers_a_list_per_row(softprob_dir):
    rows = load_digits().data[600:602]
    probabilities = _direct(softprob_dir, rows)
    runtime = _runtime(softprob_dir)
    prediction = runtime.invoke(_csv(rows), CSV, CSV)
    assert prediction.body == ",".join(str(p) for p in probabilities).encode()
    assert prediction.body.startswith(b"[0.")
    body = json.dumps({"predictions": [{"score": p} for p in probabilities]})
    assert runtime.invoke(_csv(rows), CSV, JSON).body == body.encode()
    answer = runtime.invoke(_csv(rows), CSV, PROTOBUF).body
    assert answer == _records([{"score": p} for p in probabilities])


def test_selectable_output_for_binary_classification(binary_dir, cancer):
    rows = cancer[2]
    scores = _direct(binary_dir, rows)
    keys = "predicted_label, probabilities,PROBABILITY,raw_score,labels,predicted_score"
    runtime = _runtime(binary_dir, SAGEMAKER_INFERENCE_OUTPUT=keys)
    entries = [
        {
            "predicted_label": int(s > 0.5),
            "labels": [0, 1],
            "probability": s,
            "probabilities": [1.0 - s, s],
            "raw_score": s,
            "predicted_score": math.nan,  # a regression key: NaN for a classifier
        }
        for s in scores
    ]
    body = json.dumps({"predictions": entries})
    assert runtime.invoke(_csv(rows), CSV, JSON).body == body.encode()
    assert b"NaN" in runtime.invoke(_csv(rows), CSV, JSON).body
    lines = "".join(json.dumps(entry) + "\n" for entry in entries)
    assert runtime.invoke(_csv(rows), CSV, JSONL).body == lines.encode()
    csv = "\n".join(
        f'{int(s > 0.5)},"[{1.0 - s}, {s}]",{s},{s},"[0, 1]",nan' for s in scores
    ).encode()
    assert runtime.invoke(_csv(rows), CSV, CSV).body == csv
    batch = _runtime(binary_dir, SAGEMAKER_INFERENCE_OUTPUT=keys, SAGEMAKER_BATCH="1")
    assert batch.invoke(_csv(rows), CSV, CSV).body == csv + b"\n"
    records = [
        {
            "predicted_label": [float(int(s > 0.5))],
            "labels": [0.0, 1.0],
            "probability": [s],
            "probabilities": [1.0 - s, s],
            "raw_score": [s],
            "predicted_score": [math.nan],
        }
        for s in scores
    ]
    assert runtime.invoke(_csv(rows), CSV, PROTOBUF).body == _records(records)


def test_selectable_output_for_softprob_and_regression(softprob_dir, regression_dir):
    rows = load_digits().data[600:602]
    probabilities = _direct(softprob_dir, rows)
    keys = "predicted_label,labels,probability,raw_scores"
    runtime = _runtime(softprob_dir, SAGEMAKER_INFERENCE_OUTPUT=keys)
    entries = [
        {
            "predicted_label": int(np.argmax(p)),
            "labels": list(range(10)),
            "probability": max(p),
            "raw_scores": p,
        }
        for p in probabilities
    ]
    assert (
        runtime.invoke(_csv(rows), CSV, JSON).body == json.dumps({"predictions": entries}).encode()
    )
    rows = load_diabetes().data[:2]
    scores = _direct(regression_dir, rows)
    runtime = _runtime(regression_dir, SAGEMAKER_INFERENCE_OUTPUT="predicted_score")
    assert runtime.invoke(_csv(rows), CSV, CSV).body == "\n".join(map(repr, scores)).encode()


def _error(runtime, body, content_type, accept=None) -> InferenceError:
    with pytest.raises(InferenceError) as caught:
        runtime.invoke(body, content_type, accept)
    return caught.value


def test_empty_bad_type_bad_accept_and_garbage(binary_dir, cancer):
    runtime = _runtime(binary_dir)
    assert runtime.invoke(b"", CSV, JSON).status == 204
    assert _error(runtime, b"1,2", "image/png").status == 415
    error = _error(runtime, _csv(cancer[2]), CSV, "text/html")
    assert error.status == 406
    assert "text/html" in error.message
    assert _error(runtime, b"1,2\nyes,no", CSV).status == 400
    assert _error(runtime, b"\x00\x01garbage", PROTOBUF).status == 400
    ragged = _error(runtime, b"1,2,3\n4,5", CSV)
    assert (ragged.status, "different numbers of columns" in ragged.message) == (400, True)


def test_a_feature_count_the_model_cannot_take_is_a_400(binary_dir, cancer):
    runtime = _runtime(binary_dir)
    error = _error(runtime, _csv(cancer[2][:, :28]), CSV)
    assert error.status == 400
    assert error.message == (
        "Feature size of text/csv inference data 28 is not consistent with feature size "
        "of trained model 30."
    )
    assert runtime.invoke(_csv(cancer[2][:, :29]), CSV, CSV).status == 200  # as SageMaker
    error = _error(runtime, b"0 31:1.5", "text/libsvm")
    assert error.message == (
        "Feature size of libsvm inference data 32 is larger than feature size of trained model 30."
    )


def test_selectable_output_needs_a_supported_objective(tmp_path_factory):
    X, y = load_diabetes(return_X_y=True)
    folder = _saved(tmp_path_factory, "poisson", {"objective": "count:poisson"}, X, y, rounds=1)
    runtime = _runtime(folder, SAGEMAKER_INFERENCE_OUTPUT="predicted_score")
    error = _error(runtime, _csv(X[:1]), CSV, CSV)
    assert error.status == 400
    assert "count:poisson" in error.message


def test_large_csv_requests_parse_as_small_ones(monkeypatch):
    from sagebrush.algorithms.xgboost import _inference

    rows = np.random.default_rng(3).normal(size=(3000, 7))
    lines = [",".join(repr(float(v)) for v in row) for row in rows]
    lines[5] = lines[5].replace(lines[5].split(",")[2], "", 1)  # an empty cell is missing
    for text in ("\n".join(lines) + "\n", "\n".join(lines).replace(",", "\t")):
        body = text.encode()
        assert len(body) >= _inference._ARROW_CSV_BYTES
        fast = _inference.csv_rows(body)
        monkeypatch.setattr(_inference, "_ARROW_CSV_BYTES", 1 << 40)
        slow = _inference.csv_rows(body)
        monkeypatch.undo()
        np.testing.assert_array_equal(fast, slow)
        assert np.isnan(fast[5, 2])
