"""The search space of a tuning job: its training job definitions and their ranges.

A :class:`Range` turns one of SageMaker's ``ParameterRanges`` entries into an optuna
distribution and back into the string a training job gets as its hyperparameter:

- ``Linear`` (and ``Auto``, which SageMaker resolves as it sees fit: here always linear):
  uniform over [MinValue, MaxValue];
- ``Logarithmic``: uniform over the logarithms (the range must be above 0);
- ``ReverseLogarithmic`` (continuous only, within 0 <= x < 1): ``1 - x`` is sampled
  logarithmically, so values crowd towards 1 — the optimizer sees ``1 - x``.

Categorical values are strings, as the API gives them. With several
``TrainingJobDefinitions`` each trial first picks a definition (``DEFINITION`` is that
choice's parameter name) and each definition's parameters are named ``<definition>:<name>``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

DEFINITION = "__definition__"
CONTINUOUS, INTEGER, CATEGORICAL = "Continuous", "Integer", "Categorical"
# Static hyperparameters from which Hyperband reads its MaxResource when not given.
EPOCH_NAMES = ("epochs", "numepochs", "n-epochs", "n_epochs", "num_epochs")


@dataclass(frozen=True)
class Range:
    name: str  # the hyperparameter
    kind: str  # Continuous | Integer | Categorical
    low: float = 0.0
    high: float = 0.0
    scaling: str = "Auto"
    values: tuple[str, ...] = ()

    @classmethod
    def parse_all(cls, ranges: Mapping[str, Any] | None) -> list[Range]:
        ranges = ranges or {}
        out: list[Range] = []
        for entry in ranges.get("IntegerParameterRanges") or []:
            out.append(cls._numeric(entry, INTEGER))
        for entry in ranges.get("ContinuousParameterRanges") or []:
            out.append(cls._numeric(entry, CONTINUOUS))
        for entry in ranges.get("CategoricalParameterRanges") or []:
            values = tuple(str(v) for v in entry["Values"])
            out.append(cls(entry["Name"], CATEGORICAL, values=values))
        return out

    @classmethod
    def _numeric(cls, entry: Mapping[str, Any], kind: str) -> Range:
        return cls(
            entry["Name"],
            kind,
            low=float(entry["MinValue"]),
            high=float(entry["MaxValue"]),
            scaling=str(entry.get("ScalingType") or "Auto"),
        )

    @property
    def reversed(self) -> bool:
        return self.kind == CONTINUOUS and self.scaling == "ReverseLogarithmic"

    def distribution(self) -> BaseDistribution:
        log = self.scaling == "Logarithmic"
        if self.kind == CATEGORICAL:
            return CategoricalDistribution(self.values)
        if self.kind == INTEGER:
            return IntDistribution(int(self.low), int(self.high), log=log)
        if self.reversed:
            # 1 - x over (1 - high, 1 - low], logarithmically. A MaxValue of exactly 1 is
            # refused by the API (x < 1), so the low end is above 0.
            return FloatDistribution(1.0 - self.high, 1.0 - self.low, log=True)
        if self.low == self.high:
            return FloatDistribution(self.low, self.high)
        return FloatDistribution(self.low, self.high, log=log)

    def hyperparameter(self, value: Any) -> str:
        """The optimizer's value as the training job's hyperparameter string."""
        if self.kind == CATEGORICAL:
            return str(value)
        if self.kind == INTEGER:
            return str(int(value))
        number = 1.0 - float(value) if self.reversed else float(value)
        return repr(min(max(number, self.low), self.high))

    def internal(self, text: str) -> Any | None:
        """A hyperparameter string as the optimizer's value; None when it is not in this
        range (a warm-start parent searched elsewhere)."""
        if self.kind == CATEGORICAL:
            return text if text in self.values else None
        try:
            number = float(text)
        except ValueError:
            return None
        if not math.isfinite(number) or not self.low <= number <= self.high:
            return None
        if self.kind == INTEGER:
            return int(number) if number == int(number) else None
        if self.reversed:
            value = 1.0 - number
            dist = self.distribution()
            assert isinstance(dist, FloatDistribution)
            return min(max(value, dist.low), dist.high)
        return number


@dataclass(frozen=True)
class Objective:
    type: str  # Maximize | Minimize
    metric: str

    @property
    def maximize(self) -> bool:
        return self.type == "Maximize"

    def better(self, a: float, b: float) -> bool:
        return a > b if self.maximize else a < b


@dataclass(frozen=True)
class Definition:
    """One training job definition: what every child of it runs, and what it tunes."""

    name: str | None  # DefinitionName; None for a single TrainingJobDefinition
    spec: Mapping[str, Any]
    ranges: tuple[Range, ...]
    objective: Objective

    def param(self, range_name: str, multiple: bool) -> str:
        return f"{self.name}:{range_name}" if multiple else range_name

    @property
    def static(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in (self.spec.get("StaticHyperParameters") or {}).items()}


def definitions_of(spec: Mapping[str, Any]) -> list[Definition]:
    """The tuning request's definitions, each with its ranges and objective."""
    config = spec["HyperParameterTuningJobConfig"]
    common = config.get("HyperParameterTuningJobObjective")
    if spec.get("TrainingJobDefinition"):
        single = spec["TrainingJobDefinition"]
        return [
            Definition(
                None,
                single,
                tuple(Range.parse_all(config.get("ParameterRanges"))),
                _objective(single.get("TuningObjective") or common),
            )
        ]
    return [
        Definition(
            d.get("DefinitionName"),
            d,
            tuple(Range.parse_all(d.get("HyperParameterRanges") or config.get("ParameterRanges"))),
            _objective(d.get("TuningObjective") or common),
        )
        for d in spec.get("TrainingJobDefinitions") or []
    ]


def _objective(entry: Mapping[str, Any] | None) -> Objective:
    entry = entry or {}
    return Objective(str(entry.get("Type", "Maximize")), str(entry.get("MetricName", "")))


def grid_size(ranges: Sequence[Range]) -> int:
    return math.prod(len(r.values) for r in ranges) if ranges else 0


def max_resource(config: Mapping[str, Any], static: Mapping[str, str]) -> int | None:
    """Hyperband's MaxResource: given, else an epochs-like static hyperparameter."""
    strategy = (config.get("StrategyConfig") or {}).get("HyperbandStrategyConfig") or {}
    if strategy.get("MaxResource"):
        return int(strategy["MaxResource"])
    for name in EPOCH_NAMES:
        if name in static:
            try:
                return int(float(static[name]))
            except ValueError:
                return None
    return None


def min_resource(config: Mapping[str, Any]) -> int:
    strategy = (config.get("StrategyConfig") or {}).get("HyperbandStrategyConfig") or {}
    return int(strategy.get("MinResource") or 1)
