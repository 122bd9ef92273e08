"""Inference for the built-in XGBoost: the model server of SageMaker's XGBoost image.

``load`` reads every model file in the model directory (``xgboost-model``; several files —
cross-validation folds — are averaged, as the container does). ``invoke`` answers 204 for an
empty body, 415 for a Content-Type it can't read, 406 for an Accept it can't write (the
default is ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``, else ``text/csv``) and 400 for data
it can't parse or whose feature count doesn't fit the model. Formats: see ``_inference``.

Beyond the container, JSON requests (``application/json``: rows as a list of lists, one
row as a list, or the Amazon algorithms' ``{"instances": [{"features": [...]}]}``; and
``application/jsonlines``) are read too, so the SDK's ``JSONSerializer`` works.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from sagebrush.algorithms.data.content_types import (
    CSV,
    JSON,
    JSONLINES,
    LIBSVM,
    PARQUET,
    RECORDIO_PROTOBUF,
    parse_content_type,
)
from sagebrush.algorithms.errors import InferenceError, unsupported_content_type
from sagebrush.algorithms.serving.codecs import decode_features, negotiate
from sagebrush.algorithms.serving.runtime import NO_CONTENT, ModelRuntime, Prediction
from sagebrush.algorithms.xgboost import _inference
from sagebrush.algorithms.xgboost._lib import xgb

SMALL_REQUEST_ROWS = 64
REQUEST_TYPES = (CSV, LIBSVM, RECORDIO_PROTOBUF, PARQUET, JSON, JSONLINES)
ACCEPT_TYPES = (JSON, JSONLINES, RECORDIO_PROTOBUF, CSV)


class Runtime(ModelRuntime):
    def __init__(self, boosters: list[xgb.Booster], environment: Mapping[str, str]) -> None:
        super().__init__(environment)
        self.boosters = boosters
        self._single = False
        self.features = boosters[0].num_features()
        config = json.loads(boosters[0].save_config())["learner"]
        self.objective = str(config["objective"]["name"])
        self.num_class = str(config["learner_model_param"].get("num_class", ""))
        self.default_accept = environment.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or CSV
        selected = environment.get("SAGEMAKER_INFERENCE_OUTPUT")
        self.selected_keys = (
            selected.replace(" ", "").lower().split(",") if selected is not None else None
        )

    @classmethod
    def load(cls, model_dir: Path, environment: Mapping[str, str]) -> Self:
        files = sorted(p for p in model_dir.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise FileNotFoundError(f"no model file in {model_dir}")
        boosters = []
        for path in files:
            booster = xgb.Booster()
            try:
                booster.load_model(bytearray(path.read_bytes()))
            except xgb.core.XGBoostError as exc:
                raise ValueError(f"{path.name} is not an XGBoost model: {exc}") from None
            boosters.append(booster)
        return cls(boosters, environment)

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> Prediction:
        if not body:
            return NO_CONTENT
        request = parse_content_type(content_type, LIBSVM)
        media = request.media
        if media not in REQUEST_TYPES:
            raise unsupported_content_type(content_type or "", REQUEST_TYPES)
        answer = negotiate(accept, ACCEPT_TYPES, self.default_accept).media
        data = self._matrix(body, media)
        predictions = self._predict(data, media)
        if self.selected_keys is not None:
            entries = _inference.selected(
                predictions, self.selected_keys, self.objective, self.num_class
            )
            out = _inference.encode_selected(entries, self.selected_keys, answer, batch=self.batch)
        else:
            out = _inference.encode_scores(predictions, answer, batch=self.batch)
        return Prediction(out, answer)

    def _threads_for(self, rows: int) -> None:
        """One thread for small requests. Spreading a few rows over OpenMP threads costs
        more than it saves, and idle OpenMP threads spin on every core for a while after
        each call — CPU the platform's router and other model servers need."""
        single = rows <= SMALL_REQUEST_ROWS
        if single != self._single:
            threads = 1 if single else 0  # 0: xgboost's default, every core
            for booster in self.boosters:
                booster.set_param({"nthread": threads})
            self._single = single

    def _matrix(self, body: bytes, media: str) -> Any:
        """Dense rows as a float32 array (predicted in place: no DMatrix per request, which
        costs more than the prediction for small requests), sparse rows as a DMatrix."""
        readers: dict[str, Callable[[bytes], Any]] = {
            CSV: lambda b: _inference.csv_rows(b, threads=not self.batch),
            LIBSVM: lambda b: _inference.libsvm_rows(b, self.features),
            RECORDIO_PROTOBUF: _inference.recordio_rows,
            PARQUET: _inference.parquet_rows,
            JSON: lambda b: decode_features(b, parse_content_type(JSON, JSON)),
            JSONLINES: lambda b: decode_features(b, parse_content_type(JSONLINES, JSONLINES)),
        }
        try:
            rows = readers[media](body)
        except InferenceError:
            raise
        except Exception as exc:
            raise InferenceError(
                400, f"Unable to parse the {media} request: {type(exc).__name__}: {exc}"
            ) from None
        width = int(rows.shape[1])
        # As the container allows: the model's width, or one less (a model trained on
        # libsvm counts feature 0 even when the data never used it).
        if media != LIBSVM and width not in (self.features, self.features - 1):
            raise InferenceError(
                400,
                f"Feature size of {media} inference data {width} is not consistent with "
                f"feature size of trained model {self.features}.",
            )
        if sp.issparse(rows):
            return xgb.DMatrix(sp.csr_matrix(rows))
        dense = np.asarray(rows, dtype=np.float32)
        if width < self.features:  # the missing last feature, as a DMatrix would have it
            dense = np.pad(dense, ((0, 0), (0, 1)), constant_values=np.nan)
        return dense

    def _predict(self, data: Any, media: str) -> np.ndarray:
        self._threads_for(data.shape[0] if isinstance(data, np.ndarray) else data.num_row())
        try:
            if isinstance(data, np.ndarray):
                results = [
                    np.asarray(b.inplace_predict(data, validate_features=False))
                    for b in self.boosters
                ]
            else:
                results = [b.predict(data, validate_features=False) for b in self.boosters]
        except xgb.core.XGBoostError as exc:
            raise InferenceError(
                400, f"Unable to evaluate the {media} payload: {exc}".splitlines()[0]
            ) from None
        if len(results) == 1:
            return results[0]
        return np.asarray(np.mean(results, axis=0))
