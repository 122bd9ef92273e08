"""Inference for the built-in k-NN: the predicted label, and with ``verbose=true`` the
neighbours' distances and labels."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Self

import numpy as np

from sagebrush.algorithms.data import CSV, JSON, JSONLINES, RECORDIO_PROTOBUF, ContentType
from sagebrush.algorithms.knn._index import Index
from sagebrush.algorithms.serving.codecs import Column
from sagebrush.algorithms.serving.features import FeatureRuntime, Rows


class Runtime(FeatureRuntime):
    request_types = (CSV, JSON, JSONLINES, RECORDIO_PROTOBUF)
    response_types = (JSON, JSONLINES, RECORDIO_PROTOBUF)
    default_request = CSV

    def __init__(self, environment: Mapping[str, str], index: Index) -> None:
        super().__init__(environment)
        self.index = index

    @classmethod
    def load(cls, model_dir: Path, environment: Mapping[str, str]) -> Self:
        return cls(environment, Index.load(model_dir))

    @property
    def feature_dim(self) -> int:
        return self.index.feature_dim

    def predict(self, rows: Rows, accept: ContentType) -> list[Column]:
        found = self.index.query(np.asarray(rows))
        columns = [Column("predicted_label", found.predicted)]
        if accept.params.get("verbose", "").lower() == "true":
            columns += [Column("distances", found.distances), Column("labels", found.labels)]
        return columns
