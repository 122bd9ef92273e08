"""Training for Factorization Machines (``python -m sagebrush.algorithms.factorization_machines``).

Reads ``train`` (and ``test``) as RecordIO-protobuf Float32 records, dense or sparse,
trains with ``_fit``, logs the training metrics after every epoch and the test metrics
once, and writes ``model/model_algo-1``.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import fbeta_score

from sagebrush.algorithms._instance import ClientError, Instance
from sagebrush.algorithms.data import RECORDIO_PROTOBUF, load_channel
from sagebrush.algorithms.data.labels import labelled, require_binary
from sagebrush.algorithms.factorization_machines._fit import fit
from sagebrush.algorithms.factorization_machines._model import (
    FactorizationMachine,
    Matrix,
    squared,
)
from sagebrush.algorithms.factorization_machines._params import BINARY, Settings, settings
from sagebrush.algorithms.metrics import log_metric

CHANNELS = ("train", "test")


def _load(instance: Instance, channel: str, config: Settings) -> tuple[Matrix, np.ndarray]:
    dataset = load_channel(
        instance, channel, default_content_type=RECORDIO_PROTOBUF, supported=(RECORDIO_PROTOBUF,)
    )
    features, labels = labelled(dataset, channel, config.feature_dim)
    if config.predictor_type == BINARY:
        require_binary(labels, channel)
    return features, labels


def quality(
    model: FactorizationMachine, features: Matrix, squares: Matrix, labels: np.ndarray
) -> list[tuple[str, float, str]]:
    """SageMaker's FM metrics on one data set: (name, value, "loss" or "score")."""
    raw = model.raw(features, squares)
    if model.predictor_type != BINARY:
        return [("rmse", float(np.sqrt(np.mean((raw - labels) ** 2))), "loss")]
    predicted = model.labels(model.scores(raw))
    truth, guess = labels.astype(np.int64), predicted.astype(np.int64)
    f1 = fbeta_score(truth, guess, beta=1.0, zero_division=0.0)
    return [
        ("binary_classification_accuracy", float(np.mean(predicted == labels)), "score"),
        (
            "binary_classification_cross_entropy",
            float(np.mean(np.logaddexp(0.0, raw) - labels * raw)),
            "loss",
        ),
        ("binary_f_1.000", float(f1), "score"),
    ]


def train(instance: Instance) -> None:
    config = settings(instance.hyperparameters)
    if "train" not in instance.channels:
        raise ClientError("Channel 'train' is required for Factorization Machines training")
    for name in instance.channels:
        if name not in CHANNELS:
            raise ClientError(
                f"Channel '{name}' is not supported by Factorization Machines: "
                f"use {', '.join(CHANNELS)}"
            )
    features, labels = _load(instance, "train", config)
    test = _load(instance, "test", config) if "test" in instance.channels else None
    squares = squared(features)
    host = instance.current_host

    def after_epoch(epoch: int, model: FactorizationMachine) -> None:
        for name, value, kind in quality(model, features, squares, labels):
            log_metric("train", name, value, host=host, kind=kind, epoch=epoch)

    try:
        model = fit(config, features, labels, after_epoch)
    except FloatingPointError as exc:
        raise ClientError(
            f"Training diverged ({exc}): lower the learning rates or set clip_gradient"
        ) from None
    if test is not None:
        for name, value, kind in quality(model, test[0], squared(test[0]), test[1]):
            log_metric("test", name, value, host=host, kind=kind)
    model.save(instance.model_dir)
