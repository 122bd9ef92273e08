"""RecordIO-protobuf against the sagemaker SDK's own writer and reader."""

from __future__ import annotations

import io

import numpy as np
import pytest
import scipy.sparse as sp
from sagemaker.amazon.common import (
    read_records,
    write_numpy_to_dense_tensor,
    write_spmatrix_to_sparse_tensor,
)

from sagebrush.algorithms.data import recordio_protobuf as rp
from sagebrush.container import recordio

RNG = np.random.default_rng(7)


def _sdk_dense(features: np.ndarray, labels: np.ndarray | None = None) -> bytes:
    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, features, labels)
    return buffer.getvalue()


def _sdk_sparse(features: sp.spmatrix, labels: np.ndarray | None = None) -> bytes:
    buffer = io.BytesIO()
    write_spmatrix_to_sparse_tensor(buffer, features, labels)
    return buffer.getvalue()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("label_dtype", [None, np.float32, np.float64, np.int64])
def test_reads_what_the_sdk_writes_dense(dtype: type, label_dtype: type | None) -> None:
    features = (RNG.normal(size=(40, 6)) * 100).astype(dtype)
    labels = None if label_dtype is None else RNG.integers(0, 5, 40).astype(label_dtype)
    dataset = rp.read(_sdk_dense(features, labels))
    assert dataset.features.dtype == (np.int32 if dtype is np.int64 else dtype)
    np.testing.assert_array_equal(dataset.features, features)
    if labels is None:
        assert dataset.labels is None
    else:
        np.testing.assert_array_equal(dataset.labels, labels)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_writes_the_sdk_bytes_dense(dtype: type) -> None:
    features = RNG.normal(size=(25, 4)).astype(dtype)
    labels = RNG.normal(size=25).astype(np.float32)
    assert rp.write_dense(features, labels) == _sdk_dense(features, labels)
    assert rp.write_dense(features) == _sdk_dense(features)


def test_integer_features_are_int32_tensors_like_the_sdk() -> None:
    features = RNG.integers(-300, 300, size=(10, 3))
    assert rp.write_dense(features) == _sdk_dense(features)


def test_sparse_round_trip_with_the_sdk() -> None:
    matrix = sp.random(30, 50, density=0.1, format="csr", random_state=3, dtype=np.float32)
    labels = RNG.integers(0, 2, 30).astype(np.float32)
    written = _sdk_sparse(matrix, labels)
    dataset = rp.read(written)
    assert sp.issparse(dataset.features)
    assert dataset.features.shape == (30, 50)
    assert (dataset.features != matrix).nnz == 0
    np.testing.assert_array_equal(dataset.labels, labels)
    assert rp.write_sparse(matrix, labels) == written


def test_the_sdk_reads_response_records() -> None:
    scores = np.float32([0.25, 0.75, 0.5])
    labels = np.float32([0, 1, 1])
    data = rp.write_records(None, {"score": scores, "predicted_label": labels})
    records = read_records(io.BytesIO(data))
    assert [list(r.label["score"].float32_tensor.values) for r in records] == [
        [0.25],
        [0.75],
        [0.5],
    ]
    assert [list(r.label["predicted_label"].float32_tensor.values) for r in records] == [
        [0.0],
        [1.0],
        [1.0],
    ]
    assert [list(r.features) for r in records] == [[], [], []]
    decoded = rp.read_labels(data)
    assert [float(d["score"][0]) for d in decoded] == [0.25, 0.75, 0.5]


def test_vector_labels_per_record() -> None:
    projections = RNG.normal(size=(4, 3)).astype(np.float32)
    records = read_records(io.BytesIO(rp.write_records(None, {"projection": projections})))
    for record, row in zip(records, projections, strict=True):
        np.testing.assert_array_equal(record.label["projection"].float32_tensor.values, row)


def test_the_fast_path_falls_back_when_records_differ() -> None:
    # Same stride, different layout: a record with a uid among plain ones.
    first = _sdk_dense(np.float32([[1, 2, 3]]))
    ragged = first + _sdk_dense(np.float32([[4, 5, 6, 7]]))
    with pytest.raises(rp.RecordProtobufError, match="different numbers of features"):
        rp.read(ragged)
    mixed = _sdk_dense(np.float32([[1, 2]]), np.float32([1])) + _sdk_dense(np.float32([[3, 4]]))
    with pytest.raises(rp.RecordProtobufError, match="some records have a label"):
        rp.read(mixed)


def test_escaped_records_are_read_whole() -> None:
    # dmlc escapes a 4-byte-aligned magic word inside a record; the reader joins the parts.
    magic_value = np.frombuffer(np.uint32(recordio.MAGIC).tobytes(), dtype=np.float32)[0]
    features = np.float32([[1.0, magic_value, 2.0, 3.0]])
    sdk = _sdk_dense(features)
    length = int.from_bytes(sdk[4:8], "little")
    framed = recordio.encode(sdk[8 : 8 + length])  # escaped: cut in two at the magic word
    assert framed != sdk
    dataset = rp.read(framed + framed)
    np.testing.assert_array_equal(dataset.features[:, [0, 2, 3]], np.float32([[1, 2, 3]] * 2))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"not recordio at all", "not RecordIO framing"),
        (recordio.encode(b"\xff\xff\xff"), "not a protobuf Record"),
    ],
)
def test_bad_data_is_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(rp.RecordProtobufError, match=message):
        rp.read(data)


def test_large_dense_reads_vectorised() -> None:
    features = RNG.normal(size=(20_000, 30)).astype(np.float32)
    labels = RNG.normal(size=20_000).astype(np.float32)
    data = rp.write_dense(features, labels)
    assert data[: 2 * len(data) // 20_000] == _sdk_dense(features[:2], labels[:2])
    dataset = rp.read(data)
    np.testing.assert_array_equal(dataset.features, features)
    np.testing.assert_array_equal(dataset.labels, labels)
