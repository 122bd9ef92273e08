"""Inference for the built-in K-Means: each record's closest cluster and its distance."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Self

import numpy as np

from sagebrush.algorithms.data import CSV, JSON, JSONLINES, RECORDIO_PROTOBUF, ContentType
from sagebrush.algorithms.kmeans._model import KMeansModel
from sagebrush.algorithms.serving.codecs import Column
from sagebrush.algorithms.serving.features import FeatureRuntime, Rows


class Runtime(FeatureRuntime):
    request_types = (CSV, JSON, JSONLINES, RECORDIO_PROTOBUF)
    # "K-Means response formats": JSON, JSON Lines, RecordIO-protobuf and CSV.
    response_types = (JSON, JSONLINES, RECORDIO_PROTOBUF, CSV)
    dense = np.float64

    def __init__(self, model: KMeansModel, environment: Mapping[str, str]) -> None:
        super().__init__(environment)
        self.model = model

    @classmethod
    def load(cls, model_dir: Path, environment: Mapping[str, str]) -> Self:
        return cls(KMeansModel.load(model_dir), environment)

    @property
    def feature_dim(self) -> int:
        return self.model.feature_dim

    def predict(self, rows: Rows, accept: ContentType) -> list[Column]:
        cluster, distance = self.model.assign(np.asarray(rows))
        # Both are float32 in SageMaker's answers, the cluster index too (1.0, not 1).
        return [
            Column("closest_cluster", cluster.astype(np.float32)),
            Column("distance_to_cluster", distance.astype(np.float32)),
        ]
