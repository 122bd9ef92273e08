"""Inference for the built-in K-Means: each record's closest cluster and its distance."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Self

import numpy as np
import scipy.sparse as sp

from sagebrush.algorithms.data import CSV, JSON, JSONLINES, RECORDIO_PROTOBUF, parse_content_type
from sagebrush.algorithms.errors import InferenceError, unsupported_content_type
from sagebrush.algorithms.kmeans._model import KMeansModel
from sagebrush.algorithms.serving.codecs import Column, decode_features, encode, negotiate
from sagebrush.algorithms.serving.runtime import NO_CONTENT, ModelRuntime, Prediction

REQUEST_TYPES = (CSV, JSON, JSONLINES, RECORDIO_PROTOBUF)
# "K-Means response formats": JSON, JSON Lines, RecordIO-protobuf and CSV.
RESPONSE_TYPES = (JSON, JSONLINES, RECORDIO_PROTOBUF, CSV)


class Runtime(ModelRuntime):
    def __init__(self, model: KMeansModel, environment: Mapping[str, str]) -> None:
        super().__init__(environment)
        self.model = model

    @classmethod
    def load(cls, model_dir: Path, environment: Mapping[str, str]) -> Self:
        return cls(KMeansModel.load(model_dir), environment)

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> Prediction:
        if not body:
            return NO_CONTENT
        request = parse_content_type(content_type, "")
        if request.media not in REQUEST_TYPES:
            raise unsupported_content_type(content_type or "", REQUEST_TYPES)
        answer = negotiate(accept, RESPONSE_TYPES, JSON)
        features = dense_rows(decode_features(body, request), self.model.feature_dim)
        cluster, distance = self.model.assign(features)
        # Both are float32 in SageMaker's answers, the cluster index too (1.0, not 1).
        columns = [
            Column("closest_cluster", cluster.astype(np.float32)),
            Column("distance_to_cluster", distance.astype(np.float32)),
        ]
        return Prediction(encode(columns, answer), answer.media)


def dense_rows(features: np.ndarray | sp.csr_matrix, feature_dim: int) -> np.ndarray:
    """The request's rows as a dense matrix; 400 unless each has ``feature_dim`` values."""
    width = int(features.shape[1])
    if width != feature_dim:
        raise InferenceError(
            400, f"Each record must have {feature_dim} feature(s) (feature_dim); got {width}"
        )
    if isinstance(features, np.ndarray):
        return np.asarray(features, dtype=np.float64)
    return np.asarray(sp.csr_matrix(features).toarray(), dtype=np.float64)
