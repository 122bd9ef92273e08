"""Reading a channel's objects into a feature matrix and labels."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import scipy.sparse as sp

from sagebrush.algorithms.data import recordio_protobuf
from sagebrush.algorithms.data._dataset import Dataset
from sagebrush.algorithms.data.content_types import (
    CSV,
    LIBSVM,
    PARQUET,
    RECORDIO_PROTOBUF,
    ContentType,
    parse_content_type,
)
from sagebrush.algorithms.errors import ClientError
from sagebrush.container import recordio

if TYPE_CHECKING:
    from sagebrush.algorithms._instance import Instance

# One object as it reaches the reader: a file (File, FastFile) or the bytes of a pipe.
Source = Path | bytes


def load_channel(
    instance: Instance,
    channel: str,
    *,
    default_content_type: str = CSV,
    supported: Sequence[str] = (CSV, RECORDIO_PROTOBUF),
    label_size: int = 1,
    feature_dim: int | None = None,
) -> Dataset:
    """The whole channel as one dataset; ``ClientError`` for data the algorithm can't read.

    ``label_size`` is the default for CSV (label first) and parquet; the channel's content
    type may override it (``text/csv;label_size=0``). RecordIO-protobuf carries its labels.
    With ``feature_dim``, records of another width are refused.
    A channel that names no content type is RecordIO-protobuf when its data starts with
    RecordIO framing (the SDK's ``record_set()`` sends none), else ``default_content_type``.
    """
    config = instance.channels.get(channel)
    if config is None:
        raise ClientError(f"Channel '{channel}' is required but was not provided")
    if len(instance.hosts) > 1 and config.get("S3DistributionType") == "ShardedByS3Key":
        raise ClientError(
            f"Channel '{channel}' is ShardedByS3Key over {len(instance.hosts)} instances: "
            "Sagebrush trains built-in algorithms on one instance, which would see only its "
            "shard. Use FullyReplicated or InstanceCount 1"
        )
    sources = instance.channel_sources(channel)
    declared = config.get("ContentType")
    if not declared and RECORDIO_PROTOBUF in supported and sources and _is_recordio(sources[0]):
        # The SDK's record_set() channels name no ContentType: recognise their framing.
        declared = RECORDIO_PROTOBUF
    content_type = parse_content_type(declared, default_content_type)
    if content_type.media not in supported:
        raise ClientError(
            f"Content type {content_type} is not supported for channel '{channel}': "
            f"supported content types are {', '.join(supported)}"
        )
    if not sources:
        raise ClientError(f"No data in channel '{channel}'")
    try:
        labels = content_type.int_param("label_size", label_size)
    except ValueError as exc:
        raise ClientError(f"Channel '{channel}': {exc}") from None
    dataset = parse_sources(sources, content_type, labels, what=f"channel '{channel}'")
    if len(dataset) == 0:
        raise ClientError(f"No records in channel '{channel}'")
    if feature_dim is not None and dataset.width != feature_dim:
        raise ClientError(
            f"Records in channel '{channel}' have {dataset.width} feature(s) but "
            f"hyperparameter feature_dim is {feature_dim}"
        )
    return dataset


def load_unlabelled(instance: Instance, channel: str, feature_dim: int) -> np.ndarray:
    """An unsupervised algorithm's channel (PCA, K-Means): RecordIO-protobuf or CSV without
    a label column, ``feature_dim`` wide, as a dense float64 matrix."""
    dataset = load_channel(
        instance,
        channel,
        default_content_type=RECORDIO_PROTOBUF,
        supported=(RECORDIO_PROTOBUF, CSV),
        label_size=0,
        feature_dim=feature_dim,
    )
    return dataset.dense(np.float64)


def parse_sources(
    sources: Sequence[Source], content_type: ContentType, label_size: int, *, what: str
) -> Dataset:
    if content_type.media == RECORDIO_PROTOBUF:
        data = b"".join(_bytes(s) for s in sources)
        try:
            return recordio_protobuf.read(data)
        except recordio_protobuf.RecordProtobufError as exc:
            raise ClientError(f"Unable to read RecordIO-protobuf data in {what}: {exc}") from None
    if content_type.media == PARQUET:
        sources = [part for source in sources for part in _parquet_objects(source)]
    parts = [parse_table(s, content_type, label_size, what=what) for s in sources]
    parts = [p for p in parts if len(p)]
    if not parts:
        return Dataset(np.empty((0, 0), np.float32), None)
    if len({p.width for p in parts}) > 1:
        if not all(sp.issparse(p.features) for p in parts):
            raise ClientError(f"Files in {what} have different numbers of columns")
        # libsvm files name only the columns they use: widen all to the widest.
        width = max(p.width for p in parts)
        parts = [Dataset(widen(p.features, width), p.labels) for p in parts]
    return _concatenate(parts)


def parse_table(
    source: Source, content_type: ContentType, label_size: int, *, what: str
) -> Dataset:
    """One CSV, libsvm or parquet object; the first ``label_size`` columns are labels."""
    name = source.name if isinstance(source, Path) else "the data"
    try:
        if content_type.media == CSV:
            matrix = read_csv_matrix(source)
        elif content_type.media == PARQUET:
            table = pq.read_table(source if isinstance(source, Path) else pa.BufferReader(source))
            matrix = _to_matrix(table, np.float32)
        elif content_type.media == LIBSVM:
            return _libsvm(source)
        else:
            raise ClientError(f"Content type {content_type} is not supported for {what}")
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError, OSError) as exc:
        if isinstance(exc, ClientError):
            raise
        raise ClientError(f"Unable to parse {content_type.media} {name} in {what}: {exc}") from None
    if not matrix.shape[0]:
        return Dataset(np.empty((0, 0), np.float32), None)
    if matrix.shape[1] <= label_size:
        raise ClientError(
            f"{name} in {what} has {matrix.shape[1]} column(s): the label takes "
            f"{label_size}, leaving no features"
        )
    labels = None
    if label_size == 1:
        labels = matrix[:, 0].copy()
    elif label_size > 1:
        labels = matrix[:, :label_size].copy()
    return Dataset(np.ascontiguousarray(matrix[:, label_size:]), labels)


def read_csv_matrix(source: Source, dtype: type[np.floating[Any]] = np.float32) -> np.ndarray:
    """A headerless numeric CSV as a matrix (empty cells NaN); ``ValueError`` if it isn't.

    Numbers with spaces around them are numbers, as pandas (which SageMaker's containers
    read CSV with) takes them.
    """
    data = source.read_bytes() if isinstance(source, Path) and _lacks_newline(source) else source
    if isinstance(data, bytes):
        if not data.strip():
            return np.empty((0, 0), dtype)
        # pyarrow cannot infer the columns of a single line that has no line end.
        data = data if data.endswith((b"\n", b"\r")) else data + b"\n"
    elif data.stat().st_size == 0:
        return np.empty((0, 0), dtype)
    try:
        table = pa_csv.read_csv(
            io.BytesIO(data) if isinstance(data, bytes) else data,
            read_options=pa_csv.ReadOptions(autogenerate_column_names=True),
            parse_options=pa_csv.ParseOptions(delimiter=","),
            convert_options=pa_csv.ConvertOptions(strings_can_be_null=True),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValueError(str(exc)) from None
    return _to_matrix(table, dtype)


def _numbers(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column pyarrow left as text because of spaces around its numbers, trimmed."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return column
    trimmed = pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, column.type), trimmed)


def _lacks_newline(path: Path) -> bool:
    with path.open("rb") as file:
        if file.seek(0, io.SEEK_END) == 0:
            return False
        file.seek(-1, io.SEEK_END)
        return file.read(1) not in b"\r\n"


def _to_matrix(table: pa.Table, dtype: type[np.floating[Any]]) -> np.ndarray:
    if table.num_columns == 0:
        return np.empty((0, 0), dtype)
    target = pa.from_numpy_dtype(dtype)
    out = np.empty((table.num_rows, table.num_columns), dtype=dtype)
    for i, column in enumerate(table.columns):
        try:
            values = _numbers(column).cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise ValueError(f"column {i + 1} holds values that are not numbers") from None
        out[:, i] = values.to_numpy(zero_copy_only=False)
    return out


def _libsvm(source: Source) -> Dataset:
    # Imported here: scikit-learn costs an algorithm process a second or more to import.
    from sklearn.datasets import load_svmlight_file

    data = source if isinstance(source, Path) else io.BytesIO(source)
    features, labels = load_svmlight_file(data, dtype=np.float32, zero_based=True)
    return Dataset(sp.csr_matrix(features), np.asarray(labels, dtype=np.float32))


def widen(features: np.ndarray | sp.csr_matrix, width: int) -> sp.csr_matrix:
    """Rows that name only the columns they use, as ``width`` columns (sparse)."""
    matrix = sp.csr_matrix(features)
    return sp.csr_matrix(
        (matrix.data, matrix.indices, matrix.indptr), shape=(matrix.shape[0], width)
    )


def _concatenate(parts: list[Dataset]) -> Dataset:
    if len(parts) == 1:
        return parts[0]
    if any(sp.issparse(p.features) for p in parts):
        features: np.ndarray | sp.csr_matrix = sp.vstack(
            [sp.csr_matrix(p.features) for p in parts], format="csr"
        )
    else:
        features = np.vstack([p.features for p in parts])
    with_labels = [p.labels is not None for p in parts]
    if any(with_labels) and not all(with_labels):
        raise ClientError("Some files have labels and others do not")
    labels = None
    if all(with_labels):
        labels = np.concatenate([p.labels for p in parts if p.labels is not None])
    return Dataset(features, labels)


def _parquet_objects(source: Source) -> list[Source]:
    """A Pipe channel's parquet objects arrive back to back: split them where one file's
    closing ``PAR1`` meets the next one's opening ``PAR1`` (read whole, only the last
    file's footer would be found and the others' rows silently lost)."""
    if isinstance(source, Path):
        return [source]
    parts: list[Source] = []
    start = 0
    boundary = source.find(b"PAR1PAR1", 4)
    while boundary != -1:
        parts.append(source[start : boundary + 4])
        start = boundary + 4
        boundary = source.find(b"PAR1PAR1", start + 4)
    parts.append(source[start:])
    return parts


def _is_recordio(source: Source) -> bool:
    if isinstance(source, bytes):
        head = source[:4]
    else:
        with source.open("rb") as file:
            head = file.read(4)
    return head == recordio.MAGIC.to_bytes(4, "little")


def _bytes(source: Source) -> bytes:
    return source.read_bytes() if isinstance(source, Path) else source
