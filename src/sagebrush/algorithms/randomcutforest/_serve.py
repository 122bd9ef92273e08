"""Inference for the built-in Random Cut Forest: an anomaly score per record."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Self

import numpy as np

from sagebrush.algorithms.data import CSV, JSON, JSONLINES, RECORDIO_PROTOBUF, parse_content_type
from sagebrush.algorithms.errors import InferenceError, unsupported_content_type
from sagebrush.algorithms.randomcutforest._forest import MODEL_FILE, Forest, load
from sagebrush.algorithms.serving.codecs import Column, decode_features, encode, negotiate
from sagebrush.algorithms.serving.runtime import NO_CONTENT, ModelRuntime, Prediction

REQUEST_TYPES = (CSV, JSON, JSONLINES, RECORDIO_PROTOBUF)
# CSV answers are not on SageMaker's RCF response-format page, but Athena's SageMaker
# inference (text/csv both ways) is a documented use of RCF endpoints.
RESPONSE_TYPES = (JSON, JSONLINES, RECORDIO_PROTOBUF, CSV)


class Runtime(ModelRuntime):
    def __init__(self, environment: Mapping[str, str], forest: Forest) -> None:
        super().__init__(environment)
        self.forest = forest

    @classmethod
    def load(cls, model_dir: Path, environment: Mapping[str, str]) -> Self:
        return cls(environment, load(model_dir / MODEL_FILE))

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> Prediction:
        if not body.strip():
            return NO_CONTENT
        request = parse_content_type(content_type, CSV)
        if request.media not in REQUEST_TYPES:
            raise unsupported_content_type(str(content_type), REQUEST_TYPES)
        answer = negotiate(accept, RESPONSE_TYPES, JSON)
        try:
            label_size = request.int_param("label_size", 0)
        except ValueError as exc:
            raise InferenceError(400, f"Content type {content_type}: {exc}") from None
        rows = dense_rows(body, request.media, label_size)
        if rows.shape[1] != self.forest.features:
            raise InferenceError(
                400,
                f"Each record needs {self.forest.features} features; "
                f"the request has {rows.shape[1]}",
            )
        scores = self.forest.score(rows).astype(np.float32)
        body = encode([Column("score", scores)], answer, json_key="scores")
        return Prediction(body, answer.media)


def dense_rows(body: bytes, media: str, label_size: int) -> np.ndarray:
    """The request's records as a float32 matrix; a CSV request may lead with labels."""
    features = decode_features(body, parse_content_type(media, media))
    if isinstance(features, np.ndarray):
        rows = np.asarray(features, dtype=np.float32)
    else:
        rows = np.asarray(features.toarray(), dtype=np.float32)
    if media == CSV and label_size:
        rows = rows[:, label_size:]
    if not np.isfinite(rows).all():
        raise InferenceError(400, "The request has missing, NaN or infinite feature values")
    return rows
