"""RecordIO-protobuf (``application/x-recordio-protobuf``), Amazon's algorithm data format.

Each record is an ``aialgs.data.Record`` (see ``_record_pb``) framed as MXNet RecordIO:
the SDK's ``record_set()``, ``write_numpy_to_dense_tensor`` and
``write_spmatrix_to_sparse_tensor`` write one record per row, features under the key
``"values"`` and the label (when given) under ``label["values"]``.

Dense data of one shape makes every record the same bytes but for the values, so reading
and writing it is done on the whole buffer at once: the first record's layout is found by
walking its wire format, every other record is checked to hold the same bytes outside the
value spans (one vectorised comparison), and the values are sliced out as a strided view.
Anything else (sparse tensors, int32 varints, ragged rows, escaped records) goes record by
record through the protobuf library.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from sagebrush.algorithms.data._dataset import Dataset
from sagebrush.algorithms.data._record_pb import Record
from sagebrush.container import recordio

CONTENT_TYPE = "application/x-recordio-protobuf"
_HEADER = struct.Struct("<II")
# Value oneof field numbers -> the tensor's dtype (int32 values are varints: no fixed width).
_TENSORS: dict[int, np.dtype[Any]] = {2: np.dtype("<f4"), 3: np.dtype("<f8"), 7: np.dtype("<i4")}
_TENSOR_FIELD = {
    "float32_tensor": np.float32,
    "float64_tensor": np.float64,
    "int32_tensor": np.int32,
}


class RecordProtobufError(ValueError):
    """Data that is not RecordIO-protobuf as Amazon's algorithms read it."""


# -- reading ---------------------------------------------------------------------------


def read(data: bytes | bytearray | memoryview) -> Dataset:
    """Every record of ``data`` as one batch."""
    buffer = memoryview(data).cast("B")
    if not len(buffer):
        raise RecordProtobufError("no records: the data is empty")
    fast = _read_uniform(buffer)
    return fast if fast is not None else _read_each(buffer)


@dataclass(frozen=True)
class _Span:
    start: int  # offset of the packed values within the framed record
    stop: int
    dtype: np.dtype[Any]


def _read_uniform(buffer: memoryview) -> Dataset | None:
    """The fast path: records of identical size and layout, differing only in values."""
    if len(buffer) < _HEADER.size:
        return None
    magic, word = _HEADER.unpack_from(buffer, 0)
    if magic != recordio.MAGIC or word >> 29:
        return None
    length = word & recordio.MAX_RECORD
    stride = _HEADER.size + length + (-length % 4)
    if len(buffer) % stride:
        return None
    try:
        spans = _layout(bytes(buffer[_HEADER.size : _HEADER.size + length]), _HEADER.size)
    except RecordProtobufError:
        spans = None  # the record-by-record path says what is wrong, and where
    if spans is None:
        return None
    features, labels = spans
    rows = np.frombuffer(buffer, dtype=np.uint8).reshape(-1, stride)
    fixed = np.ones(stride, dtype=bool)
    for span in (features, labels):
        if span is not None:
            fixed[span.start : span.stop] = False
    if len(rows) > 1 and not (rows[1:, fixed] == rows[0, fixed]).all():
        return None
    return Dataset(_columns(rows, features), None if labels is None else _labels(rows, labels))


def _columns(rows: np.ndarray, span: _Span) -> np.ndarray:
    values = rows[:, span.start : span.stop].copy().view(span.dtype)
    return values.astype(span.dtype.newbyteorder("="), copy=False)


def _labels(rows: np.ndarray, span: _Span) -> np.ndarray:
    values = _columns(rows, span)
    return values[:, 0] if values.shape[1] == 1 else values


def _layout(record: bytes, base: int) -> tuple[_Span, _Span | None] | None:
    """Where the dense feature and label values sit in ``record``; None if not that simple."""
    found: dict[int, list[_Span]] = {1: [], 2: []}
    for number, wire, start, stop in _fields(record, 0, len(record)):
        if number not in found or wire != 2:
            return None  # uid, metadata, configuration: let the general path keep them exact
        span = _entry_values(record, start, stop, base)
        if span is None:
            return None
        found[number].append(span)
    if len(found[1]) != 1 or len(found[2]) > 1:
        return None
    return found[1][0], (found[2][0] if found[2] else None)


def _entry_values(record: bytes, start: int, stop: int, base: int) -> _Span | None:
    value = None
    for number, wire, a, b in _fields(record, start, stop):
        if number == 2 and wire == 2:
            value = (a, b)
    if value is None:
        return None
    tensors = [(n, a, b) for n, w, a, b in _fields(record, *value) if w == 2]
    if len(tensors) != 1 or tensors[0][0] not in (2, 3):
        return None  # int32 varints have no fixed width; bytes are not numbers
    number, a, b = tensors[0]
    packed = None
    for field, wire, c, d in _fields(record, a, b):
        if field == 1 and wire == 2:
            packed = (c, d)
        elif field == 2:
            return None  # keys: a sparse tensor
    dtype = _TENSORS[number]
    if packed is None or (packed[1] - packed[0]) % dtype.itemsize or packed[1] == packed[0]:
        return None
    return _Span(base + packed[0], base + packed[1], dtype)


def _fields(buf: bytes, pos: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """``(field number, wire type, start, stop)`` of each field; varints give their span."""
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, stop = _varint(buf, pos)
        elif wire == 1:
            stop = pos + 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            stop = pos + size
        elif wire == 5:
            stop = pos + 4
        else:
            raise RecordProtobufError(f"unsupported protobuf wire type {wire}")
        if stop > end:
            raise RecordProtobufError("a protobuf field runs past the end of its record")
        yield number, wire, pos, stop
        pos = stop


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise RecordProtobufError("a protobuf varint runs past the end of its record")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _read_each(buffer: memoryview) -> Dataset:
    try:
        records = list(recordio.read_records(io.BytesIO(buffer)))
    except recordio.RecordIOError as exc:
        raise RecordProtobufError(f"not RecordIO framing: {exc}") from None
    rows = _Rows()
    record = Record()  # reused: parsing clears it first
    for number, raw in enumerate(records):
        try:
            record.ParseFromString(raw)
        except Exception as exc:  # the protobuf runtime's DecodeError and friends
            raise RecordProtobufError(f"record {number} is not a protobuf Record: {exc}") from None
        rows.add(number, _tensor(_single(record.features, "features", number)))
        if record.label:
            rows.add_label(_tensor(_single(record.label, "label", number)))
    return rows.dataset()


class _Rows:
    """Records' tensors gathered into flat lists (C-speed ``extend``), shaped at the end."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.keys: list[int] = []
        self.indptr = [0]
        self.sparse_rows = 0
        self.width = 0
        self.row_widths: list[int] = []
        self.dtypes: set[type] = set()
        self.labels: list[float] = []
        self.label_sizes: set[int] = set()
        self.labelled = 0

    def add(self, number: int, tensor: tuple[Any, type]) -> None:
        data, dtype = tensor
        self.dtypes.add(dtype)
        count = len(data.values)
        self.values.extend(data.values)
        shape = data.shape
        if len(data.keys) or (len(shape) and count != int(np.prod(shape))):
            if not len(shape):
                raise RecordProtobufError(f"record {number}: a sparse tensor needs its shape")
            self.sparse_rows += 1
            self.width = max(self.width, int(shape[-1]))
            self.row_widths.append(int(shape[-1]))
            self.keys.extend(data.keys)
        elif self.indptr[-1] and count != self.indptr[1]:
            raise RecordProtobufError("dense records have different numbers of features")
        self.indptr.append(len(self.values))

    def add_label(self, tensor: tuple[Any, type]) -> None:
        data, _ = tensor
        self.labels.extend(data.values)
        self.label_sizes.add(len(data.values))
        self.labelled += 1

    def dataset(self) -> Dataset:
        count = len(self.indptr) - 1
        dtype = np.result_type(*self.dtypes) if self.dtypes else np.dtype(np.float32)
        values = np.asarray(self.values, dtype=dtype)
        if self.sparse_rows and self.sparse_rows != count:
            raise RecordProtobufError("the data mixes dense and sparse records")
        features: np.ndarray | sp.csr_matrix
        if self.sparse_rows:
            indptr = np.asarray(self.indptr, dtype=np.int64)
            # Keys index the flattened tensor; a row's column is the key modulo its width.
            per_row = np.diff(indptr)
            widths = np.repeat(np.asarray(self.row_widths, dtype=np.int64), per_row)
            indices = np.asarray(self.keys, dtype=np.int64) % widths
            features = sp.csr_matrix((values, indices, indptr), shape=(count, self.width))
        else:
            features = values.reshape(count, -1) if count else np.empty((0, 0), dtype)
        return Dataset(features, self._labels(count))

    def _labels(self, count: int) -> np.ndarray | None:
        if not self.labelled:
            return None
        if self.labelled != count:
            raise RecordProtobufError("some records have a label and others do not")
        if len(self.label_sizes) > 1:
            raise RecordProtobufError("labels have different sizes")
        labels = np.asarray(self.labels)
        return labels if self.label_sizes == {1} else labels.reshape(count, -1)


def _single(entries: Any, what: str, number: int) -> Any:
    if "values" in entries:
        return entries["values"]
    if len(entries) == 1:
        return next(iter(entries.values()))
    raise RecordProtobufError(f"record {number} has no {what} under the key 'values'")


def _tensor(value: Any) -> tuple[Any, type]:
    kind = value.WhichOneof("value")
    if kind not in _TENSOR_FIELD:
        raise RecordProtobufError(f"unsupported value type {kind}: numbers are needed")
    return getattr(value, kind), _TENSOR_FIELD[kind]


def read_labels(data: bytes) -> list[dict[str, np.ndarray]]:
    """The ``label`` map of each record (what Amazon algorithms answer with), as arrays."""
    out: list[dict[str, np.ndarray]] = []
    record = Record()
    for raw in recordio.read_records(io.BytesIO(data)):
        record.ParseFromString(raw)
        out.append(
            {
                key: np.asarray(_tensor(v)[0].values, _tensor(v)[1])
                for key, v in record.label.items()
            }
        )
    return out


# -- writing ---------------------------------------------------------------------------


def write_dense(features: np.ndarray, labels: np.ndarray | None = None) -> bytes:
    """The records ``write_numpy_to_dense_tensor`` writes for this matrix (and labels)."""
    if features.ndim != 2:
        raise ValueError("features must be a matrix")
    label_map = None
    if labels is not None:
        if labels.ndim != 1 or len(labels) != len(features):
            raise ValueError("labels must be a vector with one value per row")
        label_map = {"values": labels.reshape(-1, 1)}
    return write_records({"values": features}, label_map)


def write_sparse(features: sp.spmatrix, labels: np.ndarray | None = None) -> bytes:
    """The records ``write_spmatrix_to_sparse_tensor`` writes: keys, values and shape."""
    matrix = sp.csr_matrix(features)
    kind = _tensor_kind(matrix.dtype)
    out = io.BytesIO()
    for row in range(matrix.shape[0]):
        record = Record()
        tensor = getattr(record.features["values"], kind)
        lo, hi = matrix.indptr[row], matrix.indptr[row + 1]
        tensor.values.extend(matrix.data[lo:hi].tolist())
        tensor.keys.extend(matrix.indices[lo:hi].tolist())
        tensor.shape.append(matrix.shape[1])
        if labels is not None:
            label = getattr(record.label["values"], _tensor_kind(labels.dtype))
            label.values.append(labels[row].item())
        recordio.write_record(out, record.SerializeToString())
    return out.getvalue()


def write_records(
    features: Mapping[str, np.ndarray] | None, labels: Mapping[str, np.ndarray] | None = None
) -> bytes:
    """One record per row; each map entry holds that row of its (rows x width) array.

    Responses of Amazon's algorithms are such records with only a ``label`` map
    (``{"score": ..., "predicted_label": ...}``); training data has ``features["values"]``.
    """
    columns = [("features", k, _matrix(v)) for k, v in (features or {}).items()]
    columns += [("label", k, _matrix(v)) for k, v in (labels or {}).items()]
    if not columns:
        raise ValueError("a record needs at least one feature or label")
    count = {len(matrix) for _, _, matrix in columns}
    if len(count) != 1:
        raise ValueError("every column needs the same number of rows")
    rows = count.pop()
    if rows == 0:
        return b""
    first = _encode(columns, 0)
    fixed_width = all(matrix.dtype.kind == "f" for _, _, matrix in columns)
    if rows == 1 or not fixed_width:
        return b"".join([first, *(_encode(columns, i) for i in range(1, rows))])
    return _write_uniform(columns, first, rows)


def _write_uniform(columns: list[tuple[str, str, np.ndarray]], first: bytes, rows: int) -> bytes:
    """Copy the first record's bytes to every row and drop each row's values into place."""
    _, word = _HEADER.unpack_from(first, 0)
    length = word & recordio.MAX_RECORD
    body = first[_HEADER.size : _HEADER.size + length]
    spans = _value_spans(body, _HEADER.size)
    if word >> 29 or spans is None or len(spans) != len(columns):
        return b"".join([first, *(_encode(columns, i) for i in range(1, rows))])
    out = np.empty((rows, len(first)), dtype=np.uint8)
    out[:] = np.frombuffer(first, dtype=np.uint8)
    for (_, _, matrix), span in zip(_canonical(columns), spans, strict=True):
        values = np.ascontiguousarray(matrix, dtype=span.dtype)
        out[:, span.start : span.stop] = values.view(np.uint8).reshape(rows, -1)
    return out.tobytes()


def _canonical(columns: list[tuple[str, str, np.ndarray]]) -> list[tuple[str, str, np.ndarray]]:
    # The order deterministic serialization writes them in: features, then labels; keys sorted.
    return sorted(columns, key=lambda c: (c[0] != "features", c[1]))


def _value_spans(body: bytes, base: int) -> list[_Span] | None:
    spans = []
    for number, wire, start, stop in _fields(body, 0, len(body)):
        if number not in (1, 2) or wire != 2:
            return None
        span = _entry_values(body, start, stop, base)
        if span is None:
            return None
        spans.append(span)
    return spans


def _encode(columns: list[tuple[str, str, np.ndarray]], row: int) -> bytes:
    record = Record()
    for section, key, matrix in columns:
        tensor = getattr(getattr(record, section)[key], _tensor_kind(matrix.dtype))
        tensor.values.extend(matrix[row].tolist())
    return recordio.encode(record.SerializeToString(deterministic=True))


def _matrix(values: np.ndarray) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim == 1:
        return array.reshape(-1, 1)
    if array.ndim != 2:
        raise ValueError("each column must be a vector or a matrix")
    return array


def _tensor_kind(dtype: np.dtype[Any]) -> str:
    # As the SDK resolves them: int -> Int32, float64 -> Float64, float32 -> Float32.
    if dtype.kind in "iub":
        return "int32_tensor"
    if dtype == np.float64:
        return "float64_tensor"
    if dtype == np.float32:
        return "float32_tensor"
    raise ValueError(f"unsupported dtype {dtype}: use float32, float64 or integers")
