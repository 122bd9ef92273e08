"""Training for the built-in XGBoost (``python -m sagebrush.algorithms.xgboost <root>``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from sagebrush.algorithms._instance import ClientError, Instance

# SageMaker-only hyperparameters, not passed to xgboost.train's params.
_PLATFORM = {
    "num_round",
    "early_stopping_rounds",
    "csv_weights",
    "save_model_on_termination",
    "_tuning_objective_metric",
    "_kfold",
    "_num_cv_round",
}
CSV, LIBSVM = "text/csv", "text/libsvm"


def parse_hyperparameters(raw: dict[str, str]) -> tuple[dict[str, Any], int, int | None]:
    if "num_round" not in raw:
        raise ClientError("Missing required hyperparameter: num_round")
    try:
        rounds = int(raw["num_round"])
        early = int(raw["early_stopping_rounds"]) if "early_stopping_rounds" in raw else None
    except ValueError as exc:
        raise ClientError(f"Hyperparameter num_round/early_stopping_rounds: {exc}") from None
    if rounds < 1:
        raise ClientError("Hyperparameter num_round must be at least 1")
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _PLATFORM or key.startswith("sagemaker_"):
            continue
        params[key] = _value(value)
    params.setdefault("verbosity", 0)
    return params, rounds, early


def _value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def load(instance: Instance, channel: str, content_type: str | None) -> xgb.DMatrix:
    files = instance.channel_files(channel)
    if not files:
        raise ClientError(f"No data in channel '{channel}'")
    kind = (content_type or CSV).split(";")[0].strip().lower()
    if kind in ("csv", CSV):
        blocks = []
        for path in files:
            try:
                data = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
            except ValueError as exc:
                raise ClientError(
                    f"Unable to parse CSV file {path.name} in channel '{channel}': {exc}"
                ) from None
            if data.size:
                blocks.append(data)
        if not blocks:
            raise ClientError(f"No rows in channel '{channel}'")
        if len({b.shape[1] for b in blocks}) > 1:
            raise ClientError(f"Files in channel '{channel}' have different column counts")
        table = np.vstack(blocks)
        return xgb.DMatrix(table[:, 1:], label=table[:, 0])
    if kind in ("libsvm", LIBSVM):
        # xgboost's own libsvm parser reads one file: join the channel's files first.
        joined = instance.root.parent / f".{channel}.libsvm"
        with joined.open("wb") as out:
            for path in files:
                chunk = path.read_bytes()
                out.write(chunk if chunk.endswith(b"\n") or not chunk else chunk + b"\n")
        try:
            return xgb.DMatrix(f"{joined}?format=libsvm")
        except xgb.core.XGBoostError as exc:
            raise ClientError(
                f"Unable to parse libsvm data in channel '{channel}': {exc}"
            ) from None
        finally:
            joined.unlink(missing_ok=True)
    raise ClientError(
        f"Content type {content_type} is not supported by XGBoost: use text/csv or text/libsvm"
    )


def train(instance: Instance) -> xgb.Booster:
    params, rounds, early = parse_hyperparameters(instance.hyperparameters)
    channels = instance.channels
    if "train" not in channels:
        raise ClientError("Channel 'train' is required for XGBoost training")
    dtrain = load(instance, "train", channels["train"].get("ContentType"))
    evals = [(dtrain, "train")]
    if "validation" in channels:
        evals.append(
            (load(instance, "validation", channels["validation"].get("ContentType")), "validation")
        )
    try:
        return xgb.train(
            params,
            dtrain,
            num_boost_round=rounds,
            evals=evals,
            early_stopping_rounds=early if len(evals) > 1 else None,
            callbacks=[_SageMakerLog()],
            verbose_eval=False,
        )
    except xgb.core.XGBoostError as exc:
        raise ClientError(f"XGBoost rejected the job's parameters or data: {exc}") from None


class _SageMakerLog(xgb.callback.TrainingCallback):
    def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, Any]) -> bool:
        parts = [
            f"{data}-{metric}:{values[-1]:.5f}"
            for data, metrics in evals_log.items()
            for metric, values in metrics.items()
        ]
        print(f"[{epoch}]#011" + "#011".join(parts), flush=True)
        return False


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    instance = Instance(Path(args[0]))
    try:
        booster = train(instance)
    except ClientError as exc:
        instance.fail(f"ClientError: {exc}")
        print(f"ClientError: {exc}", file=sys.stderr, flush=True)
        return 1
    instance.model_dir.mkdir(parents=True, exist_ok=True)
    # The built-in image's file name and format: xgboost's own binary model file.
    booster.save_model(str(instance.model_dir / "xgboost-model"))
    return 0
