"""Inference for the built-in LightGBM, in the JumpStart inference script's formats."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

import lightgbm as lgb
import numpy as np

from sagebrush.algorithms.data import CSV, JSON, parse_content_type
from sagebrush.algorithms.errors import InferenceError, unsupported_content_type
from sagebrush.algorithms.lightgbm._data import read_csv
from sagebrush.algorithms.lightgbm._params import BINARY, MULTICLASS, REGRESSION
from sagebrush.algorithms.lightgbm._train import INFO_FILE, MODEL_FILE
from sagebrush.algorithms.serving.codecs import negotiate
from sagebrush.algorithms.serving.runtime import NO_CONTENT, ModelRuntime, Prediction

VERBOSE = "verbose"  # Accept: application/json;verbose adds the predicted labels


class Runtime(ModelRuntime):
    def __init__(self, booster: lgb.Booster, task: str, environment: Mapping[str, str]) -> None:
        super().__init__(environment)
        self.booster = booster
        self.task = task
        self.num_features = booster.num_feature()

    @classmethod
    def load(cls, model_dir: Path, environment: Mapping[str, str]) -> Self:
        path = model_dir / MODEL_FILE
        if not path.is_file():
            raise FileNotFoundError(f"no LightGBM model ({MODEL_FILE}) in {model_dir}")
        booster = lgb.Booster(model_file=str(path))
        info_path = model_dir / INFO_FILE
        info = json.loads(info_path.read_text()) if info_path.is_file() else {}
        return cls(booster, str(info.get("task") or _task_of(path)), environment)

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> Prediction:
        request = parse_content_type(content_type, CSV)
        if request.media != CSV:
            raise unsupported_content_type(content_type or "", [CSV])
        verbose = self._accept(accept)
        if not body.strip():
            return NO_CONTENT
        features = self._features(body)
        scores = np.asarray(self.booster.predict(features), dtype=np.float64)
        output: dict[str, Any] = {}
        if self.task == REGRESSION:
            output["prediction"] = scores.tolist()
        else:
            if scores.ndim == 1:  # binary: the positive class's probability
                scores = np.column_stack([1.0 - scores, scores])
            output["probabilities-1d"] = scores[:, 1:].tolist()
            output["probabilities"] = scores.tolist()
            if verbose:
                output["predicted_label"] = np.argmax(scores, axis=1).tolist()
        return Prediction(json.dumps(output).encode(), JSON)

    def _accept(self, accept: str | None) -> bool:
        """Whether the response is verbose (``;verbose``); 406 unless Accept allows JSON."""
        default = self.environment.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or JSON
        return VERBOSE in negotiate(accept, [JSON], default).params

    def _features(self, body: bytes) -> np.ndarray:
        try:
            features = read_csv(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InferenceError(400, f"Unable to parse the text/csv request: {exc}") from None
        if features.shape[1] != self.num_features:
            raise InferenceError(
                400,
                f"The request has {features.shape[1]} columns; the model takes "
                f"{self.num_features} features (text/csv without the label)",
            )
        return features


def _task_of(model_file: Path) -> str:
    """The task of a model.txt that came without model_info.json: its objective line."""
    with model_file.open() as lines:
        for line in lines:
            if line.startswith("objective="):
                objective = line.removeprefix("objective=")
                if objective.startswith("binary"):
                    return BINARY
                if objective.startswith("multiclass"):
                    return MULTICLASS
                break
            if line.startswith("Tree="):
                break
    return REGRESSION
