"""Training for the built-in XGBoost (``python -m sagebrush.algorithms.xgboost <root>``)."""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from sagebrush.algorithms._instance import ClientError, Instance
from sagebrush.algorithms.xgboost import _data, _params
from sagebrush.algorithms.xgboost._lib import xgb
from sagebrush.algorithms.xgboost._metrics import (
    CHECKPOINT,
    Checkpoints,
    CustomMetrics,
    IntermediateModel,
    SageMakerLog,
    checkpoints,
    save_atomically,
)

MODEL_FILE = _data.MODEL_FILE
OPT_ML = "/opt/ml"


def train(instance: Instance) -> None:
    config = _params.parse(instance.hyperparameters)
    _data.check_channels(instance)
    begin = time.perf_counter()
    dtrain = _data.load(instance, "train", csv_weights=config.csv_weights)
    _info(
        f"Train matrix has {dtrain.num_row()} rows and {dtrain.num_col()} columns "
        f"(read in {time.perf_counter() - begin:.2f} s)"
    )
    evals = [(dtrain, "train")]
    if "validation" in instance.channels:
        dvalid = _data.load(instance, "validation", csv_weights=config.csv_weights)
        _info(f"Validation matrix has {dvalid.num_row()} rows")
        evals.append((dvalid, "validation"))
    threads = config.params.get("nthread", "xgboost's default")
    omp = os.environ.get("OMP_NUM_THREADS", "unset")
    _info(f"Training with nthread={threads} (OMP_NUM_THREADS={omp}, {os.cpu_count()} CPUs)")
    begin = time.perf_counter()
    booster = fit(instance, config, evals)
    _info(f"Trained {booster.num_boosted_rounds()} rounds in {time.perf_counter() - begin:.2f} s")
    # xgboost's own model file (UBJSON): xgboost.Booster(model_file=...) loads it.
    save_atomically(booster, instance.model_dir / MODEL_FILE)


def fit(
    instance: Instance, config: _params.Config, evals: list[tuple[xgb.DMatrix, str]]
) -> xgb.Booster:
    start, rounds = _starting_point(instance, config)
    callbacks: list[xgb.callback.TrainingCallback] = []
    custom = CustomMetrics(config.custom_metrics) if config.custom_metrics else None
    if custom is not None:
        callbacks.append(custom)
    callbacks.append(SageMakerLog())
    directory = checkpoint_dir(instance)
    if directory is not None:
        callbacks.append(Checkpoints(directory))
    if config.save_model_on_termination:
        callbacks.append(IntermediateModel(instance.model_dir / MODEL_FILE))
    metric = config.early_stopping_metric
    if config.early_stopping_rounds and metric and len(evals) > 1:
        callbacks.append(
            xgb.callback.EarlyStopping(
                rounds=config.early_stopping_rounds,
                metric_name=metric,
                data_name="validation",
                maximize=_params.maximize(metric),
                save_best=True,
            )
        )
    elif config.early_stopping_rounds:
        # As SageMaker's container: early stopping watches the tuning objective or the last
        # eval_metric on the validation channel, and is off without them.
        _info("early_stopping_rounds is ignored: it needs a validation channel and eval_metric")
    try:
        with _warnings_to_log():
            return xgb.train(
                config.params,
                evals[0][0],
                num_boost_round=rounds,
                evals=evals,
                callbacks=callbacks,
                custom_metric=custom.function if custom is not None else None,
                xgb_model=start,
                verbose_eval=False,
            )
    except xgb.core.XGBoostError as exc:
        raise ClientError(f"XGBoost rejected the job's parameters or data: {exc}") from None


def _starting_point(instance: Instance, config: _params.Config) -> tuple[Any, int]:
    """The booster to continue, and how many rounds to add to it.

    A checkpoint (a restarted job) resumes toward ``num_round`` rounds in all; a model in
    the ``model`` channel is continued by ``num_round`` more rounds.
    """
    directory = checkpoint_dir(instance)
    if directory is not None:
        found = checkpoints(directory)
        if found:
            done = int(found[-1].name.rsplit(".", 1)[1]) + 1
            _info(f"Resuming from checkpoint {found[-1].name} ({done} rounds done)")
            return str(found[-1]), max(0, config.num_round - done)
    base = _data.model_channel(instance)
    if base is not None:
        _info(f"Continuing the model in channel 'model' ({base.num_boosted_rounds()} rounds)")
    return base, config.num_round


def checkpoint_dir(instance: Instance) -> Path | None:
    """Where checkpoints go: CheckpointConfig's LocalPath, when the job has one.

    SageMaker writes ``input/config/checkpointconfig.json`` for such jobs. Without it, a
    checkpoints directory that already holds XGBoost checkpoints (restored from the job's
    checkpoint S3 URI) is taken as the sign too.
    """
    config = instance.root / "input" / "config" / "checkpointconfig.json"
    if config.exists():
        try:
            local = json.loads(config.read_text()).get("LocalPath") or f"{OPT_ML}/checkpoints"
        except (ValueError, AttributeError):
            local = f"{OPT_ML}/checkpoints"
        path = Path(local)
        if str(instance.root) != OPT_ML and path.is_relative_to(OPT_ML):
            path = instance.root / path.relative_to(OPT_ML)
        return path
    default = instance.root / "checkpoints"
    return default if any(default.glob(f"{CHECKPOINT}.*")) else None


@contextmanager
def _warnings_to_log() -> Iterator[None]:
    """xgboost's warnings (deprecated or unused parameters) go to the job's log, as lines."""

    def show(  # noqa: PLR0917  (warnings.showwarning's signature)
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        print(f"WARNING: {str(message).strip()}", file=sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        yield


def _info(message: str) -> None:
    print(f"INFO: {message}", flush=True)
