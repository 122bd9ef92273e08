"""Training for the built-in PCA (``python -m sagebrush.algorithms.pca <root>``)."""

from __future__ import annotations

import numpy as np
import scipy.linalg
from sklearn.decomposition import PCA
from sklearn.utils.extmath import randomized_svd, svd_flip

from sagebrush.algorithms._instance import ClientError, Instance
from sagebrush.algorithms.data import load_unlabelled
from sagebrush.algorithms.hyperparameters import Bool, Choice, Integer, Schema
from sagebrush.algorithms.metrics import log_metric
from sagebrush.algorithms.pca._model import PcaModel

SCHEMA = Schema(
    Integer("feature_dim", required=True, low=1),
    Integer("mini_batch_size", required=True, low=1),
    Integer("num_components", required=True, low=1),
    Choice("algorithm_mode", ("regular", "randomized"), default="regular"),
    Bool("subtract_mean", default=True),
    Integer("extra_components", -1, low=-1),
    # In SageMaker's own default configuration; nothing to do with them here.
    accepted=("force_dense", "epochs", "_log_level", "_kvstore", "_num_kv_servers", "_num_gpus"),
)
CHANNELS = ("train", "test")
# The randomized SVD is seeded so that a job gives the same model when run again.
SEED = 0


def train(instance: Instance) -> None:
    params = SCHEMA.parse(instance.hyperparameters)
    instance.check_channels("PCA", CHANNELS)
    feature_dim, num_components = params["feature_dim"], params["num_components"]
    if num_components > feature_dim:
        raise ClientError(
            f"Hyperparameter num_components ({num_components}) must not be greater than "
            f"feature_dim ({feature_dim})"
        )
    features = load_unlabelled(instance, "train", feature_dim)
    print(f"{feature_dim} feature(s), {len(features)} record(s) in channel 'train'", flush=True)
    model = fit(
        features,
        num_components,
        randomized=params["algorithm_mode"] == "randomized",
        subtract_mean=params["subtract_mean"],
        extra_components=params["extra_components"],
    )
    host = instance.current_host
    log_metric("train", "explained_variance_ratio", explained(model, features), host=host)
    if "test" in instance.channels:
        test = load_unlabelled(instance, "test", feature_dim)
        log_metric("test", "explained_variance_ratio", explained(model, test), host=host)
        log_metric(
            "test",
            "reconstruction_error",
            reconstruction_error(model, test),
            host=host,
            kind="loss",
        )
    else:
        print("Test data is not provided.", flush=True)
    model.save(instance.model_dir)


def fit(
    features: np.ndarray,
    num_components: int,
    *,
    randomized: bool = False,
    subtract_mean: bool = True,
    extra_components: int = -1,
) -> PcaModel:
    """The top ``num_components`` components of ``features``, in SageMaker's layout."""
    rows, width = features.shape
    if num_components > rows:
        raise ClientError(
            f"Hyperparameter num_components ({num_components}) is greater than the number of "
            f"training records ({rows}): there are at most {rows} principal components"
        )
    oversamples = max(10, num_components) if extra_components == -1 else extra_components
    if subtract_mean:
        pca = PCA(
            n_components=num_components,
            svd_solver="randomized" if randomized else "full",
            n_oversamples=max(oversamples, 1),
            random_state=SEED,
        ).fit(features)
        components, singular, mean = pca.components_, pca.singular_values_, pca.mean_
    elif randomized:
        _, singular, components = randomized_svd(
            features, num_components, n_oversamples=oversamples, random_state=SEED
        )
        mean = np.zeros(width)
    else:
        # PCA always centers; the uncentered decomposition is the plain SVD it is built on.
        u, singular, components = scipy.linalg.svd(features, full_matrices=False)
        _, components = svd_flip(u, components, u_based_decision=False)
        singular, components = singular[:num_components], components[:num_components]
        mean = np.zeros(width)
    # SageMaker's layout lists components weakest first.
    return PcaModel(
        s=np.ascontiguousarray(singular[::-1], dtype=np.float32),
        v=np.ascontiguousarray(components[::-1].T, dtype=np.float32),
        mean=np.asarray(mean, dtype=np.float32).reshape(1, width),
    )


def explained(model: PcaModel, features: np.ndarray) -> float:
    """The share of the data's spread (around the model's mean) the components keep."""
    total = float(np.sum((features - model.mean.astype(np.float64)) ** 2))
    if total == 0.0:
        return 1.0
    residual = float(np.sum((features - model.reconstruct(model.project(features))) ** 2))
    return 1.0 - residual / total


def reconstruction_error(model: PcaModel, features: np.ndarray) -> float:
    residual = features - model.reconstruct(model.project(features))
    return float(np.mean(np.sum(residual**2, axis=1)))
