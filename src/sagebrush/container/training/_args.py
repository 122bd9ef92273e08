"""Hyperparameters as the sagemaker-training toolkit reads, splits and passes them on."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SAGEMAKER_PREFIX = "sagemaker_"
PROGRAM = "sagemaker_program"
SUBMIT_DIR = "sagemaker_submit_directory"
REGION = "sagemaker_region"
LOG_LEVEL = "sagemaker_container_log_level"
JOB_NAME = "sagemaker_job_name"
S3_OUTPUT = "sagemaker_s3_output"

# Platform keys: removed from the user's hyperparameters and not passed as framework params.
RESERVED = frozenset(
    {
        PROGRAM,
        SUBMIT_DIR,
        "sagemaker_enable_cloudwatch_metrics",
        REGION,
        LOG_LEVEL,
        JOB_NAME,
        "default_user_module_name",
        "_tuning_objective_metric",
        S3_OUTPUT,
    }
)


@dataclass(frozen=True)
class SplitHyperparameters:
    user: dict[str, Any]  # passed to the script as arguments and SM_HP_*
    sagemaker: dict[str, Any]  # reserved keys and every other ``sagemaker_*`` key
    framework: dict[str, Any]  # the non-reserved ``sagemaker_*`` keys


def decode_hyperparameters(raw: Mapping[str, str]) -> dict[str, Any]:
    """JSON-decode each value where possible, else keep the raw string.

    Framework estimators JSON-encode every value (``"\\"x\\""``) while the generic Estimator
    sends plain strings (``"10"``); both must reach the script as the user wrote them.
    """
    decoded: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            decoded[key] = json.loads(value)
        except (ValueError, TypeError):
            decoded[key] = value
    return decoded


def split_hyperparameters(decoded: Mapping[str, Any]) -> SplitHyperparameters:
    sagemaker = {
        k: v for k, v in decoded.items() if k in RESERVED or k.startswith(SAGEMAKER_PREFIX)
    }
    user = {k: v for k, v in decoded.items() if k not in sagemaker}
    framework = {k: v for k, v in sagemaker.items() if k not in RESERVED}
    return SplitHyperparameters(user=user, sagemaker=sagemaker, framework=framework)


def to_cmd_args(hyperparameters: Mapping[str, Any]) -> list[str]:
    """Sorted ``--key value`` pairs (``-k value`` for one-character keys).

    Values go through ``str()`` as in the toolkit, so a list arrives as ``[1, 2]`` and a bool
    as ``True``; a dict becomes ``k1=v1,k2=v2``.
    """
    args: list[str] = []
    for key in sorted(hyperparameters):
        name = _text(key)
        args.append(("--" if len(name) > 1 else "-") + name if name else "")
        value = hyperparameters[key]
        if isinstance(value, Mapping):
            args.append(",".join(f"{k}={v}" for k, v in sorted(value.items())))
        else:
            args.append(_text(value))
    return args


def to_env_value(value: Any) -> str:
    """Strings raw, None empty, everything else compact JSON with sorted keys."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin1")
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def to_env_vars(mapping: Mapping[str, Any]) -> dict[str, str]:
    # A key with "=" or NUL cannot name a variable (exec would refuse the whole environment);
    # such a hyperparameter still reaches the script through SM_HPS and its arguments.
    return {
        "SM_" + str(k).upper(): to_env_value(v)
        for k, v in mapping.items()
        if k and "=" not in str(k) and "\0" not in str(k)
    }


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin1")
    return str(value)
