"""Training for the built-in K-Means (``python -m sagebrush.algorithms.kmeans <root>``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from sagebrush.algorithms._instance import ClientError, Instance
from sagebrush.algorithms.data import load_unlabelled
from sagebrush.algorithms.hyperparameters import AUTO, Choice, Float, Integer, JsonList, Schema
from sagebrush.algorithms.kmeans._cluster import Settings, fit
from sagebrush.algorithms.kmeans._model import KMeansModel, closest
from sagebrush.algorithms.metrics import log_metric

_INITS = ("random", "kmeans++")
SCHEMA = Schema(
    Integer("k", required=True, low=1),
    Integer("feature_dim", required=True, low=1),
    Integer("mini_batch_size", 5000, low=1),
    Integer("epochs", 1, low=1),
    Choice("init_method", _INITS, default="random"),
    Integer("extra_center_factor", low=1, auto=True),
    Integer("local_lloyd_max_iter", 300, low=1),
    Float("local_lloyd_tol", 0.0001, low=0.0, high=1.0),
    Choice("local_lloyd_init_method", _INITS, default="kmeans++"),
    Integer("local_lloyd_num_trials", low=1, auto=True),
    Integer("half_life_time_size", 0, low=0),
    JsonList("eval_metrics", ["msd"], allowed=("msd", "ssd")),
    # In SageMaker's own default configuration; nothing to do with them here.
    accepted=(
        "force_dense",
        "_disable_wait_to_read",
        "_enable_profiler",
        "_kvstore",
        "_log_level",
        "_num_gpus",
        "_num_kv_servers",
        "_num_slices",
    ),
)
CHANNELS = ("train", "test")
# What SageMaker's K-Means makes of "auto" (its log: "evaluated to 10"; 10 local trials).
AUTO_CENTER_FACTOR = 10
AUTO_TRIALS = 10


def train(instance: Instance) -> None:
    params = SCHEMA.parse(instance.hyperparameters)
    instance.check_channels("K-Means", CHANNELS)
    metrics = _eval_metrics(params["eval_metrics"])
    features = load_unlabelled(instance, "train", params["feature_dim"])
    k = params["k"]
    if k > len(features):
        raise ClientError(
            f"Hyperparameter k ({k}) is greater than the number of records in channel "
            f"'train' ({len(features)}): k-means needs at least one record per cluster"
        )
    print(f"{params['feature_dim']} feature(s), {len(features)} record(s) in channel 'train'")
    host = instance.current_host
    centers = fit(features, settings(params), lambda line: print(line, flush=True), host=host)
    model = KMeansModel(centers=centers.astype(np.float32))
    train_msd = float(squared_distances(model, features).mean())
    log_metric("train", "msd", train_msd, host=host, kind="loss")
    if "test" in instance.channels:
        distances = squared_distances(
            model, load_unlabelled(instance, "test", params["feature_dim"])
        )
        for name in metrics:
            value = distances.mean() if name == "msd" else distances.sum()
            log_metric("test", name, float(value), host=host, kind="loss")
    else:
        print("Test data is not provided.", flush=True)
    model.save(instance.model_dir)


def settings(params: dict[str, Any]) -> Settings:
    # Unset (None) means "auto", SageMaker's default for both.
    factor, trials = params["extra_center_factor"], params["local_lloyd_num_trials"]
    return Settings(
        k=params["k"],
        mini_batch_size=params["mini_batch_size"],
        epochs=params["epochs"],
        init_method=params["init_method"],
        extra_center_factor=AUTO_CENTER_FACTOR if factor in (None, AUTO) else factor,
        local_lloyd_max_iter=params["local_lloyd_max_iter"],
        local_lloyd_tol=params["local_lloyd_tol"],
        local_lloyd_init_method=params["local_lloyd_init_method"],
        local_lloyd_num_trials=AUTO_TRIALS if trials in (None, AUTO) else trials,
    )


def squared_distances(model: KMeansModel, features: np.ndarray) -> np.ndarray:
    _, distance = closest(features, model.centers)
    return distance**2


def _eval_metrics(names: list[Any]) -> list[str]:
    if not names:
        raise ClientError(
            'Hyperparameter eval_metrics: value [] is invalid: it must list "msd", "ssd" or both'
        )
    return list(dict.fromkeys(str(n) for n in names))
