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

from sagebrush.algorithms.data import CSV, JSON, JSONLINES, RECORDIO_PROTOBUF, ContentType
from sagebrush.algorithms.linear_learner._model import LinearModel
from sagebrush.algorithms.linear_learner._params import REGRESSOR
from sagebrush.algorithms.serving.codecs import Column
from sagebrush.algorithms.serving.features import FeatureRuntime, Rows


class Runtime(FeatureRuntime):
    request_types = (CSV, JSON, JSONLINES, RECORDIO_PROTOBUF)
    response_types = (JSON, JSONLINES, RECORDIO_PROTOBUF)
    default_request = CSV
    dense = None  # the model takes sparse rows as they are

    def __init__(self, model: LinearModel, environment: Mapping[str, str]) -> None:
        super().__init__(environment)
        self.model = model

    @classmethod
    def load(cls, model_dir: Path, environment: Mapping[str, str]) -> Self:
        return cls(LinearModel.load(model_dir), environment)

    @property
    def feature_dim(self) -> int:
        return self.model.feature_dim

    def predict(self, rows: Rows, accept: ContentType) -> list[Column]:
        scores = self.model.scores(self.model.raw(rows))
        columns = [Column("score", scores.astype(np.float32))]
        if self.model.predictor_type != REGRESSOR:
            columns.append(Column("predicted_label", self.model.labels(scores).astype(np.float32)))
        return columns
