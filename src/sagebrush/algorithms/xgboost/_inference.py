"""Request and response formats of the built-in XGBoost's model server.

Requests: ``text/csv`` (features only, no label; an empty cell is a missing value),
``text/libsvm`` / ``text/x-libsvm`` (``<label> <index>:<value> ...``, the label ignored,
indices 0-based as in training), ``application/x-recordio-protobuf`` (the ``values`` of each
record) and ``application/x-parquet`` (every column a feature). A request without a
Content-Type is read as libsvm, as SageMaker's container does.

Responses hold each row's prediction: the float32 xgboost returns, written in full (the
double it widens to, ``0.4000000059604645``), or a list per row for ``multi:softprob``:

- ``text/csv``: the predictions comma-separated on one line for an endpoint, one per line
  (each line ended) under batch transform (``SAGEMAKER_BATCH``);
- ``application/json``: ``{"predictions": [{"score": 0.4000000059604645}, ...]}``;
- ``application/jsonlines``: ``{"score": ...}`` per line, each line ended;
- ``application/x-recordio-protobuf``: a record per row, its label ``score``.

With ``SAGEMAKER_INFERENCE_OUTPUT`` (``predicted_label,probabilities``...) classification
models answer the selected keys instead (``selected``), as the container's "selectable
inference output" does.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import scipy.sparse as sp

from sagebrush.algorithms.data import recordio_protobuf
from sagebrush.algorithms.data.content_types import CSV, JSON, JSONLINES, RECORDIO_PROTOBUF
from sagebrush.algorithms.errors import InferenceError
from sagebrush.algorithms.serving.codecs import libsvm_matrix

PREDICTED_LABEL = "predicted_label"
LABELS = "labels"
PROBABILITY = "probability"
PROBABILITIES = "probabilities"
RAW_SCORE = "raw_score"
RAW_SCORES = "raw_scores"
PREDICTED_SCORE = "predicted_score"
_CLASSIFIER = [PREDICTED_LABEL, LABELS, RAW_SCORE, RAW_SCORES]
_PROBABILISTIC = [PREDICTED_LABEL, LABELS, PROBABILITY, PROBABILITIES, RAW_SCORE, RAW_SCORES]
# The keys each objective can answer, in the order the container writes them.
SELECTABLE = {
    "reg:squarederror": [PREDICTED_SCORE],
    "reg:logistic": [PREDICTED_SCORE],
    "reg:gamma": [PREDICTED_SCORE],
    "reg:tweedie": [PREDICTED_SCORE],
    "binary:logistic": _PROBABILISTIC,
    "binary:logitraw": _CLASSIFIER,
    "binary:hinge": _CLASSIFIER,
    "multi:softmax": _CLASSIFIER,
    "multi:softprob": _PROBABILISTIC,
}
_ORDER = [PREDICTED_LABEL, LABELS, PROBABILITY, PROBABILITIES, RAW_SCORE, RAW_SCORES]


# -- requests --------------------------------------------------------------------------


def csv_rows(body: bytes, *, threads: bool = True) -> np.ndarray:
    """The rows as a float32 matrix: each cell parsed as a double, as the container does,
    then narrowed to the float32 xgboost predicts on. ``threads``: let pyarrow parse a large
    body on every core (an endpoint's one request), or on this thread only (batch
    transform, whose instances already keep every core busy)."""
    if len(body) >= _ARROW_CSV_BYTES:
        matrix = _arrow_csv_rows(body, threads)
        if matrix is not None:
            return matrix
    text = body.decode("utf-8").strip()
    lines = [line.rstrip("\r") for line in text.split("\n")]
    delimiter = _delimiter(lines[0])
    rows = [[cell.strip() or "nan" for cell in line.split(delimiter)] for line in lines]
    widths = {len(row) for row in rows}
    if len(widths) != 1:
        raise ValueError(f"rows have different numbers of columns ({sorted(widths)})")
    return np.array(rows, dtype=np.float64).astype(np.float32)


# Batch transform sends up to MaxPayloadInMB of rows in one request: past this size
# pyarrow's reader parses them (~50x faster than splitting strings).
_ARROW_CSV_BYTES = 64 * 1024


def _arrow_csv_rows(body: bytes, threads: bool) -> np.ndarray | None:
    """The rows through pyarrow; None for anything it would not read the way the string
    parser does (the caller then parses, and reports, as usual)."""
    first = body[: body.find(b"\n")].decode("utf-8", "replace")
    options = pa_csv.ParseOptions(delimiter=_delimiter(first))
    read = pa_csv.ReadOptions(
        autogenerate_column_names=True, block_size=1 << 22, use_threads=threads
    )
    try:
        table = pa_csv.read_csv(pa.BufferReader(body), read_options=read, parse_options=options)
    except (pa.ArrowInvalid, ValueError):
        return None
    if any(
        not pa.types.is_floating(c.type)
        and not pa.types.is_integer(c.type)
        and not pa.types.is_null(c.type)
        for c in table.columns
    ):
        return None
    matrix = np.empty((table.num_rows, table.num_columns), dtype=np.float32)
    for i, column in enumerate(table.columns):
        # Doubles (nulls as NaN) narrowed once, column by column, into the row-major matrix.
        matrix[:, i] = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
    return matrix


def _delimiter(line: str) -> str:
    for candidate in (",", "\t", ";", "|", " "):
        if candidate in line.strip():
            return candidate
    return ","


def libsvm_rows(body: bytes, width: int) -> sp.csr_matrix:
    """Rows of ``index:value`` pairs; the label (and ``qid:``) are not features."""
    rows = libsvm_matrix(body.decode("utf-8"), width)
    if rows.shape[1] > width:
        raise InferenceError(
            400,
            f"Feature size of libsvm inference data {rows.shape[1]} is larger than feature "
            f"size of trained model {width}.",
        )
    return rows


def parquet_rows(body: bytes) -> np.ndarray:
    table = pq.read_table(pa.BufferReader(body))
    return np.column_stack(
        [column.cast(pa.float64()).to_numpy(zero_copy_only=False) for column in table.columns]
    )


def recordio_rows(body: bytes) -> np.ndarray | sp.csr_matrix:
    return recordio_protobuf.read(body).features


# -- responses -------------------------------------------------------------------------


def encode_scores(predictions: np.ndarray, accept: str, *, batch: bool) -> bytes:
    rows: list[Any] = predictions.astype(np.float64).tolist()
    if accept == CSV:
        if batch:
            return ("\n".join(map(str, rows)) + "\n").encode() if rows else b""
        return ",".join(str(row) for row in rows).encode()
    if accept == JSON:
        return json.dumps({"predictions": [{"score": row} for row in rows]}).encode()
    if accept == JSONLINES:
        return "".join(json.dumps({"score": row}) + "\n" for row in rows).encode()
    if accept == RECORDIO_PROTOBUF:
        return recordio_protobuf.write_records(None, {"score": predictions.astype(np.float32)})
    raise InferenceError(406, f"Accept type {accept} is not supported")


def selected(
    predictions: np.ndarray, keys: Sequence[str], objective: str, num_class: str
) -> list[dict[str, Any]]:
    """The ``SAGEMAKER_INFERENCE_OUTPUT`` keys of each row; keys the objective can't answer
    are ``NaN``, as in the container."""
    if objective not in SELECTABLE:
        raise InferenceError(
            400,
            f"Objective `{objective}` unsupported for selectable inference predictions "
            "(SAGEMAKER_INFERENCE_OUTPUT)",
        )
    valid = [k for k in SELECTABLE[objective] if k in keys]
    order = [k for k in [*_ORDER, PREDICTED_SCORE] if k in valid]
    invalid = [k for k in dict.fromkeys(keys) if k not in valid]
    out = []
    for row in predictions:
        entry = {key: _value(key, objective, row, num_class) for key in order}
        entry.update({key: float("nan") for key in invalid})
        out.append(entry)
    return out


def _value(key: str, objective: str, row: np.ndarray, num_class: str) -> Any:
    softprob = objective == "multi:softprob"
    if key == LABELS:
        if objective.startswith("binary:"):
            return [0, 1]
        return list(range(int(num_class))) if num_class else float("nan")
    if key == PREDICTED_LABEL:
        if objective in ("binary:hinge", "multi:softmax"):
            return row.item()
        if objective == "binary:logistic":
            return int(row > 0.5)
        if objective == "binary:logitraw":
            return int(row > 0)
        return int(np.argmax(row))
    if key in (PROBABILITY, RAW_SCORE):
        return max(row).item() if softprob else row.item()
    if key in (PROBABILITIES, RAW_SCORES):
        if softprob:
            return row.tolist()
        one = row.item()
        return [1.0 - one, one]
    return row.item()  # predicted_score


def encode_selected(
    entries: list[dict[str, Any]], keys: Sequence[str], accept: str, *, batch: bool
) -> bytes:
    if accept == JSON:
        return json.dumps({"predictions": entries}).encode()
    if accept == JSONLINES:
        return "".join(json.dumps(entry) + "\n" for entry in entries).encode()
    if accept == RECORDIO_PROTOBUF:
        return _selected_records(entries)
    if accept == CSV:
        lines = [",".join(_csv_cell(entry[key]) for key in keys) for entry in entries]
        return ("\n".join(lines) + ("\n" if batch else "")).encode()
    raise InferenceError(406, f"Accept type {accept} is not supported")


def _csv_cell(value: Any) -> str:
    return f'"{value}"' if isinstance(value, list) else str(value)


def _selected_records(entries: list[dict[str, Any]]) -> bytes:
    out = io.BytesIO()
    for entry in entries:
        labels = {
            key: np.asarray([value if isinstance(value, list) else [value]], dtype=np.float32)
            for key, value in entry.items()
        }
        out.write(recordio_protobuf.write_records(None, labels))
    return out.getvalue()
