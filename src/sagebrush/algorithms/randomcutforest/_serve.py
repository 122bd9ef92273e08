"""Inference for the built-in Random Cut Forest: an anomaly score per record."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Self

import numpy as np

from sagebrush.algorithms.data import CSV, JSON, JSONLINES, RECORDIO_PROTOBUF, ContentType
from sagebrush.algorithms.randomcutforest._forest import Forest, load
from sagebrush.algorithms.serving.codecs import Column
from sagebrush.algorithms.serving.features import FeatureRuntime, Rows


class Runtime(FeatureRuntime):
    request_types = (CSV, JSON, JSONLINES, RECORDIO_PROTOBUF)
    # CSV answers are not on SageMaker's RCF response-format page, but Athena's SageMaker
    # inference (text/csv both ways) is a documented use of RCF endpoints.
    response_types = (JSON, JSONLINES, RECORDIO_PROTOBUF, CSV)
    default_request = CSV
    json_key = "scores"

    def __init__(self, environment: Mapping[str, str], forest: Forest) -> None:
        super().__init__(environment)
        self.forest = forest

    @classmethod
    def load(cls, model_dir: Path, environment: Mapping[str, str]) -> Self:
        return cls(environment, load(model_dir))

    @property
    def feature_dim(self) -> int:
        return self.forest.features

    def predict(self, rows: Rows, accept: ContentType) -> list[Column]:
        return [Column("score", self.forest.score(np.asarray(rows)).astype(np.float32))]
