"""Training for Linear Learner (``python -m sagebrush.algorithms.linear_learner <root>``).

As SageMaker's algorithm does: normalise, train one model per candidate regularisation
(``num_models``), choose the best on the validation data (a sample of the training data
when there is none) by the selection criterion, calibrate the binary threshold on the
same data, log the objective by epoch and the final quality of train, validation and
test, and write ``model/model_algo-1``.
"""

from __future__ import annotations

import itertools
import json

import numpy as np

from sagebrush.algorithms._instance import ClientError, Instance
from sagebrush.algorithms.data import CSV, RECORDIO_PROTOBUF, Dataset, load_channel
from sagebrush.algorithms.data.labels import labelled, require_binary
from sagebrush.algorithms.linear_learner._evaluate import (
    calibrate,
    objective,
    objective_name,
    quality,
)
from sagebrush.algorithms.linear_learner._fit import Candidate, Scaling, fit
from sagebrush.algorithms.linear_learner._model import LinearModel, default_threshold
from sagebrush.algorithms.linear_learner._params import (
    BINARY,
    MULTICLASS,
    Settings,
    settings,
)
from sagebrush.algorithms.linear_learner._sgd import Coefficients, History
from sagebrush.algorithms.metrics import log_metric

CHANNELS = ("train", "validation", "test")


class _Labelled:
    """A channel's rows (float64) and labels, checked for the predictor type."""

    def __init__(self, dataset: Dataset, channel: str, config: Settings, width: int) -> None:
        self.features, self.labels = labelled(dataset, channel, width)
        _check_classes(self.labels, channel, config)


def _check_classes(labels: np.ndarray, channel: str, config: Settings) -> None:
    if config.predictor_type == BINARY:
        require_binary(labels, channel)
    elif config.predictor_type == MULTICLASS:
        wrong = labels[(labels != np.round(labels)) | (labels < 0) | (labels >= config.num_classes)]
        if len(wrong):
            raise ClientError(
                f"Channel '{channel}': labels of a multiclass_classifier must be integers "
                f"from 0 to num_classes - 1 ({config.num_classes - 1}); found {wrong[0]:g}"
            )


def _load(instance: Instance, channel: str, config: Settings, width: int | None) -> _Labelled:
    dataset = load_channel(instance, channel, supported=(CSV, RECORDIO_PROTOBUF))
    return _Labelled(dataset, channel, config, width or dataset.width)


def train(instance: Instance) -> None:
    config = settings(instance.hyperparameters)
    if "train" not in instance.channels:
        raise ClientError("Channel 'train' is required for Linear Learner training")
    for name in instance.channels:
        if name not in CHANNELS:
            raise ClientError(
                f"Channel '{name}' is not supported by Linear Learner: use {', '.join(CHANNELS)}"
            )
    data = _load(instance, "train", config, config.feature_dim)
    width = data.features.shape[1]
    loaded = {
        name: _load(instance, name, config, width)
        for name in ("validation", "test")
        if name in instance.channels
    }
    if config.classifier and len(np.unique(data.labels)) < 2:
        raise ClientError(
            f"Channel 'train' has labels of one class only ({data.labels[0]:g}): "
            "a classifier needs examples of at least two classes"
        )
    model, history, chosen = _search(config, data, loaded.get("validation"))
    _log_history(config, history, instance.current_host)
    print(f"Best model found for hyperparameters: {json.dumps(chosen)}", flush=True)
    for name, channel in (("train", data), *loaded.items()):
        raw = model.raw(channel.features)
        for metric, value, kind in quality(config, model, raw, channel.labels):
            log_metric(name, metric, value, host=instance.current_host, kind=kind)
    model.save(instance.model_dir)


def _search(
    config: Settings, data: _Labelled, validation: _Labelled | None
) -> tuple[LinearModel, History, dict[str, object]]:
    scaling = Scaling.learn(config, data.features, data.labels)
    features = scaling.features(data.features)
    labels = scaling.labels(data.labels) if not config.classifier else data.labels
    calibration = validation or data
    limit = config.num_calibration_samples
    calibration_rows = calibration.features[:limit]
    calibration_labels = calibration.labels[:limit]

    def to_model(coefficients: Coefficients) -> LinearModel:
        weights, bias = scaling.fold(coefficients)
        threshold = default_threshold(config.predictor_type, config.loss)
        return LinearModel(config.predictor_type, config.loss, weights, bias, threshold)

    def monitor(coefficients: Coefficients) -> tuple[float, float | None]:
        model = to_model(coefficients)
        train_value = objective(config, model.raw(data.features), data.labels)
        if validation is None:
            return train_value, None
        return train_value, objective(config, model.raw(validation.features), validation.labels)

    best: tuple[float, LinearModel, History, dict[str, object]] | None = None
    for candidate in _candidates(config):
        coefficients, history = fit(config, candidate, features, labels, monitor)
        model = to_model(coefficients)
        raw = model.raw(calibration_rows)
        if config.predictor_type == BINARY and config.criterion != "loss_function":
            threshold, value = calibrate(config, model.scores(raw), calibration_labels)
            model = model.with_threshold(threshold)
        else:
            value = -objective(config, raw, calibration_labels)
        if best is None or value > best[0]:
            chosen: dict[str, object] = {"wd": candidate.wd, "l1": candidate.l1}
            if config.predictor_type == BINARY:
                chosen["positive_example_weight_mult"] = candidate.positive_weight
                chosen["threshold"] = model.threshold
            best = (value, model, history, chosen)
    assert best is not None
    return best[1], best[2], best[3]


def _candidates(config: Settings) -> list[Candidate]:
    wd = config.wd
    if config.loss in ("quantile_loss", "absolute_loss") and len(wd) > 1:
        wd = (0.0,)  # their exact solver takes an l1 penalty only: let auto choose none
    weights = config.positive_weights if config.predictor_type == BINARY else (1.0,)
    grid = [Candidate(w, l1, p) for w, l1, p in itertools.product(wd, config.l1, weights)]
    if config.loss == "quantile_loss" and grid[0].wd > 0:
        print("[linear-learner] quantile_loss takes no wd (L2) penalty here: wd is ignored")
    return grid[: config.num_models] if config.num_models else grid


def _log_history(config: Settings, history: History, host: str) -> None:
    name = objective_name(config)
    for epoch, (train_value, validation_value) in enumerate(history):
        log_metric("train", name, train_value, host=host, kind="loss", epoch=epoch)
        if validation_value is not None:
            log_metric("validation", name, validation_value, host=host, kind="loss", epoch=epoch)
