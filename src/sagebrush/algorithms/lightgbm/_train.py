"""Training for the built-in LightGBM (``python -m sagebrush.algorithms.lightgbm <root>``)."""

from __future__ import annotations

import json
from typing import Any

import lightgbm as lgb
import numpy as np

from sagebrush.algorithms._instance import ClientError, Instance
from sagebrush.algorithms.lightgbm import _data, _params
from sagebrush.algorithms.lightgbm._params import REGRESSION, Task

MODEL_FILE = "model.txt"
INFO_FILE = "model_info.json"
VALIDATION, TRAIN = "val", "train"  # the data set names the JumpStart scripts log


class _JobLog:
    """LightGBM's messages, warnings included, go to the job's log, not Python warnings."""

    def info(self, msg: str) -> None:
        print(msg, flush=True)

    def warning(self, msg: str) -> None:
        print(f"[LightGBM] [Warning] {msg}", flush=True)


def train(instance: Instance) -> None:
    lgb.register_logger(_JobLog())
    values = _params.parse(instance.hyperparameters)
    data = _data.load(instance)
    task = _params.resolve_task(values, data.train.labels)
    fit, held = data.train, data.validation
    if held is None:
        fit, held = _data.hold_out(data.train, classification=task.kind != REGRESSION)
    _check_labels(task, fit.labels, held.labels)
    params = _params.lightgbm_params(values, task)
    print(
        f"LightGBM {task.kind} ({task.objective}"
        + (f", {task.num_class} classes" if task.kind != REGRESSION else "")
        + f"): {len(fit.labels)} training rows, {len(held.labels)} validation rows, "
        f"{fit.features.shape[1]} features, metric {','.join(params['metric'])}",
        flush=True,
    )
    booster = fit_booster(params, fit, held, data.categorical, values)
    save(instance, booster, task, data.categorical)


def fit_booster(
    params: dict[str, Any],
    fit: _data.Table,
    held: _data.Table,
    categorical: list[int],
    values: dict[str, Any],
) -> lgb.Booster:
    train_set = lgb.Dataset(fit.features, fit.labels, categorical_feature=categorical or "auto")
    validation_set = lgb.Dataset(held.features, held.labels, reference=train_set)
    log = _IterationLog()
    callbacks: list[Any] = [log]
    stopping = values["early_stopping_rounds"]
    if stopping > 0 and params["boosting"] != "dart":  # LightGBM can't stop dart early
        callbacks.append(lgb.early_stopping(stopping, verbose=False))
    try:
        booster = lgb.train(
            params,
            train_set,
            num_boost_round=values["num_boost_round"],
            valid_sets=[validation_set, train_set],
            valid_names=[VALIDATION, TRAIN],
            callbacks=callbacks,
        )
    except lgb.basic.LightGBMError as exc:
        raise ClientError(f"LightGBM rejected the job's hyperparameters or data: {exc}") from None
    # lightgbm.train returns the model cut at the best iteration (keep_training_booster
    # False): the log shows how far training went.
    if 0 < booster.best_iteration < max(log.lines, default=0):
        print(f"Best iteration is: {log.lines[booster.best_iteration]}", flush=True)
    return booster


class _IterationLog:
    """``[i]\\tval's <metric>: <v>\\ttrain's <metric>: <v>`` after every iteration.

    LightGBM's own ``log_evaluation`` puts the training results first and writes ``%g``
    (``1e-05``); the documented regexes (``auc: ([0-9\\.]+)``) take the first match of a
    line and no exponent, so validation comes first and values are written positionally.
    """

    order = 10  # LightGBM runs callbacks in this order; early stopping (30) afterwards

    def __init__(self) -> None:
        self.lines: dict[int, str] = {}

    def __call__(self, env: lgb.callback.CallbackEnv) -> None:
        results = sorted(env.evaluation_result_list or [], key=lambda r: r[0] != VALIDATION)
        parts = [f"{r[0]}'s {r[1]}: {_number(r[2])}" for r in results]
        line = f"[{env.iteration + 1}]\t" + "\t".join(parts)
        self.lines[env.iteration + 1] = line
        print(line, flush=True)


def _number(value: float) -> str:
    return str(np.format_float_positional(value, trim="-"))


def _check_labels(task: Task, *labels: np.ndarray) -> None:
    if task.kind == REGRESSION:
        return
    for values in labels:
        bad = values[(values < 0) | (values >= task.num_class) | (values != np.round(values))]
        if bad.size:
            raise ClientError(
                f"Label {bad[0]:g} is not a class of this {task.kind} problem: labels must be "
                f"the integers 0 to {task.num_class - 1}"
            )


def save(instance: Instance, booster: lgb.Booster, task: Task, categorical: list[int]) -> None:
    instance.model_dir.mkdir(parents=True, exist_ok=True)
    # Saved up to the best iteration (all of them without early stopping), so a plain
    # Booster(model_file=...).predict gives what the JumpStart script's predict with
    # num_iteration=best_iteration gives.
    booster.save_model(str(instance.model_dir / MODEL_FILE))
    info = {
        "task": task.kind,
        "objective": task.objective,
        "num_class": task.num_class,
        "num_features": booster.num_feature(),
        "best_iteration": booster.best_iteration or booster.current_iteration(),
        "categorical_features": categorical,
        "lightgbm_version": lgb.__version__,
    }
    (instance.model_dir / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")
