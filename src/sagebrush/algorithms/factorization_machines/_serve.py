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

from sagebrush.algorithms.data import JSON, JSONLINES, RECORDIO_PROTOBUF, ContentType
from sagebrush.algorithms.factorization_machines._model import FactorizationMachine
from sagebrush.algorithms.factorization_machines._params import BINARY
from sagebrush.algorithms.serving.codecs import Column
from sagebrush.algorithms.serving.features import FeatureRuntime, Rows


class Runtime(FeatureRuntime):
    request_types = (JSON, RECORDIO_PROTOBUF)
    response_types = (JSON, JSONLINES, RECORDIO_PROTOBUF)
    dense = None  # the model takes sparse rows as they are

    def __init__(self, model: FactorizationMachine, environment: Mapping[str, str]) -> None:
        super().__init__(environment)
        self.model = model

    @classmethod
    def load(cls, model_dir: Path, environment: Mapping[str, str]) -> Self:
        return cls(FactorizationMachine.load(model_dir), environment)

    @property
    def feature_dim(self) -> int:
        return self.model.feature_dim

    def predict(self, rows: Rows, accept: ContentType) -> list[Column]:
        scores = self.model.scores(self.model.raw(rows))
        columns = [Column("score", scores.astype(np.float32))]
        if self.model.predictor_type == BINARY:
            columns.append(Column("predicted_label", self.model.labels(scores).astype(np.float32)))
        return columns
