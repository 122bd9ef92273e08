"""Request and response formats shared by Amazon's algorithms (``cdf-inference``).

Requests: ``text/csv`` (one row per line, no label), ``application/json``
(``{"instances": [{"features": [...]}, {"data": {"features": {"values": [...]}}}]}``,
sparse ``{"keys", "shape", "values"}`` too), ``application/jsonlines`` (one instance per
line) and ``application/x-recordio-protobuf``.

Responses are columns — one value (or vector) per row and name — written as JSON
``{"<key>": [{name: value, ...}, ...]}``, JSON Lines (one object per line), CSV (the
values of a row, comma-separated, a line per row) or RecordIO-protobuf (a record per row
whose ``label`` map holds the columns). Floats are the model's float32 values written in
full (``repr`` of the double they widen to), as SageMaker's containers write them.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from sagebrush.algorithms.data import recordio_protobuf
from sagebrush.algorithms.data.content_types import (
    CSV,
    JSON,
    JSONLINES,
    RECORDIO_PROTOBUF,
    ContentType,
    parse_content_type,
)
from sagebrush.algorithms.errors import InferenceError, unsupported_accept

ANY = "*/*"


@dataclass(frozen=True)
class Column:
    name: str
    values: np.ndarray  # (rows,) or (rows, width)
    integer: bool = False  # JSON writes 1, not 1.0


def negotiate(accept: str | None, supported: Sequence[str], default: str) -> ContentType:
    """The first type in ``accept`` this algorithm can write; ``*/*`` (or no Accept) is
    ``default``, ``type/*`` the default or else the first supported type of that kind.
    Parameters on the accepted type (``;verbose=true``) are kept; 406 when none fits."""
    fallback = parse_content_type(default, default)
    for part in (accept or "").split(",") if accept and accept.strip() else [default]:
        wanted = parse_content_type(part, default)
        wanted.params.pop("q", None)
        if wanted.media in (ANY, "*") or (
            wanted.media.endswith("/*") and fallback.media.startswith(wanted.media[:-1])
        ):
            # The default, with its parameters (SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT may
            # say "application/json;verbose") and any the wildcard brings.
            wanted = replace(fallback, params={**fallback.params, **wanted.params})
        elif wanted.media.endswith("/*"):
            kind = wanted.media[:-1]
            media = next((t for t in supported if t.startswith(kind)), wanted.media)
            wanted = replace(wanted, media=media)
        if wanted.media in supported:
            return wanted
    raise unsupported_accept(accept or default, supported)


# -- requests --------------------------------------------------------------------------


def decode_features(body: bytes, content_type: ContentType) -> np.ndarray | sp.csr_matrix:
    """The request's rows of features; ``InferenceError(400)`` when they can't be read."""
    try:
        if content_type.media == CSV:
            return _csv(body)
        if content_type.media == JSON:
            return _instances(_json_instances(json.loads(body)))
        if content_type.media == JSONLINES:
            lines = [line for line in body.splitlines() if line.strip()]
            return _instances([_json_instance(json.loads(line)) for line in lines])
        if content_type.media == RECORDIO_PROTOBUF:
            return recordio_protobuf.read(body).features
    except InferenceError:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise InferenceError(
            400, f"Unable to parse the {content_type.media} request: {exc}"
        ) from None
    raise InferenceError(415, f"Content type {content_type.media} is not supported")


def libsvm_matrix(text: str, width: int | None = None) -> sp.csr_matrix:
    """Rows of ``index:value`` pairs (the label and ``qid:`` are not features) as a float64
    CSR matrix, ``width`` columns wide (else as wide as the largest index needs)."""
    indices: list[int] = []
    values: list[float] = []
    indptr = [0]
    for line in text.strip().split("\n"):
        for token in line.split():
            key, colon, value = token.partition(":")
            if colon and key != "qid":
                indices.append(int(key))
                values.append(float(value))
        indptr.append(len(indices))
    used = max(indices, default=-1) + 1
    return sp.csr_matrix(
        (np.asarray(values, np.float64), np.asarray(indices, np.int64), np.asarray(indptr)),
        shape=(len(indptr) - 1, max(used, width or 0)),
    )


def _csv(body: bytes) -> np.ndarray:
    text = body.decode("utf-8")
    rows = [line for line in text.splitlines() if line.strip()]
    if not rows:
        raise ValueError("no rows")
    matrix = np.loadtxt(io.StringIO("\n".join(rows)), delimiter=",", dtype=np.float32, ndmin=2)
    return matrix


def _json_instances(payload: Any) -> list[Any]:
    if isinstance(payload, dict):
        if "instances" in payload:
            instances = payload["instances"]
            if not isinstance(instances, list):
                raise ValueError("'instances' must be a list")
            return [_json_instance(i) for i in instances]
        return [_json_instance(payload)]
    if isinstance(payload, list):
        if payload and all(isinstance(v, (int, float)) for v in payload):
            return [payload]
        return [_json_instance(i) for i in payload]
    raise ValueError("expected a JSON object with 'instances'")


def _json_instance(item: Any) -> Any:
    """One instance: a list of numbers, or a sparse ``{"keys","shape","values"}`` dict."""
    if isinstance(item, list):
        return item
    if not isinstance(item, dict):
        raise ValueError("each instance must be an object or a list of numbers")
    if "features" in item:
        return _element(item["features"])
    if "data" in item and isinstance(item["data"], dict):
        data = item["data"]
        if "features" in data:
            return _element(data["features"])
        if len(data) == 1:
            return _element(next(iter(data.values())))
    raise ValueError("an instance needs 'features' or 'data'")


def _element(element: Any) -> Any:
    if isinstance(element, dict):
        if "values" not in element:
            raise ValueError("a features object needs 'values'")
        if element.get("keys"):
            return element
        return element["values"]
    if not isinstance(element, list):
        raise ValueError("features must be a list of numbers")
    return element


def _instances(rows: list[Any]) -> np.ndarray | sp.csr_matrix:
    if not rows:
        raise ValueError("no instances")
    if any(isinstance(r, dict) for r in rows):
        return _sparse_rows(rows)
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise ValueError("instances have different numbers of features")
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), widths.pop())


def _sparse_rows(rows: list[Any]) -> sp.csr_matrix:
    width = 0
    data: list[float] = []
    indices: list[int] = []
    indptr = [0]
    for row in rows:
        if isinstance(row, dict):
            shape = row.get("shape") or []
            if not shape:
                raise ValueError("a sparse instance needs its shape")
            width = max(width, int(shape[-1]))
            keys, values = row["keys"], row["values"]
            if len(keys) != len(values):
                raise ValueError("sparse keys and values differ in length")
        else:
            width = max(width, len(row))
            keys, values = list(range(len(row))), row
        indices.extend(int(k) for k in keys)
        data.extend(float(v) for v in values)
        indptr.append(len(indices))
    return sp.csr_matrix(
        (np.asarray(data, np.float32), np.asarray(indices, np.int64), np.asarray(indptr)),
        shape=(len(rows), width),
    )


# -- responses -------------------------------------------------------------------------


def encode(
    columns: Sequence[Column], accept: ContentType, *, json_key: str = "predictions"
) -> bytes:
    """The rows of ``columns`` in the accepted type."""
    media = accept.media
    if media == RECORDIO_PROTOBUF:
        return recordio_protobuf.write_records(
            None, {c.name: np.asarray(c.values, dtype=np.float32) for c in columns}
        )
    if media == CSV:
        return csv_rows([_python(c) for c in columns])
    rows = _objects(columns)
    if media == JSON:
        return json.dumps({json_key: rows}).encode()
    if media == JSONLINES:
        return "\n".join(json.dumps(r) for r in rows).encode()
    raise InferenceError(406, f"Accept type {media} is not supported")


def csv_rows(columns: Sequence[list[Any]]) -> bytes:
    """A line per row, the row's values comma-separated (vectors flattened in place)."""
    lines = []
    for values in zip(*columns, strict=True):
        cells: list[str] = []
        for value in values:
            if isinstance(value, list):
                cells.extend(repr(v) for v in value)
            else:
                cells.append(repr(value))
        lines.append(",".join(cells))
    return "\n".join(lines).encode()


def _objects(columns: Sequence[Column]) -> list[dict[str, Any]]:
    values = [_python(c) for c in columns]
    names = [c.name for c in columns]
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]


def _python(column: Column) -> list[Any]:
    array = np.asarray(column.values)
    if column.integer:
        return array.astype(np.int64).tolist()  # type: ignore[no-any-return]
    # float32 -> float64 first, so the JSON shows the value the model produced in full.
    return array.astype(np.float64).tolist()  # type: ignore[no-any-return]
