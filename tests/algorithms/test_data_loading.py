"""Channels read as the built-in algorithms read them: types, label columns, modes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp
from sagemaker.amazon.common import write_numpy_to_dense_tensor
from tests.algorithms._support import Channel, csv_bytes, instance

from sagebrush.algorithms._instance import Instance
from sagebrush.algorithms.data import (
    CSV,
    LIBSVM,
    PARQUET,
    RECORDIO_PROTOBUF,
    load_channel,
    parse_content_type,
)
from sagebrush.algorithms.errors import ClientError

ALL = (CSV, LIBSVM, PARQUET, RECORDIO_PROTOBUF)
X = np.arange(24, dtype=np.float32).reshape(6, 4) / 4
Y = np.float32([0, 1, 0, 1, 1, 0])


def _load(root: Path, name: str = "train", **kwargs: object) -> object:
    return load_channel(Instance(root), name, supported=ALL, **kwargs)  # type: ignore[arg-type]


def test_content_types_parse_parameters_and_aliases() -> None:
    assert parse_content_type("text/csv; label_size=0", CSV).params == {"label_size": "0"}
    assert parse_content_type("csv", LIBSVM).media == CSV
    assert parse_content_type("application/x-recordio", CSV).media == RECORDIO_PROTOBUF
    assert parse_content_type(None, LIBSVM).media == LIBSVM
    assert str(parse_content_type("Text/CSV;label_size=2", CSV)) == "text/csv;label_size=2"


@pytest.mark.parametrize("mode", ["File", "Pipe"])
def test_csv_label_first_across_files(tmp_path: Path, mode: str) -> None:
    files = {"a.csv": csv_bytes(X[:4], Y[:4]), "sub/b.csv": csv_bytes(X[4:], Y[4:])}
    root = instance(tmp_path, {}, train=Channel(files, "text/csv", mode))
    dataset = _load(root)
    np.testing.assert_array_equal(dataset.features, X)
    np.testing.assert_array_equal(dataset.labels, Y)


def test_label_size_zero_and_two(tmp_path: Path) -> None:
    root = instance(
        tmp_path,
        {},
        train=Channel({"x.csv": csv_bytes(X)}, "text/csv;label_size=0"),
        test=Channel({"x.csv": csv_bytes(X)}, "text/csv;label_size=2"),
    )
    unlabelled = _load(root)
    assert unlabelled.labels is None
    np.testing.assert_array_equal(unlabelled.features, X)
    two = _load(root, "test")
    np.testing.assert_array_equal(two.labels, X[:, :2])
    np.testing.assert_array_equal(two.features, X[:, 2:])


@pytest.mark.parametrize("mode", ["File", "Pipe"])
def test_csv_single_line_without_line_end(tmp_path: Path, mode: str) -> None:
    root = instance(tmp_path, {}, train=Channel({"x.csv": b"1,2,3"}, "text/csv", mode))
    dataset = _load(root)
    np.testing.assert_array_equal(dataset.features, [[2, 3]])
    np.testing.assert_array_equal(dataset.labels, [1])


def test_csv_missing_values_are_nan_and_spaces_are_ignored(tmp_path: Path) -> None:
    data = b"1,2,,4\n0,,3, 5 \n"
    root = instance(tmp_path, {}, train=Channel({"x.csv": data}, "text/csv"))
    dataset = _load(root)
    assert np.isnan(dataset.features[0, 1]) and np.isnan(dataset.features[1, 0])
    assert dataset.features[1, 2] == 5


def test_parquet_first_column_is_the_label(tmp_path: Path) -> None:
    table = pa.table({"label": Y, **{f"f{i}": X[:, i] for i in range(4)}})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    root = instance(tmp_path, {}, train=Channel({"d.parquet": buffer.getvalue()}, PARQUET))
    dataset = _load(root)
    np.testing.assert_array_equal(dataset.features, X)
    np.testing.assert_array_equal(dataset.labels, Y)


def test_pipe_parquet_objects_back_to_back(tmp_path: Path) -> None:
    objects = {}
    for i, rows in enumerate((slice(0, 2), slice(2, 6))):
        buffer = io.BytesIO()
        table = pa.table({"label": Y[rows], **{f"f{j}": X[rows, j] for j in range(4)}})
        pq.write_table(table, buffer)
        objects[f"part-{i}.parquet"] = buffer.getvalue()
    root = instance(tmp_path, {}, train=Channel(objects, PARQUET, "Pipe"))
    dataset = _load(root)
    np.testing.assert_array_equal(dataset.features, X)
    np.testing.assert_array_equal(dataset.labels, Y)


def test_libsvm_files_are_sparse_and_widened(tmp_path: Path) -> None:
    files = {"a": b"1 0:1.5 3:2\n0 1:1\n", "b": b"1 5:4\n"}
    root = instance(tmp_path, {}, train=Channel(files, "text/libsvm"))
    dataset = _load(root)
    assert sp.issparse(dataset.features)
    assert dataset.features.shape == (3, 6)
    assert dataset.dense()[2, 5] == 4 and dataset.dense()[0, 3] == 2
    np.testing.assert_array_equal(dataset.labels, [1, 0, 1])


@pytest.mark.parametrize("mode", ["File", "Pipe"])
def test_recordio_protobuf_from_the_sdk(tmp_path: Path, mode: str) -> None:
    parts = {}
    for i, rows in enumerate((slice(0, 3), slice(3, 6))):
        buffer = io.BytesIO()
        write_numpy_to_dense_tensor(buffer, X[rows], Y[rows])
        parts[f"matrix_{i}.pbr"] = buffer.getvalue()
    root = instance(tmp_path, {}, train=Channel(parts, RECORDIO_PROTOBUF, mode))
    dataset = _load(root)
    np.testing.assert_array_equal(dataset.features, X)
    np.testing.assert_array_equal(dataset.labels, Y)


@pytest.mark.parametrize("mode", ["File", "Pipe"])
def test_record_sets_without_a_content_type_are_recognised(tmp_path: Path, mode: str) -> None:
    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, X, Y)
    root = instance(
        tmp_path,
        {},
        train=Channel({"matrix_0.pbr": buffer.getvalue()}, None, mode),
        csv=Channel({"x.csv": csv_bytes(X, Y)}, None, mode),
    )
    np.testing.assert_array_equal(_load(root).features, X)
    np.testing.assert_array_equal(_load(root, "csv").features, X)


@pytest.mark.parametrize(
    ("files", "content_type", "message"),
    [
        ({"x.csv": b"1,a,3\n"}, "text/csv", "column 2 holds values that are not numbers"),
        ({"a.csv": b"1,2,3\n", "b.csv": b"1,2\n"}, "text/csv", "different numbers of columns"),
        ({"x.csv": b"1\n2\n"}, "text/csv", "leaving no features"),
        ({"x.csv": b""}, "text/csv", "No records in channel 'train'"),
        ({"x": b"junk"}, RECORDIO_PROTOBUF, "Unable to read RecordIO-protobuf data"),
        ({"x.csv": b"1,2\n"}, "image/png", "Content type image/png is not supported"),
        ({"x.csv": b"1,2\n"}, "text/csv;label_size=x", "label_size=x is not an integer"),
    ],
)
def test_unreadable_channels_are_client_errors(
    tmp_path: Path, files: dict[str, bytes], content_type: str, message: str
) -> None:
    root = instance(tmp_path, {}, train=Channel(files, content_type))
    with pytest.raises(ClientError, match=message):
        _load(root)


def test_missing_channels_and_sharded_multi_host(tmp_path: Path) -> None:
    root = instance(tmp_path, {}, train=Channel({"x.csv": b"1,2\n"}, "text/csv"))
    with pytest.raises(ClientError, match="Channel 'validation' is required"):
        _load(root, "validation")
    sharded = instance(
        tmp_path / "two",
        {},
        hosts=2,
        train=Channel(
            {"x.csv": b"1,2\n"}, "text/csv", extra={"S3DistributionType": "ShardedByS3Key"}
        ),
    )
    with pytest.raises(ClientError, match="ShardedByS3Key over 2 instances"):
        _load(sharded)
