"""Inference for the built-in PCA: each record's projection onto the components."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Self

import numpy as np

from sagebrush.algorithms.data import CSV, JSON, JSONLINES, RECORDIO_PROTOBUF, ContentType
from sagebrush.algorithms.pca._model import PcaModel
from sagebrush.algorithms.serving.codecs import Column
from sagebrush.algorithms.serving.features import FeatureRuntime, Rows


class Runtime(FeatureRuntime):
    request_types = (CSV, JSON, JSONLINES, RECORDIO_PROTOBUF)
    # "PCA response formats": JSON, JSON Lines and RecordIO-protobuf; no CSV.
    response_types = (JSON, JSONLINES, RECORDIO_PROTOBUF)
    json_key = "projections"
    dense = np.float64

    def __init__(self, model: PcaModel, environment: Mapping[str, str]) -> None:
        super().__init__(environment)
        self.model = model

    @classmethod
    def load(cls, model_dir: Path, environment: Mapping[str, str]) -> Self:
        return cls(PcaModel.load(model_dir), environment)

    @property
    def feature_dim(self) -> int:
        return self.model.feature_dim

    def predict(self, rows: Rows, accept: ContentType) -> list[Column]:
        return [Column("projection", self.model.project(np.asarray(rows)))]
