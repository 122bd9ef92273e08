"""Factorization Machines inference: SageMaker's formats (``fm-in-formats``).

Requests: ``application/json`` and ``application/x-recordio-protobuf`` only (SageMaker's
FM reads no CSV: 415). Responses: ``application/json`` (default for a missing or ``*/*``
Accept) ``{"predictions": [{"score": 0.4, "predicted_label": 0.0}]}`` (regressors:
``score`` only), ``application/jsonlines``, ``application/x-recordio-protobuf`` (a
record per row whose label map holds ``score`` and ``predicted_label`` as float32).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Self

import numpy as np
import scipy.sparse as sp

from sagebrush.algorithms.data import JSON, JSONLINES, RECORDIO_PROTOBUF, parse_content_type
from sagebrush.algorithms.errors import InferenceError, unsupported_content_type
from sagebrush.algorithms.factorization_machines._model import FactorizationMachine
from sagebrush.algorithms.factorization_machines._params import BINARY
from sagebrush.algorithms.serving.codecs import Column, decode_features, encode, negotiate
from sagebrush.algorithms.serving.runtime import NO_CONTENT, ModelRuntime, Prediction

REQUEST_TYPES = (JSON, RECORDIO_PROTOBUF)
RESPONSE_TYPES = (JSON, JSONLINES, RECORDIO_PROTOBUF)


class Runtime(ModelRuntime):
    def __init__(self, model: FactorizationMachine, environment: Mapping[str, str]) -> None:
        super().__init__(environment)
        self.model = model

    @classmethod
    def load(cls, model_dir: Path, environment: Mapping[str, str]) -> Self:
        return cls(FactorizationMachine.load(model_dir), environment)

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> Prediction:
        if not body.strip():
            return NO_CONTENT
        request = parse_content_type(content_type, "")
        if request.media not in REQUEST_TYPES:
            raise unsupported_content_type(content_type or "", REQUEST_TYPES)
        response = negotiate(accept, RESPONSE_TYPES, JSON)
        features = _fit_width(decode_features(body, request), self.model.feature_dim)
        scores = self.model.scores(self.model.raw(features))
        columns = [Column("score", scores.astype(np.float32))]
        if self.model.predictor_type == BINARY:
            labels = self.model.labels(scores).astype(np.float32)
            columns.append(Column("predicted_label", labels))
        return Prediction(encode(columns, response), response.media)


def _fit_width(features: np.ndarray | sp.csr_matrix, width: int) -> np.ndarray | sp.csr_matrix:
    """The request's rows at feature_dim; 400 when they have more or fewer features.

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
