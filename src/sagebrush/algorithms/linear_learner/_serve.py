"""Linear Learner inference: SageMaker's request and response formats (``LL-in-formats``).

Requests: ``text/csv`` (features only; the default when Content-Type is missing),
``application/json``, ``application/jsonlines``, ``application/x-recordio-protobuf``.
Responses: ``application/json`` (default for a missing or ``*/*`` Accept),
``application/jsonlines``, ``application/x-recordio-protobuf``. Linear Learner writes no
CSV responses: ``Accept: text/csv`` is answered 406.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Self

import numpy as np
import scipy.sparse as sp

from sagebrush.algorithms.data import CSV, JSON, JSONLINES, RECORDIO_PROTOBUF, parse_content_type
from sagebrush.algorithms.errors import InferenceError, unsupported_content_type
from sagebrush.algorithms.linear_learner._model import LinearModel
from sagebrush.algorithms.linear_learner._params import REGRESSOR
from sagebrush.algorithms.serving.codecs import Column, decode_features, encode, negotiate
from sagebrush.algorithms.serving.runtime import NO_CONTENT, ModelRuntime, Prediction

REQUEST_TYPES = (CSV, JSON, JSONLINES, RECORDIO_PROTOBUF)
RESPONSE_TYPES = (JSON, JSONLINES, RECORDIO_PROTOBUF)


class Runtime(ModelRuntime):
    def __init__(self, model: LinearModel, environment: Mapping[str, str]) -> None:
        super().__init__(environment)
        self.model = model

    @classmethod
    def load(cls, model_dir: Path, environment: Mapping[str, str]) -> Self:
        return cls(LinearModel.load(model_dir), environment)

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> Prediction:
        if not body.strip():
            return NO_CONTENT
        request = parse_content_type(content_type, CSV)
        if request.media not in REQUEST_TYPES:
            raise unsupported_content_type(content_type or "", REQUEST_TYPES)
        response = negotiate(accept, RESPONSE_TYPES, JSON)
        features = fit_width(decode_features(body, request), self.model.feature_dim)
        model = self.model
        scores = model.scores(model.raw(features))
        columns = [Column("score", scores.astype(np.float32))]
        if model.predictor_type != REGRESSOR:
            labels = model.labels(scores).astype(np.float32)
            columns.append(Column("predicted_label", labels))
        return Prediction(encode(columns, response), response.media)


def fit_width(features: np.ndarray | sp.csr_matrix, width: int) -> np.ndarray | sp.csr_matrix:
    """The request's rows as the model's width; 400 when they have more or fewer features.

    Sparse rows name only the features they use, so a narrower sparse matrix is widened.
    """
    columns = features.shape[1]
    if not isinstance(features, np.ndarray) and columns < width:  # sparse
        return sp.csr_matrix(
            (features.data, features.indices, features.indptr), shape=(features.shape[0], width)
        )
    if columns != width:
        raise InferenceError(
            400, f"The request has {columns} features per record; the model expects {width}"
        )
    return features
