"""The inference shape Amazon's algorithms share: rows of features in, named columns out.

A runtime declares the request and response types its algorithm documents and how many
features a record has; ``FeatureRuntime.invoke`` does the rest of SageMaker's contract —
204 for an empty body, 415 for a request type it does not read, 406 for an Accept it
cannot write, 400 for rows it cannot use — and ``predict`` only computes the columns.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar, TypeAlias

import numpy as np
import scipy.sparse as sp

from sagebrush.algorithms.data import CSV, JSON, ContentType, parse_content_type
from sagebrush.algorithms.errors import InferenceError, unsupported_content_type
from sagebrush.algorithms.serving.codecs import Column, decode_features, encode, negotiate
from sagebrush.algorithms.serving.runtime import NO_CONTENT, ModelRuntime, Prediction

Rows: TypeAlias = np.ndarray | sp.csr_matrix


class FeatureRuntime(ModelRuntime):
    request_types: ClassVar[tuple[str, ...]]
    response_types: ClassVar[tuple[str, ...]]
    # What a request without a Content-Type is read as ("": refused with 415).
    default_request: ClassVar[str] = ""
    default_accept: ClassVar[str] = JSON
    json_key: ClassVar[str] = "predictions"
    # The dtype ``predict`` gets dense rows in; None: rows as decoded (sparse stays sparse).
    dense: ClassVar[type[np.floating[Any]] | None] = np.float32

    @property
    @abstractmethod
    def feature_dim(self) -> int: ...

    @abstractmethod
    def predict(self, rows: Rows, accept: ContentType) -> list[Column]: ...

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> Prediction:
        if not body.strip():
            return NO_CONTENT
        request = parse_content_type(content_type, self.default_request)
        if request.media not in self.request_types:
            raise unsupported_content_type(content_type or "", self.request_types)
        answer = negotiate(accept, self.response_types, self.default_accept)
        rows = request_rows(body, request, self.feature_dim, dense=self.dense)
        return Prediction(
            encode(self.predict(rows, answer), answer, json_key=self.json_key), answer.media
        )


def request_rows(
    body: bytes, request: ContentType, width: int, *, dense: type[np.floating[Any]] | None
) -> Rows:
    """The request's records at ``width`` features; 400 when they cannot be that.

    A CSV request may lead with ``label_size`` label columns, which are dropped. Sparse rows
    name only the features they use, so a narrower sparse matrix is widened.
    """
    try:
        label_size = request.int_param("label_size", 0)
    except ValueError as exc:
        raise InferenceError(400, f"Content type {request}: {exc}") from None
    rows = decode_features(body, request)
    if request.media == CSV and label_size:
        rows = rows[:, label_size:]
    columns = int(rows.shape[1])
    if isinstance(rows, sp.csr_matrix) and columns < width:
        rows = sp.csr_matrix((rows.data, rows.indices, rows.indptr), shape=(rows.shape[0], width))
    elif columns != width:
        raise InferenceError(
            400, f"Each record needs {width} features (feature_dim); the request has {columns}"
        )
    if dense is None:
        return rows
    matrix = np.asarray(rows.toarray() if isinstance(rows, sp.csr_matrix) else rows, dtype=dense)
    if not np.isfinite(matrix).all():
        raise InferenceError(400, "The request has missing, NaN or infinite feature values")
    return matrix
