"""Training for the built-in k-NN: sample, reduce, index; score the test channel."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from sagebrush.algorithms._instance import ClientError, Instance
from sagebrush.algorithms.data import Dataset, load_channel
from sagebrush.algorithms.hyperparameters import Choice, Integer, Schema
from sagebrush.algorithms.knn._index import Index, projection, sample
from sagebrush.algorithms.metrics import log_metric

PQ_M = (1, 2, 3, 4, 8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 96)
SCHEMA = Schema(
    Integer("feature_dim", required=True, low=1),
    Integer("k", required=True, low=1),
    Choice("predictor_type", ("classifier", "regressor"), required=True),
    Integer("sample_size", required=True, low=1),
    # The data is read whole, so the iterator's batch size has no effect here.
    Integer("mini_batch_size", 5000, low=1),
    Choice("dimension_reduction_type", ("sign", "fjlt")),
    Integer("dimension_reduction_target", low=1),
    Choice("index_type", ("faiss.Flat", "faiss.IVFFlat", "faiss.IVFPQ"), "faiss.Flat"),
    Choice("index_metric", ("L2", "INNER_PRODUCT", "COSINE"), "L2"),
    # Exact search here: the IVF list count and PQ sub-vectors are checked, then unused.
    # faiss_index_ivf_nlists: a count or "auto" (sqrt(sample_size)), which absence also means.
    Integer("faiss_index_ivf_nlists", low=1, auto=True),
    Integer("faiss_index_pq_m", low=1),
)
# SageMaker's k-NN takes no seed: a fixed one makes a job's sample and projection repeatable.
SEED = 0


def parse(raw: dict[str, str]) -> dict[str, Any]:
    params = SCHEMA.parse(raw)
    kind, target = params["dimension_reduction_type"], params["dimension_reduction_target"]
    if kind is not None and target is None:
        raise ClientError(
            "Hyperparameter dimension_reduction_target is required when "
            "dimension_reduction_type is set"
        )
    if kind is not None and target >= params["feature_dim"]:
        raise ClientError(
            f"Hyperparameter dimension_reduction_target ({target}) must be less than "
            f"feature_dim ({params['feature_dim']})"
        )
    if params["index_type"] == "faiss.IVFPQ" and params["index_metric"] != "L2":
        raise ClientError(
            f"index_metric {params['index_metric']} is not supported with index_type "
            "faiss.IVFPQ: use L2"
        )
    if params["faiss_index_pq_m"] is not None and params["faiss_index_pq_m"] not in PQ_M:
        raise ClientError(
            f"Hyperparameter faiss_index_pq_m: value {params['faiss_index_pq_m']} is invalid: "
            f"it must be one of {', '.join(map(str, PQ_M))}"
        )
    return params


def train(instance: Instance) -> None:
    params = parse(instance.hyperparameters)
    data = load_channel(instance, "train")
    labels = _checked(data, params["feature_dim"], "train")
    picks = sample(len(data), params["sample_size"], SEED)
    if params["k"] > len(picks):
        raise ClientError(
            f"Hyperparameter k ({params['k']}) is larger than the number of sampled training "
            f"points ({len(picks)}): lower k or give more data (sample_size is "
            f"{params['sample_size']}, the train channel has {len(data)} records)"
        )
    points = _dense(data.features[picks])
    reduction = np.empty((0, 0), np.float32)
    if params["dimension_reduction_type"] is not None:
        reduction = projection(
            params["dimension_reduction_type"],
            params["dimension_reduction_target"],
            points,
            SEED,
        )
        points = np.asarray(points @ reduction.T, dtype=np.float32)
    index = Index(
        features=np.ascontiguousarray(points),
        labels=labels[picks],
        k=params["k"],
        predictor_type=params["predictor_type"],
        metric=params["index_metric"],
        feature_dim=params["feature_dim"],
        projection=reduction,
        settings=_settings(params),
    )
    print(
        f"Indexed {len(picks)} of {len(data)} training records "
        f"({points.shape[1]} dimensions, {params['index_metric']})",
        flush=True,
    )
    if "test" in instance.channels:
        evaluate(instance, index)
    index.save(instance.model_dir)


def evaluate(instance: Instance, index: Index) -> None:
    test = load_channel(instance, "test")
    truth = _checked(test, index.feature_dim, "test")
    predicted = index.query(_dense(test.features)).predicted.astype(np.float64)
    host = instance.current_host
    if index.predictor_type == "classifier":
        name, kind, value = "accuracy", "score", float(np.mean(predicted == truth))
    else:
        name, kind, value = "mse", "loss", float(np.mean((predicted - truth) ** 2))
    # Amazon's algorithms print both lines; the platform's regexes read the second.
    print(f"#test_score ({host}) : ({name!r}, {value!r})", flush=True)
    log_metric("test", name, value, host=host, kind=kind)


def _checked(data: Dataset, feature_dim: int, channel: str) -> np.ndarray:
    """The channel's labels, after checking its width, labels and values."""
    if data.width != feature_dim:
        raise ClientError(
            f"Channel '{channel}' has {data.width} feature column(s) but hyperparameter "
            f"feature_dim is {feature_dim} (CSV: the label is the first column)"
        )
    if data.labels is None or data.labels.ndim != 1:
        raise ClientError(
            f"Channel '{channel}' needs one label per record: CSV with the label in the "
            "first column (label_size=1), or RecordIO-protobuf records with a label"
        )
    values = data.features.data if sp.issparse(data.features) else data.features
    if not (np.isfinite(values).all() and np.isfinite(data.labels).all()):
        raise ClientError(f"Channel '{channel}' has missing, NaN or infinite values")
    return np.asarray(data.labels, dtype=np.float32)


def _dense(features: Any) -> np.ndarray:
    rows = features.toarray() if sp.issparse(features) else features
    return np.asarray(rows, dtype=np.float32)


def _settings(params: dict[str, Any]) -> dict[str, str]:
    """The hyperparameters inference doesn't need, kept in the artifact for the record."""
    names = [
        "sample_size",
        "index_type",
        "dimension_reduction_type",
        "faiss_index_ivf_nlists",
        "faiss_index_pq_m",
    ]
    return {name: str(params[name]) for name in names if params[name] is not None}
