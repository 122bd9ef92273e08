"""Hyperparameter schemas: SageMaker's names, defaults, ranges and validation.

An algorithm declares its hyperparameters once::

    SCHEMA = Schema(
        Integer("k", required=True, low=1),
        Float("tol", default=1e-4, low=0.0),
        Choice("init_method", ("random", "kmeans++"), default="random"),
        Bool("subtract_mean", default=True),
    )
    values = SCHEMA.parse(instance.hyperparameters)

Values arrive as strings (``hyperparameters.json``); the SDK's Amazon estimators and
the generic ``Estimator`` send ``str(value)``, framework estimators JSON-encode, so a
JSON-quoted string is accepted too. Platform keys (``sagemaker_*``,
``_tuning_objective_metric``...) are skipped; any other unknown name is an error, as in
SageMaker's algorithms. Every problem is a ``ClientError`` naming the hyperparameter.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sagebrush.algorithms.errors import ClientError

AUTO = "auto"
_PLATFORM_KEYS = frozenset(
    {"_tuning_objective_metric", "_kfold", "_num_cv_round", "_tuning_hpo_job_name"}
)
_MISSING: Any = object()


@dataclass(frozen=True)
class Param:
    name: str
    convert: Callable[[str], Any]
    describe: str  # what a valid value looks like, for the error message
    default: Any = None
    required: bool = False
    auto: bool = False  # "auto" is accepted as is

    def parse(self, text: str) -> Any:
        raw = _unquote(text)
        if self.auto and raw.strip().lower() == AUTO:
            return AUTO
        try:
            return self.convert(raw)
        except (ValueError, TypeError):
            extra = " or 'auto'" if self.auto else ""
            raise ClientError(
                f"Hyperparameter {self.name}: value '{raw}' is invalid: "
                f"it must be {self.describe}{extra}"
            ) from None


def Integer(
    name: str,
    default: int | str | None = None,
    *,
    required: bool = False,
    low: int | None = None,
    high: int | None = None,
    auto: bool = False,
) -> Param:
    def convert(text: str) -> int:
        number = float(text.strip())
        if not number.is_integer():
            raise ValueError(text)
        return int(_check_range(int(number), low, high))

    return Param(name, convert, "an integer" + _range_text(low, high), default, required, auto)


def Float(
    name: str,
    default: float | str | None = None,
    *,
    required: bool = False,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    auto: bool = False,
) -> Param:
    def convert(text: str) -> float:
        number = float(text.strip())
        if not math.isfinite(number):
            raise ValueError(text)
        if (low_open and low is not None and number <= low) or (
            high_open and high is not None and number >= high
        ):
            raise ValueError(text)
        return float(_check_range(number, low, high))

    describe = "a number" + _range_text(low, high, low_open, high_open)
    return Param(name, convert, describe, default, required, auto)


def Choice(
    name: str,
    choices: Sequence[str],
    default: str | None = None,
    *,
    required: bool = False,
    case_sensitive: bool = True,
) -> Param:
    def convert(text: str) -> str:
        value = text.strip()
        for choice in choices:
            if value == choice or (not case_sensitive and value.lower() == choice.lower()):
                return choice
        raise ValueError(text)

    return Param(name, convert, "one of " + ", ".join(choices), default, required)


def Bool(name: str, default: bool | None = None, *, required: bool = False) -> Param:
    def convert(text: str) -> bool:
        value = text.strip().lower()
        if value in ("true", "1"):
            return True
        if value in ("false", "0"):
            return False
        raise ValueError(text)

    return Param(name, convert, "true or false", default, required)


def Text(name: str, default: str | None = None, *, required: bool = False) -> Param:
    return Param(name, str, "a string", default, required)


def JsonList(name: str, default: list[Any] | None = None, *, allowed: Sequence[str] = ()) -> Param:
    """A JSON list (``'["msd","ssd"]'``) or comma-separated names."""

    def convert(text: str) -> list[Any]:
        stripped = text.strip()
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError:
            value = [part.strip() for part in stripped.strip("[]").split(",") if part.strip()]
        if not isinstance(value, list):
            value = [value]
        if allowed and any(v not in allowed for v in value):
            raise ValueError(text)
        return value

    describe = "a list" + (f" of {', '.join(allowed)}" if allowed else "")
    return Param(name, convert, describe, default)


@dataclass(frozen=True)
class Schema:
    params: tuple[Param, ...]
    # Names SageMaker's algorithm accepts but Sagebrush does not use (no effect here).
    accepted: frozenset[str] = field(default_factory=frozenset)

    def __init__(self, *params: Param, accepted: Sequence[str] = ()) -> None:
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "accepted", frozenset(accepted))

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def parse(self, raw: Mapping[str, str]) -> dict[str, Any]:
        by_name = {p.name: p for p in self.params}
        unknown = sorted(
            k
            for k in raw
            if k not in by_name
            and k not in self.accepted
            and k not in _PLATFORM_KEYS
            and not k.startswith("sagemaker_")
        )
        if unknown:
            raise ClientError(
                f"Unknown hyperparameter(s): {', '.join(unknown)}. "
                f"Valid hyperparameters: {', '.join(sorted([*by_name, *self.accepted]))}"
            )
        values: dict[str, Any] = {}
        for param in self.params:
            text = raw.get(param.name, _MISSING)
            if text is _MISSING:
                if param.required:
                    raise ClientError(f"Missing required hyperparameter: {param.name}")
                values[param.name] = param.default
            else:
                values[param.name] = param.parse(str(text))
        return values


def _unquote(text: str) -> str:
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] == '"':
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError:
            return text
        return str(value)
    return text


def _check_range(value: float, low: float | None, high: float | None) -> float:
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(value)
    return value


def _range_text(
    low: float | None, high: float | None, low_open: bool = False, high_open: bool = False
) -> str:
    if low is None and high is None:
        return ""
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    return f" in {left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
