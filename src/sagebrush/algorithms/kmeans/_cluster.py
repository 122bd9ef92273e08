"""SageMaker's two-stage k-means, built from scikit-learn's mini-batch and Lloyd k-means.

Stage one streams the records through ``MiniBatchKMeans`` in order, ``mini_batch_size``
at a time, keeping ``k * extra_center_factor`` candidate centers (more centers than asked
for make the stream less sensitive to its start). Stage two weighs each candidate by the
records closest to it and runs Lloyd's algorithm on the weighted candidates several
times, keeping the trial with the least loss: SageMaker's "shrinking" of K centers to k.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans

from sagebrush.algorithms.kmeans._model import closest

_SKLEARN_INIT = {"random": "random", "kmeans++": "k-means++"}

Log = Callable[[str], None]


@dataclass(frozen=True)
class Settings:
    k: int
    mini_batch_size: int = 5000
    epochs: int = 1
    init_method: str = "random"
    extra_center_factor: int = 10
    local_lloyd_max_iter: int = 300
    local_lloyd_tol: float = 1e-4
    local_lloyd_init_method: str = "kmeans++"
    local_lloyd_num_trials: int = 10
    seed: int = 0


def fit(
    features: np.ndarray, settings: Settings, log: Log = print, *, host: str = "algo-1"
) -> np.ndarray:
    """``settings.k`` centers for the rows of ``features`` (at least ``k`` of them)."""
    candidates = stream(features, settings, log, host=host)
    index, _ = closest(features, candidates)
    weights = np.bincount(index, minlength=len(candidates)).astype(np.float64)
    used = weights > 0
    if used.sum() < settings.k:
        # Too few live candidates to shrink from (tiny batches, duplicate records): the
        # local stage runs on the records themselves instead.
        log(
            f"{int(used.sum())} of {len(candidates)} centers hold records, fewer than "
            f"k={settings.k}: shrinking from the {len(features)} records instead"
        )
        return shrink(features, np.ones(len(features)), settings, log)
    return shrink(candidates[used], weights[used], settings, log)


def stream(
    features: np.ndarray, settings: Settings, log: Log = print, *, host: str = "algo-1"
) -> np.ndarray:
    """Stage one: mini-batch k-means over the records in order, ``epochs`` passes."""
    rows = len(features)
    batch = min(settings.mini_batch_size, rows)
    wanted = settings.k * settings.extra_center_factor
    # The first batch initializes the centers, so it must hold at least one record each.
    first = min(rows, max(batch, wanted))
    count = min(wanted, first)
    if batch < settings.mini_batch_size:
        log(
            f"Batch size {settings.mini_batch_size} is bigger than the data: the effective "
            f"batch size is {batch}"
        )
    if count < wanted:
        log(f"{rows} records: keeping {count} centers instead of {wanted} while streaming")
    model = MiniBatchKMeans(
        n_clusters=count,
        init=_SKLEARN_INIT[settings.init_method],
        batch_size=batch,
        init_size=first,
        n_init=1,
        random_state=settings.seed,
    )
    for epoch in range(settings.epochs):
        start = 0
        while start < rows:
            stop = start + (first if epoch == 0 and start == 0 else batch)
            model.partial_fit(features[start:stop])
            start = stop
        done = 100.0 * (epoch + 1) / settings.epochs
        log(f"#progress_metric: host={host}, completed {done:.1f} % of epochs")
    return np.asarray(model.cluster_centers_, dtype=np.float64)


def shrink(
    points: np.ndarray, weights: np.ndarray, settings: Settings, log: Log = print
) -> np.ndarray:
    """Stage two: the best of ``local_lloyd_num_trials`` weighted Lloyd runs to ``k`` centers."""
    log(f"shrinking {len(points)} centers into {settings.k}")
    total = float(weights.sum())
    best: KMeans | None = None
    for trial in range(settings.local_lloyd_num_trials):
        model = KMeans(
            n_clusters=settings.k,
            init=_SKLEARN_INIT[settings.local_lloyd_init_method],
            n_init=1,
            max_iter=settings.local_lloyd_max_iter,
            tol=settings.local_lloyd_tol,
            random_state=settings.seed + trial,
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(points, sample_weight=weights)
        for warning in caught:
            log(f"local kmeans attempt #{trial}: {warning.message}")
        log(
            f"local kmeans attempt #{trial}. Current mean square distance "
            f"{model.inertia_ / total:.6f}"
        )
        if best is None or model.inertia_ < best.inertia_:
            best = model
    assert best is not None  # local_lloyd_num_trials >= 1
    log(f"finished shrinking process. Mean Square Distance = {best.inertia_ / total:.6f}")
    return np.asarray(best.cluster_centers_, dtype=np.float64)
