"""What the built-in XGBoost reports each round, and what it keeps while it trains.

- The algorithm's own metrics (``accuracy``, ``f1``, ``mse``, ``r2``...): scikit-learn over
  the booster's margins (raw scores), as SageMaker's container computes them — class labels
  are ``margin > 0`` (binary) or the largest margin (multi-class); regression metrics see
  the margin itself; instance weights are not used.
- ``SageMakerLog``: one line per round, ``[3]#011train-auc:0.98765#011validation-auc:...``,
  the container's evaluation line as CloudWatch shows it (tabs written as ``#011``).
- ``Checkpoints``: ``xgboost-checkpoint.<round>`` files, the newest five kept, from which a
  restarted job resumes; ``IntermediateModel``: the model so far, rewritten every round.
"""

from __future__ import annotations

import functools
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sagebrush.algorithms.xgboost._lib import xgb

CHECKPOINT = "xgboost-checkpoint"
MetricFunction = Callable[[np.ndarray, xgb.DMatrix], list[tuple[str, float]]]


def _class_labels(margins: np.ndarray) -> np.ndarray:
    if margins.ndim > 1:
        return np.asarray(np.argmax(margins, axis=-1))
    return (margins > 0.0).astype(int)


Scorer = Callable[[np.ndarray, np.ndarray], float]


@functools.cache
def _scorers() -> dict[str, Scorer]:
    from sklearn import metrics as m  # only when asked for: a slow import

    def classes(function: Callable[..., Any], **options: str) -> Scorer:
        def score(labels: np.ndarray, margins: np.ndarray) -> float:
            if margins.size == 0:
                return 0.0
            return float(function(labels, _class_labels(margins), **options))

        return score

    def rmse(labels: np.ndarray, margins: np.ndarray) -> float:
        return float(np.sqrt(m.mean_squared_error(labels, margins)))

    return {
        "accuracy": classes(m.accuracy_score),
        "balanced_accuracy": classes(m.balanced_accuracy_score),
        "f1": classes(m.f1_score, average="macro"),  # the container's f1 is the macro mean
        "f1_binary": classes(m.f1_score, average="binary"),
        "f1_macro": classes(m.f1_score, average="macro"),
        "precision": classes(m.precision_score),
        "precision_macro": classes(m.precision_score, average="macro"),
        "precision_micro": classes(m.precision_score, average="micro"),
        "recall": classes(m.recall_score),
        "recall_macro": classes(m.recall_score, average="macro"),
        "recall_micro": classes(m.recall_score, average="micro"),
        "mse": lambda labels, margins: float(m.mean_squared_error(labels, margins)),
        "rmse": rmse,
        "mae": lambda labels, margins: float(m.mean_absolute_error(labels, margins)),
        "r2": lambda labels, margins: float(m.r2_score(labels, margins)),
    }


class CustomMetrics(xgb.callback.TrainingCallback):
    """The container's metrics, computed on margins; ``function`` goes to ``custom_metric``.

    xgboost hands a custom metric transformed predictions (probabilities); SageMaker's
    container was written against margins, so the booster (kept from ``before_training``)
    is asked for them — from its prediction cache, as the round's evaluation just ran.
    """

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)
        self.booster: xgb.Booster | None = None

    def before_training(self, model: Any) -> Any:
        self.booster = model
        return model

    def function(self, _predictions: np.ndarray, data: xgb.DMatrix) -> list[tuple[str, float]]:
        assert self.booster is not None
        margins = self.booster.predict(data, output_margin=True)
        labels = data.get_label()
        with warnings.catch_warnings():
            # Undefined precision/recall on a round without positives: scikit-learn warns
            # and answers 0, as in the container's log.
            warnings.simplefilter("ignore")
            scorers = _scorers()
            return [(name, scorers[name](labels, margins)) for name in self.names]


def _round(model: Any) -> int:
    # xgboost counts epochs from 0 in every call, even one continuing a model: name
    # rounds by the booster's own count instead.
    return int(model.num_boosted_rounds()) - 1


class SageMakerLog(xgb.callback.TrainingCallback):
    def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, Any]) -> bool:
        parts = [
            f"{data}-{metric}:{_last(values):.5f}"
            for data, metrics in evals_log.items()
            for metric, values in metrics.items()
        ]
        if parts:
            print(f"[{_round(model)}]#011" + "#011".join(parts), flush=True)
        return False


def _last(values: list[Any]) -> float:
    value = values[-1]
    return float(value[0] if isinstance(value, tuple) else value)


class Checkpoints(xgb.callback.TrainingCallback):
    KEEP = 5

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, Any]) -> bool:
        self.directory.mkdir(parents=True, exist_ok=True)
        save_atomically(model, self.directory / f"{CHECKPOINT}.{_round(model)}")
        for stale in checkpoints(self.directory)[: -self.KEEP]:
            stale.unlink(missing_ok=True)
        return False


class IntermediateModel(xgb.callback.TrainingCallback):
    """``save_model_on_termination``: a stopped job still leaves the rounds it finished."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, Any]) -> bool:
        save_atomically(model, self.path)
        return False


def checkpoints(directory: Path) -> list[Path]:
    """``xgboost-checkpoint.<n>`` files, oldest first."""
    found = []
    for path in directory.glob(f"{CHECKPOINT}.*"):
        suffix = path.name[len(CHECKPOINT) + 1 :]
        if suffix.isdigit():
            found.append((int(suffix), path))
    return [path for _, path in sorted(found)]


def save_atomically(booster: xgb.Booster, path: Path) -> None:
    # xgboost's own format (UBJSON), written whole or not at all.
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".", delete=False) as out:
        out.write(booster.save_raw(raw_format="ubj"))
    Path(out.name).replace(path)
