"""PutMetricData input: AWS's limits, checked the way CloudWatch words them, then datapoints.

CloudWatch reports problems with query-era parameter paths (``MetricData.member.1.Value``)
on every protocol, JSON included, so the messages use those paths too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sagebrush.aws.errors import AwsError
from sagebrush.state.metrics import Datapoint, StatisticSet

MAX_DATUMS = 1000
MAX_VALUES = 150
# CloudWatch rejects values beyond +-2^360 (and NaN / infinities).
VALUE_LIMIT = 2.0**360
PAST_LIMIT_S = 14 * 86_400
FUTURE_LIMIT_S = 2 * 3600


def invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValue", message, 400)


def combination(message: str) -> AwsError:
    return AwsError("InvalidParameterCombination", message, 400)


def datapoints(namespace: str, data: Sequence[Mapping[str, Any]], now: float) -> list[Datapoint]:
    """Check ``MetricData`` against CloudWatch's rules and turn it into store datapoints."""
    if namespace.startswith("AWS/"):
        raise invalid(f"The value {namespace} for parameter Namespace is invalid.")
    if not data:
        raise AwsError("MissingParameter", "The parameter MetricData is required.", 400)
    if len(data) > MAX_DATUMS:
        raise invalid(f"The collection MetricData must not have a size greater than {MAX_DATUMS}.")
    return [_datum(f"MetricData.member.{i}", datum, now) for i, datum in enumerate(data, 1)]


def _datum(path: str, datum: Mapping[str, Any], now: float) -> Datapoint:
    value = datum.get("Value")
    values = list(datum.get("Values") or [])
    counts = list(datum.get("Counts") or [])
    stats = datum.get("StatisticValues")
    given = [name for name, v in (("Value", value), ("StatisticValues", stats)) if v is not None]
    if values or counts:
        given.append("Values")
    if len(given) > 1:
        raise combination(
            f"The parameters {path}.{given[0]} and {path}.{given[1]} are mutually exclusive "
            "and you have specified both."
        )
    if not given:
        raise AwsError("MissingParameter", f"The parameter {path}.Value is required.", 400)
    if value is not None:
        _check_value(f"{path}.Value", value)
    if len(values) > MAX_VALUES:
        raise invalid(
            f"The collection {path}.Values must not have a size greater than {MAX_VALUES}."
        )
    if counts and len(counts) != len(values):
        raise invalid(f"The parameters {path}.Values and {path}.Counts must be of the same size.")
    for i, item in enumerate(values, 1):
        _check_value(f"{path}.Values.member.{i}", item)
    for i, count in enumerate(counts, 1):
        _check_value(f"{path}.Counts.member.{i}", count)
        if count < 0:
            raise invalid(f"The value {count} for parameter {path}.Counts.member.{i} is invalid.")
    statistics = _statistic_set(f"{path}.StatisticValues", stats) if stats is not None else None
    resolution = datum.get("StorageResolution") or 60
    if resolution not in (1, 60):
        raise invalid(f"The value {resolution} for parameter {path}.StorageResolution is invalid.")
    stamp: datetime | None = datum.get("Timestamp")
    timestamp = stamp.timestamp() if stamp is not None else now
    if timestamp < now - PAST_LIMIT_S:
        raise invalid(
            f"The parameter {path}.Timestamp must specify a time no more than two weeks in "
            "the past."
        )
    if timestamp > now + FUTURE_LIMIT_S:
        raise invalid(
            f"The parameter {path}.Timestamp must specify a time no more than two hours in "
            "the future."
        )
    return Datapoint(
        metric_name=datum["MetricName"],
        timestamp=timestamp,
        value=None if value is None else float(value),
        values=tuple(float(v) for v in values),
        counts=tuple(float(c) for c in counts),
        statistics=statistics,
        dimensions=_dimensions(f"{path}.Dimensions", datum.get("Dimensions") or []),
        unit=datum.get("Unit") or "None",
        storage_resolution=resolution,
    )


def _statistic_set(path: str, stats: Mapping[str, Any]) -> StatisticSet:
    for name in ("SampleCount", "Sum", "Minimum", "Maximum"):
        _check_value(f"{path}.{name}", stats[name])
    if stats["SampleCount"] <= 0:
        raise invalid(
            f"The value {stats['SampleCount']} for parameter {path}.SampleCount is invalid."
        )
    if stats["Minimum"] > stats["Maximum"]:
        raise invalid(
            f"The parameters {path}.Minimum and {path}.Maximum are invalid: Minimum must "
            "not be greater than Maximum."
        )
    return StatisticSet(
        sample_count=float(stats["SampleCount"]),
        sum=float(stats["Sum"]),
        minimum=float(stats["Minimum"]),
        maximum=float(stats["Maximum"]),
    )


def _check_value(path: str, value: Any) -> None:
    number = float(value)
    if math.isnan(number) or math.isinf(number) or abs(number) > VALUE_LIMIT:
        raise invalid(f"The value {value} for parameter {path} is invalid.")


def _dimensions(path: str, dims: Sequence[Mapping[str, str]]) -> tuple[tuple[str, str], ...]:
    seen: set[str] = set()
    for dim in dims:
        if dim["Name"] in seen:
            raise invalid(
                f"The collection {path} must not have duplicate dimension names ({dim['Name']})."
            )
        seen.add(dim["Name"])
    return tuple((dim["Name"], dim["Value"]) for dim in dims)
